/**
 * The float64 feature maps (runtime/reference/feature-map.ts) against the kernels they stand for:
 * Taylor gives 1 + s + s^2/2, ReBased (s)^2 (after its LayerNorm), Hedgehog a distribution over 2K
 * entries, T2R relu(x W + b); widths and weight shapes; Hedgehog's seeded W is the identity.
 */
import { describe, expect, it } from 'vitest';
import { featureMapWeightShapes, featureMapWidth, type FeatureMapKind } from '../../compiler/ir/graph.ts';
import { Rng } from '../../runtime/random.ts';
import { featureMapRef, featureMapRow, layerNormRef } from '../../runtime/reference/feature-map.ts';
import { seededWeights } from '../../runtime/weights.ts';

const dot = (a: readonly number[], b: readonly number[]) => a.reduce((acc, x, i) => acc + x * b[i], 0);
const rows = (seed: number, n: number, K: number) => {
  const r = new Rng(seed);
  return Array.from({ length: n }, () => Array.from(r.normals(K)));
};

describe('feature map kernels (float64)', () => {
  it.each([4, 16])('taylor, d = %i: phi(q).phi(k) = 1 + s + s^2/2 with s = q.k / sqrt(d)', (d) => {
    const map: FeatureMapKind = { kind: 'taylor', scale: 1 / Math.sqrt(d) };
    const [q, k] = rows(1, 2, d);
    const s = dot(q, k) / Math.sqrt(d);
    const pq = featureMapRow(map, q, 0, []);
    expect(pq.length).toBe(featureMapWidth(map, d));
    expect(dot(pq, featureMapRow(map, k, 0, []))).toBeCloseTo(1 + s + (s * s) / 2, 10);
  });

  it('rebased without norm: phi(q).phi(k) = (c q.k)^2 on K(K+1)/2 features', () => {
    const map: FeatureMapKind = { kind: 'rebased', scale: 0.3, norm: null };
    const [q, k] = rows(2, 2, 5);
    const pq = featureMapRow(map, q, 0, []);
    expect(pq.length).toBe(15);
    expect(dot(pq, featureMapRow(map, k, 0, []))).toBeCloseTo((0.3 * dot(q, k)) ** 2, 10);
  });

  it('rebased with norm: the square kernel of gamma * LayerNorm(x) + beta', () => {
    const K = 6;
    const map: FeatureMapKind = { kind: 'rebased', scale: 1 / Math.sqrt(K), norm: { eps: 1e-5 } };
    const [q, k, gamma, beta] = rows(3, 4, K);
    const [nq, nk] = [layerNormRef(q, gamma, beta, 1e-5), layerNormRef(k, gamma, beta, 1e-5)];
    const plain = layerNormRef(q, Array(K).fill(1), Array(K).fill(0), 0);
    expect(dot(plain, Array(K).fill(1))).toBeCloseTo(0, 10); // mean 0
    expect(dot(plain, plain) / K).toBeCloseTo(1, 10); // biased variance 1
    const got = dot(featureMapRow(map, q, 0, [gamma, beta]), featureMapRow(map, k, 0, [gamma, beta]));
    expect(got).toBeCloseTo(dot(nq, nk) ** 2 / K, 10);
  });

  it('hedgehog: every row is a distribution over 2K entries; W = I, b = 0 gives softmax([x, -x])', () => {
    const K = 4;
    const H = 2;
    const [W] = [...seededWeights([{ name: 'w', shape: [H, K, K], init: { kind: 'eye' } }], 0).values()];
    expect(Array.from(W.subarray(K * K, 2 * K * K))).toEqual([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]);
    const x = new Rng(4).normals(3 * H * K);
    const b = new Float64Array(H * K);
    const out = featureMapRef({ N: 3, H, K, x, map: { kind: 'hedgehog' }, weights: [W, b] });
    for (let r = 0; r < 3 * H; r++) {
      const row = Array.from(out.subarray(r * 2 * K, (r + 1) * 2 * K));
      expect(row.every((v) => v > 0)).toBe(true);
      expect(row.reduce((a, v) => a + v, 0)).toBeCloseTo(1, 12);
      const xs = Array.from(x.subarray(r * K, (r + 1) * K));
      const e = [...xs, ...xs.map((v) => -v)].map(Math.exp);
      const sum = e.reduce((a, v) => a + v, 0);
      row.forEach((v, i) => expect(v).toBeCloseTo(e[i] / sum, 12));
    }
    // A large pre-activation stays finite (shifted by the row's max).
    const big = featureMapRow({ kind: 'hedgehog' }, [800, -3], 0, [[1, 0, 0, 1], [0, 0]]);
    expect(big.every(Number.isFinite)).toBe(true);
    expect(big[0]).toBeCloseTo(1, 12);
  });

  it('t2r: relu(x W_h + b_h) with per-head weights', () => {
    const map: FeatureMapKind = { kind: 't2r', features: 3 };
    // H = 2, K = 2, F = 3; head 1 uses the second block of W and b.
    const W = [1, 0, 0, 0, 1, 0, /* head 1 */ 1, -1, 2, 0, 1, -1];
    const b = [0, 0, 0, /* head 1 */ 0.5, 0, -10];
    const out = featureMapRef({ N: 1, H: 2, K: 2, x: [3, -2, 1, 2], map, weights: [W, b] });
    expect(Array.from(out)).toEqual([3, 0, 0, 1.5, 1, 0]);
  });

  it('widths and weight shapes', () => {
    expect(featureMapWidth({ kind: 'taylor', scale: 1 }, 16)).toBe(153);
    expect(featureMapWidth({ kind: 'rebased', scale: 1, norm: null }, 16)).toBe(136);
    expect(featureMapWidth({ kind: 'hedgehog' }, 16)).toBe(32);
    expect(featureMapWidth({ kind: 't2r', features: 24 }, 16)).toBe(24);
    expect(featureMapWeightShapes({ kind: 'rebased', scale: 1, norm: { eps: 1e-5 } }, 4, 16)).toEqual([[16], [16]]);
    expect(featureMapWeightShapes({ kind: 't2r', features: 24 }, 4, 16)).toEqual([[4, 16, 24], [4, 24]]);
    expect(() => featureMapRef({ N: 2, H: 1, K: 3, x: [1, 2], map: { kind: 'hedgehog' }, weights: [] })).toThrow(/expected N\*H\*K = 2\*1\*3/);
  });
});
