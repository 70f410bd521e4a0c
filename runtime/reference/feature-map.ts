/**
 * Float64 reference of the per-head feature maps that carry weights or change the key width
 * (docs/mixers.md; FeatureMapKind in compiler/ir/graph.ts), the definitions written loop by loop.
 *
 * x is `[N, H, K]` (N = B*T tokens, row-major, one head = K consecutive values); the result is
 * `[N, H, K']`. Quadratic features use the symmetric half of x x^T: pairs (i, j) with i <= j in
 * row-major order (i outer), so K(K+1)/2 of them, with the off-diagonal products weighted so
 * that the dot product of two maps equals the full outer-product kernel:
 *   taylor:  [1, sqrt(c) x, c x_i x_i / sqrt2, c x_i x_j (i < j)]  -> 1 + c q.k + (c q.k)^2 / 2
 *   rebased: [c x_i x_i, sqrt2 c x_i x_j (i < j)] after the optional LayerNorm  -> (c q.k)^2
 *   hedgehog: softmax over the 2K entries [y, -y], y = x W_h + b_h (W `[H, K, K]`, b `[H, K]`)
 *   t2r:     relu(x W_h + b_h) (W `[H, K, F]`, b `[H, F]`)
 */
import { featureMapWidth, type FeatureMapKind } from '../../compiler/ir/graph.ts';

export interface FeatureMapRefInput {
  /** Tokens (B*T). */
  N: number;
  H: number;
  K: number;
  x: ArrayLike<number>;
  map: FeatureMapKind;
  /** The map's weights in featureMapWeightShapes order (flat, row-major). */
  weights: readonly ArrayLike<number>[];
}

/** The symmetric half of x x^T, i <= j, weighted `diag` on i = j and `off` on i < j. */
function pairs(x: readonly number[], diag: number, off: number, out: number[]): void {
  for (let i = 0; i < x.length; i++) {
    out.push(diag * x[i] * x[i]);
    for (let j = i + 1; j < x.length; j++) out.push(off * x[i] * x[j]);
  }
}

/** (x - mean) / sqrt(var + eps) * gamma + beta over one head (biased variance, as torch). */
export function layerNormRef(x: readonly number[], gamma: ArrayLike<number>, beta: ArrayLike<number>, eps: number): number[] {
  const K = x.length;
  const mean = x.reduce((a, b) => a + b, 0) / K;
  const variance = x.reduce((a, b) => a + (b - mean) ** 2, 0) / K;
  const inv = 1 / Math.sqrt(variance + eps);
  return x.map((v, i) => (v - mean) * inv * gamma[i] + beta[i]);
}

/** y = x W_h + b_h for head h, W `[H, K, F]`, b `[H, F]`. */
function affine(x: readonly number[], W: ArrayLike<number>, b: ArrayLike<number>, h: number, F: number): number[] {
  const K = x.length;
  const y: number[] = [];
  for (let j = 0; j < F; j++) {
    let acc = b[h * F + j];
    for (let i = 0; i < K; i++) acc += x[i] * W[(h * K + i) * F + j];
    y.push(acc);
  }
  return y;
}

/** phi of one head's row x (head index h for per-head weights). */
export function featureMapRow(map: FeatureMapKind, x: readonly number[], h: number, weights: readonly ArrayLike<number>[]): number[] {
  const out: number[] = [];
  switch (map.kind) {
    case 'taylor': {
      const c = map.scale;
      out.push(1, ...x.map((v) => Math.sqrt(c) * v));
      pairs(x, c / Math.SQRT2, c, out);
      return out;
    }
    case 'rebased': {
      const y = map.norm ? layerNormRef(x, weights[0], weights[1], map.norm.eps) : x;
      pairs(y, map.scale, Math.SQRT2 * map.scale, out);
      return out;
    }
    case 'hedgehog': {
      const y = affine(x, weights[0], weights[1], h, x.length);
      const both = [...y, ...y.map((v) => -v)];
      const m = Math.max(...both);
      const e = both.map((v) => Math.exp(v - m));
      const sum = e.reduce((a, b) => a + b, 0);
      return e.map((v) => v / sum);
    }
    case 't2r':
      return affine(x, weights[0], weights[1], h, map.features).map((v) => Math.max(v, 0));
  }
}

/** phi over every token and head: `[N, H, K]` -> `[N, H, K']`. */
export function featureMapRef(input: FeatureMapRefInput): Float64Array {
  const { N, H, K, x, map, weights } = input;
  if (x.length !== N * H * K) throw new RangeError(`feature map x has ${x.length} values, expected N*H*K = ${N}*${H}*${K}`);
  const KP = featureMapWidth(map, K);
  const out = new Float64Array(N * H * KP);
  for (let r = 0; r < N * H; r++) {
    const row = Array.from({ length: K }, (_, i) => x[r * K + i]);
    out.set(featureMapRow(map, row, r % H, weights), r * KP);
  }
  return out;
}
