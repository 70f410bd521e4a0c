/**
 * Float64 reference of causal linear attention (docs/mixers.md, additive update, any decay): the
 * definition written loop by loop, one token at a time. Shares no code with the WGSL kernels.
 *
 * Per batch b and head h, with q~ = phi(q), k~ = phi(k) and the decay D_t (log space: the factor
 * is exp(g) with g <= 0):
 *   S_t = D_t S_{t-1} + k~_t v_t^T           S: [K, V], S_{-1} = s0 (zeros when absent)
 *   o_t = S_t^T (scale q~_t)                  (the current token counts)
 *   normalized: z_t = D_t z_{t-1} + k~_t;  o_t = S_t^T (scale q~_t) / ((scale q~_t) . z_t + eps)
 * D_t: none = I; fixed = exp(logDecay[h]) I; scalar = exp(g[b, t, h]) I;
 * vector = diag(exp(g[b, t, h, :])) (row i of S and z scaled by exp(g[b, t, h, i])).
 *
 * Layouts (row-major): q, k `[B, T, H, K]`; v, o `[B, T, H, V]`; s0, S `[B, H, K, V]`;
 * z0, z `[B, H, K]`; g `[B, T, H]` (scalar) or `[B, T, H, K]` (vector); beta `[B, T, H]`.
 */
import type { Decay, FeatureMap, UpdateRule } from '../../compiler/ir/graph.ts';
import { deltaRuleRef } from './delta-rule.ts';

export interface LinearAttnRefInput {
  B: number;
  T: number;
  H: number;
  K: number;
  V: number;
  q: ArrayLike<number>;
  k: ArrayLike<number>;
  v: ArrayLike<number>;
  /** Initial state `[B, H, K, V]`; zeros when absent. */
  s0?: ArrayLike<number>;
  /** Initial normalizer `[B, H, K]`; zeros when absent (read only when normalize). */
  z0?: ArrayLike<number>;
  feature: FeatureMap;
  normalize: boolean;
  /** Multiplies q~ (after the feature map). */
  scale: number;
  eps: number;
  /** Decay of the state per token; default none. */
  decay?: Decay;
  /** State update rule; default additive (this file); delta is `delta-rule.ts`. */
  update?: UpdateRule;
  /** Log-gates: `[B, T, H]` for scalar decay, `[B, T, H, K]` for vector decay; read only then. */
  g?: ArrayLike<number>;
  /** Delta-rule write strengths `[B, T, H]` (update = delta only). */
  beta?: ArrayLike<number>;
}

export interface LinearAttnRefOutput {
  /** `[B, T, H, V]` */
  o: Float64Array;
  /** Final state `[B, H, K, V]`. */
  S: Float64Array;
  /** Final normalizer `[B, H, K]`, or null when !normalize. */
  z: Float64Array | null;
}

function phi(feature: FeatureMap, x: number): number {
  switch (feature) {
    case 'identity':
      return x;
    case 'elu1':
      return x > 0 ? x + 1 : Math.exp(x);
  }
}

function checkLength(name: string, a: ArrayLike<number>, want: number, shape: string): void {
  if (a.length !== want) throw new Error(`linearAttnRef: ${name} has ${a.length} elements, expected ${want} = ${shape}`);
}

function validate(inp: LinearAttnRefInput): void {
  const { B, T, H, K, V } = inp;
  for (const [n, d] of Object.entries({ B, T, H, K, V })) {
    if (!Number.isInteger(d) || d < 0) throw new Error(`linearAttnRef: ${n} = ${d} is not a non-negative integer`);
  }
  checkLength('q', inp.q, B * T * H * K, '[B, T, H, K]');
  checkLength('k', inp.k, B * T * H * K, '[B, T, H, K]');
  checkLength('v', inp.v, B * T * H * V, '[B, T, H, V]');
  if (inp.s0) checkLength('s0', inp.s0, B * H * K * V, '[B, H, K, V]');
  if (inp.z0 && inp.normalize) checkLength('z0', inp.z0, B * H * K, '[B, H, K]');
  const decay = inp.decay ?? { kind: 'none' };
  if (decay.kind === 'fixed' && decay.logDecay.length !== H) {
    throw new Error(`linearAttnRef: fixed decay has ${decay.logDecay.length} log-decays, expected one per head (H = ${H})`);
  }
  if (decay.kind === 'scalar' || decay.kind === 'vector') {
    if (!inp.g) throw new Error(`linearAttnRef: ${decay.kind} decay needs the log-gates g`);
    if (decay.kind === 'scalar') checkLength('g', inp.g, B * T * H, '[B, T, H]');
    else checkLength('g', inp.g, B * T * H * K, '[B, T, H, K]');
  }
}

/** Fills `d` with the decay factors exp(g) of rows 0..K-1 of S at token t of head h. */
function decayFactors(inp: LinearAttnRefInput, b: number, t: number, h: number, d: Float64Array): void {
  const decay = inp.decay ?? { kind: 'none' };
  const { T, H, K } = inp;
  const g = inp.g ?? [];
  for (let i = 0; i < K; i++) {
    switch (decay.kind) {
      case 'none':
        d[i] = 1;
        break;
      case 'fixed':
        d[i] = Math.exp(decay.logDecay[h]);
        break;
      case 'scalar':
        d[i] = Math.exp(g[(b * T + t) * H + h]);
        break;
      case 'vector':
        d[i] = Math.exp(g[((b * T + t) * H + h) * K + i]);
        break;
    }
  }
}

/** Runs the recurrence token by token for every (b, h); returns o, the final S and z. */
export function linearAttnRef(inp: LinearAttnRefInput): LinearAttnRefOutput {
  if (inp.update === 'delta') return deltaRuleRef(inp);
  validate(inp);
  const { B, T, H, K, V, feature, normalize, scale, eps } = inp;
  const o = new Float64Array(B * T * H * V);
  const S = new Float64Array(B * H * K * V);
  const z = normalize ? new Float64Array(B * H * K) : null;
  if (inp.s0) for (let i = 0; i < S.length; i++) S[i] = inp.s0[i];
  if (z && inp.z0) for (let i = 0; i < z.length; i++) z[i] = inp.z0[i];
  const qt = new Float64Array(K);
  const kt = new Float64Array(K);
  const dt = new Float64Array(K);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const oS = (b * H + h) * K * V;
      const oZ = (b * H + h) * K;
      for (let t = 0; t < T; t++) {
        const oQK = ((b * T + t) * H + h) * K;
        const oV = ((b * T + t) * H + h) * V;
        for (let i = 0; i < K; i++) {
          qt[i] = scale * phi(feature, inp.q[oQK + i]);
          kt[i] = phi(feature, inp.k[oQK + i]);
        }
        decayFactors(inp, b, t, h, dt);
        // S_t = D_t S_{t-1} + k~_t v_t^T ; z_t = D_t z_{t-1} + k~_t
        for (let i = 0; i < K; i++) {
          for (let j = 0; j < V; j++) S[oS + i * V + j] = dt[i] * S[oS + i * V + j] + kt[i] * inp.v[oV + j];
          if (z) z[oZ + i] = dt[i] * z[oZ + i] + kt[i];
        }
        // o_t = S_t^T (scale q~_t) [/ ((scale q~_t) . z_t + eps)]
        let den = 1;
        if (z) {
          den = eps;
          for (let i = 0; i < K; i++) den += qt[i] * z[oZ + i];
        }
        for (let j = 0; j < V; j++) {
          let num = 0;
          for (let i = 0; i < K; i++) num += S[oS + i * V + j] * qt[i];
          o[oV + j] = num / den;
        }
      }
    }
  }
  return { o, S, z };
}

/**
 * The masked-attention form of the additive recurrence (docs/mixers.md), O(T^2), straight
 * from the definition: `o_i = sum_j w_ij v_j` (normalised: divided by `sum_j w_ij + eps`) with
 * `w_ij = scale * sum_k phi(q)_ik phi(k)_jk M_ijk` and the decay mask M by direction:
 * forward `j <= i`, `prod_{s=j+1..i} lambda_s`; reverse `j >= i`, `prod_{s=i..j-1} lambda_s`;
 * bidirectional: forward for `j <= i` and `prod_{s=i+1..j} lambda_s` for `j > i`.
 * Used to check the graph-level compositions (reverse and LION scans) independently.
 */
export function maskedLinearAttnRef(inp: Omit<LinearAttnRefInput, 's0' | 'z0' | 'beta' | 'update'> & { direction: 'forward' | 'reverse' | 'bidirectional' }): Float64Array {
  const { B, T, H, K, V, q, k, v, g, feature, normalize, scale, eps, direction } = inp;
  const decay = inp.decay ?? { kind: 'none' };
  const phi = (x: number) => (feature === 'elu1' ? (x > 0 ? x + 1 : Math.exp(x)) : x);
  const logDecay = (b: number, s: number, h: number, c: number): number => {
    if (decay.kind === 'none') return 0;
    if (decay.kind === 'fixed') return decay.logDecay[h];
    if (decay.kind === 'scalar') return g![(b * T + s) * H + h];
    return g![((b * T + s) * H + h) * K + c];
  };
  const o = new Float64Array(B * T * H * V);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      for (let i = 0; i < T; i++) {
        const num = new Float64Array(V);
        let den = 0;
        for (let j = 0; j < T; j++) {
          let lo: number, hi: number; // the mask is exp(sum of log-decays over s in [lo, hi])
          if (direction === 'forward' && j > i) continue;
          if (direction === 'reverse' && j < i) continue;
          if (j <= i && direction !== 'reverse') [lo, hi] = [j + 1, i];
          else if (direction === 'reverse') [lo, hi] = [i, j - 1];
          else [lo, hi] = [i + 1, j];
          let w = 0;
          for (let c = 0; c < K; c++) {
            let sum = 0;
            for (let s = lo; s <= hi; s++) sum += logDecay(b, s, h, c);
            w += phi(q[((b * T + i) * H + h) * K + c]) * phi(k[((b * T + j) * H + h) * K + c]) * Math.exp(sum);
          }
          w *= scale;
          den += w;
          for (let e = 0; e < V; e++) num[e] += w * v[((b * T + j) * H + h) * V + e];
        }
        for (let e = 0; e < V; e++) o[((b * T + i) * H + h) * V + e] = normalize ? num[e] / (den + eps) : num[e];
      }
    }
  }
  return o;
}
