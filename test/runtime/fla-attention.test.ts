/**
 * fla's softmax attention without an adapter: `loom import` of fla hybrid configs (the `attn`
 * field) and of the `transformer` model type, the checkpoint mapping of their attention layers, and
 * the float64 interpreter of the imported spec on a checkpoint synthesised in fla's names against
 * an independent float64 forward written from fla's layer code (test/helpers/fla-reference-attn.ts).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { importConfig } from '../../compiler/import/config.ts';
import { compileSource, type Compiled } from '../../compiler/pipeline.ts';
import { checkpointMap, loadCheckpoint } from '../../runtime/fla-weights.ts';
import { LoomError } from '../../grammar/diagnostics.ts';
import { Rng } from '../../runtime/random.ts';
import { interpretGraph } from '../../runtime/reference/interpret.ts';
import { closeness } from '../helpers/compare.ts';
import { CONFIGS, HYBRID_CONFIGS, synthesize, writeCheckpoint } from '../helpers/fla-checkpoint.ts';
import { flaForward } from '../helpers/fla-reference.ts';

const dir = mkdtempSync(join(tmpdir(), 'loom-fla-attn-'));
const [B, T] = [2, 11];

/** The imported, compiled spec of a config. */
function compile(config: Record<string, unknown>, name: string): Compiled {
  const text = importConfig(JSON.stringify(config, null, 2), `${name}.json`, `${name}.loom`).text;
  const r = compileSource(text, `${name}.loom`, { batch: B, seq: T });
  if (!r.ok) throw new Error(r.diagnostics.map((d) => d.message).join('\n'));
  return r.compiled;
}

const CASES: [string, string, Record<string, unknown>][] = [
  ['gla + attn layers [1, 3]', 'gla', HYBRID_CONFIGS.gla],
  ['gated_deltanet + attn [{window 8}, {kv 1}]', 'gated_deltanet', HYBRID_CONFIGS.gated_deltanet],
  ['transformer (qkv_bias, qk_norm, GQA)', 'transformer', CONFIGS.transformer],
];

describe('fla attention checkpoints in imported specs', () => {
  it.each(CASES)('%s: the float64 interpreter of the imported spec equals fla semantics on the checkpoint', (_, kind, config) => {
    const c = compile(config, kind);
    const ck = synthesize(kind, 17, false, config);
    const path = join(dir, `${kind}.safetensors`);
    writeCheckpoint(path, ck);
    const w = loadCheckpoint(c.spec, c.graph.weights, path);
    const rng = Rng.forName(9, 'fla-attn-ids');
    const ids = Int32Array.from({ length: B * T }, () => rng.int(c.spec.vocab));
    const loom = interpretGraph(c.graph, w, ids).outputs.logits;
    const fla = flaForward(kind, ck, config as Record<string, number>, ids, B, T);
    const { relErr, nonFinite } = closeness(loom, fla);
    expect(nonFinite).toBe(0);
    // Both float64 over the same (f32-exact) weights: only summation order differs.
    expect(relErr, `${kind}: rms(loom-fla)/rms(fla) = ${relErr}`).toBeLessThan(1e-9);
  });
});

describe('fla attention layers: checkpoint names', () => {
  it("each layer maps by its pattern mixer: attention parts and the own mixer's, both under fla's attn", () => {
    const c = compile(HYBRID_CONFIGS.gla, 'gla');
    const map = checkpointMap(c.spec, c.graph.weights, 'fla');
    const find = (loom: string) => map.find((m) => m.loom === loom);
    expect(find('layers.1.attn.q.weight')).toMatchObject({ source: ['model.layers.1.attn.q_proj.weight'], transform: 'transpose', shape: [32, 32] });
    expect(find('layers.3.attn.k.weight')).toMatchObject({ source: ['model.layers.3.attn.k_proj.weight'], transform: 'transpose', shape: [32, 16] });
    expect(find('layers.1.attn.v.bias')).toMatchObject({ source: ['model.layers.1.attn.v_proj.bias'], transform: 'none', shape: [16] });
    expect(find('layers.0.gla.g_up.bias')).toMatchObject({ source: ['model.layers.0.attn.gk_proj.1.bias'], transform: 'none' });
    expect(find('layers.2.gla.q.weight')!.source).toEqual(['model.layers.2.attn.q_proj.weight']);
    expect(find('layers.1.gla.q.weight')).toBeUndefined();
    expect(find('layers.0.attn.q.weight')).toBeUndefined();
    const t = compile(CONFIGS.transformer, 'transformer');
    const tmap = checkpointMap(t.spec, t.graph.weights, 'fla');
    expect(tmap.find((m) => m.loom === 'layers.1.attn.k_norm.weight')).toMatchObject({ source: ['model.layers.1.attn.k_norm.weight'], shape: [16] });
    expect(tmap.find((m) => m.loom === 'layers.0.attn.q.bias')).toMatchObject({ source: ['model.layers.0.attn.q_proj.bias'], shape: [64] });
  });

  it('a hybrid checkpoint without the attention biases, or with Loom-layout projections, is refused naming both tensors', () => {
    const c = compile(HYBRID_CONFIGS.gla, 'gla');
    const ck = synthesize('gla', 3, false, HYBRID_CONFIGS.gla);
    ck.delete('model.layers.3.attn.k_proj.bias');
    ck.set('model.layers.1.attn.k_proj.weight', { shape: [32, 16], data: new Float32Array(512) });
    const path = join(dir, 'gla-bad.safetensors');
    writeCheckpoint(path, ck);
    let text = '';
    try {
      loadCheckpoint(c.spec, c.graph.weights, path);
    } catch (e) {
      if (!(e instanceof LoomError)) throw e;
      text = e.diagnostics.map((d) => `LOOM${d.code}: ${d.message}`).join('\n');
    }
    expect(text).toContain(`LOOM5002: weights file has no tensor 'model.layers.3.attn.k_proj.bias' [16], which holds Loom's 'layers.3.attn.k.bias' [16] (same layout; in ${path})`);
    expect(text).toContain(`LOOM5003: tensor 'model.layers.1.attn.k_proj.weight' has shape [32, 16], the model needs [16, 32] for Loom's 'layers.1.attn.k.weight' [32, 16] (torch [out, in] layout; in ${path})`);
  });
});
