/**
 * The output of the chunkwise DPLR. One invocation per (b, t, h, value slice of BG column groups),
 * for t in chunk n:
 *   o_t = qg_t^T h_n + sum_{s = nC..t} Aqk_ts v_s + Aqb_ts w_s        (qg_t = scale q_t exp(G_t))
 * Barrier-free.
 */
import type { Kernel } from '../../../codegen/kernel.ts';
import { buildKernel, type WgslBuilder } from '../../../codegen/wgsl.ts';
import { loadVec, storeVec, vecType } from '../delta/shape.ts';
import { emitThreadIndex, input, output, threadGrid, WG, type Grid } from '../kernels/common.ts';
import { decOff, dplrConsts, matAt, widths, type DplrChunking, type DplrShape } from './shape.ts';

/** Most value columns one invocation accumulates (registers). */
const MAX_SLICE_COLUMNS = 64;

/** Column groups per slice (BG) and slices per token (NS). */
export function dplrSlicing(s: DplrShape): { BG: number; NS: number } {
  const { VW } = widths(s);
  const BG = Math.min(s.V / VW, MAX_SLICE_COLUMNS / VW);
  return { BG, NS: Math.ceil(s.V / VW / BG) };
}

/** Invocations of the output kernel: B*T*H*NS. */
export function outputThreads(s: DplrShape): number {
  return s.B * s.T * s.H * dplrSlicing(s).NS;
}

function emitBody(b: WgslBuilder, s: DplrShape, grid: Grid): void {
  const { VW } = widths(s);
  const { BG, NS } = dplrSlicing(s);
  const bound = (s.V / VW) % BG !== 0 ? 'm_g' : 'BG';
  emitThreadIndex(b, grid);
  b.line('// invocation = (b, t, h, value slice)');
  b.line(NS > 1 ? 'let i_tok = i_thread / NS;' : 'let i_tok = i_thread;');
  b.line('let i_h = i_tok % H;');
  b.line('let i_bt = i_tok / H;');
  b.line('let i_t = i_bt % T;');
  b.line('let i_b = i_bt / T;');
  b.line(NS > 1 ? 'let o_g0 = (i_thread % NS) * BG;' : 'let o_g0 = 0u;');
  if (bound === 'm_g') b.line('let m_g = min(BG, VG - o_g0);');
  b.line('let i_n = i_t / C;');
  b.line('let o_t0 = i_n * C;');
  b.line('let o_st = (i_b * H + i_h) * NC + i_n;');
  b.line('let o_row = ((i_b * H + i_h) * T + i_t) * 4u;');
  b.line(`var b_o: array<${vecType(VW)}, BG>;`);
  b.line('// b_o = sum_{s = nC..t} Aqk_ts v_s + Aqb_ts w_s');
  b.block('for (var i_s = o_t0; i_s <= i_t; i_s++)', () => {
    b.line('let o_src = (i_b * T + i_s) * H + i_h;');
    b.line(`let b_qk = ${matAt('qk', 'o_row', 'i_s - o_t0')};`);
    b.line(`let b_qb = ${matAt('qb', 'o_row', 'i_s - o_t0')};`);
    b.block(`for (var i_c = 0u; i_c < ${bound}; i_c++)`, () => {
      b.line('let o_x = o_src * V + (o_g0 + i_c) * VW;');
      b.line(`b_o[i_c] += b_qk * ${loadVec(VW, 'v', 'o_x')} + b_qb * ${loadVec(VW, 'u', 'o_x')};`);
    });
  });
  b.line('// b_o += qg_t^T h_n');
  b.block('for (var i_i = 0u; i_i < n_K; i_i++)', () => {
    b.line(`let b_q = dec[${decOff('qg', 'i_tok', 'i_i')}];`);
    b.block(`for (var i_c = 0u; i_c < ${bound}; i_c++)`, () => b.line(`b_o[i_c] += b_q * ${loadVec(VW, 'h', '(o_st * K + i_i) * V + (o_g0 + i_c) * VW')};`));
  });
  b.block(`for (var i_c = 0u; i_c < ${bound}; i_c++)`, () => {
    b.line('let b_out = b_o[i_c];');
    storeVec(b, VW, 'o', 'i_tok * V + (o_g0 + i_c) * VW', 'b_out');
  });
}

/** `<label>.chunk_o`. */
export function outputKernel(name: string, s: DplrShape, ch: DplrChunking): Kernel {
  const { B, T, H, K, V } = s;
  const { BG, NS } = dplrSlicing(s);
  const grid = threadGrid(outputThreads(s), NS > 1 ? 'B*T*H*NS' : 'B*T*H', s.maxGroupsPerDim, s.unrollK);
  const bindings = [input('v', B * T * H * V), input('mats', B * H * T * 4 * ch.C), input('dec', B * T * H * 4 * K), input('u', B * T * H * V), input('h', B * H * ch.NC * K * V), output('o', B * T * H * V)];
  return buildKernel({
    name,
    summary: `o_t = qg_t^T h_n + sum_{s=nC..t} Aqk_ts v_s + Aqb_ts w_s in chunks of C = ${ch.C}`,
    bindings,
    consts: [...dplrConsts(s, 'V', ch), ['BG', BG], ...(NS > 1 ? ([['NS', NS]] as [string, number][]) : []), ...grid.consts],
    workgroupSize: [WG, 1, 1],
    dispatch: grid.dispatch,
    dispatchFormula: grid.formula,
    body: (b) => emitBody(b, s, grid),
  });
}
