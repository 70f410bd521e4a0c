/**
 * Measured knowledge about one adapter, as plain data the planner reads: the calibration (rates the
 * cost model uses instead of its class constants) and the times `loom tune` measured per layer shape
 * and candidate. The measuring is in runtime/ (calibrate.ts, tune.ts) and the disk cache in
 * runtime/tune-cache.ts; everything here is pure.
 */
import type { Node } from '../ir/graph.ts';
import type { Candidate } from './cost.ts';

/** Rates measured on one adapter (runtime/calibrate.ts). */
export interface Calibration {
  /** The best matmul variant's rate (flop/s); the cost model's compute rate. */
  flopsPerSec: number;
  /** GFLOP/s of each matmul variant measured, by variant name. */
  matmulGflops: Record<string, number>;
  /** The matmul shape the variants were measured at, `M x K x N`. */
  matmulShape: string;
  /** A copy kernel's rate, bytes read + written per second. */
  bytesPerSec: number;
  /** Seconds one more dispatch of a trivial kernel adds inside one submission. */
  dispatchSec: number;
  /** `timestamps` (GPU timestamp queries) or `wall` (wall clock over repetitions). */
  method: 'timestamps' | 'wall';
  /** ISO time of the measurement. */
  at: string;
}

/** One measured candidate of one layer shape. */
export interface Measurement {
  ms: number;
  /** Dispatches of the whole schedule timed together, in one submission. */
  reps: number;
  method: 'timestamps' | 'wall';
  at: string;
}

/** shape key -> candidate key -> measurement. */
export type MeasuredTable = Record<string, Record<string, Measurement>>;

/** Plain-data knobs, with keys sorted, so equal knobs give equal text. */
function stableJson(x: unknown): string {
  if (Array.isArray(x)) return `[${x.map(stableJson).join(',')}]`;
  if (x && typeof x === 'object') {
    const o = x as Record<string, unknown>;
    return `{${Object.keys(o).sort().map((k) => `${JSON.stringify(k)}:${stableJson(o[k])}`).join(',')}}`;
  }
  return JSON.stringify(x);
}

/**
 * The key of a tunable node's shape: op, B, T and its knobs (not its label, layer or inputs), so
 * layers with identical mixers share one entry. Undefined for nodes that have no alternatives.
 */
export function shapeKey(n: Node, dims: { B: number; T: number }): string | undefined {
  const head = `B=${dims.B} T=${dims.T}`;
  if (n.op === 'linear_attn') return `linear_attn ${head} ${stableJson(n.knobs)}`;
  if (n.op === 'attention') return `attention ${head} ${stableJson(n.knobs)}`;
  if (n.op === 'family') return `family:${n.family} ${head} ${stableJson(n.attrs)}`;
  return undefined;
}

/** `recurrent`, `chunkwise(32)`, `parallel`, or with a kernel variant `parallel/tiled`, `chunkwise(32)/workgroup`. */
export function candidateKey(c: { schedule: string; chunk: number; variant?: string }): string {
  if (c.variant !== undefined) return c.chunk ? `${c.schedule}(${c.chunk})/${c.variant}` : `${c.schedule}/${c.variant}`;
  return c.chunk ? `${c.schedule}(${c.chunk})` : c.schedule;
}

export function lookupMeasured(table: MeasuredTable | undefined, shape: string | undefined, candidate: string): Measurement | undefined {
  if (!table || shape === undefined) return undefined;
  return Object.hasOwn(table, shape) && Object.hasOwn(table[shape], candidate) ? table[shape][candidate] : undefined;
}

/** A new table with one measurement recorded (replacing an older one of the same candidate). */
export function recordMeasured(table: MeasuredTable, shape: string, candidate: string, m: Measurement): MeasuredTable {
  return { ...table, [shape]: { ...(Object.hasOwn(table, shape) ? table[shape] : {}), [candidate]: m } };
}

/** Candidates with their measured times filled in from the table (where there is one). */
export function withMeasured(cands: Candidate[], table: MeasuredTable | undefined, shape: string | undefined): Candidate[] {
  return cands.map((c) => {
    const m = c.ok ? lookupMeasured(table, shape, candidateKey(c)) : undefined;
    return m ? { ...c, measuredMs: m.ms } : c;
  });
}

/**
 * auto's choice: the fastest measured candidate when any supported candidate was measured (a
 * measurement beats the model), else the lowest estimate. Ties: the earlier candidate.
 */
export function chooseAuto(cands: readonly Candidate[]): { pick: Candidate; basis: 'measured' | 'estimated' } | undefined {
  let measured: Candidate | undefined;
  let estimated: Candidate | undefined;
  for (const c of cands) {
    if (!c.ok) continue;
    if (c.measuredMs !== undefined && (!measured || c.measuredMs < measured.measuredMs!)) measured = c;
    if (!estimated || c.estimateMs! < estimated.estimateMs!) estimated = c;
  }
  if (measured) return { pick: measured, basis: 'measured' };
  return estimated ? { pick: estimated, basis: 'estimated' } : undefined;
}

/** The `why` of an auto choice. */
export function autoWhy(prefix: string, r: { pick: Candidate; basis: 'measured' | 'estimated' }): string {
  return r.basis === 'measured'
    ? `${prefix}: measured fastest (${r.pick.measuredMs!.toPrecision(3)} ms, loom tune; est. ${r.pick.estimateMs!.toPrecision(3)} ms)`
    : `${prefix}: lowest estimate (${r.pick.estimateMs!.toPrecision(3)} ms)`;
}
