/**
 * Rough operation and memory-traffic counts of each linear-attention schedule, for the planner.
 * Counts follow the generated kernels (including the work they repeat, e.g. phi(k) evaluated by
 * every invocation that reads it); memory traffic counts every global load and store, 4 bytes each,
 * ignoring caches.
 */
import type { Schedule } from '../../ir/graph.ts';
import { chunking } from './kernels/chunk.ts';
import { valueWidth, type LaShape } from './kernels/common.ts';
import { outputThreads, slicing } from './kernels/output.ts';
import { recurrentThreads } from './kernels/recurrent.ts';
import { stateThreads } from './kernels/state.ts';

export interface LinearAttnCost {
  /** Floating-point operations (an fma counts 2, elu1 counts 4). */
  flops: number;
  /** Global memory bytes read and written. */
  bytes: number;
  /** Token iterations of the longest-running invocation, summed over the schedule's kernels. */
  serialSteps: number;
  /** Invocations launched, summed over the schedule's kernels. */
  threads: number;
}

const F32 = 4;

function phiFlops(s: LaShape): number {
  return s.feature === 'elu1' ? 4 : 0;
}

function recurrentCost(s: LaShape): LinearAttnCost {
  const n = recurrentThreads(s);
  const VW = valueWidth(s.V);
  const norm = s.normalize ? 1 : 0;
  const perToken = s.K * (2 * phiFlops(s) + 1 + 4 * VW + 4 * norm) + VW;
  const loads = n * s.T * (2 * s.K + VW) + n * s.K * (VW + norm);
  const stores = n * s.T * VW + n * s.K * VW + norm * s.B * s.H * s.K;
  return { flops: n * s.T * perToken, bytes: F32 * (loads + stores), serialSteps: s.T, threads: n };
}

/** The state kernel over all T tokens; with chunks it also stores NC chunk states. */
function stateCost(s: LaShape, NC: number): LinearAttnCost {
  const n = stateThreads(s);
  const VW = valueWidth(s.V);
  const norm = s.normalize ? 1 : 0;
  const flops = n * s.T * (phiFlops(s) + 2 * VW + norm);
  const loads = n * (s.T * (1 + VW) + VW + norm);
  const stores = n * (NC + 1) * VW + norm * s.B * s.H * s.K * (NC + 1);
  return { flops, bytes: F32 * (loads + stores), serialSteps: s.T, threads: n };
}

/** Sum over tokens of the causal window each output reads: chunks of C (C = T for parallel). */
function pairCount(T: number, C: number): number {
  const full = Math.floor(T / C);
  const rest = T - full * C;
  return (full * C * (C + 1)) / 2 + (rest * (rest + 1)) / 2;
}

function outputCost(s: LaShape, C: number): LinearAttnCost {
  const { BG, NS } = slicing(s);
  const cols = BG * valueWidth(s.V);
  const norm = s.normalize ? 1 : 0;
  const perHead = s.B * s.H * NS;
  const pairs = pairCount(s.T, C);
  const flops =
    perHead * (s.T * (s.K * (phiFlops(s) + 1) + 2 * s.K * cols + 2 * norm * s.K + cols) + pairs * (s.K * (phiFlops(s) + 2) + 2 * cols + norm));
  const loads = perHead * (s.T * (s.K + s.K * cols + norm * s.K) + pairs * (s.K + cols));
  const stores = perHead * s.T * cols;
  return { flops, bytes: F32 * (loads + stores), serialSteps: Math.min(C, s.T), threads: outputThreads(s) };
}

function sum(a: LinearAttnCost, b: LinearAttnCost): LinearAttnCost {
  return {
    flops: a.flops + b.flops,
    bytes: a.bytes + b.bytes,
    serialSteps: a.serialSteps + b.serialSteps,
    threads: a.threads + b.threads,
  };
}

export function scheduleCost(schedule: Schedule, s: LaShape, chunk: number): LinearAttnCost {
  switch (schedule) {
    case 'recurrent':
      return recurrentCost(s);
    case 'parallel':
      return sum(outputCost(s, s.T), stateCost(s, 0));
    case 'chunkwise':
      return sum(stateCost(s, chunking(s.T, chunk).NC), outputCost(s, chunk));
  }
}
