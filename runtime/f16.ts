/**
 * IEEE 754 binary16 (f16) conversions for weights stored as f16 on the device (`--weights-dtype
 * f16`, or `auto` with a 16-bit checkpoint). Node 20 has no Float16Array, so the bits are computed
 * here: f32 -> f16 rounds to nearest, ties to even, with subnormals, overflow to infinity and NaN
 * kept NaN (quiet); bf16 -> f16 is exact in f16's normal range and rounds below it; f16 -> f32 is
 * exact. Loading refuses a finite weight that would become infinity (`toF16Checked`, LOOM5001).
 */
import { diag, LoomError } from '../grammar/diagnostics.ts';

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The f16 bit pattern nearest to `x` (first rounded to f32), ties to even. */
export function f16Bits(x: number): number {
  f32[0] = x;
  const b = u32[0];
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  const mant = b & 0x7fffff;
  if (exp === 0xff) return mant ? sign | 0x7e00 | (mant >>> 13) : sign | 0x7c00; // NaN (quiet) or infinity
  const e = exp - 127 + 15; // the f16 biased exponent
  if (e >= 0x1f) return sign | 0x7c00; // past the largest finite f16: infinity
  if (e <= 0) {
    // f16 subnormal m * 2^-24: the 24-bit significand shifted right by 14 - e (>= 25: below half of 2^-24).
    if (e < -10) return sign;
    const full = mant | 0x800000;
    const shift = 14 - e;
    let m = full >>> shift;
    const rem = full & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && (m & 1) === 1)) m++; // m may reach 0x400: the smallest normal
    return sign | m;
  }
  let h = sign | (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (h & 1) === 1)) h++; // a carry moves into the exponent (up to infinity)
  return h;
}

/**
 * The f16 bits of a finite bf16 bit pattern. bf16 keeps 8 significant bits, so a value in f16's
 * normal range [2^-14, 65504] converts exactly; a smaller one is rounded to an f16 subnormal or
 * zero (nearest, ties to even); |x| >= 65536 has no f16 and gives infinity (the loader refuses it).
 */
export function bf16ToF16(h: number): number {
  const e = ((h >>> 7) & 0xff) - 112; // the f16 biased exponent
  if (e >= 0x1f) return (h & 0x8000) | 0x7c00;
  if (e > 0) return (h & 0x8000) | (e << 10) | ((h & 0x7f) << 3);
  u32[0] = h << 16;
  return f16Bits(f32[0]);
}

/** Whether f16 bits are infinity or NaN. */
export const f16NonFinite = (h: number): boolean => (h & 0x7c00) === 0x7c00;

/** LOOM5001 for a weight value that f16 cannot hold (it would become infinity on the device). */
export function beyondF16(where: string, i: number, x: number): never {
  const message = `${where}: value ${x} at index ${i} is beyond f16's range (largest finite 65504), and this weight is stored as f16 on the device; store the weights as f32 (--weights-dtype f32)`;
  throw new LoomError([diag('bad-weights', { message })]);
}

/** f32 values as f16 bits (nearest, ties to even), refusing a value beyond f16's range (`where` names the tensor). */
export function toF16Checked(where: string, v: ArrayLike<number>): Uint16Array {
  const out = new Uint16Array(v.length);
  for (let i = 0; i < v.length; i++) if (f16NonFinite((out[i] = f16Bits(v[i]))) && Number.isFinite(v[i])) beyondF16(where, i, v[i]);
  return out;
}

/** The value of an f16 bit pattern. */
export function f16Value(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >>> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return sign * m * 2 ** -24;
  if (e === 0x1f) return m ? Number.NaN : sign * Infinity;
  return sign * (1 + m / 1024) * 2 ** (e - 15);
}

/** f16 bits of every value, padded with zeros to an even length (whole 4-byte words for writeBuffer). */
export function toF16(values: ArrayLike<number>): Uint16Array {
  const out = new Uint16Array(values.length + (values.length % 2));
  for (let i = 0; i < values.length; i++) out[i] = f16Bits(values[i]);
  return out;
}

/** The first `n` f16 values of `bits` as f32 (every f16 is exactly an f32). */
export function fromF16(bits: Uint16Array, n = bits.length): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = f16Value(bits[i]);
  return out;
}

/** `values` rounded to f16 and back: what a kernel reading f16 weights sees (the reference uses it). */
export function roundToF16(values: ArrayLike<number>): Float32Array {
  return fromF16(toF16(values), values.length);
}

/**
 * The weights as a program stores them: those whose buffer is f16 rounded to f16, the others as
 * given. The float64 reference run on these checks the kernels (`loom run --check`, `loom check`).
 */
export function storedWeights(weights: ReadonlyMap<string, Float32Array>, buffers: readonly { name: string; elem: string }[]): Map<string, Float32Array> {
  const f16 = new Set(buffers.filter((b) => b.elem === 'f16').map((b) => b.name));
  return new Map([...weights].map(([name, w]) => [name, f16.has(name) ? roundToF16(w) : w]));
}
