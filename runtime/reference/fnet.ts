/**
 * FNet (Lee-Thorp et al. 2021), the definition in float64: `y = Re(F_T(F_D(x)))` for x `[B, T, D]`,
 * with `F_n` the discrete Fourier transform along an axis of length n,
 * `(F_n a)_k = sum_j a_j exp(-2 pi i j k / n)`. Twiddles come from the exact integer angle
 * `(j k) mod n`. Written as the two transforms, loop by loop: O(B T D (T + D)).
 */

/** cos and -sin of 2 pi m / n for an integer m (reduced mod n first). */
function root(m: number, n: number): [number, number] {
  const a = (2 * Math.PI * (m % n)) / n;
  return [Math.cos(a), -Math.sin(a)];
}

/** `Re(F_T(F_D(x)))`, x `[B, T, D]` row-major. */
export function fnetRef(x: ArrayLike<number>, B: number, T: number, D: number): Float64Array {
  if (x.length !== B * T * D) throw new RangeError(`fnet x has ${x.length} values, expected B*T*D = ${B}*${T}*${D}`);
  const re = new Float64Array(B * T * D);
  const im = new Float64Array(B * T * D);
  // Along D: re + i im = F_D(x), per row (b, t).
  for (let row = 0; row < B * T; row++) {
    for (let k = 0; k < D; k++) {
      let sr = 0;
      let si = 0;
      for (let j = 0; j < D; j++) {
        const [c, s] = root(j * k, D);
        sr += x[row * D + j] * c;
        si += x[row * D + j] * s;
      }
      re[row * D + k] = sr;
      im[row * D + k] = si;
    }
  }
  // Along T, real part only: Re(sum_j (re + i im)_j (c + i s)) = sum_j re c - im s.
  const y = new Float64Array(B * T * D);
  for (let b = 0; b < B; b++) {
    for (let k = 0; k < T; k++) {
      for (let d = 0; d < D; d++) {
        let acc = 0;
        for (let j = 0; j < T; j++) {
          const [c, s] = root(j * k, T);
          const i = (b * T + j) * D + d;
          acc += re[i] * c - im[i] * s;
        }
        y[(b * T + k) * D + d] = acc;
      }
    }
  }
  return y;
}
