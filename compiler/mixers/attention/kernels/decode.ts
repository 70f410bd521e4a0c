/**
 * The decode variant (T = 1, causal): the keys a query reads (up to W cached positions and its
 * own) are split into blocks of KC, one invocation per (b, h, block) running the online softmax
 * over its block and writing its partial (m, l, acc) to `part [B, H, NS, DV + 2]`; a second kernel,
 * one invocation per (b, h, value column), merges the NS partials:
 * M = max m_s, l = sum l_s exp(m_s - M), o = sum acc_s exp(m_s - M) / l.
 * Splitting spreads one token's attention over B*H*NS invocations instead of B*H.
 */
import type { Kernel } from '../../../codegen/kernel.ts';
import { buildKernel, ceilDiv, type WgslBuilder } from '../../../codegen/wgsl.ts';
import { cacheSlots } from '../../../ir/graph.ts';
import { attnConsts, attnInputs, emitKeyUpdate, emitQueryLoad, emitThreadIndex, emitWindowStart, output, threadGrid, WG, type AttnShape, type Grid } from './common.ts';

/** Keys per block of the decode kernel. */
export const DECODE_BLOCK = 32;

/** Blocks NS: enough to cover the most keys one query can read (W cached + itself). */
export function decodeSplits(s: AttnShape): number {
  return ceilDiv(cacheSlots(s.knobs) + 1, DECODE_BLOCK);
}

export function decodeThreads(s: AttnShape): number {
  return s.B * s.knobs.heads * decodeSplits(s);
}

function emitPartialBody(b: WgslBuilder, s: AttnShape, grid: Grid): void {
  emitThreadIndex(b, grid);
  b.line('// invocation = (b, h, block of KC keys)');
  b.line('let i_n = i_thread % NS;');
  b.line('let i_bh = i_thread / NS;');
  b.line('let i_h = i_bh % H;');
  b.line('let i_b = i_bh / H;');
  b.line('let i_hk = i_h / GROUP;');
  emitQueryLoad(b, 'i_bh');
  b.line('let i_p = u32(pos[i_b]);');
  emitWindowStart(b, s, 'i_p');
  b.line('// positions i_lo + i_n*KC .. (block end or i_p); i_p itself is the new key');
  b.line('let i_first = i_lo + i_n * KC;');
  b.block('for (var i_j = i_first; i_j < min(i_first + KC, i_p + 1u); i_j++)', () => {
    b.block('if (i_j < i_p)', () => {
      b.line('let o_k = (i_b * HKV + i_hk) * W + i_j % W;');
      emitKeyUpdate(b, 'kc0', 'vc0');
    });
    b.block('else', () => {
      b.line('let o_k = i_b * HKV + i_hk;');
      emitKeyUpdate(b, 'k', 'v');
    });
  });
  b.line('let o_part = i_thread * (DV + 2u);');
  b.line('part[o_part] = b_m;');
  b.line('part[o_part + 1u] = b_l;');
  b.block('for (var i_i = 0u; i_i < n_DV; i_i++)', () => b.line('part[o_part + 2u + i_i] = b_acc[i_i];'));
}

function decodeConsts(s: AttnShape): [string, number][] {
  return [...attnConsts(s), ['KC', DECODE_BLOCK], ['NS', decodeSplits(s)]];
}

export function decodeKernel(name: string, s: AttnShape): Kernel {
  const grid = threadGrid(decodeThreads(s), 'B*H*NS', s.maxGroupsPerDim);
  const k = s.knobs;
  return buildKernel({
    name,
    summary: `softmax attention decode (T = 1${k.window === null ? '' : `, window ${k.window}`}): online softmax over one block of KC keys, partial (m, l, acc)`,
    bindings: [...attnInputs(s), output('part', decodeThreads(s) * (k.valueDim + 2))],
    consts: [...decodeConsts(s), ...grid.consts],
    fconsts: [['SCALE', k.scale]],
    workgroupSize: [WG, 1, 1],
    dispatch: grid.dispatch,
    dispatchFormula: grid.formula,
    body: (b) => emitPartialBody(b, s, grid),
  });
}

function emitMergeBody(b: WgslBuilder, grid: Grid): void {
  b.line(grid.folded ? 'let i_thread = gid.y * (GRID_X * WG) + gid.x;' : 'let i_thread = gid.x;');
  b.line('if (i_thread >= N) { return; }');
  b.line('// invocation = (b, h, value column i)');
  b.line('let i_i = i_thread % DV;');
  b.line('let o_bh = (i_thread / DV) * NS * (DV + 2u);');
  b.line('var b_m = -3.0e38;');
  b.block('for (var i_n = 0u; i_n < NS; i_n++)', () => b.line('b_m = max(b_m, part[o_bh + i_n * (DV + 2u)]);'));
  b.line('var b_l = 0.0;');
  b.line('var b_o = 0.0;');
  b.block('for (var i_n = 0u; i_n < NS; i_n++)', () => {
    b.line('let o_n = o_bh + i_n * (DV + 2u);');
    b.line('let b_c = exp(part[o_n] - b_m);');
    b.line('b_l += part[o_n + 1u] * b_c;');
    b.line('b_o += part[o_n + 2u + i_i] * b_c;');
  });
  b.line('o[i_thread] = b_o / b_l;');
}

export function mergeKernel(name: string, s: AttnShape): Kernel {
  const k = s.knobs;
  const n = s.B * k.heads * k.valueDim;
  const grid = threadGrid(n, 'B*H*DV', s.maxGroupsPerDim);
  return buildKernel({
    name,
    summary: 'softmax attention decode: merges the NS partials (m, l, acc) of each (b, h) into o',
    bindings: [{ name: 'part', access: 'read', elem: 'f32', elements: decodeThreads(s) * (k.valueDim + 2) }, output('o', n)],
    consts: [['DV', k.valueDim], ['NS', decodeSplits(s)], ...grid.consts],
    workgroupSize: [WG, 1, 1],
    dispatch: grid.dispatch,
    dispatchFormula: grid.formula,
    body: (b) => emitMergeBody(b, grid),
  });
}
