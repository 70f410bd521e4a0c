/**
 * Recurrent DPLR: the definition, one token after another. One invocation per (b, h, value column
 * group) keeps its VW columns of S (K registers) and, per token,
 *   b_w = a_t^T S_{t-1}                                    (its own columns: no other invocation needed)
 *   S_t = Diag(exp(gk_t)) S_{t-1} + b_t b_w + k_t v_t^T;  o_t = S_t^T (scale q_t)   (one pass over K)
 * Every factor is exp(gk) <= 1 of one token. Barrier-free; O(T K V) work, T serial steps.
 */
import type { Kernel } from '../../../codegen/kernel.ts';
import type { Step } from '../../../codegen/program.ts';
import { buildKernel, type WgslBuilder } from '../../../codegen/wgsl.ts';
import { loadVec, storeVec, vecType, vecZero } from '../delta/shape.ts';
import { emitThreadIndex, input, output, threadGrid, WG, type Grid } from '../kernels/common.ts';
import { dplrConsts, widths, type DplrBuffers, type DplrShape } from './shape.ts';

/** Invocations of the recurrent kernel: B*H*VG. */
export function dplrRecurrentThreads(s: DplrShape): number {
  return (s.B * s.H * s.V) / widths(s).VW;
}

/** Indices of an invocation owning columns o_col.. of one (b, h) state, and `state` loaded from s0. */
export function emitColumnState(b: WgslBuilder, s: DplrShape, grid: Grid, state: string): void {
  emitThreadIndex(b, grid);
  b.line('// invocation = (b, h, column group g): columns g*VW .. g*VW+VW-1 of S');
  b.line('let i_g = i_thread % VG;');
  b.line('let i_bh = i_thread / VG;');
  b.line('let i_b = i_bh / H;');
  b.line('let i_h = i_bh % H;');
  b.line('let o_col = i_g * VW;');
  b.line('let o_state = i_bh * K * V + o_col;');
  b.line(`var ${state}: array<${vecType(widths(s).VW)}, K>;`);
  b.block('for (var i_i = 0u; i_i < n_K; i_i++)', () => b.line(`${state}[i_i] = ${loadVec(widths(s).VW, 's0', 'o_state + i_i * V')};`));
}

/** Writes `state` (K rows of the invocation's columns) to S. */
export function emitStoreState(b: WgslBuilder, s: DplrShape, state: string): void {
  b.block('for (var i_i = 0u; i_i < n_K; i_i++)', () => {
    b.line(`let b_s = ${state}[i_i];`);
    storeVec(b, widths(s).VW, 'S', 'o_state + i_i * V', 'b_s');
  });
}

function emitBody(b: WgslBuilder, s: DplrShape, grid: Grid): void {
  const { VW } = widths(s);
  emitColumnState(b, s, grid, 'b_S');
  b.block('for (var i_t = 0u; i_t < T; i_t++)', () => {
    b.line('let o_tok = (i_b * T + i_t) * H + i_h;');
    b.line('let o_k = o_tok * K;');
    b.line('// b_w = a_t^T S_{t-1}');
    b.line(`var b_w = ${vecZero(VW)};`);
    b.block('for (var i_i = 0u; i_i < n_K; i_i++)', () => b.line('b_w += a[o_k + i_i] * b_S[i_i];'));
    b.line(`let b_v = ${loadVec(VW, 'v', 'o_tok * V + o_col')};`);
    b.line(`var b_o = ${vecZero(VW)};`);
    b.line('// S_t = Diag(exp(gk_t)) S_{t-1} + b_t b_w + k_t v_t^T;  b_o = S_t^T q_t');
    b.block('for (var i_i = 0u; i_i < n_K; i_i++)', () => {
      b.line('let b_s = exp(gk[o_k + i_i]) * b_S[i_i] + b[o_k + i_i] * b_w + k[o_k + i_i] * b_v;');
      b.line('b_S[i_i] = b_s;');
      b.line('b_o += q[o_k + i_i] * b_s;');
    });
    b.line('let b_out = SCALE * b_o;');
    storeVec(b, VW, 'o', 'o_tok * V + o_col', 'b_out');
  });
  emitStoreState(b, s, 'b_S');
}

export function dplrRecurrentKernel(name: string, s: DplrShape): Kernel {
  const { B, T, H, K, V } = s;
  const grid = threadGrid(dplrRecurrentThreads(s), 'B*H*VG', s.maxGroupsPerDim, s.unrollK);
  const tk = B * T * H * K;
  return buildKernel({
    name,
    summary: 'recurrent DPLR: S_t = Diag(exp(gk_t)) S_{t-1} + b_t (a_t^T S_{t-1}) + k_t v_t^T, o_t = S_t^T (scale q_t)',
    bindings: [...['q', 'k', 'a', 'b', 'gk'].map((n) => input(n, tk)), input('v', B * T * H * V), input('s0', B * H * K * V), output('o', B * T * H * V), output('S', B * H * K * V)],
    consts: [...dplrConsts(s, 'V'), ...grid.consts],
    fconsts: [['SCALE', s.scale]],
    workgroupSize: [WG, 1, 1],
    dispatch: grid.dispatch,
    dispatchFormula: grid.formula,
    body: (b) => emitBody(b, s, grid),
  });
}

export function dplrRecurrentProgram(label: string, s: DplrShape, buf: DplrBuffers): { buffers: []; steps: Step[] } {
  const args = [buf.q, buf.k, buf.a, buf.b, buf.gk, buf.v, buf.s0, buf.o, buf.S];
  return { buffers: [], steps: [{ kernel: dplrRecurrentKernel(`${label}.recurrent`, s), args }] };
}
