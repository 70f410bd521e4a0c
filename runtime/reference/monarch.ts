/**
 * A Monarch matrix (Dao et al. 2022; Monarch Mixer, Fu et al. 2023), the definition in float64:
 * `M = P L P^T R P` of size n = b^2, with P the reshape-transpose permutation
 * `(P z)[k b + j] = z[j b + k]` and L, R block-diagonal (b blocks of b x b, stored `[b, b, b]` as
 * block, row, column). Applied along T to every channel of x `[B, T, C]`, x zero-padded to n
 * rows, the first T rows kept.
 */
function permute(z: Float64Array, b: number): Float64Array {
  const out = new Float64Array(z.length);
  for (let k = 0; k < b; k++) for (let j = 0; j < b; j++) out[k * b + j] = z[j * b + k];
  return out;
}

function blockDiagonal(w: ArrayLike<number>, z: Float64Array, b: number): Float64Array {
  const out = new Float64Array(z.length);
  for (let k = 0; k < b; k++) for (let i = 0; i < b; i++) {
    let acc = 0;
    for (let j = 0; j < b; j++) acc += w[(k * b + i) * b + j] * z[k * b + j];
    out[k * b + i] = acc;
  }
  return out;
}

/** `M z` for one vector z of length b^2 (P^T = P: the transpose of a square reshape is an involution). */
export function monarchApply(l: ArrayLike<number>, r: ArrayLike<number>, z: Float64Array, b: number): Float64Array {
  return permute(blockDiagonal(l, permute(blockDiagonal(r, permute(z, b), b), b), b), b);
}

export function monarchRef(x: ArrayLike<number>, l: ArrayLike<number>, r: ArrayLike<number>, B: number, T: number, C: number, b: number): Float64Array {
  const n = b * b;
  if (T > n) throw new RangeError(`monarch: T = ${T} > n = ${n}`);
  const y = new Float64Array(B * T * C);
  for (let bb = 0; bb < B; bb++) for (let c = 0; c < C; c++) {
    const z = new Float64Array(n);
    for (let t = 0; t < T; t++) z[t] = x[(bb * T + t) * C + c];
    const out = monarchApply(l, r, z, b);
    for (let t = 0; t < T; t++) y[(bb * T + t) * C + c] = out[t];
  }
  return y;
}
