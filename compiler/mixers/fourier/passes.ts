/**
 * FNet as a list of passes over two axes, and the variant choice: pure functions of the sizes.
 *
 * `y = Re(F_T(F_D(x)))` for x `[B, T, D]`: a complex DFT along D (contiguous rows), then along T
 * (stride D), keeping the real part. Each axis is viewed as `[outer, n, inner]` with the transform
 * over n. Per axis one of two methods:
 *   dft: one pass, every output a sum over the n inputs (a matmul with the twiddle matrix);
 *        O(n^2) work per line, any n.
 *   fft: Stockham autosort stages of radix 4, 2, 3 or 5 (one pass each, natural order in and
 *        out); O(n log n) work, only when n factors into those radices.
 */

/** How one axis is transformed. */
export type AxisMethod = 'dft' | 'fft';

/** A variant names the method per axis: `D=dft,T=fft`. */
export interface FnetVariant {
  d: AxisMethod;
  t: AxisMethod;
}

export const FFT_RADICES = [4, 2, 3, 5] as const;
export type Radix = (typeof FFT_RADICES)[number];

/**
 * The radices of a Stockham FFT of length n, largest power of 4 first, or null when n has a prime
 * factor above 5 (no supported factorisation). n = 1 has no stages.
 */
export function fftRadices(n: number): Radix[] | null {
  if (!Number.isInteger(n) || n < 1) return null;
  const out: Radix[] = [];
  let rest = n;
  for (const r of FFT_RADICES) {
    while (rest % r === 0) {
      out.push(r);
      rest /= r;
    }
  }
  return rest === 1 ? out : null;
}

/** The largest prime factor of n (n >= 2), for the refusal message. */
export function largestPrimeFactor(n: number): number {
  let rest = n;
  let p = 2;
  let largest = 1;
  while (p * p <= rest) {
    while (rest % p === 0) {
      largest = p;
      rest /= p;
    }
    p++;
  }
  return rest > 1 ? rest : largest;
}

export function variantName(v: FnetVariant): string {
  return `D=${v.d},T=${v.t}`;
}

export function parseVariant(name: string): FnetVariant {
  const m = /^D=(dft|fft),T=(dft|fft)$/.exec(name);
  if (!m) throw new Error(`not an FNet variant: '${name}'`);
  return { d: m[1] as AxisMethod, t: m[2] as AxisMethod };
}

/** Every variant, DFT first (preferred on a tie). */
export const FNET_VARIANTS: readonly string[] = (['dft', 'fft'] as const).flatMap((d) => (['dft', 'fft'] as const).map((t) => variantName({ d, t })));

/** One axis as `[outer, n, inner]`. */
export interface AxisView {
  axis: 'D' | 'T';
  outer: number;
  n: number;
  inner: number;
}

export function axisViews(B: number, T: number, D: number): [AxisView, AxisView] {
  return [
    { axis: 'D', outer: B * T, n: D, inner: 1 },
    { axis: 'T', outer: B, n: T, inner: D },
  ];
}

/**
 * One kernel of the pipeline. `realIn`: the source is x (real); `realOut`: write only the real
 * part (the last pass writes y). `span` (FFT stages) is the product of the earlier stages' radices.
 */
export type Pass =
  | { kind: 'dft'; view: AxisView; realIn: boolean; realOut: boolean }
  | { kind: 'fft'; view: AxisView; radix: Radix; span: number; stage: number; realIn: boolean; realOut: boolean };

/**
 * The passes of a variant, in order. An axis of length 1 is the identity (no pass), unless it is
 * the only work left, when a DFT of length 1 copies the real part out.
 */
export function fnetPasses(B: number, T: number, D: number, v: FnetVariant): Pass[] {
  const raw: Pass[] = [];
  const io = { realIn: false, realOut: false };
  for (const view of axisViews(B, T, D)) {
    const method = view.axis === 'D' ? v.d : v.t;
    if (view.n === 1) continue;
    if (method === 'dft') raw.push({ kind: 'dft', view, ...io });
    else {
      const radices = fftRadices(view.n);
      if (!radices) throw new Error(`no FFT of length ${view.n}`);
      let span = 1;
      for (const [stage, radix] of radices.entries()) {
        raw.push({ kind: 'fft', view, radix, span, stage, ...io });
        span *= radix;
      }
    }
  }
  if (raw.length === 0) raw.push({ kind: 'dft', view: axisViews(B, T, D)[0], ...io });
  return raw.map((p, i) => ({ ...p, realIn: i === 0, realOut: i === raw.length - 1 }));
}

/** Why a variant cannot run these sizes, or null. */
export function variantProblem(T: number, D: number, v: FnetVariant): string | null {
  for (const [axis, n, method] of [['D', D, v.d], ['T', T, v.t]] as const) {
    if (method === 'fft' && n > 1 && !fftRadices(n)) {
      return `${axis} = ${n} has the prime factor ${largestPrimeFactor(n)}; the FFT kernels have radices 2, 3, 4, 5 only`;
    }
  }
  return null;
}

/** Floating-point work of one pass (complex multiply-adds at 8 flops, twiddles at ~24). */
export function passFlops(p: Pass): number {
  const { outer, n, inner } = p.view;
  const lines = outer * inner;
  if (p.kind === 'dft') return lines * n * n * (8 + 24);
  return lines * (n / p.radix) * (p.radix * p.radix * 8 + p.radix * 24);
}

/** Bytes a pass reads and writes (complex values are 8 bytes, real 4). */
export function passBytes(p: Pass): number {
  const elems = p.view.outer * p.view.n * p.view.inner;
  return elems * ((p.realIn ? 4 : 8) + (p.realOut ? 4 : 8));
}

/** Invocations of a pass: one per output (DFT) or per butterfly (FFT stage). */
export function passThreads(p: Pass): number {
  const { outer, n, inner } = p.view;
  return p.kind === 'dft' ? outer * n * inner : outer * inner * (n / p.radix);
}
