/**
 * RMSNorm over the last axis: `out[m, :] = x[m, :] / sqrt(mean(x[m, :]^2) + eps) * weight`.
 *
 * Barrier-free: one invocation per row loops over the row twice (sum of squares, then scale).
 * Rows are short (D up to a few thousand), so this is cheap next to the matmuls around it, and
 * it needs no workgroup memory, which suits CPU adapters.
 */
import { LoomInternalError } from '../../../grammar/diagnostics.ts';
import type { Kernel } from '../kernel.ts';
import { buildKernel } from '../wgsl.ts';
import { flatDispatch, flatIndex, needsGuard } from './elementwise.ts';

/** Small, so that a few hundred rows still spread over several workgroups (CPU threads). */
const WG = 32;

/**
 * `x f32[M*D], weight f32[D] -> out f32[M*D]`; with `l2: true` the row is divided by
 * sqrt(sum(x^2) + eps) instead and there is no weight (per-head L2 normalisation of q and k).
 */
export function rmsnormKernel(o: { name: string; rows: number; dim: number; eps: number; l2?: boolean }): Kernel {
  const { rows: M, dim: D, eps } = o;
  const l2 = o.l2 ?? false;
  for (const [what, v] of [['rows', M], ['dim', D]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new LoomInternalError('codegen', `${o.name}: ${what} = ${v} must be a positive integer`);
  }
  if (!Number.isFinite(eps) || eps < 0) throw new LoomInternalError('codegen', `${o.name}: eps = ${eps} must be finite and >= 0`);
  const { dispatch, formula } = flatDispatch(M, WG, 'M');
  const index = flatIndex(dispatch, 'gid', WG);
  return buildKernel({
    name: o.name,
    summary: l2
      ? 'out[m, :] = x[m, :] / sqrt(sum(x[m, :]^2) + EPS); one invocation per row'
      : 'out[m, :] = x[m, :] / sqrt(mean(x[m, :]^2) + EPS) * weight; one invocation per row',
    bindings: [
      { name: 'x', access: 'read', elem: 'f32', elements: M * D },
      ...(l2 ? [] : [{ name: 'weight', access: 'read' as const, elem: 'f32' as const, elements: D }]),
      { name: 'out', access: 'read_write', elem: 'f32', elements: M * D },
    ],
    consts: [['M', M], ['D', D], ...index.consts],
    fconsts: [['EPS', eps]],
    workgroupSize: [WG, 1, 1],
    dispatch,
    dispatchFormula: formula,
    body: (b) => {
      b.line(`let i_row = ${index.expr};`);
      if (needsGuard(dispatch, WG, M)) b.line('if (i_row >= M) { return; }');
      b.line('let o_row = i_row * D;');
      b.line('var b_sumsq = 0.0;');
      b.block('for (var i_d = 0u; i_d < D; i_d++)', () => {
        b.line('let b_x = x[o_row + i_d];');
        b.line('b_sumsq += b_x * b_x;');
      });
      b.line(l2 ? 'let b_scale = inverseSqrt(b_sumsq + EPS);' : 'let b_scale = inverseSqrt(b_sumsq / f32(D) + EPS);');
      b.block('for (var i_d = 0u; i_d < D; i_d++)', () => {
        b.line(l2 ? 'out[o_row + i_d] = x[o_row + i_d] * b_scale;' : 'out[o_row + i_d] = x[o_row + i_d] * b_scale * weight[i_d];');
      });
    },
  });
}
