/**
 * Kernels that read absolute token positions (`pos [B]`, the tokens each sequence consumed before
 * this window; token t of the window is at pos[b] + t). One invocation per output element.
 */
import type { Kernel } from '../kernel.ts';
import { f32Lit, WGSL_HELPERS } from '../wgsl.ts';
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

/** `const NAME = array<f32, N>(...)` of RoPE frequencies in turns per step, `theta^(-2i/D) / 2pi`. */
function freqTable(D: number, theta: number): string {
  const f = Array.from({ length: D / 2 }, (_, i) => f32Lit(Math.pow(theta, (-2 * i) / D) / (2 * Math.PI)));
  return `const FREQ = array<f32, HALF>(${f.join(', ')});`;
}

/**
 * Selective RoPE's angles: one invocation per (b, g, i) walks T, `acc = fract(acc + x[b,t,g] *
 * FREQ[i])` from the carried angles s0; angles stay in turns within [0, 1), so they never grow.
 */
export function angleScanKernel(o: { name: string; B: number; T: number; G: number; D: number; theta: number }): Kernel {
  const { B, T, G, D } = o;
  positiveDims(o.name, { B, T, G, D });
  const half = D / 2;
  const n = B * G * half;
  return perElementKernel({
    name: o.name,
    summary: 'angles[b,t,g,i] = fract(s0[b,g,i] + sum_{s<=t} x[b,s,g] * theta^(-2i/D) / 2pi), in turns (Selective RoPE)',
    elements: n,
    elementsText: 'B*G*D/2',
    bindings: [
      { name: 'x', access: 'read', elem: 'f32', elements: B * T * G },
      { name: 's0', access: 'read', elem: 'f32', elements: n },
      { name: 'out', access: 'read_write', elem: 'f32', elements: B * T * G * half },
    ],
    consts: [['T', T], ['G', G], ['HALF', half]],
    helpers: [freqTable(D, o.theta)],
    body: (b) => {
      b.line('let i_i = i_el % HALF;');
      b.line('let g = (i_el / HALF) % G;');
      b.line('let bb = i_el / (HALF * G);');
      b.line('var acc = s0[i_el];');
      b.block('for (var t = 0u; t < T; t++)', () => {
        b.line('acc = fract(acc + x[(bb * T + t) * G + g] * FREQ[i_i]);');
        b.line('out[((bb * T + t) * G + g) * HALF + i_i] = acc;');
      });
    },
  });
}

/** Rotates the half-split pairs of each D-group of x `[B, T, G*D]` by 2pi * angles `[B, T, GA*D/2]` (groups share angles G/GA at a time). */
export function rotateKernel(o: { name: string; B: number; T: number; G: number; GA: number; D: number }): Kernel {
  const { B, T, G, GA, D } = o;
  positiveDims(o.name, { B, T, G, GA, D });
  const half = D / 2;
  const n = B * T * G * half;
  return perElementKernel({
    name: o.name,
    summary: 'pairs (i, i + D/2) of each group rotated by 2pi * angles (turns), groups sharing angles G/GA at a time',
    elements: n,
    elementsText: 'B*T*G*D/2',
    bindings: [
      { name: 'x', access: 'read', elem: 'f32', elements: B * T * G * D },
      { name: 'angles', access: 'read', elem: 'f32', elements: B * T * GA * half },
      { name: 'out', access: 'read_write', elem: 'f32', elements: B * T * G * D },
    ],
    consts: [['G', G], ['GA', GA], ['SHARE', G / GA], ['D', D], ['HALF', half]],
    fconsts: [['TWO_PI', 2 * Math.PI]],
    body: (b) => {
      b.line('let i_i = i_el % HALF;');
      b.line('let g = (i_el / HALF) % G;');
      b.line('let r = i_el / (HALF * G);');
      b.line('let turn = angles[(r * GA + g / SHARE) * HALF + i_i];');
      b.line('// the angle in [-pi, pi), where sin and cos are most accurate');
      b.line('let a = TWO_PI * (turn - select(0.0, 1.0, turn >= 0.5));');
      b.line('let c = cos(a);');
      b.line('let s = sin(a);');
      b.line('let o_x = (r * G + g) * D + i_i;');
      b.line('let x1 = x[o_x];');
      b.line('let x2 = x[o_x + HALF];');
      b.line('out[o_x] = x1 * c - x2 * s;');
      b.line('out[o_x + HALF] = x2 * c + x1 * s;');
    },
  });
}
