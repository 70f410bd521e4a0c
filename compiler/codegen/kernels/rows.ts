/**
 * Row-wise kernels over `[B, T, C]` activations: reading a sequence backwards (the reverse scan of
 * bidirectional mixers) and per-head dot products. One invocation per output element.
 */
import { LoomInternalError } from '../../../grammar/diagnostics.ts';
import type { Kernel } from '../kernel.ts';
import { buildKernel } from '../wgsl.ts';
import { flatDispatch, flatIndex, needsGuard } from './elementwise.ts';

const WG = 64;

function positive(name: string, dims: Record<string, number>): void {
  for (const [what, v] of Object.entries(dims)) {
    if (!Number.isInteger(v) || v < 1) throw new LoomInternalError('codegen', `${name}: ${what} = ${v} must be a positive integer`);
  }
}

/** `out[b,u,:] = x[b, T-1-u+shift, :]`, zero where that row is past the end. */
export function flipKernel(o: { name: string; B: number; T: number; C: number; shift: number }): Kernel {
  const { B, T, C, shift } = o;
  positive(o.name, { B, T, C });
  if (!Number.isInteger(shift) || shift < 0) throw new LoomInternalError('codegen', `${o.name}: shift ${shift} must be a non-negative integer`);
  const n = B * T * C;
  const { dispatch, formula } = flatDispatch(n, WG, 'B*T*C');
  const index = flatIndex(dispatch, 'gid', WG);
  return buildKernel({
    name: o.name,
    summary: shift ? `out[b,u,:] = x[b, T-1-u+${shift}, :] (zero past the end): reversed, ${shift} later` : 'out[b,u,:] = x[b, T-1-u, :]: the sequence reversed',
    bindings: [
      { name: 'x', access: 'read', elem: 'f32', elements: n },
      { name: 'out', access: 'read_write', elem: 'f32', elements: n },
    ],
    consts: [['T', T], ['C', C], ['SHIFT', shift], ['N', n], ...index.consts],
    workgroupSize: [WG, 1, 1],
    dispatch,
    dispatchFormula: formula,
    body: (b) => {
      b.line(`let i_el = ${index.expr};`);
      if (needsGuard(dispatch, WG, n)) b.line('if (i_el >= N) { return; }');
      b.line('let c = i_el % C;');
      b.line('let u = (i_el / C) % T;');
      b.line('let bb = i_el / (C * T);');
      b.line('let t = T - 1u - u + SHIFT;');
      b.line('out[i_el] = select(0.0, x[(bb * T + min(t, T - 1u)) * C + c], t < T);');
    },
  });
}

/** `out[r, h] = sum_k a[r, h, k] * c[r, h, k]` over `rows` rows of H heads of width G. */
export function headDotKernel(o: { name: string; rows: number; H: number; G: number }): Kernel {
  const { rows, H, G } = o;
  positive(o.name, { rows, H, G });
  const n = rows * H;
  const { dispatch, formula } = flatDispatch(n, WG, 'rows*H');
  const index = flatIndex(dispatch, 'gid', WG);
  return buildKernel({
    name: o.name,
    summary: 'out[r, h] = dot(a[r, h, :], c[r, h, :]), one dot product per head',
    bindings: [
      { name: 'a', access: 'read', elem: 'f32', elements: n * G },
      { name: 'c', access: 'read', elem: 'f32', elements: n * G },
      { name: 'out', access: 'read_write', elem: 'f32', elements: n },
    ],
    consts: [['G', G], ['N', n], ...index.consts],
    workgroupSize: [WG, 1, 1],
    dispatch,
    dispatchFormula: formula,
    body: (b) => {
      b.line(`let i_el = ${index.expr};`);
      if (needsGuard(dispatch, WG, n)) b.line('if (i_el >= N) { return; }');
      b.line('var acc = 0.0;');
      b.block('for (var k = 0u; k < G; k++)', () => b.line('acc += a[i_el * G + k] * c[i_el * G + k];'));
      b.line('out[i_el] = acc;');
    },
  });
}
