/**
 * Float64 reference of causal linear attention (MIXERS.md §1, additive update, no decay): the
 * definition written loop by loop, one token at a time. Shares no code with the WGSL kernels.
 *
 * Per batch b and head h, with q~ = phi(q), k~ = phi(k):
 *   S_t = S_{t-1} + k~_t v_t^T               S: [K, V], S_{-1} = s0 (zeros when absent)
 *   o_t = S_t^T (scale q~_t)                  (the current token counts)
 *   normalized: z_t = z_{t-1} + k~_t;  o_t = S_t^T (scale q~_t) / ((scale q~_t) . z_t + eps)
 *
 * Layouts (row-major): q, k `[B, T, H, K]`; v, o `[B, T, H, V]`; s0, S `[B, H, K, V]`;
 * z0, z `[B, H, K]`.
 */
import type { FeatureMap } from '../../compiler/ir/graph.ts';

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
}

/** Runs the recurrence token by token for every (b, h); returns o, the final S and z. */
export function linearAttnRef(inp: LinearAttnRefInput): LinearAttnRefOutput {
  validate(inp);
  const { B, T, H, K, V, feature, normalize, scale, eps } = inp;
  const o = new Float64Array(B * T * H * V);
  const S = new Float64Array(B * H * K * V);
  const z = normalize ? new Float64Array(B * H * K) : null;
  if (inp.s0) for (let i = 0; i < S.length; i++) S[i] = inp.s0[i];
  if (z && inp.z0) for (let i = 0; i < z.length; i++) z[i] = inp.z0[i];
  const qt = new Float64Array(K);
  const kt = new Float64Array(K);
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
        // S_t = S_{t-1} + k~_t v_t^T ; z_t = z_{t-1} + k~_t
        for (let i = 0; i < K; i++) {
          for (let j = 0; j < V; j++) S[oS + i * V + j] += kt[i] * inp.v[oV + j];
          if (z) z[oZ + i] += kt[i];
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
