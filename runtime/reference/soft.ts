/**
 * SOFT (Lu et al. 2021, "SOFT: Softmax-free Transformer with Linear Complexity"), the definition in
 * float64, per batch and head, with q, k, v `[B, T, H, D]`:
 *
 *   G(a, c) = exp(-||scale a - scale c||^2 / 2)                 (Gaussian kernel)
 *   L_r     = mean of q over [floor(r T/m), floor((r+1) T/m))    (m mean-pooled landmarks)
 *   P       = pinv(G(L, L)) by Newton-Schulz: V_0 = A^T / (||A||_1 ||A||_inf), V <- V (2I - A V)
 *   o       = G(Q, L) P G(L, K) V
 */
export interface SoftRefInput {
  q: ArrayLike<number>;
  k: ArrayLike<number>;
  v: ArrayLike<number>;
  B: number;
  T: number;
  H: number;
  D: number;
  landmarks: number;
  iterations: number;
  scale: number;
}

/** Newton-Schulz iterations toward the pseudo-inverse of the m x m matrix a (row-major). */
export function newtonSchulzPinv(a: Float64Array, m: number, iterations: number): Float64Array {
  const at = (x: Float64Array, r: number, c: number) => x[r * m + c];
  const mul = (x: Float64Array, y: Float64Array) => {
    const out = new Float64Array(m * m);
    for (let r = 0; r < m; r++) for (let c = 0; c < m; c++) {
      let acc = 0;
      for (let j = 0; j < m; j++) acc += at(x, r, j) * at(y, j, c);
      out[r * m + c] = acc;
    }
    return out;
  };
  let norm1 = 0;
  let normInf = 0;
  for (let i = 0; i < m; i++) {
    let col = 0;
    let row = 0;
    for (let j = 0; j < m; j++) {
      col += Math.abs(at(a, j, i));
      row += Math.abs(at(a, i, j));
    }
    norm1 = Math.max(norm1, col);
    normInf = Math.max(normInf, row);
  }
  let v = new Float64Array(m * m);
  for (let r = 0; r < m; r++) for (let c = 0; c < m; c++) v[r * m + c] = at(a, c, r) / (norm1 * normInf);
  for (let it = 0; it < iterations; it++) {
    const w = mul(a, v);
    const vw = mul(v, w);
    v = v.map((x, i) => 2 * x - vw[i]);
  }
  return v;
}

export function softRef(r: SoftRefInput): Float64Array {
  const { B, T, H, D, landmarks: m, scale } = r;
  const o = new Float64Array(B * T * H * D);
  const row = (x: ArrayLike<number>, b: number, t: number, h: number) => Array.from({ length: D }, (_, d) => x[((b * T + t) * H + h) * D + d]);
  const g = (a: number[], c: number[]) => Math.exp(-0.5 * scale * scale * a.reduce((acc, x, d) => acc + (x - c[d]) ** 2, 0));
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const lmk = Array.from({ length: m }, (_, s) => {
        const [start, end] = [Math.floor((s * T) / m), Math.floor(((s + 1) * T) / m)];
        const mean = new Array<number>(D).fill(0);
        for (let t = start; t < end; t++) row(r.q, b, t, h).forEach((x, d) => (mean[d] += x / (end - start)));
        return mean;
      });
      const a = new Float64Array(m * m);
      for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) a[i * m + j] = g(lmk[i], lmk[j]);
      const p = newtonSchulzPinv(a, m, r.iterations);
      // Z = G(L, K) V, Y = P Z, o_t = G(q_t, L) Y.
      const z = Array.from({ length: m }, (_, s) => {
        const acc = new Array<number>(D).fill(0);
        for (let t = 0; t < T; t++) {
          const w = g(lmk[s], row(r.k, b, t, h));
          row(r.v, b, t, h).forEach((x, d) => (acc[d] += w * x));
        }
        return acc;
      });
      const y = Array.from({ length: m }, (_, s) => Array.from({ length: D }, (_, d) => z.reduce((acc, zj, j) => acc + p[s * m + j] * zj[d], 0)));
      for (let t = 0; t < T; t++) {
        const qt = row(r.q, b, t, h);
        const w = lmk.map((l) => g(qt, l));
        for (let d = 0; d < D; d++) o[((b * T + t) * H + h) * D + d] = w.reduce((acc, ws, s) => acc + ws * y[s][d], 0);
      }
    }
  }
  return o;
}
