/**
 * The low-rank part of a chunk by forward substitution (README.md): the new values w_r = a_r^T S_{r-1}
 * of the tokens of a chunk satisfy (I - Aab) w = Aak V + AG S_0 (AG: the rows ag_r), so w = U + W S_0 with
 *   W_r = ag_r + sum_{s<r} Aab_rs W_s                        (chunk_w, key columns)
 *   U_r = sum_{s<r} Aak_rs v_s + Aab_rs U_s                  (chunk_u, value columns)
 * (I - Aab) is unit lower triangular: no inverse is formed. One invocation per (b, h, chunk, column
 * group) reads back the rows it wrote, so C is not limited by registers. Barrier-free.
 */
import type { Kernel } from '../../../codegen/kernel.ts';
import { buildKernel, type WgslBuilder } from '../../../codegen/wgsl.ts';
import { loadVec, storeVec, vecZero } from '../delta/shape.ts';
import { emitThreadIndex, input, output, threadGrid, WG, type Grid } from '../kernels/common.ts';
import { decOff, dplrConsts, matAt, widths, type DplrChunking, type DplrShape } from './shape.ts';

/** Invocations of the W (which = 'K') or U (which = 'V') solve: B*H*NC*(column groups). */
export function solveThreads(s: DplrShape, ch: DplrChunking, which: 'K' | 'V'): number {
  const { KW, VW } = widths(s);
  return (s.B * s.H * ch.NC * (which === 'K' ? s.K / KW : s.V / VW));
}

function emitBody(b: WgslBuilder, s: DplrShape, grid: Grid, which: 'K' | 'V'): void {
  const w = which === 'K' ? widths(s).KW : widths(s).VW;
  const [G, D, out] = which === 'K' ? ['KG', 'K', 'wk'] : ['VG', 'V', 'u'];
  emitThreadIndex(b, grid);
  b.line('// invocation = (b, h, chunk n, column group)');
  b.line(`let i_g = i_thread % ${G};`);
  b.line(`let i_bhn = i_thread / ${G};`);
  b.line('let i_n = i_bhn % NC;');
  b.line('let i_bh = i_bhn / NC;');
  b.line('let i_b = i_bh / H;');
  b.line('let i_h = i_bh % H;');
  b.line(`let o_col = i_g * ${which}W;`);
  b.line('let o_t0 = i_n * C;');
  b.line(which === 'K' ? '// W_r = ag_r + sum_{s<r} Aab_rs W_s' : '// U_r = sum_{s<r} Aak_rs v_s + Aab_rs U_s');
  b.block('for (var i_r = o_t0; i_r < min(o_t0 + C, T); i_r++)', () => {
    b.line('let o_tok = (i_b * T + i_r) * H + i_h;');
    b.line('let o_row = (i_bh * T + i_r) * 4u;');
    b.line(`var b_x = ${which === 'K' ? loadVec(w, 'dec', decOff('ag', 'o_tok', 'o_col')) : vecZero(w)};`);
    b.block('for (var i_s = o_t0; i_s < i_r; i_s++)', () => {
      b.line(`let o_x = ((i_b * T + i_s) * H + i_h) * ${D} + o_col;`);
      const ab = `${matAt('ab', 'o_row', 'i_s - o_t0')} * ${loadVec(w, out, 'o_x')}`;
      b.line(which === 'K' ? `b_x += ${ab};` : `b_x += ${matAt('ak', 'o_row', 'i_s - o_t0')} * ${loadVec(w, 'v', 'o_x')} + ${ab};`);
    });
    storeVec(b, w, out, `o_tok * ${D} + o_col`, 'b_x');
  });
}

/** `<label>.chunk_w` (which = 'K') or `.chunk_u` (which = 'V'). */
export function solveKernel(name: string, s: DplrShape, ch: DplrChunking, which: 'K' | 'V'): Kernel {
  const { B, T, H, K, V } = s;
  const grid = threadGrid(solveThreads(s, ch, which), `B*H*NC*${which}G`, s.maxGroupsPerDim, s.unrollK);
  const first = which === 'K' ? input('dec', B * T * H * 4 * K) : input('v', B * T * H * V);
  return buildKernel({
    name,
    summary: `${which === 'K' ? 'W = (I - Aab)^-1 AG' : 'U = (I - Aab)^-1 Aak V'} by forward substitution in chunks of C = ${ch.C}`,
    bindings: [first, input('mats', B * H * T * 4 * ch.C), output(which === 'K' ? 'wk' : 'u', B * T * H * (which === 'K' ? K : V))],
    consts: [...dplrConsts(s, which, ch), ...grid.consts],
    workgroupSize: [WG, 1, 1],
    dispatch: grid.dispatch,
    dispatchFormula: grid.formula,
    body: (b) => emitBody(b, s, grid, which),
  });
}
