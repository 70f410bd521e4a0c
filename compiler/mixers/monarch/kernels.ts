/**
 * A Monarch matrix M = P L P R P of size n = b^2 applied along T to every channel of
 * x `[B, T, C]` (zero rows past T), in two barrier-free passes. With P the reshape-transpose
 * permutation ((P z)[k b + j] = z[j b + k]) and L, R block-diagonal (b blocks of b x b,
 * stored `[b, b, b]`: block, row, column), multiplying out the permutations gives
 *
 *   u[m b + i] = sum_j R[m, i, j] x[j b + m]            (rows j b + m >= T read as 0)
 *   y[k b + i] = sum_m L[i, k, m] u[m b + i]            (only rows k b + i < T are written)
 *
 * so each pass is b multiply-adds per output: O(n sqrt(n)) per channel instead of O(n^2).
 */
import { flatDispatch, flatIndex, needsGuard } from '../../codegen/kernels/elementwise.ts';
import { input as rd, output as wr, type Kernel, type KernelBinding } from '../../codegen/kernel.ts';
import { buildKernel, rolledBound } from '../../codegen/wgsl.ts';

export interface MonarchShape {
  B: number;
  T: number;
  C: number;
  /** Block size b; n = b^2 >= T. */
  b: number;
}

const WG = 64;

function frame(name: string, s: MonarchShape, summary: string, items: number, text: string, bindings: KernelBinding[], lines: string[]): Kernel {
  const { dispatch, formula } = flatDispatch(items, WG, text);
  const index = flatIndex(dispatch, 'gid', WG);
  return buildKernel({
    name,
    summary,
    bindings,
    consts: [['T', s.T], ['C', s.C], ['NB', s.b], ['N', s.b * s.b], ['THREADS', items], ...index.consts],
    workgroupSize: [WG, 1, 1],
    dispatch,
    dispatchFormula: formula,
    body: (b) => {
      b.line(`let i_thread = ${index.expr};`);
      if (needsGuard(dispatch, WG, items)) b.line('if (i_thread >= THREADS) { return; }');
      b.line(rolledBound('NB'));
      for (const l of lines) b.line(l);
    },
  });
}

export function monarchRightKernel(name: string, s: MonarchShape): Kernel {
  const n = s.b * s.b;
  return frame(name, s, 'u[m NB + i] = sum_j R[m, i, j] x[j NB + m] per channel (x zero past T)', s.B * n * s.C, 'B*N*C', [rd('x', s.B * s.T * s.C), rd('r', s.b ** 3), wr('u', s.B * n * s.C)], [
    'let i_c = i_thread % C;',
    'let i_row = (i_thread / C) % N;',
    'let i_b = i_thread / (C * N);',
    'let i_m = i_row / NB;',
    'let i_i = i_row % NB;',
    'var b_u = 0.0;',
    'for (var j = 0u; j < n_NB; j++) {',
    '  let i_t = j * NB + i_m;',
    '  if (i_t < T) { b_u += r[(i_m * NB + i_i) * NB + j] * x[(i_b * T + i_t) * C + i_c]; }',
    '}',
    'u[i_thread] = b_u;',
  ]);
}

export function monarchLeftKernel(name: string, s: MonarchShape): Kernel {
  const n = s.b * s.b;
  return frame(name, s, 'y[k NB + i] = sum_m L[i, k, m] u[m NB + i] per channel, rows < T', s.B * s.T * s.C, 'B*T*C', [rd('u', s.B * n * s.C), rd('l', s.b ** 3), wr('y', s.B * s.T * s.C)], [
    'let i_c = i_thread % C;',
    'let i_t = (i_thread / C) % T;',
    'let i_b = i_thread / (C * T);',
    'let i_k = i_t / NB;',
    'let i_i = i_t % NB;',
    'var b_y = 0.0;',
    'for (var m = 0u; m < n_NB; m++) {',
    '  b_y += l[(i_i * NB + i_k) * NB + m] * u[(i_b * N + m * NB + i_i) * C + i_c];',
    '}',
    'y[i_thread] = b_y;',
  ]);
}
