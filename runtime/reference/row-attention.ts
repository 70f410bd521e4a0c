/**
 * The cache-free attention variants of MIXERS.md §2, as definitions in float64. q, k, v, o are
 * `[B, T, H, D]` row-major; `s_ij = scale q_i . k_j`.
 *
 * softplus attention:  o_i = sum_{j in R_i} w_ij v_j / sum_{j in R_i} w_ij,  w_ij = softplus(lam_i s_ij),
 *                      R_i = {j <= i} (causal) or all j; lam_i = log |R_i| / log T_train with a
 *                      length scale, else 1.
 * DiagAttention:       softmax over R_i = the query's block of `block` tokens ({j in block, j <= i} when causal).
 * Linformer:           o = softmax(scale Q (E' K)^T) (F' V), E' and F' the first T columns of
 *                      E, F `[P, max_len]`, per batch and head.
 */
const softplus = (x: number) => Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));

export interface RowAttentionRefInput {
  q: ArrayLike<number>;
  k: ArrayLike<number>;
  v: ArrayLike<number>;
  B: number;
  /** Queries per sequence. */
  TQ: number;
  /** Keys per sequence. */
  TK: number;
  H: number;
  D: number;
  scale: number;
  /** Keys of query i: [start, end). */
  range: (i: number) => [number, number];
  /** Weights of one query's scores (the normalisation is applied after). */
  weights: (scores: number[], i: number) => number[];
}

/** `o_i = sum_j w_ij v_j / sum_j w_ij` over each query's key range. */
export function rowAttentionRef(r: RowAttentionRefInput): Float64Array {
  const { B, TQ, TK, H, D } = r;
  const o = new Float64Array(B * TQ * H * D);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      for (let i = 0; i < TQ; i++) {
        const [start, end] = r.range(i);
        const scores: number[] = [];
        for (let j = start; j < end; j++) {
          let s = 0;
          for (let d = 0; d < D; d++) s += r.q[((b * TQ + i) * H + h) * D + d] * r.k[((b * TK + j) * H + h) * D + d];
          scores.push(r.scale * s);
        }
        const w = r.weights(scores, i);
        const total = w.reduce((a, x) => a + x, 0);
        for (let d = 0; d < D; d++) {
          let acc = 0;
          for (let j = start; j < end; j++) acc += w[j - start] * r.v[((b * TK + j) * H + h) * D + d];
          o[((b * TQ + i) * H + h) * D + d] = acc / total;
        }
      }
    }
  }
  return o;
}

interface Qkv {
  q: ArrayLike<number>;
  k: ArrayLike<number>;
  v: ArrayLike<number>;
  B: number;
  T: number;
  H: number;
  D: number;
  scale: number;
}

const softmax = (s: number[]) => {
  const m = Math.max(...s);
  return s.map((x) => Math.exp(x - m));
};

export function softplusAttentionRef(x: Qkv & { causal: boolean; lengthScale: number | null }): Float64Array {
  const range = (i: number): [number, number] => [0, x.causal ? i + 1 : x.T];
  const weights = (s: number[]) => {
    const lam = x.lengthScale ? Math.log(s.length) / Math.log(x.lengthScale) : 1;
    return s.map((v) => softplus(lam * v));
  };
  return rowAttentionRef({ ...x, TQ: x.T, TK: x.T, range, weights });
}

export function diagAttentionRef(x: Qkv & { block: number; causal: boolean }): Float64Array {
  const range = (i: number): [number, number] => {
    const start = Math.floor(i / x.block) * x.block;
    return [start, x.causal ? i + 1 : Math.min(start + x.block, x.T)];
  };
  return rowAttentionRef({ ...x, TQ: x.T, TK: x.T, range, weights: softmax });
}

/** `y[b, j] = sum_{t < T} E[j, t] x[b, t]` over rows of width C. */
function project(x: ArrayLike<number>, e: ArrayLike<number>, B: number, T: number, P: number, C: number, maxLen: number): Float64Array {
  const y = new Float64Array(B * P * C);
  for (let b = 0; b < B; b++) for (let j = 0; j < P; j++) for (let c = 0; c < C; c++) {
    let acc = 0;
    for (let t = 0; t < T; t++) acc += e[j * maxLen + t] * x[(b * T + t) * C + c];
    y[(b * P + j) * C + c] = acc;
  }
  return y;
}

export function linformerRef(x: Qkv & { e: ArrayLike<number>; f: ArrayLike<number>; P: number; maxLen: number }): Float64Array {
  if (x.T > x.maxLen) throw new RangeError(`linformer: T = ${x.T} > max_len = ${x.maxLen}`);
  const C = x.H * x.D;
  const k = project(x.k, x.e, x.B, x.T, x.P, C, x.maxLen);
  const v = project(x.v, x.f, x.B, x.T, x.P, C, x.maxLen);
  return rowAttentionRef({ ...x, k, v, TQ: x.T, TK: x.P, range: () => [0, x.P], weights: softmax });
}
