/**
 * Kernels that read absolute token positions (`pos [B]`, the tokens each sequence consumed before
 * this window; token t of the window is at pos[b] + t). One invocation per output element.
 */
import { LoomInternalError } from '../../../grammar/diagnostics.ts';
import type { Kernel } from '../kernel.ts';
import { buildKernel, WGSL_HELPERS } from '../wgsl.ts';
import { flatDispatch, flatIndex, needsGuard } from './elementwise.ts';

const WG = 64;

/**
 * cosFormer's re-weighting: per head, `out[.., :G] = x cos(a)`, `out[.., G:] = x sin(a)` with
 * `a = pi/2 * (pos[b] + t) / MAX_LEN`. The angle is formed as (pos + t) * (pi / (2 MAX_LEN)) in
 * f32; positions are exact integers below 2^24.
 */
export function cosReweightKernel(o: { name: string; B: number; T: number; H: number; G: number; maxLen: number }): Kernel {
  const { B, T, H, G } = o;
  for (const [what, v] of [['B', B], ['T', T], ['H', H], ['G', G], ['maxLen', o.maxLen]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new LoomInternalError('codegen', `${o.name}: ${what} = ${v} must be a positive integer`);
  }
  const n = B * T * H * 2 * G;
  const { dispatch, formula } = flatDispatch(n, WG, 'B*T*H*2G');
  const index = flatIndex(dispatch, 'gid', WG);
  return buildKernel({
    name: o.name,
    summary: 'per head [x cos(a), x sin(a)], a = pi/2 * (pos[b] + t) / MAX_LEN (cosFormer re-weighting)',
    bindings: [
      { name: 'x', access: 'read', elem: 'f32', elements: B * T * H * G },
      { name: 'pos', access: 'read', elem: 'f32', elements: B },
      { name: 'out', access: 'read_write', elem: 'f32', elements: n },
    ],
    consts: [['T', T], ['H', H], ['G', G], ['MAX_LEN', o.maxLen], ['N', n], ...index.consts],
    fconsts: [['RATE', Math.PI / (2 * o.maxLen)]],
    workgroupSize: [WG, 1, 1],
    dispatch,
    dispatchFormula: formula,
    body: (b) => {
      b.line(`let i_el = ${index.expr};`);
      if (needsGuard(dispatch, WG, n)) b.line('if (i_el >= N) { return; }');
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
  for (const [what, v] of [['B', B], ['T', T], ['H', H], ['G', G]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new LoomInternalError('codegen', `${o.name}: ${what} = ${v} must be a positive integer`);
  }
  const n = B * T * H * G;
  const { dispatch, formula } = flatDispatch(n, WG, 'B*T*H*G');
  const index = flatIndex(dispatch, 'gid', WG);
  return buildKernel({
    name: o.name,
    summary: 'out[b,t,h,:] = x[b,t,h,:] / (pos[b] + t + 1)^sigmoid(m[h]), a length normalisation per head',
    bindings: [
      { name: 'x', access: 'read', elem: 'f32', elements: n },
      { name: 'pos', access: 'read', elem: 'f32', elements: B },
      { name: 'm', access: 'read', elem: 'f32', elements: H },
      { name: 'out', access: 'read_write', elem: 'f32', elements: n },
    ],
    consts: [['T', T], ['H', H], ['G', G], ['N', n], ...index.consts],
    helpers: [WGSL_HELPERS.sigmoid],
    workgroupSize: [WG, 1, 1],
    dispatch,
    dispatchFormula: formula,
    body: (b) => {
      b.line(`let i_el = ${index.expr};`);
      if (needsGuard(dispatch, WG, n)) b.line('if (i_el >= N) { return; }');
      b.line('let h = (i_el / G) % H;');
      b.line('let t = (i_el / (G * H)) % T;');
      b.line('let bb = i_el / (G * H * T);');
      b.line('// exp2(-s * log2(n)) = n^-s; n >= 1, so log2 is finite');
      b.line('let len = pos[bb] + f32(t) + 1.0;');
      b.line('out[i_el] = x[i_el] * exp2(-sigmoid(m[h]) * log2(len));');
    },
  });
}
