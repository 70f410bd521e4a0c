/**
 * Rough operation and memory-traffic counts of each linear-attention schedule, for the planner.
 * Counts follow the generated kernels (including the work they repeat, e.g. phi(k) evaluated by
 * every invocation that reads it, and the decay's exp and gate loads); memory traffic counts every
 * global load and store, 4 bytes each, ignoring caches.
 */
import type { Schedule } from '../../ir/graph.ts';
import { chunking } from './kernels/chunk.ts';
import { hasGate, valueWidth, type AdditiveShape, type LaShape } from './kernels/common.ts';
import { outputThreads, slicing } from './kernels/output.ts';
import { recurrentThreads } from './kernels/recurrent.ts';
import { stateThreads } from './kernels/state.ts';
import { outputTiles, stateTiles, type ChunkVariant } from './kernels/wg-tiles.ts';

export interface LinearAttnCost {
  /** Floating-point operations (an fma counts 2, exp and elu1 count 4). */
  flops: number;
  /** Global memory bytes read and written. */
  bytes: number;
  /** Token iterations of the longest-running invocation, summed over the schedule's kernels. */
  serialSteps: number;
  /** Invocations launched, summed over the schedule's kernels. */
  threads: number;
}

const F32 = 4;
/** Flops one exp counts. */
const EXP = 4;

/** Per token of one state walk (one row, VW columns): exps, extra multiplies, gate loads. */
function decayStep(s: AdditiveShape, rows: number): { flops: number; loads: number } {
  const VW = valueWidth(s.V);
  const norm = s.normalize ? 1 : 0;
  const mults = rows * (VW + norm);
  switch (s.decay.kind) {
    case 'none':
      return { flops: 0, loads: 0 };
    case 'fixed':
      return { flops: mults, loads: 0 };
    case 'scalar':
      return { flops: EXP + mults, loads: 1 };
    case 'vector':
      return { flops: rows * EXP + mults, loads: rows };
  }
}

/** Per (t, s) pair of an output kernel: the decay's exps, adds and gate loads. */
function decayPair(s: AdditiveShape): { flops: number; loads: number } {
  if (s.decay.kind === 'none') return { flops: 0, loads: 0 };
  if (s.decay.kind === 'vector') return { flops: s.K * (EXP + 2), loads: s.K };
  return { flops: EXP + 2, loads: hasGate(s) ? 1 : 0 };
}

/** Per token of an output kernel: decaying scale q~_t by exp(G_t) before the state term. */
function decayQuery(s: AdditiveShape): number {
  if (s.decay.kind === 'none') return 0;
  return s.decay.kind === 'vector' ? s.K * (EXP + 1) : EXP + s.K;
}

function phiFlops(s: LaShape): number {
  return s.feature === 'elu1' ? 4 : 0;
}

function recurrentCost(s: AdditiveShape): LinearAttnCost {
  const n = recurrentThreads(s);
  const VW = valueWidth(s.V);
  const norm = s.normalize ? 1 : 0;
  const d = decayStep(s, s.K);
  const perToken = s.K * (2 * phiFlops(s) + 1 + 4 * VW + 4 * norm) + VW + d.flops;
  const loads = n * s.T * (2 * s.K + VW + d.loads) + n * s.K * (VW + norm);
  const stores = n * s.T * VW + n * s.K * VW + norm * s.B * s.H * s.K;
  return { flops: n * s.T * perToken, bytes: F32 * (loads + stores), serialSteps: s.T, threads: n };
}

/** The state kernel over all T tokens; with chunks it also stores NC chunk states. */
function stateCost(s: AdditiveShape, NC: number): LinearAttnCost {
  const n = stateThreads(s);
  const VW = valueWidth(s.V);
  const norm = s.normalize ? 1 : 0;
  // One row per invocation: a vector gate costs one exp per token here, like a scalar one.
  const d = decayStep(s, 1);
  const flops = n * s.T * (phiFlops(s) + 2 * VW + norm + d.flops);
  const loads = n * (s.T * (1 + VW + d.loads) + VW + norm);
  const stores = n * (NC + 1) * VW + norm * s.B * s.H * s.K * (NC + 1);
  return { flops, bytes: F32 * (loads + stores), serialSteps: s.T, threads: n };
}

/** Sum over tokens of the causal window each output reads: chunks of C (C = T for parallel). */
function pairCount(T: number, C: number): number {
  const full = Math.floor(T / C);
  const rest = T - full * C;
  return (full * C * (C + 1)) / 2 + (rest * (rest + 1)) / 2;
}

function outputCost(s: AdditiveShape, C: number): LinearAttnCost {
  const { BG, NS } = slicing(s);
  const cols = BG * valueWidth(s.V);
  const norm = s.normalize ? 1 : 0;
  const perHead = s.B * s.H * NS;
  const pairs = pairCount(s.T, C);
  const d = decayPair(s);
  const perToken = s.K * (phiFlops(s) + 1) + 2 * s.K * cols + 2 * norm * s.K + cols + decayQuery(s);
  const flops = perHead * (s.T * perToken + pairs * (s.K * (phiFlops(s) + 2) + 2 * cols + norm + d.flops));
  const loads = perHead * (s.T * (s.K + s.K * cols + norm * s.K) + pairs * (s.K + cols + d.loads));
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

/**
 * chunk_h_wg: the register walk's arithmetic, but k~ rows, v columns and exp(g) loaded once per
 * workgroup and token (workgroup memory) instead of once per invocation and token.
 */
function wgStateCost(s: AdditiveShape, NC: number, C: number): LinearAttnCost {
  const t = stateTiles(s, C);
  const n = stateThreads(s);
  const groups = s.B * s.H * t.NRT * t.NCT;
  const VW = valueWidth(s.V);
  const norm = s.normalize ? 1 : 0;
  const gates = s.decay.kind === 'vector' ? t.BR : s.decay.kind === 'scalar' ? 1 : 0;
  const decayMults = s.decay.kind === 'none' ? 0 : VW + norm;
  const flops = n * s.T * (2 * VW + norm + decayMults) + groups * s.T * (t.BR * phiFlops(s) + gates * EXP);
  const loads = groups * s.T * (t.BR + t.BCV + gates) + n * (VW + norm);
  const stores = n * (NC + 1) * VW + norm * s.B * s.H * s.K * (NC + 1);
  return { flops, bytes: F32 * (loads + stores), serialSteps: s.T, threads: n };
}

/** chunk_o_wg: the register variant's arithmetic; each chunk's k~, v, gates and h_n read once per workgroup. */
function wgOutputCost(s: AdditiveShape, NC: number, C: number): LinearAttnCost {
  const t = outputTiles(s, C);
  const NVT = t ? t.NVT : 1;
  const BV = t ? t.BV : s.V;
  const groups = s.B * s.H * NC * NVT;
  const norm = s.normalize ? 1 : 0;
  const gates = s.decay.kind === 'vector' ? C * s.K : s.decay.kind === 'scalar' ? C : 0;
  const loads = groups * (2 * C * s.K + gates + s.K * BV + norm * s.K + C * BV);
  const stores = s.B * s.T * s.H * s.V;
  return { flops: outputCost(s, C).flops, bytes: F32 * (loads + stores), serialSteps: Math.min(C, s.T), threads: groups * C };
}

export function scheduleCost(schedule: Schedule, s: AdditiveShape, chunk: number, variant: ChunkVariant = 'register'): LinearAttnCost {
  switch (schedule) {
    case 'recurrent':
      return recurrentCost(s);
    case 'parallel':
      return sum(outputCost(s, s.T), stateCost(s, 0));
    case 'chunkwise': {
      const NC = chunking(s.T, chunk).NC;
      if (variant === 'workgroup') return sum(wgStateCost(s, NC, chunk), wgOutputCost(s, NC, chunk));
      return sum(stateCost(s, NC), outputCost(s, chunk));
    }
  }
}
