/**
 * fla / Hugging Face checkpoints without an adapter: `loom import` of each config kind, loading a
 * checkpoint synthesised in fla's names and torch layouts (F32, BF16, sharded), the float64
 * interpreter of the imported spec against an independent fla-semantics forward (GLA, DeltaNet),
 * and the errors for a missing, extra or mis-shaped tensor.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { importConfig } from '../../compiler/import/config.ts';
import { compileSource, type Compiled } from '../../compiler/pipeline.ts';
import { LoomError } from '../../grammar/diagnostics.ts';
import { checkpointMap, detectNaming, loadCheckpoint } from '../../runtime/fla-weights.ts';
import { Rng } from '../../runtime/random.ts';
import { interpretGraph } from '../../runtime/reference/interpret.ts';
import { CONFIGS, synthesize, writeCheckpoint, writeSharded, type Checkpoint } from '../helpers/fla-checkpoint.ts';
import { flaForward, FLA_REFERENCE_KINDS } from '../helpers/fla-reference.ts';
import { closeness } from '../helpers/compare.ts';

const dir = mkdtempSync(join(tmpdir(), 'loom-fla-'));
const [B, T] = [2, 7];

function compileKind(kind: string): Compiled {
  const text = importConfig(JSON.stringify(CONFIGS[kind], null, 2), `${kind}.json`, `${kind}.loom`).text;
  const r = compileSource(text, `${kind}.loom`, { batch: B, seq: T });
  if (!r.ok) throw new Error(r.diagnostics.map((d) => d.message).join('\n'));
  return r.compiled;
}

function ids(vocab: number): Int32Array {
  const rng = Rng.forName(3, 'fla-ids');
  return Int32Array.from({ length: B * T }, () => rng.int(vocab));
}

function loadError(c: Compiled, ck: Checkpoint, name: string): string {
  const path = join(dir, name);
  writeCheckpoint(path, ck);
  try {
    loadCheckpoint(c.spec, c.graph.weights, path);
  } catch (e) {
    if (e instanceof LoomError) return e.diagnostics.map((d) => `LOOM${d.code}: ${d.message}`).join('\n');
    throw e;
  }
  throw new Error('expected a LoomError');
}

describe('fla checkpoints load into imported specs', () => {
  it.each(Object.keys(CONFIGS))('%s: every tensor maps by name and shape; the interpreter runs it', (kind) => {
    const c = compileKind(kind);
    const ck = synthesize(kind, 1);
    const path = join(dir, `${kind}.safetensors`);
    writeCheckpoint(path, ck);
    const w = loadCheckpoint(c.spec, c.graph.weights, path);
    expect([...w.keys()].sort()).toEqual(c.graph.weights.map((d) => d.name).sort());
    const out = interpretGraph(c.graph, w, ids(c.spec.vocab)).outputs.logits;
    expect(out.length).toBe(B * T * c.spec.vocab);
    expect(out.every(Number.isFinite)).toBe(true);
  });

  it.each(FLA_REFERENCE_KINDS)('%s: the float64 interpreter of the imported spec equals fla semantics on the checkpoint', (kind) => {
    const c = compileKind(kind);
    const bf16 = kind === 'gla';
    const ck = synthesize(kind, 7, bf16);
    const path = join(dir, `${kind}-ref.safetensors`);
    writeCheckpoint(path, ck, bf16 ? 'BF16' : 'F32');
    const w = loadCheckpoint(c.spec, c.graph.weights, path);
    const tokens = ids(c.spec.vocab);
    const loom = interpretGraph(c.graph, w, tokens).outputs.logits;
    const fla = flaForward(kind, ck, CONFIGS[kind] as Record<string, number>, tokens, B, T);
    const { relErr, nonFinite } = closeness(loom, fla);
    expect(nonFinite).toBe(0);
    expect(relErr, `${kind}: rms(loom-fla)/rms(fla) = ${relErr}`).toBeLessThan(1e-9);
  });

  it('reads a sharded checkpoint through its index', () => {
    const c = compileKind('retnet');
    const ck = synthesize('retnet', 2);
    const index = writeSharded(join(dir, 'retnet-sharded'), ck);
    const one = join(dir, 'retnet-one.safetensors');
    writeCheckpoint(one, ck);
    const a = loadCheckpoint(c.spec, c.graph.weights, index);
    const b = loadCheckpoint(c.spec, c.graph.weights, one);
    for (const [name, v] of a) expect(Array.from(v), name).toEqual(Array.from(b.get(name)!));
  });

  it('detects the naming, transposes Linear weights and squeezes Conv1d weights', () => {
    expect(detectNaming(['model.embeddings.weight'])).toBe('fla');
    expect(detectNaming(['model.embed_tokens.weight', 'lm_head.weight'])).toBe('hf');
    expect(detectNaming(['embed.weight'])).toBe('loom');
    const c = compileKind('delta_net');
    const map = checkpointMap(c.spec, c.graph.weights, 'fla');
    const find = (loom: string) => map.find((m) => m.loom === loom)!;
    expect(find('layers.0.attn.q.weight')).toMatchObject({ source: ['model.layers.0.attn.q_proj.weight'], transform: 'transpose', shape: [64, 64] });
    expect(find('layers.1.attn.k_conv1d.weight')).toMatchObject({ source: ['model.layers.1.attn.k_conv1d.weight'], transform: 'conv', shape: [64, 4] });
    expect(find('layers.0.norm1.weight').source).toEqual(['model.layers.0.mlp_norm.weight']);
    const ck = synthesize('delta_net', 4);
    const path = join(dir, 'dn-layout.safetensors');
    writeCheckpoint(path, ck);
    const w = loadCheckpoint(c.spec, c.graph.weights, path);
    const torch = ck.get('model.layers.0.attn.v_proj.weight')!; // [out 64, in 64]
    expect(w.get('layers.0.attn.v.weight')![3 * 64 + 5]).toBe(torch.data[5 * 64 + 3]);
    const down = ck.get('model.layers.1.mlp.down_proj.weight')!; // [64, 256]
    expect(w.get('layers.1.mlp0.down.weight')![200 * 64 + 9]).toBe(down.data[9 * 256 + 200]);
  });
});

describe('fla checkpoint errors name both tensors and both shapes', () => {
  const c = compileKind('gla');

  it('a missing tensor', () => {
    const ck = synthesize('gla', 1);
    ck.delete('model.layers.1.attn.gk_proj.1.bias');
    expect(loadError(c, ck, 'missing.safetensors')).toBe(
      `LOOM5002: weights file has no tensor 'model.layers.1.attn.gk_proj.1.bias' [32], which holds Loom's 'layers.1.attn.g_up.bias' [32] (same layout; in ${join(dir, 'missing.safetensors')})`,
    );
  });

  it('a tensor in Loom layout where torch layout is expected', () => {
    const ck = synthesize('gla', 1);
    ck.set('model.layers.0.attn.v_proj.weight', { shape: [64, 64], data: new Float32Array(64 * 64) });
    ck.set('model.layers.0.mlp.up_proj.weight', { shape: [64, 256], data: new Float32Array(64 * 256) });
    expect(loadError(c, ck, 'shape.safetensors')).toBe(
      `LOOM5003: tensor 'model.layers.0.mlp.up_proj.weight' has shape [64, 256], the model needs [256, 64] for Loom's 'layers.0.mlp0.up.weight' [64, 256] (torch [out, in] layout; in ${join(dir, 'shape.safetensors')})`,
    );
  });

  it('an extra tensor, and the output norm under none of its fla names', () => {
    const ck = synthesize('gla', 1);
    ck.set('model.layers.0.attn.extra_proj.weight', { shape: [2], data: new Float32Array(2) });
    const norm = ck.get('model.layers.1.attn.g_norm_swish_gate.weight')!;
    ck.delete('model.layers.1.attn.g_norm_swish_gate.weight');
    ck.set('model.layers.1.attn.gnorm.weight', norm);
    const text = loadError(c, ck, 'extra.safetensors');
    expect(text).toContain("LOOM5002: weights file has no tensor 'model.layers.1.attn.g_norm_swish_gate.weight' [16], which holds Loom's 'layers.1.attn.o_norm.weight' [16]");
    expect(text).toContain("also looked for 'model.layers.1.attn.g_norm.weight', 'model.layers.1.attn.o_norm.weight', 'model.layers.1.attn.norm.weight'");
    expect(text).toContain("LOOM5001: " + join(dir, 'extra.safetensors') + ": tensor(s) 'model.layers.0.attn.extra_proj.weight', 'model.layers.1.attn.gnorm.weight' are not weights of the model (fla naming)");
  });

  it('a spec whose block is not fla layout cannot take fla names', () => {
    const src = `model m {\n  vocab = 16\n  dim = 8\n  heads = 2\n  layers = 1\n\n  mixer attn = gla\n\n  block {\n    x = x + attn(x)\n  }\n}\n`;
    const r = compileSource(src, 'm.loom', { batch: 1, seq: 2 });
    if (!r.ok) throw new Error('compile');
    const path = join(dir, 'nolayout.safetensors');
    writeCheckpoint(path, new Map([['model.embeddings.weight', { shape: [16, 8], data: new Float32Array(128) }]]));
    expect(() => loadCheckpoint(r.compiled.spec, r.compiled.graph.weights, path)).toThrow(/fla\/HF checkpoint names fit a block of the form 'x = x \+ MIXER\(rmsnorm\(x\)\) then x = x \+ swiglu\(rmsnorm\(x\)\)'/);
  });

  it('derived RoPE buffers of older LLaMA checkpoints are not extra tensors', () => {
    const l = compileKind('llama');
    const ck = synthesize('llama', 1);
    ck.set('model.layers.0.self_attn.rotary_emb.inv_freq', { shape: [8], data: new Float32Array(8) });
    const path = join(dir, 'llama-invfreq.safetensors');
    writeCheckpoint(path, ck);
    expect(loadCheckpoint(l.spec, l.graph.weights, path).size).toBe(l.graph.weights.length);
    writeFileSync(join(dir, 'unused'), '');
  });
});
