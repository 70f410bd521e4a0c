/**
 * `loom tune`: measures every legal candidate of each distinct layer shape of a compiled graph on
 * this adapter (compiler/plan/tune-targets.ts says what; runtime/measure.ts times it) and records
 * the times in a MeasuredTable, which `auto` then prefers to the cost model's estimates.
 */
import type { Graph } from '../compiler/ir/graph.ts';
import type { DeviceProfile } from '../compiler/plan/device.ts';
import { candidateProgram, tuneTargets } from '../compiler/plan/tune-targets.ts';
import { candidateKey, recordMeasured, type MeasuredTable } from '../compiler/plan/tuning.ts';
import type { Gpu } from './gpu.ts';
import { timeSpec, type TimeOptions } from './measure.ts';

export interface TunedCandidate {
  key: string;
  estimateMs?: number;
  measuredMs?: number;
  /** Why it was not measured: unsupported (the planner's reason) or skipped (hopeless estimate). */
  skipped?: string;
}

export interface TunedShape {
  shape: string;
  labels: string[];
  candidates: TunedCandidate[];
  /** The fastest measured candidate, and the one the estimates alone would pick. */
  best?: string;
  byEstimate?: string;
}

export interface TuneOptions {
  /** Candidates estimated above this many milliseconds are skipped (default 20000). */
  maxEstimateMs?: number;
  time?: TimeOptions;
  /** Called before each measurement: done so far, total, what. */
  progress?: (done: number, total: number, what: string) => void;
}

/** Measures the graph's candidates; returns the report and the table with the new measurements. */
export async function tuneGraph(gpu: Gpu, g: Graph, device: DeviceProfile, table: MeasuredTable, o: TuneOptions = {}): Promise<{ shapes: TunedShape[]; table: MeasuredTable }> {
  const maxEst = o.maxEstimateMs ?? 20000;
  const targets = tuneTargets(g, device);
  const total = targets.reduce((a, t) => a + t.candidates.filter((c) => c.ok && c.estimateMs! <= maxEst).length, 0);
  let done = 0;
  const shapes: TunedShape[] = [];
  for (const t of targets) {
    const out: TunedCandidate[] = [];
    for (const c of t.candidates) {
      const key = candidateKey(c);
      if (!c.ok) {
        out.push({ key, skipped: `not possible: ${c.reason}` });
        continue;
      }
      if (c.estimateMs! > maxEst) {
        out.push({ key, estimateMs: c.estimateMs, skipped: `skipped (est. ${(c.estimateMs! / 1000).toPrecision(3)} s)` });
        continue;
      }
      o.progress?.(done, total, `${t.labels[0]} ${key}`);
      const timed = await timeSpec(gpu, candidateProgram(t.node, c, g.dims), o.time);
      done++;
      table = recordMeasured(table, t.shape, key, { ms: timed.ms, reps: timed.reps, method: timed.method, at: new Date().toISOString() });
      out.push({ key, estimateMs: c.estimateMs, measuredMs: timed.ms });
    }
    const fastest = (f: (c: TunedCandidate) => number | undefined) =>
      out.filter((c) => f(c) !== undefined).reduce<TunedCandidate | undefined>((a, c) => (!a || f(c)! < f(a)! ? c : a), undefined)?.key;
    shapes.push({ shape: t.shape, labels: t.labels, candidates: out, best: fastest((c) => c.measuredMs), byEstimate: fastest((c) => (c.skipped?.startsWith('not') ? undefined : c.estimateMs)) });
  }
  o.progress?.(done, total, 'done');
  return { shapes, table };
}
