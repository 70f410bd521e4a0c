/**
 * Causal linear attention (docs/mixers.md: additive update, decay none / fixed / scalar / vector,
 * phi = identity or elu1, optionally normalized) in three barrier-free schedules: recurrent,
 * chunkwise(C), parallel; chunkwise also as a `workgroup` variant with tiles in workgroup memory
 * (GPUs). See README.md for the math, the kernels and their dispatch.
 *
 * Layouts: q, k `[B, T, H, K]`; v, o `[B, T, H, V]`; s0, S `[B, H, K, V]`; z0, z `[B, H, K]`;
 * log-gates g `[B, T, H]` (scalar) or `[B, T, H, K]` (vector), decay exp(g) with g <= 0.
 */
import type { BufferDecl, Step } from '../../codegen/program.ts';
import { LoomInternalError } from '../../../grammar/diagnostics.ts';
import type { LinearAttnKnobs, Schedule } from '../../ir/graph.ts';
import type { DeviceLimits } from '../../plan/device.ts';
import { scheduleCost, type LinearAttnCost } from './cost.ts';
import { deltaCost, deltaProgram, deltaSupports } from './delta/index.ts';
import { chunkProgram, chunkStateElements } from './kernels/chunk.ts';
import { groupsFor, hasGate, threadGrid, valueWidth, WG, type AdditiveShape } from './kernels/common.ts';
import { outputThreads, slicing } from './kernels/output.ts';
import { parallelProgram } from './kernels/parallel.ts';
import { recurrentProgram, recurrentThreads } from './kernels/recurrent.ts';
import { stateThreads } from './kernels/state.ts';
import { wgProblem, type ChunkVariant } from './kernels/wg-tiles.ts';

export type { LinearAttnCost } from './cost.ts';
export type { ChunkVariant } from './kernels/wg-tiles.ts';

export interface LinearAttnCall {
  /** Prefix of kernel and intermediate buffer names, e.g. `L0.attn`. */
  label: string;
  B: number;
  T: number;
  knobs: LinearAttnKnobs;
  schedule: Schedule;
  /** Chunk size C for chunkwise (any C >= 1; T need not be a multiple). */
  chunk: number;
  /**
   * Kernel variant of the chunkwise schedule: `workgroup` (tiles in workgroup memory, for GPUs) or
   * `register` (barrier-free, the default). Only the additive update has the workgroup variant.
   */
  variant?: string;
  /**
   * Buffer names; q, k, v, s0, z0, g, beta are read; o, S, z are written completely. z0, z non-null
   * iff normalize; g non-null iff decay is scalar (`[B,T,H]`) or vector (`[B,T,H,K]`); beta non-null
   * iff update is delta (`[B,T,H]`).
   */
  buffers: LinearAttnBuffers;
}

export interface LinearAttnBuffers {
  q: string;
  k: string;
  v: string;
  s0: string;
  z0: string | null;
  g: string | null;
  beta: string | null;
  o: string;
  S: string;
  z: string | null;
}

export type LinearAttnDims = Omit<LinearAttnCall, 'label' | 'buffers' | 'schedule'>;

/**
 * WGSL's limit on the function-address-space variables of one function (bytes): the private arrays
 * an invocation keeps (S columns and z for recurrent; scale q~_t, its output columns and vector
 * log-gates for the output kernels) must fit, so K up to a few hundred (expanded feature maps:
 * K' = 153 for Based with d = 16, 273 and more) runs, and larger K is refused with the sizes.
 */
export const MAX_PRIVATE_BYTES = 8192;

/** Bytes of private arrays one invocation of the schedule's largest kernel declares. */
export function privateBytes(schedule: Schedule, s: AdditiveShape): number {
  if (schedule === 'recurrent') return 4 * s.K * (valueWidth(s.V) + (s.normalize ? 1 : 0));
  return 4 * (s.K + slicing(s).BG * valueWidth(s.V) + (s.decay.kind === 'vector' ? s.K : 0));
}

/** WebGPU's workgroup-count limit per dispatch dimension. */
const MAX_GROUPS_PER_DIM = 65535;

function shapeOf(d: LinearAttnDims, maxGroupsPerDim: number): AdditiveShape {
  const { knobs: kn } = d;
  return {
    B: d.B,
    T: d.T,
    H: kn.heads,
    K: kn.keyDim,
    V: kn.valueDim,
    feature: kn.feature,
    normalize: kn.normalize,
    scale: kn.scale,
    eps: kn.eps,
    decay: kn.decay,
    maxGroupsPerDim,
  };
}

/** What is wrong with the dimensions themselves, or null. */
function dimsProblem(schedule: Schedule, d: LinearAttnDims): string | null {
  const dims: [string, number][] = [['B', d.B], ['T', d.T], ['heads', d.knobs.heads], ['keyDim', d.knobs.keyDim], ['valueDim', d.knobs.valueDim]];
  if (schedule === 'chunkwise') dims.push(['chunk', d.chunk]);
  for (const [name, x] of dims) if (!Number.isInteger(x) || x < 1) return `${name} = ${x} must be a positive integer`;
  if (!Number.isFinite(d.knobs.scale)) return `scale = ${d.knobs.scale} must be finite`;
  if (d.knobs.normalize && !Number.isFinite(d.knobs.eps)) return `eps = ${d.knobs.eps} must be finite`;
  const decay = d.knobs.decay;
  if (decay.kind === 'fixed') {
    if (decay.logDecay.length !== d.knobs.heads) return `fixed decay has ${decay.logDecay.length} log-decays, expected one per head (heads = ${d.knobs.heads})`;
    const h = decay.logDecay.findIndex((x) => !Number.isFinite(x) || x > 0);
    if (h >= 0) return `fixed decay logDecay[${h}] = ${decay.logDecay[h]} must be finite and <= 0 (log space)`;
  }
  return null;
}

/** Storage buffers bound by the schedule's widest kernel. */
function bindingCount(schedule: Schedule, s: AdditiveShape): number {
  const n = s.normalize ? 1 : 0;
  const g = hasGate(s) ? 1 : 0;
  switch (schedule) {
    case 'recurrent':
      return 6 + 2 * n + g; // q k v [g] s0 [z0] o S [z]
    case 'parallel':
      return 5 + n + g; // parallel_o: q k v [g] s0 [z0] o
    case 'chunkwise':
      return 5 + 3 * n + g; // chunk_h: k v [g] s0 [z0] h [hz] S [z]
  }
}

/** Element counts of every buffer the schedule binds. */
function bufferSizes(schedule: Schedule, s: AdditiveShape, chunk: number): [string, number][] {
  const sizes: [string, number][] = [['q/k', s.B * s.T * s.H * s.K], ['v/o', s.B * s.T * s.H * s.V], ['S', s.B * s.H * s.K * s.V]];
  if (s.decay.kind === 'vector') sizes.push(['g (vector log-gates)', s.B * s.T * s.H * s.K]);
  if (schedule === 'chunkwise') sizes.push(['h (chunk states)', chunkStateElements(s, chunk).h]);
  return sizes;
}

/** Invocation counts of each kernel of the schedule. */
function kernelThreads(schedule: Schedule, s: AdditiveShape): number[] {
  return schedule === 'recurrent' ? [recurrentThreads(s)] : [stateThreads(s), outputThreads(s)];
}

/** The chunkwise kernel variant a call asks for, or why it cannot have one. */
function variantOf(schedule: Schedule, d: LinearAttnDims): { variant: ChunkVariant } | { problem: string } {
  const v = d.variant ?? 'register';
  if (v !== 'register' && v !== 'workgroup') return { problem: `unknown kernel variant '${v}' (register | workgroup)` };
  if (v === 'workgroup' && schedule !== 'chunkwise') return { problem: `the workgroup variant is a form of the chunkwise schedule, not of ${schedule}` };
  if (v === 'workgroup' && d.knobs.update === 'delta') return { problem: "the delta rule's chunkwise kernels have only the register variant" };
  return { variant: v };
}

/** Whether a schedule (and kernel variant) can run these dims on this device, and why not. Pure. */
export function linearAttnSupports(schedule: Schedule, call: LinearAttnDims, limits: DeviceLimits): { ok: true } | { ok: false; reason: string } {
  const v = variantOf(schedule, call);
  if ('problem' in v) return { ok: false, reason: v.problem };
  if (call.knobs.update === 'delta') return deltaSupports(schedule, call, limits);
  const bad = dimsProblem(schedule, call);
  if (bad) return { ok: false, reason: bad };
  const s = shapeOf(call, limits.maxComputeWorkgroupsPerDimension);
  const wg = v.variant === 'workgroup';
  const bytes = wg ? 0 : privateBytes(schedule, s);
  if (bytes > MAX_PRIVATE_BYTES) {
    const what = schedule === 'recurrent' ? `its K = ${s.K} state rows of S (${valueWidth(s.V)} columns${s.normalize ? ' and z' : ''})` : `scale q~_t (K = ${s.K}) and its output columns`;
    return { ok: false, reason: `K = ${s.K}: each ${schedule} invocation keeps ${what} in ${bytes} bytes of private arrays, over WGSL's ${MAX_PRIVATE_BYTES} per function` };
  }
  const bindings = bindingCount(schedule, s);
  if (bindings > limits.maxStorageBuffersPerShaderStage) {
    const why = `${s.normalize ? 'normalized, ' : ''}decay ${s.decay.kind}`;
    return { ok: false, reason: `needs ${bindings} storage buffers in one kernel (${schedule}, ${why}), the device allows ${limits.maxStorageBuffersPerShaderStage}` };
  }
  const maxBytes = Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize);
  for (const [name, elements] of bufferSizes(schedule, s, call.chunk)) {
    if (elements * 4 > maxBytes) return { ok: false, reason: `${name} needs ${elements * 4} bytes, over the device's ${maxBytes}-byte storage binding limit` };
    if (elements >= 2 ** 32) return { ok: false, reason: `${name} has ${elements} elements, beyond u32 indexing` };
  }
  if (wg) {
    const problem = wgProblem(s, call.chunk, limits, MAX_PRIVATE_BYTES);
    return problem ? { ok: false, reason: `workgroup variant: ${problem}` } : { ok: true };
  }
  const maxGroups = limits.maxComputeWorkgroupsPerDimension ** 2;
  for (const n of kernelThreads(schedule, s)) {
    if (groupsFor(n) > maxGroups) return { ok: false, reason: `${n} invocations need more than ${maxGroups} workgroups even folded into 2D` };
    const [x, y] = threadGrid(n, 'n', limits.maxComputeWorkgroupsPerDimension).dispatch;
    if (x * y * WG >= 2 ** 32) return { ok: false, reason: `${n} invocations overflow the u32 invocation index` };
  }
  return { ok: true };
}

function validateCall(call: LinearAttnCall): void {
  const bad = dimsProblem(call.schedule, call);
  if (bad) throw new LoomInternalError('linear_attn', `${call.label}: ${bad}`);
  const v = variantOf(call.schedule, call);
  if ('problem' in v) throw new LoomInternalError('linear_attn', `${call.label}: ${v.problem}`);
  const { z0, z } = call.buffers;
  if ((z0 !== null) !== call.knobs.normalize || (z !== null) !== call.knobs.normalize) {
    const want = call.knobs.normalize ? 'both set (normalize = true)' : 'both null (normalize = false)';
    throw new LoomInternalError('linear_attn', `${call.label}: buffers z0 = ${z0}, z = ${z}; expected ${want}`);
  }
  const gated = call.knobs.decay.kind === 'scalar' || call.knobs.decay.kind === 'vector';
  if ((call.buffers.g !== null) !== gated) {
    throw new LoomInternalError('linear_attn', `${call.label}: buffer g = ${call.buffers.g} with decay ${call.knobs.decay.kind}; expected g ${gated ? 'set' : 'null'}`);
  }
  if (call.buffers.beta !== null) throw new LoomInternalError('linear_attn', `${call.label}: buffer beta = ${call.buffers.beta} with the additive update; expected null`);
}

export interface LinearAttnProgramOptions {
  /** Workgroups per dispatch dimension before a grid is folded into 2D (default 65535; tests lower it). */
  maxWorkgroupsPerDim?: number;
  /** Constant loop bounds over K (the planner's `unrollLoops` for GPU-class devices). */
  unrollK?: boolean;
}

/** Steps (kernels + buffer names bound) and the intermediate buffers they introduce (role 'activation', named `${label}.<something>`). */
export function linearAttnProgram(call: LinearAttnCall, opts: LinearAttnProgramOptions = {}): { buffers: BufferDecl[]; steps: Step[] } {
  if (call.knobs.update === 'delta') {
    const v = variantOf(call.schedule, call);
    if ('problem' in v) throw new LoomInternalError('linear_attn', `${call.label}: ${v.problem}`);
    return deltaProgram(call, opts);
  }
  validateCall(call);
  const s = { ...shapeOf(call, opts.maxWorkgroupsPerDim ?? MAX_GROUPS_PER_DIM), unrollK: opts.unrollK === true };
  switch (call.schedule) {
    case 'recurrent':
      return recurrentProgram(call.label, s, call.buffers);
    case 'parallel':
      return parallelProgram(call.label, s, call.buffers);
    case 'chunkwise':
      return chunkProgram(call.label, s, call.chunk, call.buffers, call.variant === 'workgroup' ? 'workgroup' : 'register');
  }
}

/** Kernel variants a schedule has besides its default (register) kernels: the additive update's chunkwise also `workgroup`. Pure. */
export function linearAttnVariants(schedule: Schedule, knobs: LinearAttnKnobs): string[] {
  return schedule === 'chunkwise' && knobs.update === 'additive' ? ['workgroup'] : [];
}

/** Rough operation and memory-traffic counts of a schedule, for the planner. Pure. */
export function linearAttnCost(schedule: Schedule, call: LinearAttnDims): LinearAttnCost {
  if (call.knobs.update === 'delta') return deltaCost(schedule, call);
  return scheduleCost(schedule, shapeOf(call, MAX_GROUPS_PER_DIM), call.chunk, call.variant === 'workgroup' ? 'workgroup' : 'register');
}
