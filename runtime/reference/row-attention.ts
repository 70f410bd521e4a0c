/**
 * The cache-free attention variants of docs/mixers.md, as definitions in float64. q, k, v, o are
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

/**
 * A causal window after `pos[b]` earlier tokens whose keys and values sit in a KV cache
 * `[B, H, slots, D]` (position j in slot j, or j mod slots for a ring). Query t of the window is at
 * absolute position P = pos[b] + t and reads the keys at absolute positions first(P) .. P.
 */
export interface CachedWindow {
  pos: ArrayLike<number>;
  kc: ArrayLike<number>;
  vc: ArrayLike<number>;
  slots: number;
  ring: boolean;
}

function cachedRef(x: Qkv, c: CachedWindow, first: (P: number) => number, weights: (s: number[], n: number) => number[]): { out: Float64Array; finals: Record<string, Float64Array> } {
  const { B, T, H, D } = x;
  const out = new Float64Array(B * T * H * D);
  const kNew = Float64Array.from(c.kc);
  const vNew = Float64Array.from(c.vc);
  const slot = (j: number) => (c.ring ? j % c.slots : j);
  for (let b = 0; b < B; b++) {
    const p0 = c.pos[b];
    if (!c.ring && p0 + T > c.slots) throw new RangeError(`sequence ${b} would write positions ${p0}..${p0 + T - 1}, past the ${c.slots}-position cache`);
    for (let h = 0; h < H; h++) {
      const row = (src: 'k' | 'v', j: number) => {
        if (j >= p0) return Array.from({ length: D }, (_, d) => x[src][((b * T + j - p0) * H + h) * D + d]);
        const cache = src === 'k' ? c.kc : c.vc;
        return Array.from({ length: D }, (_, d) => cache[((b * H + h) * c.slots + slot(j)) * D + d]);
      };
      for (let t = 0; t < T; t++) {
        const P = p0 + t;
        const qt = Array.from({ length: D }, (_, d) => x.q[((b * T + t) * H + h) * D + d]);
        const keys = Array.from({ length: P + 1 - first(P) }, (_, i) => first(P) + i);
        const w = weights(keys.map((j) => x.scale * row('k', j).reduce((a, kd, d) => a + kd * qt[d], 0)), keys.length);
        const total = w.reduce((a, v) => a + v, 0);
        for (let d = 0; d < D; d++) out[((b * T + t) * H + h) * D + d] = keys.reduce((a, j, i) => a + w[i] * row('v', j)[d], 0) / total;
      }
      // The cache after the window: each window position written to its slot, in order.
      for (let j = p0; j < p0 + T; j++) {
        for (let d = 0; d < D; d++) {
          kNew[((b * H + h) * c.slots + slot(j)) * D + d] = x.k[((b * T + j - p0) * H + h) * D + d];
          vNew[((b * H + h) * c.slots + slot(j)) * D + d] = x.v[((b * T + j - p0) * H + h) * D + d];
        }
      }
    }
  }
  return { out, finals: { k_cache: kNew, v_cache: vNew } };
}

/** Causal softplus attention continuing a sequence from its KV cache (linear: slot = position). */
export function softplusAttentionCachedRef(x: Qkv & { lengthScale: number | null }, c: CachedWindow) {
  return cachedRef(x, c, () => 0, (s, n) => {
    const lam = x.lengthScale ? Math.log(n) / Math.log(x.lengthScale) : 1;
    return s.map((v) => softplus(lam * v));
  });
}

/** Causal DiagAttention continuing a sequence: the current block's earlier keys from a ring of `block` slots. */
export function diagAttentionCachedRef(x: Qkv & { block: number }, c: CachedWindow) {
  return cachedRef(x, c, (P) => Math.floor(P / x.block) * x.block, softmax);
}

export function linformerRef(x: Qkv & { e: ArrayLike<number>; f: ArrayLike<number>; P: number; maxLen: number }): Float64Array {
  if (x.T > x.maxLen) throw new RangeError(`linformer: T = ${x.T} > max_len = ${x.maxLen}`);
  const C = x.H * x.D;
  const k = project(x.k, x.e, x.B, x.T, x.P, C, x.maxLen);
  const v = project(x.v, x.f, x.B, x.T, x.P, C, x.maxLen);
  return rowAttentionRef({ ...x, k, v, TQ: x.T, TK: x.P, range: () => [0, x.P], weights: softmax });
}
