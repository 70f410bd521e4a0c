/**
 * Recurrent delta rule: the definition, one token after another. One invocation per
 * (b, h, value column group): it keeps its VW columns of S (K registers) and, per token,
 *   S' = D_t S;  b_sk = S'^T k~_t, b_sq = S'^T (scale q~_t), b_kq = k~_t . scale q~_t  (one pass)
 *   v'_t = beta_t (v_t - b_sk);  S = S' + k~_t v'_t^T;  o_t = b_sq + b_kq v'_t  (= S_t^T scale q~_t)
 * Each column of S needs S'^T k~_t for its own columns only, so no invocation waits on another.
 * Barrier-free; O(T K V) work, T serial steps.
 */
import type { Kernel } from '../../../codegen/kernel.ts';
import type { Step } from '../../../codegen/program.ts';
import { buildKernel, type WgslBuilder } from '../../../codegen/wgsl.ts';
import { featureHelpers, gateBindings, input, output, phi, threadGrid, WG, type Grid } from '../kernels/common.ts';
import {
  deltaConsts,
  gate,
  gateHelpers,
  hasDecay,
  kFeat,
  loadVec,
  storeVec,
  vecZero,
  widths,
  type DeltaBuffers,
  type DeltaShape,
  emitColumnGroupState,
} from './shape.ts';

/** Invocations of the recurrent kernel: B*H*VG. */
export function deltaRecurrentThreads(s: DeltaShape): number {
  return (s.B * s.H * s.V) / widths(s).VW;
}

function emitTokenLoop(b: WgslBuilder, s: DeltaShape): void {
  const { VW } = widths(s);
  b.block('for (var i_t = 0u; i_t < T; i_t++)', () => {
    b.line('let o_tok = (i_b * T + i_t) * H + i_h;');
    b.line('let o_v = o_tok * V + o_col;');
    const perKey = s.decay.kind === 'vector';
    if (hasDecay(s) && !perKey) b.line(`let b_d = exp(${gate(s, 'o_tok')});`);
    b.line(`var b_sk = ${vecZero(VW)};`);
    b.line(`var b_sq = ${vecZero(VW)};`);
    b.line('var b_kq = 0.0;');
    b.block('for (var i_i = 0u; i_i < n_K; i_i++)', () => {
      b.line(`let b_k = ${kFeat(s, 'o_tok * K + i_i')};`);
      b.line(`let b_q = SCALE * ${phi(s, 'q[o_tok * K + i_i]')};`);
      if (perKey) b.line('b_S[i_i] *= exp(g[o_tok * K + i_i]);');
      else if (hasDecay(s)) b.line('b_S[i_i] *= b_d;');
      b.line('b_sk += b_k * b_S[i_i];');
      b.line('b_sq += b_q * b_S[i_i];');
      b.line('b_kq += b_k * b_q;');
    });
    b.line(`let b_u = beta[o_tok] * (${loadVec(VW, 'v', 'o_v')} - b_sk);`);
    b.block('for (var i_i = 0u; i_i < n_K; i_i++)', () => b.line(`b_S[i_i] += ${kFeat(s, 'o_tok * K + i_i')} * b_u;`));
    b.line('let b_o = b_sq + b_kq * b_u;');
    storeVec(b, VW, 'o', 'o_v', 'b_o');
  });
}

function emitBody(b: WgslBuilder, s: DeltaShape, grid: Grid): void {
  const { VW } = widths(s);
  emitColumnGroupState(b, s, grid, 'b_S', ': columns g*VW .. g*VW+VW-1 of S');
  b.line(`// S' = ${s.decay.kind === 'vector' ? 'diag(exp(g_t)) S' : hasDecay(s) ? 'exp(g_t) S' : 'S'};  v'_t = beta_t (v_t - S'^T k~_t);  S_t = S' + k~_t v'_t^T;  o_t = S_t^T (scale q~_t)`);
  emitTokenLoop(b, s);
  b.block('for (var i_i = 0u; i_i < n_K; i_i++)', () => {
    b.line('let b_s = b_S[i_i];');
    storeVec(b, VW, 'S', 'o_state + i_i * V', 'b_s');
  });
}

export function deltaRecurrentKernel(name: string, s: DeltaShape): Kernel {
  const { B, T, H, K, V } = s;
  const grid = threadGrid(deltaRecurrentThreads(s), 'B*H*VG', s.maxGroupsPerDim, s.unrollK);
  const bindings = [input('q', B * T * H * K), input('k', B * T * H * K), input('v', B * T * H * V), input('beta', B * T * H), ...gateBindings(s)];
  bindings.push(input('s0', B * H * K * V), output('o', B * T * H * V), output('S', B * H * K * V));
  return buildKernel({
    name,
    summary: `recurrent delta rule (phi = ${s.feature}, decay ${s.decay.kind}): S_t = (I - beta_t k~_t k~_t^T) D_t S_{t-1} + beta_t k~_t v_t^T, o_t = S_t^T (scale q~_t)`,
    bindings,
    consts: [...deltaConsts(s, 'V'), ...grid.consts],
    fconsts: [['SCALE', s.scale]],
    helpers: [...featureHelpers(s), ...gateHelpers(s)],
    workgroupSize: [WG, 1, 1],
    dispatch: grid.dispatch,
    dispatchFormula: grid.formula,
    body: (b) => emitBody(b, s, grid),
  });
}

export function deltaRecurrentProgram(label: string, s: DeltaShape, buf: DeltaBuffers): { buffers: []; steps: Step[] } {
  const args = [buf.q, buf.k, buf.v, buf.beta, ...(buf.g !== null ? [buf.g] : []), buf.s0, buf.o, buf.S];
  return { buffers: [], steps: [{ kernel: deltaRecurrentKernel(`${label}.recurrent`, s), args }] };
}
