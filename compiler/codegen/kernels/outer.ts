/**
 * Per-token outer product: `out[r, h, n] = a[r, h] * c[r, n]` over rows r = (b, t), with a
 * missing factor counting as 1 (neither factor: ones). One invocation per output element.
 */
import { LoomInternalError } from '../../../grammar/diagnostics.ts';
import type { Kernel } from '../kernel.ts';
import { buildKernel } from '../wgsl.ts';
import { flatDispatch, flatIndex, needsGuard } from './elementwise.ts';

const WG = 64;

export function outerKernel(o: { name: string; rows: number; heads: number; width: number; a: boolean; c: boolean }): Kernel {
  const { rows: M, heads: H, width: N } = o;
  for (const [what, v] of [['rows', M], ['heads', H], ['width', N]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new LoomInternalError('codegen', `${o.name}: ${what} = ${v} must be a positive integer`);
  }
  const n = M * H * N;
  const { dispatch, formula } = flatDispatch(n, WG, 'rows*H*N');
  const index = flatIndex(dispatch, 'gid', WG);
  const factors = [...(o.a ? ['a[r * H + h]'] : []), ...(o.c ? ['c[r * N + j]'] : [])];
  if (!factors.length) factors.push('1.0');
  return buildKernel({
    name: o.name,
    summary: `out[r, h, n] = ${o.a ? 'a[r, h]' : '1'} * ${o.c ? 'c[r, n]' : '1'}`,
    bindings: [
      ...(o.a ? [{ name: 'a', access: 'read' as const, elem: 'f32' as const, elements: M * H }] : []),
      ...(o.c ? [{ name: 'c', access: 'read' as const, elem: 'f32' as const, elements: M * N }] : []),
      { name: 'out', access: 'read_write', elem: 'f32', elements: n },
    ],
    consts: [['H', H], ['N', N], ['TOTAL', n], ...index.consts],
    workgroupSize: [WG, 1, 1],
    dispatch,
    dispatchFormula: formula,
    body: (b) => {
      b.line(`let i_el = ${index.expr};`);
      if (needsGuard(dispatch, WG, n)) b.line('if (i_el >= TOTAL) { return; }');
      if (o.c) b.line('let j = i_el % N;');
      if (o.a) b.line('let h = (i_el / N) % H;');
      if (o.a || o.c) b.line('let r = i_el / (N * H);');
      b.line(`out[i_el] = ${factors.join(' * ')};`);
    },
  });
}
