/**
 * Kernels that read absolute token positions (`pos [B]`, the tokens each sequence consumed before
 * this window; token t of the window is at pos[b] + t). One invocation per output element.
 */
import type { Kernel } from '../kernel.ts';
import { WGSL_HELPERS } from '../wgsl.ts';
import { perElementKernel, positiveDims } from './elementwise.ts';

/**
 * cosFormer's re-weighting: per head, `out[.., :G] = x cos(a)`, `out[.., G:] = x sin(a)` with
 * `a = pi/2 * (pos[b] + t) / MAX_LEN`. The angle is formed as (pos + t) * (pi / (2 MAX_LEN)) in
 * f32; positions are exact integers below 2^24.
 */
export function cosReweightKernel(o: { name: string; B: number; T: number; H: number; G: number; maxLen: number }): Kernel {
  const { B, T, H, G } = o;
  positiveDims(o.name, { B, T, H, G, maxLen: o.maxLen });
  const n = B * T * H * 2 * G;
  return perElementKernel({
    name: o.name,
    summary: 'per head [x cos(a), x sin(a)], a = pi/2 * (pos[b] + t) / MAX_LEN (cosFormer re-weighting)',
    elements: n,
    elementsText: 'B*T*H*2G',
    bindings: [
      { name: 'x', access: 'read', elem: 'f32', elements: B * T * H * G },
      { name: 'pos', access: 'read', elem: 'f32', elements: B },
      { name: 'out', access: 'read_write', elem: 'f32', elements: n },
    ],
    consts: [['T', T], ['H', H], ['G', G], ['MAX_LEN', o.maxLen]],
    fconsts: [['RATE', Math.PI / (2 * o.maxLen)]],
    body: (b) => {
      b.line('let j = i_el % (2u * G);');
      b.line('let row = i_el / (2u * G);');
      b.line('let t = (row / H) % T;');
      b.line('let bb = row / (H * T);');
      b.line('let a = (pos[bb] + f32(t)) * RATE;');
      b.line('let xv = x[row * G + j % G];');
      b.line('out[i_el] = select(xv * sin(a), xv * cos(a), j < G);');
    },
  });
}

/** Cottention: `out[b,t,h,:] = x[b,t,h,:] * (pos[b] + t + 1)^(-sigmoid(m[h]))`, x `[B, T, H*G]`. */
export function lengthNormKernel(o: { name: string; B: number; T: number; H: number; G: number }): Kernel {
  const { B, T, H, G } = o;
  positiveDims(o.name, { B, T, H, G });
  const n = B * T * H * G;
  return perElementKernel({
    name: o.name,
    summary: 'out[b,t,h,:] = x[b,t,h,:] / (pos[b] + t + 1)^sigmoid(m[h]), a length normalisation per head',
    elements: n,
    elementsText: 'B*T*H*G',
    bindings: [
      { name: 'x', access: 'read', elem: 'f32', elements: n },
      { name: 'pos', access: 'read', elem: 'f32', elements: B },
      { name: 'm', access: 'read', elem: 'f32', elements: H },
      { name: 'out', access: 'read_write', elem: 'f32', elements: n },
    ],
    consts: [['T', T], ['H', H], ['G', G]],
    helpers: [WGSL_HELPERS.sigmoid],
    body: (b) => {
      b.line('let h = (i_el / G) % H;');
      b.line('let t = (i_el / (G * H)) % T;');
      b.line('let bb = i_el / (G * H * T);');
      b.line('// exp2(-s * log2(n)) = n^-s; n >= 1, so log2 is finite');
      b.line('let len = pos[bb] + f32(t) + 1.0;');
      b.line('out[i_el] = x[i_el] * exp2(-sigmoid(m[h]) * log2(len));');
    },
  });
}
