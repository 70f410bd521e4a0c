/**
 * Output kernels shared by the parallel and chunkwise schedules. One invocation per
 * (b, t, h, value slice of BG column groups):
 *   o_t = (scale q~_t)^T S_start + sum_{s = start..t} (scale q~_t . k~_s) v_s
 * where start = 0 and S_start = s0 (parallel), or start = n*C and S_start = h_n for the chunk
 * n = floor(t / C) holding t (chunkwise). Normalized, the denominator is built the same way
 * from z0 or hz_n plus the k~_s, plus eps.
 */
import type { Kernel } from '../../../codegen/kernel.ts';
import { buildKernel, type WgslBuilder } from '../../../codegen/wgsl.ts';
import {
  emitThreadIndex,
  featureHelpers,
  floatConsts,
  input,
  loadValue,
  output,
  phi,
  shapeConsts,
  storeValue,
  threadGrid,
  valueType,
  valueWidth,
  valueZero,
  WG,
  type Grid,
  type LaShape,
} from './common.ts';
import type { Chunking } from './state.ts';

/** Most value columns one invocation accumulates (registers). */
export const MAX_SLICE_COLUMNS = 64;

/** Column groups per slice (BG) and slices per token (NS). */
export function slicing(s: LaShape): { BG: number; NS: number } {
  const VG = s.V / valueWidth(s.V);
  const BG = Math.min(VG, MAX_SLICE_COLUMNS / valueWidth(s.V));
  return { BG, NS: Math.ceil(VG / BG) };
}

/** Invocations of an output kernel: B*T*H*NS. */
export function outputThreads(s: LaShape): number {
  return s.B * s.T * s.H * slicing(s).NS;
}

function emitIndices(b: WgslBuilder, s: LaShape, chunks: Chunking | null): void {
  const { NS } = slicing(s);
  b.line('// invocation = (b, t, h, value slice)');
  b.line(NS > 1 ? 'let i_tok = i_thread / NS;' : 'let i_tok = i_thread;');
  b.line('let i_h = i_tok % H;');
  b.line('let i_bt = i_tok / H;');
  b.line('let i_t = i_bt % T;');
  b.line('let i_b = i_bt / T;');
  b.line(NS > 1 ? 'let o_g0 = (i_thread % NS) * BG;' : 'let o_g0 = 0u;');
  // A partial last slice only exists when BG does not divide VG.
  if ((s.V / valueWidth(s.V)) % slicing(s).BG !== 0) b.line('let m_g = min(BG, VG - o_g0);');
  if (chunks) {
    b.line('let i_n = i_t / C;');
    b.line('let o_st = (i_b * H + i_h) * NC + i_n;');
  } else {
    b.line('let o_st = i_b * H + i_h;');
  }
}

function groupBound(s: LaShape): string {
  return (s.V / valueWidth(s.V)) % slicing(s).BG !== 0 ? 'm_g' : 'BG';
}

function emitStateTerm(b: WgslBuilder, s: LaShape, st: string, zt: string): void {
  b.line('var b_q: array<f32, K>;');
  if (s.normalize) b.line('var b_den = EPS;');
  b.block('for (var i_i = 0u; i_i < K; i_i++)', () => {
    b.line(`b_q[i_i] = SCALE * ${phi(s, 'q[i_tok * K + i_i]')};`);
    if (s.normalize) b.line(`b_den += b_q[i_i] * ${zt}[o_st * K + i_i];`);
  });
  b.line(`var b_o: array<${valueType(s)}, BG>;`);
  b.block(`for (var i_j = 0u; i_j < ${groupBound(s)}; i_j++)`, () => {
    b.line('let o_col = (o_g0 + i_j) * VW;');
    b.line(`var b_acc = ${valueZero(s)};`);
    b.block('for (var i_i = 0u; i_i < K; i_i++)', () => {
      b.line('let o_row = (o_st * K + i_i) * V + o_col;');
      b.line(`b_acc += b_q[i_i] * ${loadValue(s, st, 'o_row')};`);
    });
    b.line('b_o[i_j] = b_acc;');
  });
}

function emitIntra(b: WgslBuilder, s: LaShape, from: string): void {
  b.block(`for (var i_s = ${from}; i_s <= i_t; i_s++)`, () => {
    b.line('let o_src = (i_b * T + i_s) * H + i_h;');
    b.line('var b_a = 0.0;');
    b.block('for (var i_i = 0u; i_i < K; i_i++)', () => b.line(`b_a += b_q[i_i] * ${phi(s, 'k[o_src * K + i_i]')};`));
    if (s.normalize) b.line('b_den += b_a;');
    b.block(`for (var i_j = 0u; i_j < ${groupBound(s)}; i_j++)`, () => {
      b.line('let o_vs = o_src * V + (o_g0 + i_j) * VW;');
      b.line(`b_o[i_j] += b_a * ${loadValue(s, 'v', 'o_vs')};`);
    });
  });
}

function emitBody(b: WgslBuilder, s: LaShape, grid: Grid, chunks: Chunking | null): void {
  emitThreadIndex(b, grid);
  emitIndices(b, s, chunks);
  const [st, zt] = chunks ? ['h', 'hz'] : ['s0', 'z0'];
  b.line(`// b_o = (scale q~_t)^T ${chunks ? 'h_n' : 's0'}`);
  emitStateTerm(b, s, st, zt);
  b.line(`// b_o += sum_{s = ${chunks ? 'n*C' : '0'}..t} (scale q~_t . k~_s) v_s`);
  emitIntra(b, s, chunks ? 'i_n * C' : '0u');
  b.block(`for (var i_j = 0u; i_j < ${groupBound(s)}; i_j++)`, () => {
    b.line('let o_out = i_tok * V + (o_g0 + i_j) * VW;');
    b.line(`let b_out = b_o[i_j]${s.normalize ? ' / b_den' : ''};`);
    storeValue(b, s, 'o', 'o_out', 'b_out');
  });
}

/** `parallel_o` (chunks = null, reads s0/z0) or `chunk_o` (reads the chunk states h/hz). */
export function outputKernel(name: string, s: LaShape, chunks: Chunking | null): Kernel {
  const { B, T, H, K, V } = s;
  const { BG, NS } = slicing(s);
  const grid = threadGrid(outputThreads(s), NS > 1 ? 'B*T*H*NS' : 'B*T*H', s.maxGroupsPerDim);
  const bindings = [input('q', B * T * H * K), input('k', B * T * H * K), input('v', B * T * H * V)];
  if (chunks) {
    bindings.push(input('h', B * H * chunks.NC * K * V));
    if (s.normalize) bindings.push(input('hz', B * H * chunks.NC * K));
  } else {
    bindings.push(input('s0', B * H * K * V));
    if (s.normalize) bindings.push(input('z0', B * H * K));
  }
  bindings.push(output('o', B * T * H * V));
  const start = chunks ? '(scale q~_t)^T h_n + sum_{s=n*C..t}' : '(scale q~_t)^T s0 + sum_{s<=t}';
  const num = `${start} (scale q~_t . k~_s) v_s`;
  const sizes: [string, number][] = [['BG', BG]];
  if (NS > 1) sizes.push(['NS', NS]);
  if (chunks) sizes.push(['C', chunks.C], ['NC', chunks.NC]);
  return buildKernel({
    name,
    summary: `o_t = ${s.normalize ? `(${num}) / (same with z, k~_s; + eps)` : num}, phi = ${s.feature}`,
    bindings,
    consts: [...shapeConsts(s), ...sizes, ...grid.consts],
    fconsts: floatConsts(s),
    helpers: featureHelpers(s),
    workgroupSize: [WG, 1, 1],
    dispatch: grid.dispatch,
    dispatchFormula: grid.formula,
    body: (b) => emitBody(b, s, grid, chunks),
  });
}
