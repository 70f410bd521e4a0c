/**
 * One Stockham autosort stage of radix R along one axis (natural order in and out, no bit
 * reversal). With N the length, M = N / R butterflies per line and SPAN the product of the
 * earlier stages' radices, butterfly j (k = j mod SPAN) computes
 *
 *   v_r = in[o, j + r M, i] * exp(-2 pi i (k r) / (SPAN R))      r = 0 .. R-1
 *   out[o, (j - k) R + k + s SPAN, i] = sum_r v_r exp(-2 pi i (s r mod R) / R)
 *
 * The R-point DFT is unrolled with its constant coefficients; the stage twiddles come from exact
 * integer angles. One invocation per butterfly, no barriers.
 */
import { flatDispatch, flatIndex, needsGuard } from '../../../codegen/kernels/elementwise.ts';
import type { Kernel } from '../../../codegen/kernel.ts';
import { buildKernel, f32Lit } from '../../../codegen/wgsl.ts';
import type { Pass } from '../passes.ts';
import { passThreads } from '../passes.ts';
import { CMUL_WGSL, emitSplit, input, loadComplex, output, storeComplex, TWIDDLE_WGSL, viewElements, WG } from './common.ts';

/** exp(-2 pi i m / R) rounded so exact values (0, +-1) come out exact. */
function root(m: number, R: number): [number, number] {
  const a = (2 * Math.PI * m) / R;
  const clean = (x: number) => (Math.abs(x) < 1e-12 ? 0 : Math.abs(Math.abs(x) - 1) < 1e-12 ? Math.sign(x) : x);
  return [clean(Math.cos(a)), clean(-Math.sin(a))];
}

/** WGSL for `v * w` with w a constant root of unity, without multiplying by 0 or +-1. */
function timesRoot(v: string, [re, im]: [number, number]): string {
  if (re === 1 && im === 0) return v;
  if (re === -1 && im === 0) return `-${v}`;
  if (re === 0 && im === -1) return `vec2<f32>(${v}.y, -${v}.x)`;
  if (re === 0 && im === 1) return `vec2<f32>(-${v}.y, ${v}.x)`;
  return `cmul(${v}, vec2<f32>(${f32Lit(re)}, ${f32Lit(im)}))`;
}

/** The unrolled R-point DFT: `y_s = sum_r v_r root(s r mod R)`. */
function butterfly(R: number): string[] {
  const lines: string[] = [];
  for (let s = 0; s < R; s++) {
    const terms = Array.from({ length: R }, (_, r) => timesRoot(`v${r}`, root((s * r) % R, R)));
    const sum = terms.map((t, i) => (i === 0 ? t : t.startsWith('-') ? `- ${t.slice(1)}` : `+ ${t}`)).join(' ');
    lines.push(`let y${s} = ${sum};`);
  }
  return lines;
}

export function fftStageKernel(name: string, p: Pass & { kind: 'fft' }): Kernel {
  const { view, radix: R, span, realIn, realOut } = p;
  const threads = passThreads(p);
  const { dispatch, formula } = flatDispatch(threads, WG, 'OUTER*M*INNER');
  const index = flatIndex(dispatch, 'gid', WG);
  const usesCmul = butterfly(R).some((l) => l.includes('cmul('));
  return buildKernel({
    name,
    summary: `FFT along ${view.axis}, Stockham stage ${p.stage} (radix ${R}, span ${span})${realOut ? ', real part out' : ''}`,
    bindings: [input('src', viewElements(view, realIn)), output('dst', viewElements(view, realOut))],
    consts: [['OUTER', view.outer], ['N', view.n], ['INNER', view.inner], ['R', R], ['M', view.n / R], ['SPAN', span], ['THREADS', threads], ...index.consts],
    fconsts: span > 1 ? [['HALF_PI', Math.PI / 2]] : [],
    helpers: [...(span > 1 ? [TWIDDLE_WGSL] : []), ...(usesCmul || span > 1 ? [CMUL_WGSL] : [])],
    workgroupSize: [WG, 1, 1],
    dispatch,
    dispatchFormula: formula,
    body: (b) => {
      b.line(`let i_thread = ${index.expr};`);
      if (needsGuard(dispatch, WG, threads)) b.line('if (i_thread >= THREADS) { return; }');
      emitSplit(b, view.inner, 'M');
      b.line('let o_line = i_outer * N * INNER + i_inner;');
      if (span > 1) b.line('let k = i_m % SPAN;');
      for (let r = 0; r < R; r++) {
        const load = loadComplex('src', `o_line + (i_m + ${r}u * M) * INNER`, realIn);
        b.line(r === 0 || span === 1 ? `let v${r} = ${load};` : `let v${r} = cmul(${load}, twiddle(k * ${r}u, SPAN * R));`);
      }
      for (const l of butterfly(R)) b.line(l);
      b.line(span > 1 ? 'let o_out = o_line + ((i_m - k) * R + k) * INNER;' : 'let o_out = o_line + i_m * R * INNER;');
      for (let s = 0; s < R; s++) storeComplex(b, 'dst', s === 0 ? 'o_out' : `o_out + ${s}u * SPAN * INNER`, `y${s}`, realOut);
    },
  });
}
