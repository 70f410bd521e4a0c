/**
 * Softmax over each group of D consecutive elements (a per-head feature map, as Liger applies to
 * q and k): `out = exp(x - max) / sum exp(x - max)`. One invocation per group, barrier-free.
 */
import type { Kernel } from '../kernel.ts';
import { buildKernel } from '../wgsl.ts';
import { flatDispatch, flatIndex, needsGuard } from './elementwise.ts';

const WG = 32;

export function softmaxKernel(o: { name: string; rows: number; D: number }): Kernel {
  const { rows: M, D } = o;
  const { dispatch, formula } = flatDispatch(M, WG, 'M');
  const index = flatIndex(dispatch, 'gid', WG);
  return buildKernel({
    name: o.name,
    summary: 'out[m, :] = softmax(x[m, :]) over groups of D; one invocation per group',
    bindings: [
      { name: 'x', access: 'read', elem: 'f32', elements: M * D },
      { name: 'out', access: 'read_write', elem: 'f32', elements: M * D },
    ],
    consts: [['M', M], ['D', D], ...index.consts],
    workgroupSize: [WG, 1, 1],
    dispatch,
    dispatchFormula: formula,
    body: (b) => {
      b.line(`let i_row = ${index.expr};`);
      if (needsGuard(dispatch, WG, M)) b.line('if (i_row >= M) { return; }');
      b.line('let o_row = i_row * D;');
      b.line('var b_m = -3.0e38;');
      b.block('for (var i_d = 0u; i_d < D; i_d++)', () => b.line('b_m = max(b_m, x[o_row + i_d]);'));
      b.line('var b_sum = 0.0;');
      b.block('for (var i_d = 0u; i_d < D; i_d++)', () => b.line('b_sum += exp(x[o_row + i_d] - b_m);'));
      b.line('let b_inv = 1.0 / b_sum;');
      b.block('for (var i_d = 0u; i_d < D; i_d++)', () => b.line('out[o_row + i_d] = exp(x[o_row + i_d] - b_m) * b_inv;'));
    },
  });
}
