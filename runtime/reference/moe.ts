/**
 * Mixture of SwiGLU experts, the definition in float64. Per token t of x `[M, D]` with router
 * logits `[M, E]`: the k experts with the largest logits (ties: the lowest index), weights
 * `p_e / sum_chosen p` with p = softmax(logits) (the softmax renormalised over the chosen k), and
 * `y_t = sum_chosen w_e * ((silu(x_t Wg_e) * (x_t Wu_e)) Wd_e)`, Wg, Wu `[E, D, N]`, Wd `[E, N, D]`.
 */
export interface MoeRefInput {
  x: ArrayLike<number>;
  logits: ArrayLike<number>;
  gate: ArrayLike<number>;
  up: ArrayLike<number>;
  down: ArrayLike<number>;
  M: number;
  D: number;
  E: number;
  K: number;
  N: number;
}

/** Indices of the k largest values, largest first, ties broken by the lowest index. */
export function topK(values: ArrayLike<number>, k: number): number[] {
  const order = Array.from({ length: values.length }, (_, i) => i);
  order.sort((a, b) => (values[b] !== values[a] ? values[b] - values[a] : a - b));
  return order.slice(0, k);
}

export function moeRef(r: MoeRefInput): Float64Array {
  const { M, D, E, K, N } = r;
  const y = new Float64Array(M * D);
  const h = new Float64Array(N);
  for (let t = 0; t < M; t++) {
    const logits = Array.from({ length: E }, (_, e) => r.logits[t * E + e]);
    const max = Math.max(...logits);
    const p = logits.map((l) => Math.exp(l - max));
    const total = p.reduce((a, b) => a + b, 0);
    const chosen = topK(logits, K);
    const kept = chosen.reduce((a, e) => a + p[e] / total, 0);
    for (const e of chosen) {
      const w = p[e] / total / kept;
      for (let n = 0; n < N; n++) {
        let g = 0;
        let u = 0;
        for (let d = 0; d < D; d++) {
          g += r.x[t * D + d] * r.gate[(e * D + d) * N + n];
          u += r.x[t * D + d] * r.up[(e * D + d) * N + n];
        }
        h[n] = (g / (1 + Math.exp(-g))) * u;
      }
      for (let d = 0; d < D; d++) {
        let acc = 0;
        for (let n = 0; n < N; n++) acc += h[n] * r.down[(e * N + n) * D + d];
        y[t * D + d] += w * acc;
      }
    }
  }
  return y;
}
