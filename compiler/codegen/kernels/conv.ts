/**
 * Short causal convolution kernels (docs/mixers.md): a depthwise conv1d of width W along T that reads
 * its first W-1 rows from the previous call's tail, and the kernel that writes the next tail.
 * One invocation per output element; the W taps are a short loop, so no workgroup memory.
 */
import { LoomInternalError } from '../../../grammar/diagnostics.ts';
import type { Kernel } from '../kernel.ts';
import { WGSL_HELPERS } from '../wgsl.ts';
import { perElementKernel, positiveDims } from './elementwise.ts';

export interface ConvDims {
  name: string;
  B: number;
  T: number;
  /** Channels. */
  C: number;
  /** Width of the filter (taps). */
  W: number;
}

/** Row `r` of `[tail; x]` (P = W-1 tail rows) for batch `b`, channel `c`. */
const ROW_FN = `fn row(b: u32, r: u32, c: u32) -> f32 {
  if (r < P) { return tail[(b * P + r) * C + c]; }
  return x[(b * T + r - P) * C + c];
}`;

function checkDims(o: ConvDims): void {
  positiveDims(o.name, { B: o.B, T: o.T, C: o.C, W: o.W });
  if (o.W < 2) throw new LoomInternalError('codegen', `${o.name}: a conv of width ${o.W} has no tail (W >= 2)`);
}

/** `x [B,T,C], weight [C,W], tail [B,W-1,C] -> out [B,T,C]`, `act(sum_i w[c,i] row(t+i))`. */
export function conv1dKernel(o: ConvDims & { activation: 'silu' | null }): Kernel {
  checkDims(o);
  const { B, T, C, W } = o;
  const n = B * T * C;
  return perElementKernel({
    name: o.name,
    summary: `out[b,t,c] = ${o.activation ?? ''}(sum_i weight[c,i] * [tail; x][b, t+i, c]), a causal depthwise conv of width W`,
    elements: n,
    elementsText: 'B*T*C',
    bindings: [
      { name: 'x', access: 'read', elem: 'f32', elements: n },
      { name: 'weight', access: 'read', elem: 'f32', elements: C * W },
      { name: 'tail', access: 'read', elem: 'f32', elements: B * (W - 1) * C },
      { name: 'out', access: 'read_write', elem: 'f32', elements: n },
    ],
    consts: [['T', T], ['C', C], ['W', W], ['P', W - 1]],
    helpers: [ROW_FN, ...(o.activation ? [WGSL_HELPERS[o.activation]] : [])],
    body: (b) => {
      b.line('let c = i_el % C;');
      b.line('let t = (i_el / C) % T;');
      b.line('let bb = i_el / (C * T);');
      b.line('var acc = 0.0;');
      b.block('for (var i = 0u; i < W; i++)', () => b.line('acc += weight[c * W + i] * row(bb, t + i, c);'));
      b.line(o.activation ? `out[i_el] = ${o.activation}(acc);` : 'out[i_el] = acc;');
    },
  });
}

/** `x [B,T,C], tail [B,W-1,C] -> out [B,W-1,C]`: the last W-1 rows of `[tail; x]`. */
export function convTailKernel(o: ConvDims): Kernel {
  checkDims(o);
  const { B, T, C, W } = o;
  const P = W - 1;
  const n = B * P * C;
  return perElementKernel({
    name: o.name,
    summary: 'out[b,j,c] = [tail; x][b, T+j, c]: the conv state for the next call',
    elements: n,
    elementsText: 'B*(W-1)*C',
    bindings: [
      { name: 'x', access: 'read', elem: 'f32', elements: B * T * C },
      { name: 'tail', access: 'read', elem: 'f32', elements: n },
      { name: 'out', access: 'read_write', elem: 'f32', elements: n },
    ],
    consts: [['T', T], ['C', C], ['P', P]],
    helpers: [ROW_FN],
    body: (b) => {
      b.line('let c = i_el % C;');
      b.line('let j = (i_el / C) % P;');
      b.line('let bb = i_el / (C * P);');
      b.line('out[i_el] = row(bb, T + j, c);');
    },
  });
}
