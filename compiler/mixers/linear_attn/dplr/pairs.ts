/**
 * The intra-chunk factors of the chunkwise DPLR (README.md). One invocation per (b, h, t), for t in
 * chunk [t0, t1), with G_r the log-decay summed per key channel from t0 to r inclusive:
 *   Aqk_ts = sum_i scale q_ti exp(G_ti - G_si) k_si,   Aqb_ts likewise with b_s     (s <= t)
 *   Aak_ts = sum_i a_ti exp(G_(t-1)i - G_si) k_si,     Aab_ts likewise with b_s     (s < t)
 * and its row of dec: qg_t = scale q_t exp(G_t), ag_t = a_t exp(G_{t-1}), kd_t = k_t exp(G_last - G_t),
 * bd_t = b_t exp(G_last - G_t).
 *
 * Stability: every exponent is a sum of gk over a token range inside the chunk, accumulated directly
 * (never a difference of two cumulative sums, never positive): walking s down from t - 1 the
 * invocation keeps b_lg_i = sum_{u=s+1..t-1} gk_ui in K registers, so exp(b_lg) <= 1 and the four
 * pair factors share it (exp(G_t - G_s) = exp(gk_t) exp(b_lg), folded into q once). We chose this over
 * fla's factorisation q exp(G_t - G_ref) . k exp(G_ref - G_s) about a reference point: that form needs
 * the reference inside (s, t) to keep both factors <= 1, hence sub-chunks and a direct path for the
 * diagonal blocks; over a whole chunk a difference G_t - G_s of sums reaching C * |gk| (64 * 30 = 1920)
 * carries an absolute error ~1e-4 that becomes a relative error of the factor. The direct sum costs
 * one exp per (t, s, channel), shared by the four matrices. An exp that underflows to 0 is the true
 * value to f32 precision. Barrier-free; no array depends on C.
 */
import type { Kernel } from '../../../codegen/kernel.ts';
import { buildKernel, type WgslBuilder } from '../../../codegen/wgsl.ts';
import { emitThreadIndex, input, output, threadGrid, WG, type Grid } from '../kernels/common.ts';
import { decOff, dplrConsts, matAt, type DplrChunking, type DplrShape } from './shape.ts';

/** Invocations of the pairs kernel: B*H*T. */
export function pairsThreads(s: DplrShape): number {
  return s.B * s.H * s.T;
}

function emitBody(b: WgslBuilder, grid: Grid): void {
  emitThreadIndex(b, grid);
  b.line("// invocation = (b, h, t): row t of the chunk's matrices and t's decayed vectors");
  b.line('let i_t = i_thread % T;');
  b.line('let i_bh = i_thread / T;');
  b.line('let i_b = i_bh / H;');
  b.line('let i_h = i_bh % H;');
  b.line('let o_t0 = (i_t / C) * C;');
  b.line('let o_t1 = min(o_t0 + C, T);');
  b.line('let o_tok = (i_b * T + i_t) * H + i_h;');
  b.line('let o_k = o_tok * K;');
  b.line('let o_row = (i_bh * T + i_t) * 4u;');
  b.line('var b_a: array<f32, K>;');
  b.line('var b_q: array<f32, K>;');
  b.line('var b_lg: array<f32, K>;');
  b.line('var b_qk = 0.0;');
  b.line('var b_qb = 0.0;');
  b.block('for (var i_i = 0u; i_i < n_K; i_i++)', () => {
    b.line('let b_qs = SCALE * q[o_k + i_i];');
    b.line('b_qk += b_qs * k[o_k + i_i];');
    b.line('b_qb += b_qs * b[o_k + i_i];');
    b.line('b_a[i_i] = a[o_k + i_i];');
    b.line('b_q[i_i] = b_qs * exp(gk[o_k + i_i]);');
    b.line('b_lg[i_i] = 0.0;');
  });
  b.line('// s = t: no decay between a token and itself');
  b.line(`${matAt('qk', 'o_row', 'i_t - o_t0')} = b_qk;`);
  b.line(`${matAt('qb', 'o_row', 'i_t - o_t0')} = b_qb;`);
  b.line('// s from t-1 down to the chunk start; b_lg = G_{t-1} - G_s = sum_{u=s+1..t-1} gk_u per channel;');
  b.line('// b_x = (Aqk, Aqb, Aak, Aab)_ts');
  b.block('for (var i_j = i_t; i_j > o_t0; i_j--)', () => {
    b.line('let o_src = ((i_b * T + i_j - 1u) * H + i_h) * K;');
    b.line('var b_x = vec4<f32>();');
    b.block('for (var i_i = 0u; i_i < n_K; i_i++)', () => {
      b.line('let b_kb = vec2<f32>(k[o_src + i_i], b[o_src + i_i]) * exp(b_lg[i_i]);');
      b.line('b_x += vec4<f32>(b_q[i_i] * b_kb, b_a[i_i] * b_kb);');
      b.line('b_lg[i_i] += gk[o_src + i_i];');
    });
    b.line('let o_col = i_j - 1u - o_t0;');
    (['qk', 'qb', 'ak', 'ab'] as const).forEach((m, i) => b.line(`${matAt(m, 'o_row', 'o_col')} = b_x.${'xyzw'[i]};`));
  });
  b.line('// b_lg = G_{t-1}: qg_t = scale q_t exp(G_t), ag_t = a_t exp(G_{t-1})');
  b.block('for (var i_i = 0u; i_i < n_K; i_i++)', () => {
    b.line('let b_e = exp(b_lg[i_i]);');
    b.line(`dec[${decOff('qg', 'o_tok', 'i_i')}] = b_q[i_i] * b_e;`);
    b.line(`dec[${decOff('ag', 'o_tok', 'i_i')}] = b_a[i_i] * b_e;`);
    b.line('b_lg[i_i] = 0.0;');
  });
  b.line('// b_lg = G_last - G_t = sum_{u=t+1..last} gk_u: kd_t, bd_t');
  b.block('for (var i_u = i_t + 1u; i_u < o_t1; i_u++)', () => {
    b.line('let o_src = ((i_b * T + i_u) * H + i_h) * K;');
    b.block('for (var i_i = 0u; i_i < n_K; i_i++)', () => b.line('b_lg[i_i] += gk[o_src + i_i];'));
  });
  b.block('for (var i_i = 0u; i_i < n_K; i_i++)', () => {
    b.line('let b_e = exp(b_lg[i_i]);');
    b.line(`dec[${decOff('kd', 'o_tok', 'i_i')}] = k[o_k + i_i] * b_e;`);
    b.line(`dec[${decOff('bd', 'o_tok', 'i_i')}] = b[o_k + i_i] * b_e;`);
  });
}

/** `<label>.chunk_a`: the four matrices of each chunk (`mats`) and the decayed vectors (`dec`). */
export function pairsKernel(name: string, s: DplrShape, ch: DplrChunking): Kernel {
  const { B, T, H, K } = s;
  const grid = threadGrid(pairsThreads(s), 'B*H*T', s.maxGroupsPerDim, s.unrollK);
  return buildKernel({
    name,
    summary: `Aqk, Aqb, Aak, Aab of each chunk of C = ${ch.C} (per-channel decay ratios inside the chunk) and qg, ag, kd, bd`,
    bindings: [...['q', 'k', 'a', 'b', 'gk'].map((n) => input(n, B * T * H * K)), output('mats', B * H * T * 4 * ch.C), output('dec', B * T * H * 4 * K)],
    consts: [...dplrConsts(s, null, ch), ...grid.consts],
    fconsts: [['SCALE', s.scale]],
    workgroupSize: [WG, 1, 1],
    dispatch: grid.dispatch,
    dispatchFormula: grid.formula,
    body: (b) => emitBody(b, grid),
  });
}
