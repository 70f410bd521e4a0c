/**
 * The delta rule and gated delta rule (docs/mixers.md, update = delta; decay none, fixed or
 * scalar, and vector in the recurrent schedule or chunkwise through the DPLR kernels as Kimi Delta
 * Attention (../dplr/kda.ts); phi = identity or elu1; never normalized) in three barrier-free schedules:
 * recurrent, chunkwise(C) via the WY/UT transform, and parallel (the same kernels with one
 * chunk of C = T). See README.md for the math, the kernels and their dispatch.
 *
 * Layouts: q, k `[B, T, H, K]`; v, o `[B, T, H, V]`; beta `[B, T, H]`; g `[B, T, H]` (scalar
 * decay, log space); s0, S `[B, H, K, V]`.
 */
import { LoomInternalError } from '../../../../grammar/diagnostics.ts';
import type { BufferDecl, Step } from '../../../codegen/program.ts';
import type { Schedule } from '../../../ir/graph.ts';
import type { DeviceLimits } from '../../../plan/device.ts';
import type { LinearAttnCost } from '../cost.ts';
import type { LinearAttnCall, LinearAttnDims } from '../index.ts';
import { groupsFor, threadGrid, WG } from '../kernels/common.ts';
import { deltaChunkProgram, deltaChunking, deltaIntermediates } from './chunk.ts';
import { deltaScheduleCost } from './cost.ts';
import { deltaOutputThreads } from './output.ts';
import { deltaRecurrentProgram, deltaRecurrentThreads } from './recurrent.ts';
import type { DeltaShape } from './shape.ts';
import { walkThreads } from './state.ts';
import { dplrCost, dplrSupports, type DplrDims } from '../dplr/index.ts';
import { kdaProgram } from '../dplr/kda.ts';
import { kkThreads, solveThreads } from './wy.ts';

/** Largest K: every kernel keeps K registers (state rows of S, or q~_t / k~_t) per invocation. */
export const DELTA_MAX_K = 256;

/** Longest sequence the parallel schedule solves as one T x T triangular system per (b, h). */
export const DELTA_MAX_PARALLEL_T = 1024;

/** WebGPU's workgroup-count limit per dispatch dimension. */
const MAX_GROUPS_PER_DIM = 65535;

function shapeOf(d: LinearAttnDims, maxGroupsPerDim: number): DeltaShape {
  const { knobs: kn } = d;
  return { B: d.B, T: d.T, H: kn.heads, K: kn.keyDim, V: kn.valueDim, feature: kn.feature, normalize: false, scale: kn.scale, eps: kn.eps, decay: kn.decay, maxGroupsPerDim };
}

/** What the knobs or dimensions make impossible on any device, or null. */
function callProblem(schedule: Schedule, d: LinearAttnDims): string | null {
  const kn = d.knobs;
  const dims: [string, number][] = [['B', d.B], ['T', d.T], ['heads', kn.heads], ['keyDim', kn.keyDim], ['valueDim', kn.valueDim]];
  if (schedule === 'chunkwise') dims.push(['chunk', d.chunk]);
  for (const [name, x] of dims) if (!Number.isInteger(x) || x < 1) return `${name} = ${x} must be a positive integer`;
  if (!Number.isFinite(kn.scale)) return `scale = ${kn.scale} must be finite`;
  if (kn.normalize) return 'normalize = true is not defined for the delta rule (it has no normalizer z)';
  if (kn.decay.kind === 'vector' && schedule === 'parallel') return 'vector decay with the delta rule runs in the recurrent and chunkwise schedules (chunkwise as the DPLR recurrence)';
  if (kn.decay.kind === 'vector' && schedule === 'chunkwise' && kn.feature !== 'identity') {
    return `vector decay with the delta rule runs chunkwise as the DPLR recurrence, which takes q and k as they are (feature ${kn.feature}: use the recurrent schedule)`;
  }
  if (kn.decay.kind === 'fixed') {
    const ld = kn.decay.logDecay;
    if (ld.length !== kn.heads) return `fixed decay has ${ld.length} log-decays, expected one per head (heads = ${kn.heads})`;
    const bad = ld.findIndex((x) => !Number.isFinite(x) || x > 0);
    if (bad >= 0) return `fixed log-decay of head ${bad} = ${ld[bad]} must be finite and <= 0`;
  }
  if (kn.keyDim > DELTA_MAX_K) return `K = ${kn.keyDim} > ${DELTA_MAX_K}: each ${schedule} invocation keeps K floats (or K value registers) in a private array`;
  if (schedule === 'parallel' && d.T > DELTA_MAX_PARALLEL_T) {
    return `T = ${d.T} > ${DELTA_MAX_PARALLEL_T}: the parallel delta rule solves a T x T triangular system per (b, h); use chunkwise`;
  }
  return null;
}

/** Storage buffers bound by the schedule's widest kernel (recurrent; chunk_h for the others). */
function bindingCount(schedule: Schedule, s: DeltaShape): number {
  const g = s.decay.kind === 'scalar' || s.decay.kind === 'vector' ? 1 : 0;
  return schedule === 'recurrent' ? 7 + g : 6 + g; // q k v beta [g] s0 o S | k w s0 [g] u h S
}

function bufferSizes(schedule: Schedule, s: DeltaShape, C: number): [string, number][] {
  const sizes: [string, number][] = [['q/k', s.B * s.T * s.H * s.K], ['v/o', s.B * s.T * s.H * s.V], ['S', s.B * s.H * s.K * s.V]];
  if (schedule === 'recurrent') return sizes;
  const mid = deltaIntermediates(s, C);
  return [...sizes, ['kk (chunk k k^T)', mid.kk], ['h (chunk states)', mid.h]];
}

function kernelThreads(schedule: Schedule, s: DeltaShape, C: number): number[] {
  if (schedule === 'recurrent') return [deltaRecurrentThreads(s)];
  const ch = deltaChunking(s.T, C);
  return [kkThreads(s), solveThreads(s, ch, 'K'), solveThreads(s, ch, 'V'), walkThreads(s), deltaOutputThreads(s)];
}

function chunkOf(schedule: Schedule, d: LinearAttnDims): number {
  return schedule === 'parallel' ? d.T : d.chunk;
}

/** Whether a schedule can run these dims on this device, and why not. Pure. */
/** The delta rule with a vector decay in the chunkwise schedule: Kimi Delta Attention through the DPLR kernels. */
function viaDplr(schedule: Schedule, call: LinearAttnDims): DplrDims | null {
  const kn = call.knobs;
  if (schedule !== 'chunkwise' || kn.decay.kind !== 'vector') return null;
  return { B: call.B, T: call.T, H: kn.heads, K: kn.keyDim, V: kn.valueDim, scale: kn.scale, chunk: call.chunk };
}

export function deltaSupports(schedule: Schedule, call: LinearAttnDims, limits: DeviceLimits): { ok: true } | { ok: false; reason: string } {
  const bad = callProblem(schedule, call);
  if (bad) return { ok: false, reason: bad };
  const dplr = viaDplr(schedule, call);
  if (dplr) return dplrSupports(schedule, dplr, limits);
  const s = shapeOf(call, limits.maxComputeWorkgroupsPerDimension);
  const C = chunkOf(schedule, call);
  const bindings = bindingCount(schedule, s);
  if (bindings > limits.maxStorageBuffersPerShaderStage) {
    return { ok: false, reason: `needs ${bindings} storage buffers in one kernel, the device allows ${limits.maxStorageBuffersPerShaderStage}` };
  }
  const maxBytes = Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize);
  for (const [name, elements] of bufferSizes(schedule, s, C)) {
    if (elements * 4 > maxBytes) return { ok: false, reason: `${name} needs ${elements * 4} bytes, over the device's ${maxBytes}-byte storage binding limit` };
    if (elements >= 2 ** 32) return { ok: false, reason: `${name} has ${elements} elements, beyond u32 indexing` };
  }
  const maxGroups = limits.maxComputeWorkgroupsPerDimension ** 2;
  for (const n of kernelThreads(schedule, s, C)) {
    if (groupsFor(n) > maxGroups) return { ok: false, reason: `${n} invocations need more than ${maxGroups} workgroups even folded into 2D` };
    const [x, y] = threadGrid(n, 'n', limits.maxComputeWorkgroupsPerDimension).dispatch;
    if (x * y * WG >= 2 ** 32) return { ok: false, reason: `${n} invocations overflow the u32 invocation index` };
  }
  return { ok: true };
}

function validateCall(call: LinearAttnCall): void {
  const bad = callProblem(call.schedule, call);
  if (bad) throw new LoomInternalError('linear_attn', `${call.label}: ${bad}`);
  const { beta, g, z0, z } = call.buffers;
  const scalar = call.knobs.decay.kind === 'scalar' || call.knobs.decay.kind === 'vector';
  if (beta === null) throw new LoomInternalError('linear_attn', `${call.label}: update = delta needs the beta buffer [B, T, H]`);
  if ((g !== null) !== scalar) throw new LoomInternalError('linear_attn', `${call.label}: buffer g = ${g} with decay ${call.knobs.decay.kind}; expected ${scalar ? 'g' : 'null'}`);
  if (z0 !== null || z !== null) throw new LoomInternalError('linear_attn', `${call.label}: buffers z0 = ${z0}, z = ${z}; the delta rule has no normalizer`);
}

/** Steps (kernels + buffer names bound) and the intermediate buffers they introduce (role 'activation'). */
export function deltaProgram(call: LinearAttnCall, opts: { maxWorkgroupsPerDim?: number; unrollK?: boolean } = {}): { buffers: BufferDecl[]; steps: Step[] } {
  validateCall(call);
  const s = { ...shapeOf(call, opts.maxWorkgroupsPerDim ?? MAX_GROUPS_PER_DIM), unrollK: opts.unrollK === true };
  const { q, k, v, beta, g, s0, o, S } = call.buffers;
  const dplr = viaDplr(call.schedule, call);
  if (dplr) return kdaProgram(call.label, 'chunkwise', { ...dplr, unrollK: opts.unrollK === true }, { q, k, v, g: g!, beta: beta!, s0, o, S }, opts);
  const buf = { q, k, v, beta: beta ?? '', g, s0, o, S };
  switch (call.schedule) {
    case 'recurrent':
      return deltaRecurrentProgram(call.label, s, buf);
    case 'parallel':
      return deltaChunkProgram(call.label, s, call.T, buf, 'parallel');
    case 'chunkwise':
      return deltaChunkProgram(call.label, s, call.chunk, buf, 'chunk');
  }
}

/** Rough operation and memory-traffic counts of a schedule, for the planner. Pure. */
export function deltaCost(schedule: Schedule, call: LinearAttnDims): LinearAttnCost {
  const dplr = viaDplr(schedule, call);
  if (dplr) return dplrCost(schedule, dplr);
  return deltaScheduleCost(schedule, shapeOf(call, MAX_GROUPS_PER_DIM), call.chunk);
}
