/**
 * The chunk-state walk of the chunkwise DPLR. One invocation per (b, h, value column group) keeps
 * its VW columns of the state (K registers) and walks the chunks in order:
 *   store h_n (the state before chunk n; h_0 = s0)
 *   w_r = U_r + W_r^T h_n for every r in the chunk          (written over u, in place)
 *   h_{n+1} = exp(G_last) h_n + sum_r kd_r v_r^T + bd_r w_r^T
 * and finally writes S. G_last (per key row) is the chunk's gk summed directly (<= 0). Each column
 * of the state needs only its own columns of U, v and w, so the walk is barrier-free.
 */
import type { Kernel } from '../../../codegen/kernel.ts';
import { buildKernel, type WgslBuilder } from '../../../codegen/wgsl.ts';
import { loadVec, storeVec } from '../delta/shape.ts';
import { input, output, threadGrid, WG, type Grid } from '../kernels/common.ts';
import { emitColumnState, emitStoreState } from './recurrent.ts';
import { decOff, dplrConsts, widths, type DplrChunking, type DplrShape } from './shape.ts';

/** Invocations of the walk: B*H*VG. */
export function walkThreads(s: DplrShape): number {
  return (s.B * s.H * s.V) / widths(s).VW;
}

function emitBody(b: WgslBuilder, s: DplrShape, grid: Grid): void {
  const { VW } = widths(s);
  emitColumnState(b, s, grid, 'b_h');
  b.line('var b_gl: array<f32, K>;');
  b.block('for (var i_n = 0u; i_n < NC; i_n++)', () => {
    b.line('let o_t0 = i_n * C;');
    b.line('let o_t1 = min(o_t0 + C, T);');
    b.line('// h_n = the state before chunk n');
    b.block('for (var i_i = 0u; i_i < n_K; i_i++)', () => {
      b.line('let b_s = b_h[i_i];');
      storeVec(b, VW, 'h', '((i_bh * NC + i_n) * K + i_i) * V + o_col', 'b_s');
      b.line('b_gl[i_i] = 0.0;');
    });
    b.line('// w_r = U_r + W_r^T h_n;  b_gl = G_last');
    b.block('for (var i_r = o_t0; i_r < o_t1; i_r++)', () => {
      b.line('let o_tok = (i_b * T + i_r) * H + i_h;');
      b.line('let o_u = o_tok * V + o_col;');
      b.line(`var b_x = ${loadVec(VW, 'u', 'o_u')};`);
      b.block('for (var i_i = 0u; i_i < n_K; i_i++)', () => {
        b.line('b_x += wk[o_tok * K + i_i] * b_h[i_i];');
        b.line('b_gl[i_i] += gk[o_tok * K + i_i];');
      });
      storeVec(b, VW, 'u', 'o_u', 'b_x');
    });
    b.line('// h_{n+1} = exp(G_last) h_n + sum_r kd_r v_r^T + bd_r w_r^T');
    b.block('for (var i_i = 0u; i_i < n_K; i_i++)', () => b.line('b_h[i_i] *= exp(b_gl[i_i]);'));
    b.block('for (var i_r = o_t0; i_r < o_t1; i_r++)', () => {
      b.line('let o_tok = (i_b * T + i_r) * H + i_h;');
      b.line(`let b_v = ${loadVec(VW, 'v', 'o_tok * V + o_col')};`);
      b.line(`let b_w = ${loadVec(VW, 'u', 'o_tok * V + o_col')};`);
      b.block('for (var i_i = 0u; i_i < n_K; i_i++)', () => b.line(`b_h[i_i] += dec[${decOff('kd', 'o_tok', 'i_i')}] * b_v + dec[${decOff('bd', 'o_tok', 'i_i')}] * b_w;`));
    });
  });
  emitStoreState(b, s, 'b_h');
}

/** `<label>.chunk_h`: h_n per chunk, w in place of U, and the final S. */
export function walkKernel(name: string, s: DplrShape, ch: DplrChunking): Kernel {
  const { B, T, H, K, V } = s;
  const grid = threadGrid(walkThreads(s), 'B*H*VG', s.maxGroupsPerDim, s.unrollK);
  const bindings = [input('v', B * T * H * V), input('gk', B * T * H * K), input('dec', B * T * H * 4 * K), input('wk', B * T * H * K), input('s0', B * H * K * V)];
  bindings.push(output('u', B * T * H * V), output('h', B * H * ch.NC * K * V), output('S', B * H * K * V));
  return buildKernel({
    name,
    summary: `chunk states h_n (C = ${ch.C}), w = U + W h_n over u, final S`,
    bindings,
    consts: [...dplrConsts(s, 'V', ch), ...grid.consts],
    workgroupSize: [WG, 1, 1],
    dispatch: grid.dispatch,
    dispatchFormula: grid.formula,
    body: (b) => emitBody(b, s, grid),
  });
}
