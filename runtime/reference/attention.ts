/**
 * Float64 reference of softmax attention with a KV cache and of RoPE (docs/mixers.md): the
 * definitions written loop by loop. Shares no code with the WGSL kernels.
 *
 * Attention, per batch b and query head h (key/value head hk = h / (H / Hkv)), for the query at
 * absolute position p = pos[b] + t (causal) or p = t (non-causal):
 *   o = sum_j softmax_j(scale q . key(j)) value(j)   over the allowed keys j:
 *   causal:      j <= p, and p - j < w with a window w;
 *   non-causal:  every j in the window of T tokens, and |p - j| < w with a window.
 * key(j) is the new k at t' = j - pos[b] when j >= pos[b], else the cached key of position j,
 * which the cache `[B, Hkv, W, D]` holds in slot j mod W (W = a window's w, or max_len).
 * The updated cache holds, in slot s, the latest position j = s (mod W) below pos[b] + T.
 *
 * Layouts: q `[B, T, H, D]`, k `[B, T, Hkv, D]`, v `[B, T, Hkv, Dv]`, o `[B, T, H, Dv]`, pos `[B]`.
 */
import type { AttentionKnobs } from '../../compiler/ir/graph.ts';
import { cacheSlots } from '../../compiler/ir/graph.ts';

export interface AttentionRefInput {
  B: number;
  T: number;
  knobs: AttentionKnobs;
  q: ArrayLike<number>;
  k: ArrayLike<number>;
  v: ArrayLike<number>;
  /** Causal only: positions before the window `[B]` and the caches (zeros when absent). */
  pos?: ArrayLike<number>;
  kc0?: ArrayLike<number>;
  vc0?: ArrayLike<number>;
}

export interface AttentionRefOutput {
  o: Float64Array;
  /** Updated caches (causal only, else empty). */
  kCache: Float64Array;
  vCache: Float64Array;
}

/** Thrown when a global cache would be written past max_len (`name` says which layer). */
export class CacheOverflow extends RangeError {}

export function attentionRef(a: AttentionRefInput): AttentionRefOutput {
  const { B, T, knobs: kn } = a;
  const { heads: H, kvHeads: Hkv, headDim: D, valueDim: Dv, causal, window: w, scale } = kn;
  const W = cacheSlots(kn);
  const o = new Float64Array(B * T * H * Dv);
  const kCache = causal ? Float64Array.from(a.kc0 ?? new Float64Array(B * Hkv * W * D)) : new Float64Array(0);
  const vCache = causal ? Float64Array.from(a.vc0 ?? new Float64Array(B * Hkv * W * Dv)) : new Float64Array(0);
  for (let b = 0; b < B; b++) {
    const p0 = causal ? (a.pos?.[b] ?? 0) : 0;
    if (causal && !kn.window && p0 + T > kn.maxLen) throw new CacheOverflow(`positions ${p0}..${p0 + T - 1} do not fit max_len = ${kn.maxLen}`);
    const keyAt = (j: number, hk: number, i: number) => (j >= p0 ? a.k[((b * T + j - p0) * Hkv + hk) * D + i] : kCache[((b * Hkv + hk) * W + (j % W)) * D + i]);
    const valueAt = (j: number, hk: number, i: number) => (j >= p0 ? a.v[((b * T + j - p0) * Hkv + hk) * Dv + i] : vCache[((b * Hkv + hk) * W + (j % W)) * Dv + i]);
    for (let t = 0; t < T; t++) {
      const p = p0 + t;
      const allowed: number[] = [];
      const first = causal ? 0 : p0;
      const end = causal ? p : p0 + T - 1;
      for (let j = first; j <= end; j++) if (w === null || Math.abs(p - j) < w) allowed.push(j);
      for (let h = 0; h < H; h++) {
        const hk = Math.floor(h / (H / Hkv));
        const scores = allowed.map((j) => {
          let s = 0;
          for (let i = 0; i < D; i++) s += a.q[((b * T + t) * H + h) * D + i] * keyAt(j, hk, i);
          return scale * s;
        });
        const m = Math.max(...scores);
        const e = scores.map((s) => Math.exp(s - m));
        const sum = e.reduce((x, y) => x + y, 0);
        for (let i = 0; i < Dv; i++) {
          let acc = 0;
          allowed.forEach((j, n) => (acc += e[n] * valueAt(j, hk, i)));
          o[((b * T + t) * H + h) * Dv + i] = acc / sum;
        }
      }
    }
    if (!causal) continue;
    // Write this window's keys and values into their slots (later positions overwrite earlier).
    for (let t = 0; t < T; t++) {
      const slot = (p0 + t) % W;
      for (let hk = 0; hk < Hkv; hk++) {
        for (let i = 0; i < D; i++) kCache[((b * Hkv + hk) * W + slot) * D + i] = a.k[((b * T + t) * Hkv + hk) * D + i];
        for (let i = 0; i < Dv; i++) vCache[((b * Hkv + hk) * W + slot) * Dv + i] = a.v[((b * T + t) * Hkv + hk) * Dv + i];
      }
    }
  }
  return { o, kCache, vCache };
}

/**
 * RoPE, half-split pairing (HF LLaMA rotate_half): per group of D elements, for i < D/2 with
 * angle a = p * theta^(-2i/D): y_i = x_i cos a - x_{i+D/2} sin a, y_{i+D/2} = x_{i+D/2} cos a + x_i sin a,
 * at position p = pos[b] + t (or t when pos is absent). x `[B, T, G*D]`.
 */
export function ropeRef(x: ArrayLike<number>, B: number, T: number, width: number, D: number, theta: number, pos?: ArrayLike<number>): Float64Array {
  const y = new Float64Array(B * T * width);
  const half = D / 2;
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const p = (pos?.[b] ?? 0) + t;
      for (let g = 0; g < width / D; g++) {
        const o = (b * T + t) * width + g * D;
        for (let i = 0; i < half; i++) {
          const a = p * Math.pow(theta, (-2 * i) / D);
          const [c, s] = [Math.cos(a), Math.sin(a)];
          y[o + i] = x[o + i] * c - x[o + i + half] * s;
          y[o + i + half] = x[o + i + half] * c + x[o + i] * s;
        }
      }
    }
  }
  return y;
}

/** Softmax over each group of D consecutive elements: y_i = exp(x_i - max) / sum_j exp(x_j - max). */
export function softmaxRef(x: ArrayLike<number>, D: number): Float64Array {
  const y = new Float64Array(x.length);
  for (let o = 0; o < x.length; o += D) {
    let m = -Infinity;
    for (let i = 0; i < D; i++) m = Math.max(m, x[o + i]);
    let sum = 0;
    for (let i = 0; i < D; i++) sum += Math.exp(x[o + i] - m);
    for (let i = 0; i < D; i++) y[o + i] = Math.exp(x[o + i] - m) / sum;
  }
  return y;
}
