/**
 * The chunk-state walk of the chunkwise delta rule. One invocation per (b, h, value column
 * group) keeps its VW columns of the state (K registers) and walks the chunks in order:
 *   store h_n (the state before chunk n; h_0 = s0)
 *   U'_r = U_r - W_r h_n for every r in the chunk          (written over u, in place)
 *   h_{n+1} = exp(G_last) h_n + sum_r exp(G_last - G_r) k~_r U'_r^T
 * and finally writes S. Each column of the state needs only its own columns of U, so the walk is
 * barrier-free. exp(G_last - G_r) is accumulated backwards from the chunk end.
 */
import type { Kernel } from '../../../codegen/kernel.ts';
import { buildKernel, type WgslBuilder } from '../../../codegen/wgsl.ts';
import { featureHelpers, gateBindings, input, output, threadGrid, WG, type Grid } from '../kernels/common.ts';
import { deltaConsts, emitColumnGroupState, gate, gateHelpers, hasDecay, kFeat, loadVec, storeVec, widths, type DeltaShape } from './shape.ts';
import type { DeltaChunking } from './wy.ts';

/** Invocations of the state walk: B*H*VG. */
export function walkThreads(s: DeltaShape): number {
  return (s.B * s.H * s.V) / widths(s).VW;
}

function emitNewValues(b: WgslBuilder, s: DeltaShape): void {
  const { VW } = widths(s);
  b.line("// U'_r = U_r - W_r h_n");
  if (hasDecay(s)) b.line('var b_glast = 0.0;');
  b.block('for (var i_r = o_t0; i_r < o_t1; i_r++)', () => {
    b.line('let o_tok = (i_b * T + i_r) * H + i_h;');
    if (hasDecay(s)) b.line(`b_glast += ${gate(s, 'o_tok')};`);
    b.line('let o_u = o_tok * V + o_col;');
    b.line(`var b_x = ${loadVec(VW, 'u', 'o_u')};`);
    b.block('for (var i_i = 0u; i_i < n_K; i_i++)', () => b.line('b_x -= w[o_tok * K + i_i] * b_h[i_i];'));
    storeVec(b, VW, 'u', 'o_u', 'b_x');
  });
}

function emitAdvance(b: WgslBuilder, s: DeltaShape): void {
  const { VW } = widths(s);
  if (!hasDecay(s)) {
    b.line("// h_{n+1} = h_n + sum_r k~_r U'_r^T");
    b.block('for (var i_r = o_t0; i_r < o_t1; i_r++)', () => {
      b.line('let o_tok = (i_b * T + i_r) * H + i_h;');
      b.line(`let b_x = ${loadVec(VW, 'u', 'o_tok * V + o_col')};`);
      b.block('for (var i_i = 0u; i_i < n_K; i_i++)', () => b.line(`b_h[i_i] += ${kFeat(s, 'o_tok * K + i_i')} * b_x;`));
    });
    return;
  }
  b.line("// h_{n+1} = exp(G_last) h_n + sum_r exp(G_last - G_r) k~_r U'_r^T, r from the chunk end");
  b.line('let b_dc = exp(b_glast);');
  b.block('for (var i_i = 0u; i_i < n_K; i_i++)', () => b.line('b_h[i_i] *= b_dc;'));
  b.line('var b_gs = 0.0;');
  b.block('for (var i_j = o_t1; i_j > o_t0; i_j--)', () => {
    b.line('let o_tok = (i_b * T + i_j - 1u) * H + i_h;');
    b.line(`let b_x = exp(b_gs) * ${loadVec(VW, 'u', 'o_tok * V + o_col')};`);
    b.block('for (var i_i = 0u; i_i < n_K; i_i++)', () => b.line(`b_h[i_i] += ${kFeat(s, 'o_tok * K + i_i')} * b_x;`));
    b.line(`b_gs += ${gate(s, 'o_tok')};`);
  });
}

function emitBody(b: WgslBuilder, s: DeltaShape, grid: Grid): void {
  const { VW } = widths(s);
  emitColumnGroupState(b, s, grid, 'b_h', '');
  b.block('for (var i_n = 0u; i_n < NC; i_n++)', () => {
    b.line('let o_t0 = i_n * C;');
    b.line('let o_t1 = min(o_t0 + C, T);');
    b.line('// h_n = the state before chunk n');
    b.block('for (var i_i = 0u; i_i < n_K; i_i++)', () => {
      b.line('let b_s = b_h[i_i];');
      storeVec(b, VW, 'h', '((i_bh * NC + i_n) * K + i_i) * V + o_col', 'b_s');
    });
    emitNewValues(b, s);
    emitAdvance(b, s);
  });
  b.block('for (var i_i = 0u; i_i < n_K; i_i++)', () => {
    b.line('let b_s = b_h[i_i];');
    storeVec(b, VW, 'S', 'o_state + i_i * V', 'b_s');
  });
}

/** `<label>.chunk_h` / `.parallel_state`: h_n per chunk, U' in place of U, and the final S. */
export function walkKernel(name: string, s: DeltaShape, ch: DeltaChunking): Kernel {
  const { B, T, H, K, V } = s;
  const grid = threadGrid(walkThreads(s), 'B*H*VG', s.maxGroupsPerDim, s.unrollK);
  const bindings = [input('k', B * T * H * K), input('w', B * T * H * K), input('s0', B * H * K * V), ...gateBindings(s)];
  bindings.push(output('u', B * T * H * V), output('h', B * H * ch.NC * K * V), output('S', B * H * K * V));
  return buildKernel({
    name,
    summary: `chunk states h_n (C = ${ch.C}), U' = U - W h_n over u, final S; phi = ${s.feature}, decay ${s.decay.kind}`,
    bindings,
    consts: [...deltaConsts(s, 'V'), ['C', ch.C], ['NC', ch.NC], ...grid.consts],
    helpers: [...featureHelpers(s), ...gateHelpers(s)],
    workgroupSize: [WG, 1, 1],
    dispatch: grid.dispatch,
    dispatchFormula: grid.formula,
    body: (b) => emitBody(b, s, grid),
  });
}
