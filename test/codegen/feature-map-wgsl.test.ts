/**
 * The feature-map kernel generator: WGSL snapshots of every map, its bindings (weights in the
 * IR's order), dispatch, and refusal of heads wider than its private arrays allow.
 */
import { describe, expect, it } from 'vitest';
import { featureMapKernel, MAX_FEATURE_MAP_INPUT } from '../../compiler/codegen/kernels/feature-map.ts';
import type { FeatureMapKind } from '../../compiler/ir/graph.ts';

const MAPS: [string, FeatureMapKind][] = [
  ['taylor', { kind: 'taylor', scale: 0.5 }],
  ['rebased-norm', { kind: 'rebased', scale: 0.5, norm: { eps: 1e-5 } }],
  ['rebased', { kind: 'rebased', scale: 0.5, norm: null }],
  ['hedgehog', { kind: 'hedgehog' }],
  ['t2r-F6', { kind: 't2r', features: 6 }],
];

describe('feature map WGSL', () => {
  it.each(MAPS)('%s snapshot (N7-H2-K4)', async (id, map) => {
    const k = featureMapKernel({ name: `L0.attn.q_${id}`, N: 7, H: 2, K: 4, map });
    await expect(k.wgsl).toMatchFileSnapshot(`__snapshots__/feature_map/${id}.wgsl`);
    expect(featureMapKernel({ name: `L0.attn.q_${id}`, N: 7, H: 2, K: 4, map }).wgsl).toBe(k.wgsl);
    expect(k.wgsl).not.toMatch(/var<workgroup>|workgroupBarrier/);
  });

  it('binds x, the weights in the IR order, then out; one invocation per (token, head)', () => {
    const k = featureMapKernel({ name: 'hh', N: 100, H: 3, K: 8, map: { kind: 'hedgehog' } });
    expect(k.bindings.map((b) => [b.name, b.access, b.elements])).toEqual([
      ['x', 'read', 2400],
      ['w', 'read', 192],
      ['bias', 'read', 24],
      ['out', 'read_write', 4800],
    ]);
    expect(k.dispatch).toEqual([10, 1, 1]); // ceil(300 / 32)
    const t = featureMapKernel({ name: 'tay', N: 1, H: 1, K: 16, map: { kind: 'taylor', scale: 0.25 } });
    expect(t.bindings.at(-1)!.elements).toBe(153);
  });

  it('refuses heads wider than its private arrays allow', () => {
    expect(() => featureMapKernel({ name: 'big', N: 1, H: 1, K: MAX_FEATURE_MAP_INPUT + 1, map: { kind: 'hedgehog' } })).toThrow(/K = 513 > 512/);
  });
});
