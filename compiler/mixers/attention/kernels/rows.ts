/**
 * The register variant of the parallel schedule: one invocation per query (b, t, h), barrier-free.
 * It keeps scale * q and the output accumulator in registers and walks the keys its masks allow,
 * first the cached positions (slots `j mod W` of kc0/vc0), then this window's new keys, with the
 * online softmax (emitKeyUpdate): O(T * keys * (D + DV)) work, no T x T matrix. Fast on CPU
 * adapters (lavapipe), where barriers and workgroup memory are slow.
 */
import type { Kernel } from '../../../codegen/kernel.ts';
import { buildKernel, type WgslBuilder } from '../../../codegen/wgsl.ts';
import { attnConsts, attnInputs, emitKeyUpdate, emitQueryLoad, emitThreadIndex, emitWindowStart, output, threadGrid, WG, type AttnShape, type Grid } from './common.ts';

/** Invocations of the rows kernel: B*T*H. */
export function rowsThreads(s: AttnShape): number {
  return s.B * s.T * s.knobs.heads;
}

function emitCausalKeys(b: WgslBuilder, s: AttnShape): void {
  b.line('let i_p0 = u32(pos[i_b]);');
  b.line('let i_p = i_p0 + i_t;');
  emitWindowStart(b, s, 'i_p');
  b.line('// cached positions i_lo .. i_p0 - 1, position j in slot j % W');
  b.block('for (var i_j = i_lo; i_j < i_p0; i_j++)', () => {
    b.line('let o_k = (i_b * HKV + i_hk) * W + i_j % W;');
    emitKeyUpdate(b, 'kc0', 'vc0');
  });
  b.line('// this window: positions max(i_lo, i_p0) .. i_p');
  b.block('for (var i_s = max(i_lo, i_p0) - i_p0; i_s <= i_t; i_s++)', () => {
    b.line('let o_k = (i_b * T + i_s) * HKV + i_hk;');
    emitKeyUpdate(b, 'k', 'v');
  });
}

function emitBidirectionalKeys(b: WgslBuilder, s: AttnShape): void {
  const windowed = s.knobs.window !== null;
  b.line(windowed ? 'let i_first = select(0u, i_t + 1u - WINDOW, i_t + 1u > WINDOW);' : 'let i_first = 0u;');
  b.line(windowed ? 'let i_end = min(T, i_t + WINDOW);' : 'let i_end = T;');
  b.block('for (var i_s = i_first; i_s < i_end; i_s++)', () => {
    b.line('let o_k = (i_b * T + i_s) * HKV + i_hk;');
    emitKeyUpdate(b, 'k', 'v');
  });
}

function emitBody(b: WgslBuilder, s: AttnShape, grid: Grid): void {
  emitThreadIndex(b, grid);
  b.line('// invocation = query (b, t, h); key/value head h / GROUP');
  b.line('let i_h = i_thread % H;');
  b.line('let i_bt = i_thread / H;');
  b.line('let i_t = i_bt % T;');
  b.line('let i_b = i_bt / T;');
  b.line('let i_hk = i_h / GROUP;');
  emitQueryLoad(b, 'i_thread');
  if (s.knobs.causal) emitCausalKeys(b, s);
  else emitBidirectionalKeys(b, s);
  b.line('let b_inv = 1.0 / b_l;');
  b.block('for (var i_i = 0u; i_i < n_DV; i_i++)', () => b.line('o[i_thread * DV + i_i] = b_acc[i_i] * b_inv;'));
}

export function rowsKernel(name: string, s: AttnShape): Kernel {
  const { B, T, knobs: k } = s;
  const grid = threadGrid(rowsThreads(s), 'B*T*H', s.maxGroupsPerDim);
  const mask = `${k.causal ? 'causal' : 'bidirectional'}${k.window === null ? '' : `, window ${k.window}`}`;
  return buildKernel({
    name,
    summary: `softmax attention (${mask}), one query per invocation, online softmax: o = sum_j softmax_j(scale q.k_j) v_j`,
    bindings: [...attnInputs(s), output('o', B * T * k.heads * k.valueDim)],
    consts: [...attnConsts(s), ...grid.consts],
    fconsts: [['SCALE', k.scale]],
    workgroupSize: [WG, 1, 1],
    dispatch: grid.dispatch,
    dispatchFormula: grid.formula,
    body: (b) => emitBody(b, s, grid),
  });
}
