/**
 * The output of the chunkwise (and parallel) delta rule. One invocation per (b, t, h, value slice
 * of BG column groups), for t in chunk n:
 *   o_t = exp(G_t) (scale q~_t)^T h_n + sum_{s = nC..t} exp(G_t - G_s) (scale q~_t . k~_s) U'_s
 * The causal sum walks s from t down to the chunk start accumulating G_t - G_s, which ends as
 * G_t for the state term. Barrier-free.
 */
import type { Kernel } from '../../../codegen/kernel.ts';
import { buildKernel, type WgslBuilder } from '../../../codegen/wgsl.ts';
import { emitThreadIndex, featureHelpers, gateBindings, input, output, phi, threadGrid, WG, type Grid } from '../kernels/common.ts';
import { deltaConsts, emitGateSetup, gate, gateHelpers, hasDecay, kFeat, loadVec, storeVec, vecType, vecZero, widths, type DeltaShape } from './shape.ts';
import type { DeltaChunking } from './wy.ts';

/** Most value columns one invocation accumulates (registers). */
const MAX_SLICE_COLUMNS = 64;

/** Column groups per slice (BG) and slices per token (NS). */
export function deltaSlicing(s: DeltaShape): { BG: number; NS: number } {
  const { VW } = widths(s);
  const BG = Math.min(s.V / VW, MAX_SLICE_COLUMNS / VW);
  return { BG, NS: Math.ceil(s.V / VW / BG) };
}

/** Invocations of the output kernel: B*T*H*NS. */
export function deltaOutputThreads(s: DeltaShape): number {
  return s.B * s.T * s.H * deltaSlicing(s).NS;
}

function emitIndices(b: WgslBuilder, s: DeltaShape): string {
  const { BG, NS } = deltaSlicing(s);
  const partial = (s.V / widths(s).VW) % BG !== 0;
  b.line('// invocation = (b, t, h, value slice)');
  b.line(NS > 1 ? 'let i_tok = i_thread / NS;' : 'let i_tok = i_thread;');
  b.line('let i_h = i_tok % H;');
  b.line('let i_bt = i_tok / H;');
  b.line('let i_t = i_bt % T;');
  b.line('let i_b = i_bt / T;');
  b.line(NS > 1 ? 'let o_g0 = (i_thread % NS) * BG;' : 'let o_g0 = 0u;');
  if (partial) b.line('let m_g = min(BG, VG - o_g0);');
  b.line('let i_n = i_t / C;');
  b.line('let o_t0 = i_n * C;');
  b.line('let o_st = (i_b * H + i_h) * NC + i_n;');
  return partial ? 'm_g' : 'BG';
}

function emitIntra(b: WgslBuilder, s: DeltaShape, bound: string): void {
  const { VW } = widths(s);
  b.line(hasDecay(s) ? "// b_o = sum_{s = nC..t} exp(G_t - G_s) (scale q~_t . k~_s) U'_s, s from t down;  b_gs = G_t - G_s" : "// b_o = sum_{s = nC..t} (scale q~_t . k~_s) U'_s");
  if (hasDecay(s)) b.line('var b_gs = 0.0;');
  b.block('for (var i_j = i_t + 1u; i_j > o_t0; i_j--)', () => {
    b.line('let o_src = (i_b * T + i_j - 1u) * H + i_h;');
    b.line('var b_a = 0.0;');
    b.block('for (var i_i = 0u; i_i < n_K; i_i++)', () => b.line(`b_a += b_q[i_i] * ${kFeat(s, 'o_src * K + i_i')};`));
    if (hasDecay(s)) b.line('b_a *= exp(b_gs);');
    b.block(`for (var i_c = 0u; i_c < ${bound}; i_c++)`, () => b.line(`b_o[i_c] += b_a * ${loadVec(VW, 'u', 'o_src * V + (o_g0 + i_c) * VW')};`));
    if (hasDecay(s)) b.line(`b_gs += ${gate(s, 'o_src')};`);
  });
}

function emitBody(b: WgslBuilder, s: DeltaShape, grid: Grid): void {
  const { VW } = widths(s);
  emitThreadIndex(b, grid);
  const bound = emitIndices(b, s);
  emitGateSetup(b, s);
  b.line('var b_q: array<f32, K>;');
  b.block('for (var i_i = 0u; i_i < n_K; i_i++)', () => b.line(`b_q[i_i] = SCALE * ${phi(s, 'q[i_tok * K + i_i]')};`));
  b.line(`var b_o: array<${vecType(VW)}, BG>;`);
  emitIntra(b, s, bound);
  b.line(`// b_o += ${hasDecay(s) ? 'exp(G_t) ' : ''}(scale q~_t)^T h_n`);
  if (hasDecay(s)) b.line('let b_dq = exp(b_gs);');
  b.block(`for (var i_c = 0u; i_c < ${bound}; i_c++)`, () => {
    b.line('let o_col = (o_g0 + i_c) * VW;');
    b.line(`var b_acc = ${vecZero(VW)};`);
    b.block('for (var i_i = 0u; i_i < n_K; i_i++)', () => b.line(`b_acc += b_q[i_i] * ${loadVec(VW, 'h', '(o_st * K + i_i) * V + o_col')};`));
    b.line(`let b_out = b_o[i_c] + ${hasDecay(s) ? 'b_dq * ' : ''}b_acc;`);
    storeVec(b, VW, 'o', 'i_tok * V + o_col', 'b_out');
  });
}

/** `<label>.chunk_o` / `.parallel_o`. */
export function deltaOutputKernel(name: string, s: DeltaShape, ch: DeltaChunking): Kernel {
  const { B, T, H, K, V } = s;
  const { BG, NS } = deltaSlicing(s);
  const grid = threadGrid(deltaOutputThreads(s), NS > 1 ? 'B*T*H*NS' : 'B*T*H', s.maxGroupsPerDim, s.unrollK);
  const bindings = [input('q', B * T * H * K), input('k', B * T * H * K), ...gateBindings(s), input('u', B * T * H * V), input('h', B * H * ch.NC * K * V)];
  bindings.push(output('o', B * T * H * V));
  const sizes: [string, number][] = [['BG', BG], ...(NS > 1 ? ([['NS', NS]] as [string, number][]) : []), ['C', ch.C], ['NC', ch.NC]];
  const g = hasDecay(s) ? 'exp(G_t - G_s) ' : '';
  return buildKernel({
    name,
    summary: `o_t = ${hasDecay(s) ? 'exp(G_t) ' : ''}(scale q~_t)^T h_n + sum_{s=nC..t} ${g}(scale q~_t . k~_s) U'_s, phi = ${s.feature}, decay ${s.decay.kind}`,
    bindings,
    consts: [...deltaConsts(s, 'V'), ...sizes, ...grid.consts],
    fconsts: [['SCALE', s.scale]],
    helpers: [...featureHelpers(s), ...gateHelpers(s)],
    workgroupSize: [WG, 1, 1],
    dispatch: grid.dispatch,
    dispatchFormula: grid.formula,
    body: (b) => emitBody(b, s, grid),
  });
}
