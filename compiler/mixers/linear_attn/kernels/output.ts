/**
 * Output kernels shared by the parallel and chunkwise schedules. One invocation per
 * (b, t, h, value slice of BG column groups):
 *   o_t = (scale q~_t exp(G_t))^T S_start + sum_{s = start..t} exp(G_t - G_s) (scale q~_t . k~_s) v_s
 * where start = 0 and S_start = s0 (parallel), or start = n*C and S_start = h_n for the chunk
 * n = floor(t / C) holding t (chunkwise); G_t is the log-decay summed from start to t inclusive
 * (per row of S for vector decay, where the score is sum_i q_i k_si exp(G_ti - G_si); all G
 * terms are absent without decay). Normalized, the denominator is built the same way from z0 or
 * hz_n plus the k~_s, plus eps.
 */
import type { Kernel } from '../../../codegen/kernel.ts';
import { buildKernel, type WgslBuilder } from '../../../codegen/wgsl.ts';
import {
  decayDecls,
  emitFixedGate,
  emitThreadIndex,
  featureHelpers,
  floatConsts,
  gateAt,
  gateBindings,
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
  type AdditiveShape,
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

function emitIndices(b: WgslBuilder, s: AdditiveShape, chunks: Chunking | null): void {
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

/** `scale q~_t` into the private array b_q; zeroed accumulators b_o (and b_den = eps). */
function emitQuery(b: WgslBuilder, s: AdditiveShape): void {
  b.line('var b_q: array<f32, K>;');
  b.block('for (var i_i = 0u; i_i < n_K; i_i++)', () => b.line(`b_q[i_i] = SCALE * ${phi(s, 'q[i_tok * K + i_i]')};`));
  b.line(`var b_o: array<${valueType(s)}, BG>;`);
  if (s.normalize) b.line('var b_den = EPS;');
}

/**
 * b_o += (b_q * decay)^T st and b_den += (b_q * decay) . zt, where the decay from the start state
 * to t is exp(b_lg) (the gates summed over [start, t] by the intra walk), nothing without decay.
 */
function emitStateTerm(b: WgslBuilder, s: AdditiveShape, st: string, zt: string): void {
  if (s.decay.kind === 'vector') {
    b.block('for (var i_i = 0u; i_i < n_K; i_i++)', () => b.line('b_q[i_i] *= exp(b_lg[i_i]);'));
  } else if (s.decay.kind !== 'none') {
    b.line('let b_w = exp(b_lg);');
    b.block('for (var i_i = 0u; i_i < n_K; i_i++)', () => b.line('b_q[i_i] *= b_w;'));
  }
  if (s.normalize) b.block('for (var i_i = 0u; i_i < n_K; i_i++)', () => b.line(`b_den += b_q[i_i] * ${zt}[o_st * K + i_i];`));
  b.block(`for (var i_j = 0u; i_j < ${groupBound(s)}; i_j++)`, () => {
    b.line('let o_col = (o_g0 + i_j) * VW;');
    b.line(`var b_acc = ${valueZero(s)};`);
    b.block('for (var i_i = 0u; i_i < n_K; i_i++)', () => {
      b.line('let o_row = (o_st * K + i_i) * V + o_col;');
      b.line(`b_acc += b_q[i_i] * ${loadValue(s, st, 'o_row')};`);
    });
    b.line('b_o[i_j] += b_acc;');
  });
}

/** b_a = (scale q~_t . k~_s), times exp(G_t - G_s) with decay; b_lg moves on to (s-1, t]. */
function emitScore(b: WgslBuilder, s: AdditiveShape): void {
  b.line('var b_a = 0.0;');
  b.block('for (var i_i = 0u; i_i < n_K; i_i++)', () => {
    const qk = `b_q[i_i] * ${phi(s, 'k[o_src * K + i_i]')}`;
    if (s.decay.kind !== 'vector') {
      b.line(`b_a += ${qk};`);
      return;
    }
    b.line(`b_a += ${qk} * exp(b_lg[i_i]);`);
    b.line(`b_lg[i_i] += ${gateAt(s, 'o_src', 'i_i')};`);
  });
  if (s.decay.kind === 'fixed' || s.decay.kind === 'scalar') {
    b.line('b_a *= exp(b_lg);');
    b.line(`b_lg += ${gateAt(s, 'o_src', '')};`);
  }
}

/**
 * The causal sum over s = start..t. Without decay it walks forward. With decay it walks
 * backward from s = t, keeping b_lg = the gates summed over (s, t] (a per-row array for vector
 * decay): the exponent of exp(G_t - G_s) is summed directly, never as a difference of cumulative
 * sums, so it is exact to rounding for any T and always <= 0.
 */
function emitIntra(b: WgslBuilder, s: AdditiveShape, from: string): void {
  const body = (): void => {
    b.line('let o_src = (i_b * T + i_s) * H + i_h;');
    emitScore(b, s);
    if (s.normalize) b.line('b_den += b_a;');
    b.block(`for (var i_j = 0u; i_j < ${groupBound(s)}; i_j++)`, () => {
      b.line('let o_vs = o_src * V + (o_g0 + i_j) * VW;');
      b.line(`b_o[i_j] += b_a * ${loadValue(s, 'v', 'o_vs')};`);
    });
  };
  if (s.decay.kind === 'none') {
    b.block(`for (var i_s = ${from}; i_s <= i_t; i_s++)`, body);
    return;
  }
  b.line(s.decay.kind === 'vector' ? 'var b_lg: array<f32, K>;' : 'var b_lg = 0.0;');
  b.block(`for (var i_d = 0u; i_d <= i_t${from === '0u' ? '' : ` - ${from}`}; i_d++)`, () => {
    b.line('let i_s = i_t - i_d;');
    body();
  });
}

function emitBody(b: WgslBuilder, s: AdditiveShape, grid: Grid, chunks: Chunking | null): void {
  emitThreadIndex(b, grid);
  emitIndices(b, s, chunks);
  emitFixedGate(b, s);
  const [st, zt] = chunks ? ['h', 'hz'] : ['s0', 'z0'];
  const G = s.decay.kind === 'none' ? '' : ' exp(G_t - G_s)';
  emitQuery(b, s);
  b.line(`// b_o = sum_{s = ${chunks ? 'n*C' : '0'}..t}${G} (scale q~_t . k~_s) v_s`);
  emitIntra(b, s, chunks ? 'i_n * C' : '0u');
  b.line(`// b_o += (scale q~_t${s.decay.kind === 'none' ? '' : ' exp(G_t)'})^T ${chunks ? 'h_n' : 's0'}`);
  emitStateTerm(b, s, st, zt);
  b.block(`for (var i_j = 0u; i_j < ${groupBound(s)}; i_j++)`, () => {
    b.line('let o_out = i_tok * V + (o_g0 + i_j) * VW;');
    b.line(`let b_out = b_o[i_j]${s.normalize ? ' / b_den' : ''};`);
    storeValue(b, s, 'o', 'o_out', 'b_out');
  });
}

/** `parallel_o` (chunks = null, reads s0/z0) or `chunk_o` (reads the chunk states h/hz). */
export function outputKernel(name: string, s: AdditiveShape, chunks: Chunking | null): Kernel {
  const { B, T, H, K, V } = s;
  const { BG, NS } = slicing(s);
  const grid = threadGrid(outputThreads(s), NS > 1 ? 'B*T*H*NS' : 'B*T*H', s.maxGroupsPerDim, s.unrollK);
  const bindings = [input('q', B * T * H * K), input('k', B * T * H * K), input('v', B * T * H * V), ...gateBindings(s)];
  if (chunks) {
    bindings.push(input('h', B * H * chunks.NC * K * V));
    if (s.normalize) bindings.push(input('hz', B * H * chunks.NC * K));
  } else {
    bindings.push(input('s0', B * H * K * V));
    if (s.normalize) bindings.push(input('z0', B * H * K));
  }
  bindings.push(output('o', B * T * H * V));
  const start = chunks ? '(scale q~_t)^T h_n + sum_{s=n*C..t}' : '(scale q~_t)^T s0 + sum_{s<=t}';
  const G = s.decay.kind === 'none' ? '' : ` exp(G_t - G_s)`;
  const num = `${start}${G} (scale q~_t . k~_s) v_s`;
  const sizes: [string, number][] = [['BG', BG]];
  if (NS > 1) sizes.push(['NS', NS]);
  if (chunks) sizes.push(['C', chunks.C], ['NC', chunks.NC]);
  return buildKernel({
    name,
    summary: `o_t = ${s.normalize ? `(${num}) / (same with z, k~_s; + eps)` : num}, phi = ${s.feature}, decay ${s.decay.kind}`,
    bindings,
    consts: [...shapeConsts(s), ...sizes, ...grid.consts],
    fconsts: floatConsts(s),
    helpers: [...decayDecls(s), ...featureHelpers(s)],
    workgroupSize: [WG, 1, 1],
    dispatch: grid.dispatch,
    dispatchFormula: grid.formula,
    body: (b) => emitBody(b, s, grid, chunks),
  });
}
