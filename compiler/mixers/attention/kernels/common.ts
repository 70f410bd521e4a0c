/**
 * What the softmax-attention kernels are specialised to, and the pieces they share: the per-key
 * online-softmax update (FlashAttention's running max m, sum l and accumulator, never a T x T
 * matrix) and the key ranges the causal, window and cache masks allow.
 */
import { input, type KernelBinding } from '../../../codegen/kernel.ts';
import { rolledBound, type WgslBuilder } from '../../../codegen/wgsl.ts';
import { cacheSlots, type AttentionKnobs } from '../../../ir/graph.ts';

import { type Grid } from '../../linear_attn/kernels/common.ts';

export { input };
export { output, threadGrid, WG, type Grid } from '../../linear_attn/kernels/common.ts';

/** `let i_thread = ...;`, the early return past N, and the rolled loop bounds n_D, n_DV. */
export function emitThreadIndex(b: WgslBuilder, g: Grid): void {
  b.line(g.folded ? 'let i_thread = gid.y * (GRID_X * WG) + gid.x;' : 'let i_thread = gid.x;');
  b.line('if (i_thread >= N) { return; }');
  // Bounds the shader compiler cannot fold (gid.z is always 0): lavapipe then keeps the loops over
  // D and DV rolled instead of unrolling them into a very long compile.
  b.line(rolledBound('D'));
  b.line(rolledBound('DV'));
}

export interface AttnShape {
  B: number;
  T: number;
  knobs: AttentionKnobs;
  /** Largest workgroup count per dispatch dimension (65535 on every WebGPU device). */
  maxGroupsPerDim: number;
}

/** Buffers of one attention node; kc0, vc0, pos, kCache, vCache are null when not causal. */
export interface AttnBuffers {
  q: string;
  k: string;
  v: string;
  pos: string | null;
  kc0: string | null;
  vc0: string | null;
  o: string;
  kCache: string | null;
  vCache: string | null;
}

/** Named sizes every attention kernel declares. */
export function attnConsts(s: AttnShape): [string, number][] {
  const k = s.knobs;
  const out: [string, number][] = [['B', s.B], ['T', s.T], ['H', k.heads], ['HKV', k.kvHeads], ['GROUP', k.heads / k.kvHeads], ['D', k.headDim], ['DV', k.valueDim]];
  if (k.causal) out.push(['W', cacheSlots(k)]);
  if (k.window !== null) out.push(['WINDOW', k.window]);
  return out;
}

/** Read-only inputs q, k, v (+ pos, kc0, vc0 when causal), in binding order. */
export function attnInputs(s: AttnShape): KernelBinding[] {
  const { B, T } = s;
  const { heads: H, kvHeads: HKV, headDim: D, valueDim: DV, causal } = s.knobs;
  const list = [input('q', B * T * H * D), input('k', B * T * HKV * D), input('v', B * T * HKV * DV)];
  if (causal) {
    const W = cacheSlots(s.knobs);
    list.push(input('pos', B), input('kc0', B * HKV * W * D), input('vc0', B * HKV * W * DV));
  }
  return list;
}

export function attnInputArgs(b: AttnBuffers): string[] {
  return b.pos === null || b.kc0 === null || b.vc0 === null ? [b.q, b.k, b.v] : [b.q, b.k, b.v, b.pos, b.kc0, b.vc0];
}

/** Loads scale * q of (i_b, i_t, i_h) into `b_q` and zeroes the running state m, l, acc. */
export function emitQueryLoad(b: WgslBuilder, row: string): void {
  b.line('var b_q: array<f32, D>;');
  b.block('for (var i_i = 0u; i_i < n_D; i_i++)', () => b.line(`b_q[i_i] = SCALE * q[${row} * D + i_i];`));
  b.line('var b_acc: array<f32, DV>;');
  b.line('var b_m = -3.0e38;');
  b.line('var b_l = 0.0;');
}

/**
 * One key of the online softmax: s = q . key, then with m' = max(m, s):
 * l = l exp(m - m') + exp(s - m'), acc = acc exp(m - m') + exp(s - m') value.
 * The key starts at `kbuf[o_k * D]`, its value at `vbuf[o_k * DV]`.
 */
export function emitKeyUpdate(b: WgslBuilder, kbuf: string, vbuf: string): void {
  b.line('var b_s = 0.0;');
  b.block('for (var i_i = 0u; i_i < n_D; i_i++)', () => b.line(`b_s += b_q[i_i] * ${kbuf}[o_k * D + i_i];`));
  b.line('let b_mn = max(b_m, b_s);');
  b.line('let b_c = exp(b_m - b_mn);');
  b.line('let b_e = exp(b_s - b_mn);');
  b.line('b_l = b_l * b_c + b_e;');
  b.block('for (var i_i = 0u; i_i < n_DV; i_i++)', () => b.line(`b_acc[i_i] = b_acc[i_i] * b_c + b_e * ${vbuf}[o_k * DV + i_i];`));
  b.line('b_m = b_mn;');
}

/**
 * `let i_lo = ...;` the first absolute key position query position `i_p` may read: 0, or
 * p - WINDOW + 1 with a window (clamped at 0).
 */
export function emitWindowStart(b: WgslBuilder, s: AttnShape, p: string): void {
  b.line(s.knobs.window === null ? 'let i_lo = 0u;' : `let i_lo = select(0u, ${p} + 1u - WINDOW, ${p} + 1u > WINDOW);`);
}
