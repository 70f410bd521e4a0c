/**
 * Pieces shared by the FNet kernels: complex values as `vec2<f32>` (re, im) stored interleaved in
 * f32 buffers, the exact-angle twiddle function, and the flat thread index over `[outer, m, inner]`.
 */
import { input, output, type KernelBinding } from '../../../codegen/kernel.ts';
import type { WgslBuilder } from '../../../codegen/wgsl.ts';
import type { AxisView } from '../passes.ts';

/** Invocations per workgroup of every FNet kernel (1D). */
export const WG = 64;

/**
 * `twiddle(m, n) = exp(-2 pi i m / n) = (cos, -sin)(2 pi m / n)` for integers 0 <= m < n.
 *
 * The angle is never formed as a large float: the integer m is reduced to a quadrant q and a
 * remainder r (exact integer arithmetic), folded to [0, pi/4], and cos/sin of that small angle
 * come from Taylor polynomials (error < 2e-9), so the twiddle is f32-accurate on every device.
 * (WGSL only promises an absolute error of 2^-11 for the builtin cos and sin.)
 */
export const TWIDDLE_WGSL = `fn twiddle(m: u32, n: u32) -> vec2<f32> {
  let quadrant = (4u * m) / n;
  let r = 4u * m - quadrant * n;
  let fold = 2u * r > n;
  let a = f32(select(r, n - r, fold)) / f32(n) * HALF_PI;
  let a2 = a * a;
  let s = a * (1.0 - a2 / 6.0 * (1.0 - a2 / 20.0 * (1.0 - a2 / 42.0 * (1.0 - a2 / 72.0))));
  let c = 1.0 - a2 / 2.0 * (1.0 - a2 / 12.0 * (1.0 - a2 / 30.0 * (1.0 - a2 / 56.0 * (1.0 - a2 / 90.0))));
  // (cos, sin) of the angle inside the quadrant, then turned by quadrant * pi / 2.
  let cs = select(vec2<f32>(c, s), vec2<f32>(s, c), fold);
  var rot = cs;
  if (quadrant == 1u) { rot = vec2<f32>(-cs.y, cs.x); }
  if (quadrant == 2u) { rot = -cs; }
  if (quadrant == 3u) { rot = vec2<f32>(cs.y, -cs.x); }
  return vec2<f32>(rot.x, -rot.y);
}`;

/** `a * b` for complex numbers as vec2 (re, im). */
export const CMUL_WGSL = `fn cmul(a: vec2<f32>, b: vec2<f32>) -> vec2<f32> {
  return vec2<f32>(a.x * b.x - a.y * b.y, a.x * b.y + a.y * b.x);
}`;

export { input, output };

/** Elements of a buffer holding the axis view's values: real, or complex interleaved. */
export function viewElements(v: AxisView, real: boolean): number {
  return v.outer * v.n * v.inner * (real ? 1 : 2);
}

/** `2u * idx`, parenthesised when idx is an expression. */
function twice(idx: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(idx) ? `2u * ${idx}` : `2u * (${idx})`;
}

/** WGSL loading element `idx` of `src` as a complex vec2 (imaginary part 0 for a real source). */
export function loadComplex(src: string, idx: string, real: boolean): string {
  return real ? `vec2<f32>(${src}[${idx}], 0.0)` : `vec2<f32>(${src}[${twice(idx)}], ${src}[${twice(idx)} + 1u])`;
}

/** Stores complex `value` at element `idx` of `dst`, or only its real part. */
export function storeComplex(b: WgslBuilder, dst: string, idx: string, value: string, realOut: boolean): void {
  if (realOut) {
    b.line(`${dst}[${idx}] = ${value}.x;`);
    return;
  }
  b.line(`${dst}[${twice(idx)}] = ${value}.x;`);
  b.line(`${dst}[${twice(idx)} + 1u] = ${value}.y;`);
}

/**
 * Splits the flat thread index `i_thread` over `[OUTER, M, INNER]` (M: outputs or butterflies per
 * line) into `i_outer`, `i_m`, `i_inner`; INNER = 1 emits no modulo.
 */
export function emitSplit(b: WgslBuilder, inner: number, m: string): void {
  if (inner === 1) {
    b.line(`let i_inner = 0u;`);
    b.line(`let i_m = i_thread % ${m};`);
    b.line(`let i_outer = i_thread / ${m};`);
    return;
  }
  b.line('let i_inner = i_thread % INNER;');
  b.line(`let i_m = (i_thread / INNER) % ${m};`);
  b.line(`let i_outer = i_thread / (INNER * ${m});`);
}
