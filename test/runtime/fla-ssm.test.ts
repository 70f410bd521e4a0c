/**
 * fla's state-space models (Mamba, Mamba2, Samba) and LinearAttention's learned maps (Hedgehog,
 * T2R) without an adapter: `loom import` of each config, a checkpoint synthesised in fla's names
 * and torch layouts loaded through the mapping (fused in_proj / x_proj / conv1d split by rows, a
 * per-head D repeated, shared feature maps tiled over the heads, Hedgehog's doubled logits), and
 * the float64 interpreter of the imported spec against an independent float64 forward written
 * from fla's layer code (test/helpers/fla-reference-ssm.ts).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { importConfig } from '../../compiler/import/config.ts';
import { compileSource, type Compiled } from '../../compiler/pipeline.ts';
import { LoomError } from '../../grammar/diagnostics.ts';
import { f16Bits, fromF16 } from '../../runtime/f16.ts';
import { checkpointMap, convertMapped, detectNaming, loadCheckpoint, type MappedWeight } from '../../runtime/fla-weights.ts';
import { Rng } from '../../runtime/random.ts';
import { interpretGraph } from '../../runtime/reference/interpret.ts';
import { closeness } from '../helpers/compare.ts';
import { SSM_CONFIGS, synthesize, writeCheckpoint } from '../helpers/fla-checkpoint.ts';
import { flaForward } from '../helpers/fla-reference.ts';

const dir = mkdtempSync(join(tmpdir(), 'loom-fla-ssm-'));
const [B, T] = [2, 9];

/** A config as Python's json writes it (bare Infinity). */
export const pyJson = (c: unknown) => JSON.stringify(c, (_, v) => (v === Infinity ? '\uE00F' : v), 2).replaceAll('"\uE00F"', 'Infinity');

function compileKind(kind: string, seq = T): Compiled {
  const text = importConfig(pyJson(SSM_CONFIGS[kind]), `${kind}.json`, `${kind}.loom`).text;
  const r = compileSource(text, `${kind}.loom`, { batch: B, seq });
  if (!r.ok) throw new Error(r.diagnostics.map((d) => d.message).join('\n'));
  return r.compiled;
}

function ids(vocab: number): Int32Array {
  const rng = Rng.forName(3, 'fla-ssm-ids');
  return Int32Array.from({ length: B * T }, () => rng.int(vocab));
}

describe('fla state-space and learned-map checkpoints', () => {
  it.each(Object.keys(SSM_CONFIGS))('%s: the float64 interpreter of the imported spec equals fla semantics on the checkpoint', (kind) => {
    const c = compileKind(kind);
    const ck = synthesize(kind, 7);
    const path = join(dir, `${kind}.safetensors`);
    writeCheckpoint(path, ck);
    const w = loadCheckpoint(c.spec, c.graph.weights, path);
    expect([...w.keys()].sort()).toEqual(c.graph.weights.map((d) => d.name).sort());
    const tokens = ids(c.spec.vocab);
    const loom = interpretGraph(c.graph, w, tokens).outputs.logits;
    const fla = flaForward(kind, ck, SSM_CONFIGS[kind] as Record<string, number>, tokens, B, T);
    const { relErr, nonFinite } = closeness(loom, fla);
    expect(nonFinite).toBe(0);
    // Both are float64 from the same f32 weights: only summation order differs.
    expect(relErr, `${kind}: rms(loom-fla)/rms(fla) = ${relErr}`).toBeLessThan(1e-9);
  });
});

describe('fla state-space checkpoint names and layouts', () => {
  it("detects backbone names (fla, transformers, and mamba_ssm's `embedding`)", () => {
    expect(detectNaming(['backbone.embeddings.weight', 'lm_head.weight'])).toBe('fla');
    expect(detectNaming(['backbone.embedding.weight'])).toBe('fla');
  });

  it('splits fused tensors by rows: Mamba in_proj = [x; z], x_proj = [dt; B; C]; Mamba2 in_proj = [z; x; B; C; dt]', () => {
    const c = compileKind('mamba');
    const find = (loom: string) => checkpointMap(c.spec, c.graph.weights, 'fla').find((m) => m.loom === loom)!;
    expect(find('layers.1.ssm.z.weight')).toMatchObject({ source: ['backbone.layers.1.mixer.in_proj.weight'], transform: 'transpose', rows: { of: [128, 32], start: 64, end: 128 } });
    expect(find('layers.0.ssm.C.weight')).toMatchObject({ source: ['backbone.layers.0.mixer.x_proj.weight'], rows: { of: [18, 64], start: 10, end: 18 } });
    expect(find('layers.0.norm0.weight').source).toEqual(['backbone.layers.0.norm.weight']);
    expect(find('norm_f.weight').source).toEqual(['backbone.norm_f.weight']);
    const ck = synthesize('mamba', 4);
    const path = join(dir, 'mamba-layout.safetensors');
    writeCheckpoint(path, ck);
    const w = loadCheckpoint(c.spec, c.graph.weights, path);
    const inProj = ck.get('backbone.layers.1.mixer.in_proj.weight')!; // [2 * 64, 32]: row r, column i at r * 32 + i
    expect(w.get('layers.1.ssm.z.weight')![5 * 64 + 3]).toBe(inProj.data[(64 + 3) * 32 + 5]);
    const xProj = ck.get('backbone.layers.0.mixer.x_proj.weight')!; // [2 + 8 + 8, 64]
    expect(w.get('layers.0.ssm.B.weight')![7 * 8 + 2]).toBe(xProj.data[(2 + 2) * 64 + 7]);
    expect(Array.from(w.get('layers.0.ssm.A_log')!)).toEqual(Array.from(ck.get('backbone.layers.0.mixer.A_log')!.data));
    const m2 = compileKind('mamba2');
    const ck2 = synthesize('mamba2', 4);
    writeCheckpoint(join(dir, 'mamba2-layout.safetensors'), ck2);
    const w2 = loadCheckpoint(m2.spec, m2.graph.weights, join(dir, 'mamba2-layout.safetensors'));
    const conv = ck2.get('backbone.layers.0.mixer.conv1d.weight')!; // [64 + 16, 1, 4]
    expect(Array.from(w2.get('layers.0.ssm.C_conv1d.weight')!)).toEqual(Array.from(conv.data.subarray((64 + 8) * 4, 80 * 4)));
    const D = ck2.get('backbone.layers.0.mixer.D')!.data; // per head: [4], repeated over 16 channels
    expect(Array.from(w2.get('layers.0.ssm.D')!.subarray(16, 32))).toEqual(Array(16).fill(D[1]));
  });

  it("Mamba2 with a per-channel D (D_has_hdim), and mamba_ssm's `backbone.embedding.weight`", () => {
    const c = compileKind('mamba2');
    const ck = synthesize('mamba2', 8);
    for (const l of [0, 1]) ck.set(`backbone.layers.${l}.mixer.D`, { shape: [64], data: Rng.forName(2, `D${l}`).normals(64, 0.5) });
    ck.set('backbone.embedding.weight', ck.get('backbone.embeddings.weight')!);
    ck.delete('backbone.embeddings.weight');
    const path = join(dir, 'mamba2-hdim.safetensors');
    writeCheckpoint(path, ck);
    const tokens = ids(64);
    const loom = interpretGraph(c.graph, loadCheckpoint(c.spec, c.graph.weights, path), tokens).outputs.logits;
    ck.set('backbone.embeddings.weight', ck.get('backbone.embedding.weight')!);
    expect(closeness(loom, flaForward('mamba2', ck, SSM_CONFIGS.mamba2 as Record<string, number>, tokens, B, T)).relErr).toBeLessThan(1e-9);
  });

  it('a learned map: an untied T2R checkpoint reads each module; a mis-shaped fused tensor names its full shape', () => {
    const c = compileKind('linear_attn_t2r');
    const ck = synthesize('linear_attn_t2r', 3);
    const kMap = { shape: [16, 16], data: Rng.forName(1, 'k-map').normals(256, 0.25) };
    ck.set('model.layers.0.attn.feature_map_k.layer.weight', kMap);
    const path = join(dir, 't2r-untied.safetensors');
    writeCheckpoint(path, ck);
    const w = loadCheckpoint(c.spec, c.graph.weights, path);
    // Loom's [H, d, F] per head from torch's one [F, d]: head 1, input 3, feature 5.
    expect(w.get('layers.0.attn.feature_map_k.weight')![256 + 3 * 16 + 5]).toBe(kMap.data[5 * 16 + 3]);
    expect(w.get('layers.1.attn.feature_map_k.weight')![3 * 16 + 5]).toBe(ck.get('model.layers.1.attn.feature_map_q.layer.weight')!.data[5 * 16 + 3]);
    expect(Array.from(w.get('layers.0.attn.feature_map_q.bias')!).every((v) => v === 0)).toBe(true);
    const m = compileKind('mamba');
    const bad = synthesize('mamba', 1);
    bad.set('backbone.layers.0.mixer.in_proj.weight', { shape: [64, 32], data: new Float32Array(64 * 32) });
    writeCheckpoint(join(dir, 'mamba-bad.safetensors'), bad);
    const err = (() => {
      try {
        loadCheckpoint(m.spec, m.graph.weights, join(dir, 'mamba-bad.safetensors'));
      } catch (e) {
        return e instanceof LoomError ? e.message : String(e);
      }
      return '';
    })();
    expect(err).toContain("tensor 'backbone.layers.0.mixer.in_proj.weight' has shape [64, 32], the model needs [128, 32] for Loom's 'layers.0.ssm.x.weight' [32, 64]");
  });

  it('f16 bits convert as the f32 values do: a shared map transposed, tiled over heads and doubled (Hedgehog)', () => {
    const w: MappedWeight = { loom: 'x', shape: [2, 3, 3], source: ['s'], transform: 'transpose', shared: true, scale: 2 };
    const f32 = Float32Array.from([0.5, -1.25, 3, 0.375, -2, 7.5, 0.0625, 1, -0.75]); // exact in f16, and doubled
    const f32Out = convertMapped(w, f32);
    expect(Array.from(f32Out.subarray(0, 3))).toEqual([1, 0.75, 0.125]); // column 0 of torch's [out, in], doubled
    expect(Array.from(f32Out.subarray(9))).toEqual(Array.from(f32Out.subarray(0, 9))); // the second head
    expect(Array.from(fromF16(convertMapped(w, Uint16Array.from(f32, f16Bits))))).toEqual(Array.from(f32Out));
  });

  it("an MLP-less block takes fla names only with state-space mixers (fla's Mamba and Mamba2 blocks)", () => {
    const src = `model m {\n  vocab = 16\n  dim = 8\n  heads = 2\n  layers = 1\n\n  mixer attn = gla\n\n  block {\n    x = x + attn(rmsnorm(x))\n  }\n}\n`;
    const r = compileSource(src, 'm.loom', { batch: 1, seq: 2 });
    if (!r.ok) throw new Error('compile');
    expect(() => checkpointMap(r.compiled.spec, r.compiled.graph.weights, 'fla')).toThrow(/fla\/HF checkpoint names fit a block of the form/);
  });
});
