/**
 * Float64 reference of the diagonal-plus-low-rank (DPLR) recurrence, flash-linear-attention's
 * generalised delta rule (docs/mixers.md 1.5), written loop by loop, one token at a time. Shares no
 * code with the WGSL kernels. Per batch b and head h, S of shape [K, V]:
 *
 *   S_t = Diag(exp(gk_t)) S_{t-1} + b_t (a_t^T S_{t-1}) + k_t v_t^T     S_{-1} = s0 (zeros when absent)
 *   o_t = S_t^T (scale q_t)                                            (the current token counts)
 *
 * The low-rank term reads the state before this token's decay (fla's dplr_recurrence). Kimi Delta
 * Attention (fla's naive_recurrent_kda: S' = Diag(exp g_t) S_{t-1}; S_t = S' + beta_t k_t (v_t - S'^T k_t)^T)
 * is the case a = exp(g) * k, b = -beta k, v scaled by beta (kdaToDplr).
 *
 * Layouts (row-major): q, k, a, b, gk `[B, T, H, K]`; v, o `[B, T, H, V]`; beta, for KDA, `[B, T, H]`;
 * s0, S `[B, H, K, V]`. scale defaults to K^-1/2.
 */

export interface DplrRefInput {
  B: number;
  T: number;
  H: number;
  K: number;
  V: number;
  q: ArrayLike<number>;
  k: ArrayLike<number>;
  v: ArrayLike<number>;
  a: ArrayLike<number>;
  b: ArrayLike<number>;
  gk: ArrayLike<number>;
  s0?: ArrayLike<number>;
  scale?: number;
}

export interface DplrRefOutput {
  o: Float64Array;
  S: Float64Array;
}

function check(inp: DplrRefInput): void {
  const { B, T, H, K, V } = inp;
  for (const [n, d] of Object.entries({ B, T, H, K, V })) if (!Number.isInteger(d) || d < 0) throw new Error(`dplrRef: ${n} = ${d} is not a non-negative integer`);
  const want: [string, ArrayLike<number>, number, string][] = [
    ...(['q', 'k', 'a', 'b', 'gk'] as const).map((n): [string, ArrayLike<number>, number, string] => [n, inp[n], B * T * H * K, '[B, T, H, K]']),
    ['v', inp.v, B * T * H * V, '[B, T, H, V]'],
  ];
  if (inp.s0) want.push(['s0', inp.s0, B * H * K * V, '[B, H, K, V]']);
  for (const [n, x, len, shape] of want) if (x.length !== len) throw new Error(`dplrRef: ${n} has ${x.length} elements, expected ${len} = ${shape}`);
}

/** Runs the recurrence token by token for every (b, h); returns o and the final state. */
export function dplrRef(inp: DplrRefInput): DplrRefOutput {
  check(inp);
  const { B, T, H, K, V } = inp;
  const scale = inp.scale ?? 1 / Math.sqrt(K);
  const o = new Float64Array(B * T * H * V);
  const S = new Float64Array(B * H * K * V);
  if (inp.s0) for (let i = 0; i < S.length; i++) S[i] = inp.s0[i];
  const w = new Float64Array(V);
  for (let bb = 0; bb < B; bb++) {
    for (let h = 0; h < H; h++) {
      const oS = (bb * H + h) * K * V;
      for (let t = 0; t < T; t++) {
        const oK = ((bb * T + t) * H + h) * K;
        const oV = ((bb * T + t) * H + h) * V;
        // w = a_t^T S_{t-1}
        w.fill(0);
        for (let i = 0; i < K; i++) for (let j = 0; j < V; j++) w[j] += inp.a[oK + i] * S[oS + i * V + j];
        // S_t = Diag(exp(gk_t)) S_{t-1} + b_t w + k_t v_t^T
        for (let i = 0; i < K; i++) {
          const d = Math.exp(inp.gk[oK + i]);
          for (let j = 0; j < V; j++) S[oS + i * V + j] = d * S[oS + i * V + j] + inp.b[oK + i] * w[j] + inp.k[oK + i] * inp.v[oV + j];
        }
        // o_t = S_t^T (scale q_t)
        for (let j = 0; j < V; j++) {
          let acc = 0;
          for (let i = 0; i < K; i++) acc += S[oS + i * V + j] * scale * inp.q[oK + i];
          o[oV + j] = acc;
        }
      }
    }
  }
  return { o, S };
}

/** Kimi Delta Attention's tensors: g `[B, T, H, K]` log per-channel decay, beta `[B, T, H]`. */
export interface KdaRefInput extends Omit<DplrRefInput, 'a' | 'b' | 'gk'> {
  g: ArrayLike<number>;
  beta: ArrayLike<number>;
}

/** KDA as a DPLR recurrence: a = exp(g) * k, b = -beta k, v <- beta v, gk = g. */
export function kdaToDplr(inp: KdaRefInput): DplrRefInput {
  const { B, T, H, K, V } = inp;
  if (inp.beta.length !== B * T * H) throw new Error(`kdaRef: beta has ${inp.beta.length} elements, expected ${B * T * H} = [B, T, H]`);
  if (inp.g.length !== B * T * H * K) throw new Error(`kdaRef: g has ${inp.g.length} elements, expected ${B * T * H * K} = [B, T, H, K]`);
  const n = B * T * H;
  const a = new Float64Array(n * K);
  const b = new Float64Array(n * K);
  const v = new Float64Array(n * V);
  for (let r = 0; r < n; r++) {
    for (let i = 0; i < K; i++) {
      a[r * K + i] = Math.exp(inp.g[r * K + i]) * inp.k[r * K + i];
      b[r * K + i] = -inp.beta[r] * inp.k[r * K + i];
    }
    for (let j = 0; j < V; j++) v[r * V + j] = inp.beta[r] * inp.v[r * V + j];
  }
  return { ...inp, a, b, v, gk: inp.g };
}

/** Kimi Delta Attention through the DPLR reference. */
export function kdaRef(inp: KdaRefInput): DplrRefOutput {
  return dplrRef(kdaToDplr(inp));
}
