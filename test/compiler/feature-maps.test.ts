/**
 * The feature-map presets and knobs through check, lower and plan (no adapter): defaults of
 * based/rebased/hedgehog, K' on the recurrence, the weights each map declares with their init,
 * `then` stages around a map, and the planner refusing (with a reason) a schedule whose private
 * arrays an expanded key would overflow.
 */
import { describe, expect, it } from 'vitest';
import type { LinearAttnMixer } from '../../compiler/check/spec.ts';
import { DEFAULT_PROFILE } from '../../compiler/plan/device.ts';
import { checkSource, compileSource } from '../../compiler/pipeline.ts';

function model(mixer: string, heads = 4): string {
  return `model m {\n  vocab = 64\n  dim = 64\n  heads = ${heads}\n  layers = 1\n  mixer attn = ${mixer}\n  block {\n    x = x + attn(x)\n  }\n}\n`;
}

function mixerOf(mixer: string): LinearAttnMixer {
  const { spec, diagnostics } = checkSource(model(mixer), 'm.loom');
  expect(diagnostics).toEqual([]);
  return spec!.mixers.attn as LinearAttnMixer;
}

describe('feature-map presets', () => {
  it('based: Taylor on 16-wide q, k; K\' = 153, scale 1, normalized, eps 1e-6; v keeps head_dim', () => {
    const m = mixerOf('based');
    expect(m.featureMap).toEqual({ map: { kind: 'taylor', scale: 0.25 }, inputDim: 16, post: [] });
    expect(m.knobs).toMatchObject({ heads: 4, keyDim: 153, valueDim: 16, normalize: true, scale: 1, eps: 1e-6, feature: 'identity' });
  });
  it('rebased: LayerNorm eps 1e-5 and normaliser eps 1e-5; K\' = 136', () => {
    const m = mixerOf('rebased { feature_dim = 16 }');
    expect(m.featureMap!.map).toEqual({ kind: 'rebased', scale: 0.25, norm: { eps: 1e-5 } });
    expect(m.knobs).toMatchObject({ keyDim: 136, eps: 1e-5, normalize: true });
  });
  it('hedgehog: K\' = 2 head_dim; the knobs still override', () => {
    expect(mixerOf('hedgehog').knobs.keyDim).toBe(32);
    expect(mixerOf('hedgehog { feature_dim = 8  scale = 0.5  normalize = false }').knobs).toMatchObject({ keyDim: 16, scale: 0.5, normalize: false });
  });
  it('feature_dim alone sets K (default scale feature_dim^-1/2); stages compose around a map', () => {
    expect(mixerOf('linear_recurrence { feature_dim = 9 }').knobs).toMatchObject({ keyDim: 9, scale: 1 / 3, valueDim: 16 });
    const m = mixerOf('linear_attn { feature = silu then t2r(features = 24) then l2 }');
    expect(m.features).toEqual(['silu']);
    expect(m.featureMap).toMatchObject({ map: { kind: 't2r', features: 24 }, inputDim: 16, post: ['l2'] });
    expect(m.knobs.keyDim).toBe(24);
    expect(mixerOf('linear_attn { feature = elu1 then taylor }').knobs.feature).toBe('identity'); // elu1 is not fused before a map
  });
});

describe('feature maps in the graph', () => {
  it('declare their weights with shapes and init, and widen q, k before the recurrence', () => {
    const cases: [string, [string, number[], string][]][] = [
      ['based', []],
      ['rebased', [['layers.0.attn.feature_map.gamma', [16], 'ones'], ['layers.0.attn.feature_map.beta', [16], 'zeros']]],
      ['hedgehog', ['q', 'k'].flatMap((t): [string, number[], string][] => [[`layers.0.attn.feature_map_${t}.weight`, [4, 16, 16], 'eye'], [`layers.0.attn.feature_map_${t}.bias`, [4, 16], 'zeros']])],
      ['linear_attn { feature = t2r(features = 8) }', ['q', 'k'].flatMap((t): [string, number[], string][] => [[`layers.0.attn.feature_map_${t}.weight`, [4, 16, 8], 'normal'], [`layers.0.attn.feature_map_${t}.bias`, [4, 8], 'zeros']])],
    ];
    for (const [mixer, weights] of cases) {
      const r = compileSource(model(mixer), 'm.loom', { batch: 2, seq: 5, device: DEFAULT_PROFILE });
      expect(r.ok, mixer).toBe(true);
      if (!r.ok) continue;
      const g = r.compiled.graph;
      const maps = g.nodes.filter((n) => n.op === 'feature_map');
      expect(maps.map((n) => n.label)).toEqual(['L0.attn.q_' + maps[0].map.kind, 'L0.attn.k_' + maps[0].map.kind]);
      const la = g.nodes.find((n) => n.op === 'linear_attn')!;
      for (const n of maps) expect(n.type.shape).toEqual([2, 5, 4 * (la.op === 'linear_attn' ? la.knobs.keyDim : 0)]);
      const declared = g.weights.filter((w) => w.name.includes('feature_map')).map((w) => [w.name, w.shape, w.init.kind]);
      expect(declared).toEqual(weights);
      expect(g.weights.find((w) => w.name === 'layers.0.attn.q.weight')!.shape).toEqual([64, 64]);
    }
  });

  it('refuses the recurrent schedule for K\' = 561 (Based at d = 32) with the sizes, and runs the others', () => {
    const src = model('based { feature_dim = 32 }');
    const rec = compileSource(src, 'm.loom', { batch: 1, seq: 8, schedule: { kind: 'recurrent' }, device: DEFAULT_PROFILE });
    expect(rec.ok).toBe(false);
    if (!rec.ok) expect(rec.diagnostics[0].message).toMatch(/has no recurrent schedule: K = 561: each recurrent invocation keeps .* 11220 bytes of private arrays, over WGSL's 8192/);
    for (const kind of ['parallel', 'chunkwise'] as const) {
      expect(compileSource(src, 'm.loom', { batch: 1, seq: 8, schedule: { kind }, device: DEFAULT_PROFILE }).ok).toBe(true);
    }
  });
});
