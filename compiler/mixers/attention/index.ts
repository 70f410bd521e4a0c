/**
 * Softmax attention (docs/mixers.md) as kernels: one schedule per window length, several variants.
 *   T > 1: `parallel`, variant `rows` (one invocation per query, online softmax over the keys).
 *   T = 1: `recurrent` (decode: one token against the KV cache), variant `decode` (keys split into
 *          blocks, partials merged) or `rows`.
 * Causal attention also appends the window's keys and values to its KV cache (append.ts), a ring
 * of `window` slots for sliding-window attention (constant decode memory) or `max_len` positions.
 * Layouts: q `[B, T, H, D]`, k `[B, T, Hkv, D]`, v `[B, T, Hkv, Dv]`, caches `[B, Hkv, W, D|Dv]`.
 */
import type { BufferDecl, Step } from '../../codegen/program.ts';
import { cacheSlots, type AttentionKnobs, type Schedule } from '../../ir/graph.ts';
import type { ScheduleCost } from '../../plan/cost.ts';
import type { DeviceLimits } from '../../plan/device.ts';
import { appendKernel } from './kernels/append.ts';
import { attnInputArgs, type AttnBuffers, type AttnShape } from './kernels/common.ts';
import { decodeKernel, decodeSplits, decodeThreads, mergeKernel } from './kernels/decode.ts';
import { rowsKernel, rowsThreads } from './kernels/rows.ts';
import { TILE_QUERIES, tiledKernel, tileKeys } from './kernels/tiled.ts';
import { DEFAULT_LIMITS } from '../../plan/device.ts';

export type AttentionVariant = 'rows' | 'tiled' | 'decode';

/** Workgroup memory the tiled variant sizes its tiles for: the WebGPU default every device offers. */
const TILE_WORKGROUP_BYTES = DEFAULT_LIMITS.maxComputeWorkgroupStorageSize;

/** Largest D or DV one invocation keeps in registers (scale q and the accumulator). */
export const MAX_PRIVATE_FLOATS = 256;

export interface AttentionDims {
  B: number;
  T: number;
  knobs: AttentionKnobs;
}

/** The one schedule attention has for a window of T tokens. Pure. */
export function attentionSchedule(T: number): Schedule {
  return T === 1 ? 'recurrent' : 'parallel';
}

/** Variants for these dims, in order of preference on a tie. Pure. */
export function attentionVariants(d: AttentionDims): AttentionVariant[] {
  return d.T === 1 && d.knobs.causal ? ['decode', 'rows'] : ['rows', 'tiled'];
}

function shapeOf(d: AttentionDims, maxGroupsPerDim: number): AttnShape {
  return { B: d.B, T: d.T, knobs: d.knobs, maxGroupsPerDim };
}

/** Whether a variant runs these dims on this device, and why not. Pure. */
export function attentionSupports(variant: AttentionVariant, d: AttentionDims, limits: DeviceLimits): { ok: true } | { ok: false; reason: string } {
  const k = d.knobs;
  if (k.headDim > MAX_PRIVATE_FLOATS || k.valueDim > MAX_PRIVATE_FLOATS) {
    return { ok: false, reason: `head_dim ${k.headDim} / value_dim ${k.valueDim} over ${MAX_PRIVATE_FLOATS}: each invocation keeps q and its output row in registers` };
  }
  if (k.causal && k.window === null && d.T > k.maxLen) return { ok: false, reason: `a window of T = ${d.T} tokens does not fit the KV cache of max_len = ${k.maxLen} positions` };
  if (variant === 'decode' && (d.T !== 1 || !k.causal)) return { ok: false, reason: 'the decode kernel runs one token of causal attention' };
  if (variant === 'tiled') {
    const KT = tileKeys(k.headDim, k.valueDim, TILE_WORKGROUP_BYTES);
    if (KT < 4) return { ok: false, reason: `key tiles of ${KT} (head_dim ${k.headDim} + value_dim ${k.valueDim} floats per key in ${TILE_WORKGROUP_BYTES} bytes of workgroup memory) are too small` };
    if (d.B * k.heads > limits.maxComputeWorkgroupsPerDimension) return { ok: false, reason: `B*H = ${d.B * k.heads} workgroup rows exceed ${limits.maxComputeWorkgroupsPerDimension}` };
  }
  const bindings = k.causal ? 7 : 4;
  if (bindings > limits.maxStorageBuffersPerShaderStage) return { ok: false, reason: `needs ${bindings} storage buffers, the device allows ${limits.maxStorageBuffersPerShaderStage}` };
  const W = cacheSlots(k);
  const maxBytes = Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize);
  const biggest = Math.max(d.B * d.T * k.heads * Math.max(k.headDim, k.valueDim), d.B * k.kvHeads * W * Math.max(k.headDim, k.valueDim));
  if (biggest * 4 > maxBytes) return { ok: false, reason: `a buffer of ${biggest * 4} bytes is over the device's ${maxBytes}-byte binding limit` };
  const threads = variant === 'decode' ? decodeThreads(shapeOf(d, 0)) : rowsThreads(shapeOf(d, 0));
  if (Math.ceil(threads / 64) > limits.maxComputeWorkgroupsPerDimension ** 2) return { ok: false, reason: `${threads} invocations need too many workgroups` };
  return { ok: true };
}

/** Keys one query reads at most: the window, or every position up to the cache (or T when not causal). */
function keysPerQuery(d: AttentionDims): number {
  const k = d.knobs;
  const span = k.causal ? cacheSlots(k) + d.T : d.T;
  return Math.min(span, k.window === null ? span : k.window);
}

/** Operation and memory-traffic estimate of a variant. Pure. */
export function attentionCost(variant: AttentionVariant, d: AttentionDims): ScheduleCost {
  const k = d.knobs;
  const keys = keysPerQuery(d);
  const queries = d.B * d.T * k.heads;
  const flops = queries * keys * 2 * (k.headDim + 2 * k.valueDim);
  const cache = k.causal ? 2 * d.B * k.kvHeads * cacheSlots(k) * (k.headDim + k.valueDim) * 4 : 0;
  const bytes = queries * keys * (k.headDim + k.valueDim) * 4 + cache;
  if (variant === 'decode') {
    const splits = decodeSplits(shapeOf(d, 0));
    return { flops, bytes, serialSteps: Math.ceil(keys / splits) + splits, threads: queries * splits };
  }
  if (variant === 'tiled') {
    // Each key tile is read once per workgroup of TILE_QUERIES queries instead of once per query.
    const tiled = (queries * keys * (k.headDim + k.valueDim) * 4) / TILE_QUERIES + cache;
    return { flops, bytes: tiled, serialSteps: keys, threads: queries };
  }
  return { flops, bytes, serialSteps: keys, threads: queries };
}

export interface AttentionCall extends AttentionDims {
  label: string;
  variant: AttentionVariant;
  buffers: AttnBuffers;
  maxGroupsPerDim?: number;
}

/** Kernels of one attention node: cache appends (causal), then the attention itself. */
export function attentionProgram(c: AttentionCall): { buffers: BufferDecl[]; steps: Step[] } {
  const s = shapeOf(c, c.maxGroupsPerDim ?? 65535);
  const k = c.knobs;
  const b = c.buffers;
  const steps: Step[] = [];
  const buffers: BufferDecl[] = [];
  if (c.variant === 'decode') {
    const part = `${c.label}.partials`;
    buffers.push({ name: part, elem: 'f32', elements: decodeThreads(s) * (k.valueDim + 2), role: 'activation' });
    steps.push({ kernel: decodeKernel(`${c.label}.decode`, s), args: [...attnInputArgs(b), part] });
    steps.push({ kernel: mergeKernel(`${c.label}.decode_merge`, s), args: [part, b.o] });
  } else if (c.variant === 'tiled') {
    steps.push({ kernel: tiledKernel(`${c.label}.attn_tiled`, s, TILE_WORKGROUP_BYTES), args: [...attnInputArgs(b), b.o] });
  } else {
    steps.push({ kernel: rowsKernel(`${c.label}.attn_rows`, s), args: [...attnInputArgs(b), b.o] });
  }
  // The cache is updated in place after the window's attention read it: kCache/vCache name the
  // same buffers as kc0/vc0 (the assembler aliases the state outputs to the state inputs).
  if (k.causal && b.pos && b.kc0 && b.vc0) {
    const a = { B: c.B, T: c.T, HKV: k.kvHeads, W: cacheSlots(k), maxGroupsPerDim: s.maxGroupsPerDim };
    steps.push({ kernel: appendKernel(`${c.label}.k_append`, { ...a, E: k.headDim }), args: [b.k, b.pos, b.kc0] });
    steps.push({ kernel: appendKernel(`${c.label}.v_append`, { ...a, E: k.valueDim }), args: [b.v, b.pos, b.vc0] });
  }
  return { buffers, steps };
}
