/**
 * Row-wise kernels over `[B, T, C]` activations: reading a sequence backwards (the reverse scan of
 * bidirectional mixers), per-head dot products and per-token outer products. One invocation per
 * output element.
 */
import { LoomInternalError } from '../../../grammar/diagnostics.ts';
import type { Kernel } from '../kernel.ts';
import { perElementKernel, positiveDims } from './elementwise.ts';

/** `out[b,u,:] = x[b, T-1-u+shift, :]`, zero where that row is past the end. */
export function flipKernel(o: { name: string; B: number; T: number; C: number; shift: number }): Kernel {
  const { B, T, C, shift } = o;
  positiveDims(o.name, { B, T, C });
  if (!Number.isInteger(shift) || shift < 0) throw new LoomInternalError('codegen', `${o.name}: shift ${shift} must be a non-negative integer`);
  const n = B * T * C;
  return perElementKernel({
    name: o.name,
    summary: shift ? `out[b,u,:] = x[b, T-1-u+${shift}, :] (zero past the end): reversed, ${shift} later` : 'out[b,u,:] = x[b, T-1-u, :]: the sequence reversed',
    elements: n,
    elementsText: 'B*T*C',
    bindings: [
      { name: 'x', access: 'read', elem: 'f32', elements: n },
      { name: 'out', access: 'read_write', elem: 'f32', elements: n },
    ],
    consts: [['T', T], ['C', C], ['SHIFT', shift]],
    body: (b) => {
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
  positiveDims(o.name, { rows, H, G });
  const n = rows * H;
  return perElementKernel({
    name: o.name,
    summary: 'out[r, h] = dot(a[r, h, :], c[r, h, :]), one dot product per head',
    elements: n,
    elementsText: 'rows*H',
    bindings: [
      { name: 'a', access: 'read', elem: 'f32', elements: n * G },
      { name: 'c', access: 'read', elem: 'f32', elements: n * G },
      { name: 'out', access: 'read_write', elem: 'f32', elements: n },
    ],
    consts: [['G', G]],
    body: (b) => {
      b.line('var acc = 0.0;');
      b.block('for (var k = 0u; k < G; k++)', () => b.line('acc += a[i_el * G + k] * c[i_el * G + k];'));
      b.line('out[i_el] = acc;');
    },
  });
}

/**
 * Per-token outer product: `out[r, h, n] = a[r, h] * c[r, n]` over rows r = (b, t), with a
 * missing factor counting as 1 (neither factor: ones).
 */
export function outerKernel(o: { name: string; rows: number; heads: number; width: number; a: boolean; c: boolean }): Kernel {
  const { rows: M, heads: H, width: N } = o;
  positiveDims(o.name, { rows: M, heads: H, width: N });
  const factors = [...(o.a ? ['a[r * H + h]'] : []), ...(o.c ? ['c[r * W + j]'] : [])];
  return perElementKernel({
    name: o.name,
    summary: `out[r, h, n] = ${o.a ? 'a[r, h]' : '1'} * ${o.c ? 'c[r, n]' : '1'}`,
    elements: M * H * N,
    elementsText: 'rows*H*W',
    bindings: [
      ...(o.a ? [{ name: 'a', access: 'read' as const, elem: 'f32' as const, elements: M * H }] : []),
      ...(o.c ? [{ name: 'c', access: 'read' as const, elem: 'f32' as const, elements: M * N }] : []),
      { name: 'out', access: 'read_write', elem: 'f32', elements: M * H * N },
    ],
    consts: [['H', H], ['W', N]],
    body: (b) => {
      if (o.c) b.line('let j = i_el % W;');
      if (o.a) b.line('let h = (i_el / W) % H;');
      if (o.a || o.c) b.line('let r = i_el / (W * H);');
      b.line(`out[i_el] = ${factors.length ? factors.join(' * ') : '1.0'};`);
    },
  });
}
