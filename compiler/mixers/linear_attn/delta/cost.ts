/**
 * Rough operation and memory-traffic counts of each delta-rule schedule, for the planner, in the
 * shape of linearAttnCost. Counts follow the generated kernels (including repeated work such as
 * phi(k) evaluated by every invocation that reads it); every global load and store is 4 bytes.
 */
import type { Schedule } from '../../../ir/graph.ts';
import type { LinearAttnCost } from '../cost.ts';
import { deltaChunking } from './chunk.ts';
import { deltaOutputThreads, deltaSlicing } from './output.ts';
import { deltaRecurrentThreads } from './recurrent.ts';
import { hasDecay, widths, type DeltaShape } from './shape.ts';
import { walkThreads } from './state.ts';
import { kkThreads, solveThreads } from './wy.ts';

const F32 = 4;

function phiFlops(s: DeltaShape): number {
  return s.feature === 'elu1' ? 4 : 0;
}

/** Pairs (t, s) with s in t's chunk and s < t (strict = true) or s <= t. */
function pairs(T: number, C: number, strict: boolean): number {
  const tri = (n: number): number => (strict ? (n * (n - 1)) / 2 : (n * (n + 1)) / 2);
  const full = Math.floor(T / C);
  return full * tri(C) + tri(T - full * C);
}

function recurrentCost(s: DeltaShape): LinearAttnCost {
  const n = deltaRecurrentThreads(s);
  const { VW } = widths(s);
  const dec = hasDecay(s) ? 1 : 0;
  const perToken = s.K * (3 * phiFlops(s) + 6 * VW + 2 + dec * VW) + 3 * VW + 4 * dec;
  const loads = n * s.T * (3 * s.K + VW + 1 + (s.decay.kind === 'scalar' ? 1 : 0)) + n * s.K * VW;
  const stores = n * s.T * VW + n * s.K * VW;
  return { flops: n * s.T * perToken, bytes: F32 * (loads + stores), serialSteps: s.T, threads: n };
}

function kkCost(s: DeltaShape, C: number): LinearAttnCost {
  const bh = s.B * s.H;
  const p = pairs(s.T, C, true);
  const dec = hasDecay(s) ? 1 : 0;
  const flops = bh * (s.T * s.K * phiFlops(s) + p * (s.K * (phiFlops(s) + 2) + 2 + 3 * dec));
  const loads = bh * (s.T * (s.K + 1) + p * (s.K + dec));
  return { flops, bytes: F32 * (loads + bh * p), serialSteps: Math.min(C, s.T), threads: kkThreads(s) };
}

/** The forward substitution of W (which = 'K') or U (which = 'V'). */
function solveCost(s: DeltaShape, C: number, which: 'K' | 'V'): LinearAttnCost {
  const w = which === 'K' ? widths(s).KW : widths(s).VW;
  const D = which === 'K' ? s.K : s.V;
  const groups = (s.B * s.H * D) / w;
  const p = pairs(s.T, C, true);
  const map = which === 'K' ? phiFlops(s) + 2 * (hasDecay(s) ? 1 : 0) : 0;
  const flops = groups * (s.T * w * (map + 1) + 2 * p * w);
  const loads = groups * (s.T * (w + 1) + p * (1 + w));
  return { flops, bytes: F32 * (loads + groups * s.T * w), serialSteps: Math.min(C, s.T), threads: solveThreads(s, deltaChunking(s.T, C), which) };
}

function walkCost(s: DeltaShape, C: number): LinearAttnCost {
  const n = walkThreads(s);
  const { VW } = widths(s);
  const { NC } = deltaChunking(s.T, C);
  const dec = hasDecay(s) ? 1 : 0;
  const flops = n * (s.T * (2 * s.K * VW + s.K * (phiFlops(s) + 2 * VW) + 3 * dec * VW) + NC * dec * s.K * VW);
  const loads = n * (s.K * VW + s.T * (2 * VW + 2 * s.K + dec));
  const stores = n * (s.T * VW + (NC + 1) * s.K * VW);
  return { flops, bytes: F32 * (loads + stores), serialSteps: 2 * s.T, threads: n };
}

function outputCost(s: DeltaShape, C: number): LinearAttnCost {
  const { BG, NS } = deltaSlicing(s);
  const cols = BG * widths(s).VW;
  const per = s.B * s.H * NS;
  const p = pairs(s.T, C, false);
  const dec = hasDecay(s) ? 1 : 0;
  const flops = per * (s.T * (s.K * (phiFlops(s) + 1) + 2 * s.K * cols + cols) + p * (s.K * (phiFlops(s) + 2) + 2 * cols + 2 * dec));
  const loads = per * (s.T * (s.K + s.K * cols) + p * (s.K + cols + dec));
  return { flops, bytes: F32 * (loads + per * s.T * cols), serialSteps: Math.min(C, s.T), threads: deltaOutputThreads(s) };
}

function sum(parts: LinearAttnCost[]): LinearAttnCost {
  return parts.reduce((a, b) => ({ flops: a.flops + b.flops, bytes: a.bytes + b.bytes, serialSteps: a.serialSteps + b.serialSteps, threads: a.threads + b.threads }));
}

/** Cost of a schedule; parallel is the chunk program with C = T. */
export function deltaScheduleCost(schedule: Schedule, s: DeltaShape, chunk: number): LinearAttnCost {
  if (schedule === 'recurrent') return recurrentCost(s);
  const C = schedule === 'parallel' ? s.T : chunk;
  return sum([kkCost(s, C), solveCost(s, C, 'K'), solveCost(s, C, 'V'), walkCost(s, C), outputCost(s, C)]);
}
