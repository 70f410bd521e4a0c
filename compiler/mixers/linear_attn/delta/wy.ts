/**
 * The WY/UT factors of the chunkwise delta rule (docs/mixers.md), per chunk of C tokens (the
 * parallel schedule is one chunk, C = T). With G_r the cumulative log-decay from the chunk start
 * to r (inclusive) and Gamma_rs = exp(G_r - G_s):
 *   kk:  L_rs = beta_r Gamma_rs (k~_r . k~_s) for s < r in r's chunk: the strict lower triangle
 *        of diag(beta) (K K^T * Gamma), one invocation per (b, h, t).
 *   w/u: X = (I + L)^-1 R by forward substitution, X_r = R_r - sum_{s<r} L_rs X_s, one
 *        invocation per (b, h, chunk, column group); W has R_r = beta_r exp(G_r) k~_r,
 *        U has R_r = beta_r v_r. Rows X_s are read back from the output buffer this invocation
 *        wrote, so C is not limited by registers.
 * Every exponent is a sum of gates over a token range (never a positive cumulative sum).
 * Barrier-free. Layouts: kk `[B, H, T, C]` (row t, column s - chunk start), w `[B, T, H, K]`,
 * u `[B, T, H, V]`.
 */
import type { Kernel } from '../../../codegen/kernel.ts';
import { buildKernel, type WgslBuilder } from '../../../codegen/wgsl.ts';
import { emitThreadIndex, featureHelpers, gateBindings, input, output, phi, threadGrid, WG, type Grid } from '../kernels/common.ts';
import { deltaConsts, emitGateSetup, gate, gateHelpers, hasDecay, kFeat, loadVec, storeVec, widths, type DeltaShape } from './shape.ts';

/** C tokens per chunk, NC = ceil(T / C) chunks (the last may be partial). */
export interface DeltaChunking {
  C: number;
  NC: number;
}

/** Invocations of the kk kernel: B*H*T. */
export function kkThreads(s: DeltaShape): number {
  return s.B * s.H * s.T;
}

/** Invocations of the w (which = 'K') or u (which = 'V') solve: B*H*NC*(column groups). */
export function solveThreads(s: DeltaShape, ch: DeltaChunking, which: 'K' | 'V'): number {
  const w = which === 'K' ? widths(s).KW : widths(s).VW;
  return (s.B * s.H * ch.NC * (which === 'K' ? s.K : s.V)) / w;
}

function emitKkBody(b: WgslBuilder, s: DeltaShape, grid: Grid): void {
  emitThreadIndex(b, grid);
  b.line('// invocation = (b, h, t): row t of L inside its chunk');
  b.line('let i_t = i_thread % T;');
  b.line('let i_bh = i_thread / T;');
  b.line('let i_b = i_bh / H;');
  b.line('let i_h = i_bh % H;');
  b.line('let o_t0 = (i_t / C) * C;');
  b.line('let o_tok = (i_b * T + i_t) * H + i_h;');
  b.line('let o_row = (i_bh * T + i_t) * C;');
  emitGateSetup(b, s);
  b.line('var b_k: array<f32, K>;');
  b.block('for (var i_i = 0u; i_i < n_K; i_i++)', () => b.line(`b_k[i_i] = ${kFeat(s, 'o_tok * K + i_i')};`));
  b.line('let b_beta = beta[o_tok];');
  if (hasDecay(s)) b.line('var b_gs = 0.0;');
  b.line(hasDecay(s) ? '// s from t-1 down to the chunk start; b_gs = G_t - G_s = sum_{u=s+1..t} g_u' : '// s over the chunk before t');
  b.block('for (var i_j = i_t; i_j > o_t0; i_j--)', () => {
    b.line('let i_s = i_j - 1u;');
    b.line('let o_src = (i_b * T + i_s) * H + i_h;');
    if (hasDecay(s)) b.line(`b_gs += ${gate(s, '(i_b * T + i_j) * H + i_h')};`);
    b.line('var b_dot = 0.0;');
    b.block('for (var i_i = 0u; i_i < n_K; i_i++)', () => b.line(`b_dot += b_k[i_i] * ${kFeat(s, 'o_src * K + i_i')};`));
    b.line(`kk[o_row + i_s - o_t0] = b_beta${hasDecay(s) ? ' * exp(b_gs)' : ''} * b_dot;`);
  });
}

/** `<label>.chunk_kk` / `.parallel_kk`: the strict lower triangle L of each chunk. */
export function kkKernel(name: string, s: DeltaShape, ch: DeltaChunking): Kernel {
  const { B, T, H, K } = s;
  const grid = threadGrid(kkThreads(s), 'B*H*T', s.maxGroupsPerDim, s.unrollK);
  return buildKernel({
    name,
    summary: `L_ts = beta_t ${hasDecay(s) ? 'exp(G_t - G_s) ' : ''}(k~_t . k~_s) for s < t in t's chunk of C = ${ch.C}, phi = ${s.feature}, decay ${s.decay.kind}`,
    bindings: [input('k', B * T * H * K), input('beta', B * T * H), ...gateBindings(s), output('kk', B * H * T * ch.C)],
    consts: [...deltaConsts(s, null), ['C', ch.C], ...grid.consts],
    helpers: [...featureHelpers(s), ...gateHelpers(s)],
    workgroupSize: [WG, 1, 1],
    dispatch: grid.dispatch,
    dispatchFormula: grid.formula,
    body: (b) => emitKkBody(b, s, grid),
  });
}

function emitSolveBody(b: WgslBuilder, s: DeltaShape, grid: Grid, which: 'K' | 'V'): void {
  const w = which === 'K' ? widths(s).KW : widths(s).VW;
  const [G, D, out] = which === 'K' ? ['KG', 'K', 'w'] : ['VG', 'V', 'u'];
  const gated = which === 'K' && hasDecay(s);
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
  if (gated) emitGateSetup(b, s);
  if (gated) b.line('var b_gc = 0.0;');
  const rhs = which === 'K' ? `beta[o_tok]${gated ? ' * exp(b_gc)' : ''}` : 'beta[o_tok]';
  const src = which === 'K' ? loadVec(w, 'k', 'o_tok * K + o_col', (x) => phi(s, x)) : loadVec(w, 'v', 'o_tok * V + o_col');
  b.line(`// X_r = ${which === 'K' ? `beta_r ${gated ? 'exp(G_r) ' : ''}k~_r` : 'beta_r v_r'} - sum_{s<r} L_rs X_s`);
  b.block('for (var i_r = o_t0; i_r < min(o_t0 + C, T); i_r++)', () => {
    b.line('let o_tok = (i_b * T + i_r) * H + i_h;');
    if (gated) b.line(`b_gc += ${gate(s, 'o_tok')};`);
    b.line(`var b_x = ${rhs} * ${src};`);
    b.line('let o_row = (i_bh * T + i_r) * C;');
    b.block('for (var i_s = o_t0; i_s < i_r; i_s++)', () => {
      b.line(`let o_x = ((i_b * T + i_s) * H + i_h) * ${D} + o_col;`);
      b.line(`b_x -= kk[o_row + i_s - o_t0] * ${loadVec(w, out, 'o_x')};`);
    });
    storeVec(b, w, out, `o_tok * ${D} + o_col`, 'b_x');
  });
}

/** `<label>.chunk_w` (which = 'K') or `.chunk_u` (which = 'V'): the WY factors of each chunk. */
export function solveKernel(name: string, s: DeltaShape, ch: DeltaChunking, which: 'K' | 'V'): Kernel {
  const { B, T, H, K, V } = s;
  const grid = threadGrid(solveThreads(s, ch, which), `B*H*NC*${which}G`, s.maxGroupsPerDim, s.unrollK);
  const gated = which === 'K' && hasDecay(s);
  const bindings = which === 'K' ? [input('k', B * T * H * K), input('beta', B * T * H), ...gateBindings(s)] : [input('v', B * T * H * V), input('beta', B * T * H)];
  bindings.push(input('kk', B * H * T * ch.C), output(which === 'K' ? 'w' : 'u', B * T * H * (which === 'K' ? K : V)));
  const what = which === 'K' ? `W = A diag(beta${gated ? ' exp(G)' : ''}) K~` : 'U = A diag(beta) V';
  return buildKernel({
    name,
    summary: `${what}, A = (I + L)^-1 by forward substitution in chunks of C = ${ch.C}`,
    bindings,
    consts: [...deltaConsts(s, which), ['C', ch.C], ['NC', ch.NC], ...grid.consts],
    helpers: which === 'K' ? [...featureHelpers(s), ...(gated ? gateHelpers(s) : [])] : [],
    workgroupSize: [WG, 1, 1],
    dispatch: grid.dispatch,
    dispatchFormula: grid.formula,
    body: (b) => emitSolveBody(b, s, grid, which),
  });
}
