/**
 * The DFT pass: the transform along one axis as a matmul with the twiddle matrix,
 * `out[o, k, i] = sum_j in[o, j, i] * exp(-2 pi i (j k mod N) / N)`, one invocation per output.
 * The twiddle index `j k mod N` is carried as an integer (add k, subtract N), so every twiddle
 * comes from an exact integer angle. Any N.
 */
import { flatDispatch, flatIndex, needsGuard } from '../../../codegen/kernels/elementwise.ts';
import type { Kernel } from '../../../codegen/kernel.ts';
import { buildKernel, rolledBound } from '../../../codegen/wgsl.ts';
import type { Pass } from '../passes.ts';
import { passThreads } from '../passes.ts';
import { input, loadComplex, output, storeComplex, TWIDDLE_WGSL, viewElements, WG, emitSplit } from './common.ts';

export function dftKernel(name: string, p: Pass & { kind: 'dft' }): Kernel {
  const { view, realIn, realOut } = p;
  const threads = passThreads(p);
  const { dispatch, formula } = flatDispatch(threads, WG, 'OUTER*N*INNER');
  const index = flatIndex(dispatch, 'gid', WG);
  return buildKernel({
    name,
    summary: `DFT along ${view.axis}: out[o,k,i] = ${realOut ? 'Re ' : ''}sum_j in[o,j,i] exp(-2 pi i jk/N) (${realIn ? 'real' : 'complex'} in)`,
    bindings: [input('src', viewElements(view, realIn)), output('dst', viewElements(view, realOut))],
    consts: [['OUTER', view.outer], ['N', view.n], ['INNER', view.inner], ['THREADS', threads], ...index.consts],
    fconsts: [['HALF_PI', Math.PI / 2]],
    helpers: [TWIDDLE_WGSL],
    workgroupSize: [WG, 1, 1],
    dispatch,
    dispatchFormula: formula,
    body: (b) => {
      b.line(`let i_thread = ${index.expr};`);
      if (needsGuard(dispatch, WG, threads)) b.line('if (i_thread >= THREADS) { return; }');
      emitSplit(b, view.inner, 'N');
      // A trip count the shader compiler cannot fold keeps the loop rolled (lavapipe compiles fast).
      b.line(rolledBound('N'));
      b.line('let o_line = i_outer * N * INNER + i_inner;');
      b.line('var b_acc = vec2<f32>(0.0, 0.0);');
      b.line('var i_tw = 0u;');
      b.block('for (var j = 0u; j < n_N; j++)', () => {
        b.line(`let x = ${loadComplex('src', 'o_line + j * INNER', realIn)};`);
        b.line('let w = twiddle(i_tw, N);');
        if (realIn) b.line('b_acc += x.x * w;');
        else b.line('b_acc += vec2<f32>(x.x * w.x - x.y * w.y, x.x * w.y + x.y * w.x);');
        b.line('i_tw += i_m;');
        b.line('if (i_tw >= N) { i_tw -= N; }');
      });
      storeComplex(b, 'dst', 'o_line + i_m * INNER', 'b_acc', realOut);
    },
  });
}
