/**
 * One matcher for kernel outputs against the float64 reference: reports the error ratio
 * rms(out - ref) / rms(ref) and the largest absolute error, and fails on any NaN or Inf.
 */
import { expect } from 'vitest';

export interface Closeness {
  relErr: number;
  maxAbs: number;
  nonFinite: number;
}

export function closeness(out: ArrayLike<number>, ref: ArrayLike<number>): Closeness {
  if (out.length !== ref.length) throw new Error(`length ${out.length} != reference length ${ref.length}`);
  let num = 0;
  let den = 0;
  let maxAbs = 0;
  let nonFinite = 0;
  for (let i = 0; i < out.length; i++) {
    const o = out[i];
    if (!Number.isFinite(o)) {
      nonFinite++;
      continue;
    }
    const d = o - ref[i];
    num += d * d;
    den += ref[i] * ref[i];
    maxAbs = Math.max(maxAbs, Math.abs(d));
  }
  const n = Math.max(1, out.length);
  const relErr = den === 0 ? Math.sqrt(num / n) : Math.sqrt(num / n) / Math.sqrt(den / n);
  return { relErr, maxAbs, nonFinite };
}

/**
 * Asserts `rms(out-ref)/rms(ref) < tol` and that every output is finite. Pass the test's own `tol`,
 * set from the error f32 reaches there (measured, with a margin; say why where it is looser). The
 * default, 1e-4, is the float32 contract of `loom run --check` and `loom check`, for tests of that
 * contract, not a kernel's accuracy: f32 kernels land at 2e-7 to 1.5e-6.
 */
export function expectClose(name: string, out: ArrayLike<number>, ref: ArrayLike<number>, tol = 1e-4): Closeness {
  const c = closeness(out, ref);
  const summary = `${name}: relErr=${c.relErr.toExponential(2)} maxAbs=${c.maxAbs.toExponential(2)} nonFinite=${c.nonFinite}/${out.length}`;
  expect(c.nonFinite, summary).toBe(0);
  expect(c.relErr, summary).toBeLessThan(tol);
  return c;
}
