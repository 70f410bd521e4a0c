/**
 * The diagonal-plus-low-rank recurrence (docs/mixers.md 1.5, fla's generalised delta rule):
 *   S_t = Diag(exp(gk_t)) S_{t-1} + b_t (a_t^T S_{t-1}) + k_t v_t^T,   o_t = S_t^T (scale q_t)
 * in two barrier-free schedules: recurrent, and chunkwise(C) (fla's chunk_dplr_delta_rule algorithm:
 * intra-chunk matrices with per-channel decay ratios, a triangular solve for the low-rank part, the
 * state walk, the outputs). See README.md for the math, the kernels and their dispatch.
 *
 * Layouts: q, k, a, b, gk `[B, T, H, K]`; v, o `[B, T, H, V]`; s0, S `[B, H, K, V]`.
 */
import type { BufferDecl, Step } from '../../../codegen/program.ts';
import type { Schedule } from '../../../ir/graph.ts';
import type { ScheduleCost } from '../../../plan/cost.ts';
import type { DeviceLimits } from '../../../plan/device.ts';
import { groupsFor, threadGrid, WG } from '../kernels/common.ts';
import { dplrSlicing, outputKernel, outputThreads } from './output.ts';
import { pairsKernel, pairsThreads } from './pairs.ts';
import { dplrRecurrentProgram, dplrRecurrentThreads } from './recurrent.ts';
import { dplrChunking, widths, type DplrBuffers, type DplrShape } from './shape.ts';
import { solveKernel, solveThreads } from './solve.ts';
import { walkKernel, walkThreads } from './walk.ts';

export type { DplrBuffers, DplrShape } from './shape.ts';

/** Largest K: kernels keep up to 3 K floats (chunk_a) or K value registers per invocation. */
export const DPLR_MAX_K = 256;

/** The dimensions of a call: the shape without the device's grid limit, and the chunk size. */
export type DplrDims = Omit<DplrShape, 'maxGroupsPerDim'> & { chunk: number };

const MAX_GROUPS_PER_DIM = 65535;

function shapeOf(d: DplrDims, maxGroupsPerDim: number): DplrShape {
  return { B: d.B, T: d.T, H: d.H, K: d.K, V: d.V, scale: d.scale, maxGroupsPerDim, unrollK: d.unrollK };
}

/** Element counts of the chunkwise intermediates: mats, dec, wk, u, h. */
function intermediates(s: DplrShape, C: number): Record<'mats' | 'dec' | 'wk' | 'u' | 'h', number> {
  const tok = s.B * s.T * s.H;
  return { mats: tok * 4 * C, dec: tok * 4 * s.K, wk: tok * s.K, u: tok * s.V, h: s.B * s.H * dplrChunking(s.T, C).NC * s.K * s.V };
}

/** Whether a schedule can run these dims on this device, and why not. Pure. */
export function dplrSupports(schedule: Schedule, d: DplrDims, limits: DeviceLimits): { ok: true } | { ok: false; reason: string } {
  const no = (reason: string) => ({ ok: false as const, reason });
  const dims: [string, number][] = [['B', d.B], ['T', d.T], ['heads', d.H], ['keyDim', d.K], ['valueDim', d.V]];
  if (schedule === 'chunkwise') dims.push(['chunk', d.chunk]);
  for (const [name, x] of dims) if (!Number.isInteger(x) || x < 1) return no(`${name} = ${x} must be a positive integer`);
  if (!Number.isFinite(d.scale)) return no(`scale = ${d.scale} must be finite`);
  if (schedule === 'parallel') return no('the DPLR recurrence has no parallel schedule (use chunkwise: one chunk of C = T is chunkwise(T))');
  if (d.K > DPLR_MAX_K) return no(`K = ${d.K} > ${DPLR_MAX_K}: each ${schedule} invocation keeps K floats (or K value registers) in a private array`);
  const s = shapeOf(d, limits.maxComputeWorkgroupsPerDimension);
  const bindings = schedule === 'recurrent' ? 9 : 8; // q k a b gk v s0 o S | v gk dec wk s0 u h S
  if (bindings > limits.maxStorageBuffersPerShaderStage) return no(`needs ${bindings} storage buffers in one kernel, the device allows ${limits.maxStorageBuffersPerShaderStage}`);
  const sizes: [string, number][] = [['q/k/a/b/gk', s.B * s.T * s.H * s.K], ['v/o', s.B * s.T * s.H * s.V], ['S', s.B * s.H * s.K * s.V]];
  if (schedule === 'chunkwise') sizes.push(...Object.entries(intermediates(s, d.chunk)));
  const maxBytes = Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize);
  for (const [name, n] of sizes) {
    if (n * 4 > maxBytes) return no(`${name} needs ${n * 4} bytes, over the device's ${maxBytes}-byte storage binding limit`);
    if (n >= 2 ** 32) return no(`${name} has ${n} elements, beyond u32 indexing`);
  }
  const ch = dplrChunking(s.T, d.chunk);
  const threads = schedule === 'recurrent' ? [dplrRecurrentThreads(s)] : [pairsThreads(s), solveThreads(s, ch, 'K'), solveThreads(s, ch, 'V'), walkThreads(s), outputThreads(s)];
  const maxGroups = limits.maxComputeWorkgroupsPerDimension ** 2;
  for (const n of threads) {
    if (groupsFor(n) > maxGroups) return no(`${n} invocations need more than ${maxGroups} workgroups even folded into 2D`);
    const [x, y] = threadGrid(n, 'n', limits.maxComputeWorkgroupsPerDimension).dispatch;
    if (x * y * WG >= 2 ** 32) return no(`${n} invocations overflow the u32 invocation index`);
  }
  return { ok: true };
}

/** Steps (kernels and the buffer names bound) and the intermediate buffers (role 'activation'). */
export function dplrProgram(label: string, schedule: Schedule, d: DplrDims, buf: DplrBuffers, opts: { maxWorkgroupsPerDim?: number } = {}): { buffers: BufferDecl[]; steps: Step[] } {
  const s = shapeOf(d, opts.maxWorkgroupsPerDim ?? MAX_GROUPS_PER_DIM);
  if (schedule === 'recurrent') return dplrRecurrentProgram(label, s, buf);
  if (schedule !== 'chunkwise') throw new Error(`dplrProgram: no ${schedule} schedule`);
  const ch = dplrChunking(s.T, d.chunk);
  const sizes = intermediates(s, ch.C);
  const [mats, dec, wk, u, h] = (['mats', 'dec', 'wk', 'u', 'h'] as const).map((x) => `${label}.${x}`);
  const buffers: BufferDecl[] = (['mats', 'dec', 'wk', 'u', 'h'] as const).map((x) => ({ name: `${label}.${x}`, elem: 'f32', elements: sizes[x], role: 'activation' }));
  return {
    buffers,
    steps: [
      { kernel: pairsKernel(`${label}.chunk_a`, s, ch), args: [buf.q, buf.k, buf.a, buf.b, buf.gk, mats, dec] },
      { kernel: solveKernel(`${label}.chunk_w`, s, ch, 'K'), args: [dec, mats, wk] },
      { kernel: solveKernel(`${label}.chunk_u`, s, ch, 'V'), args: [buf.v, mats, u] },
      { kernel: walkKernel(`${label}.chunk_h`, s, ch), args: [buf.v, buf.gk, dec, wk, buf.s0, u, h, buf.S] },
      { kernel: outputKernel(`${label}.chunk_o`, s, ch), args: [buf.v, mats, dec, u, h, buf.o] },
    ],
  };
}

/** Pairs (t, s) with s in t's chunk and s < t (strict) or s <= t. */
function pairs(T: number, C: number, strict: boolean): number {
  const tri = (n: number) => (strict ? (n * (n - 1)) / 2 : (n * (n + 1)) / 2);
  const full = Math.floor(T / C);
  return full * tri(C) + tri(T - full * C);
}

/**
 * Operation and memory-traffic counts of a schedule, for the planner (an fma counts 2, an exp 4;
 * every global load and store 4 bytes), following the generated kernels. Pure.
 */
export function dplrCost(schedule: Schedule, d: DplrDims): ScheduleCost {
  const s = shapeOf(d, MAX_GROUPS_PER_DIM);
  const { B, T, H, K, V } = s;
  const { VW } = widths(s);
  const bh = B * H;
  if (schedule === 'recurrent') {
    const n = dplrRecurrentThreads(s);
    return { flops: n * T * K * (9 * VW + 4), bytes: 4 * n * (T * (5 * K + 2 * VW) + 2 * K * VW), serialSteps: T, threads: n };
  }
  const C = d.chunk;
  const { NC } = dplrChunking(T, C);
  const ps = pairs(T, C, true);
  const pi = pairs(T, C, false);
  const { BG, NS } = dplrSlicing(s);
  const cols = BG * VW;
  const parts: ScheduleCost[] = [
    // chunk_a: per pair K exps and 8 fmas, k b gk loads, 4 stores; per token 4 K exps; the forward gate sums
    { flops: bh * (ps * K * 22 + T * K * 30 + ps * K), bytes: 4 * bh * (ps * (3 * K + 4) + T * (12 * K) + ps * K), serialSteps: Math.min(C, T), threads: pairsThreads(s) },
    { flops: bh * K * 2 * ps, bytes: 4 * bh * (ps * (1 + K) + 2 * T * K), serialSteps: Math.min(C, T), threads: solveThreads(s, { C, NC }, 'K') },
    { flops: bh * V * 4 * ps, bytes: 4 * bh * (ps * (2 + 2 * V) + T * V), serialSteps: Math.min(C, T), threads: solveThreads(s, { C, NC }, 'V') },
    { flops: bh * (T * K * (6 * V + 1) + NC * K * (V + 4)), bytes: 4 * bh * (T * (3 * V + 3 * K * V / VW) + (NC + 2) * K * V), serialSteps: 2 * T, threads: walkThreads(s) },
    { flops: bh * NS * (pi * 4 * cols + T * K * 2 * cols), bytes: 4 * bh * NS * (pi * (2 + 2 * cols) + T * K * (1 + cols) + T * cols), serialSteps: Math.min(C, T), threads: outputThreads(s) },
  ];
  return parts.reduce((a, c) => ({ flops: a.flops + c.flops, bytes: a.bytes + c.bytes, serialSteps: a.serialSteps + c.serialSteps, threads: a.threads + c.threads, dispatches: 5 }));
}
