/**
 * The schedules benchmark: linear_attn, gla and gated_delta ops alone (B=1, H=4, K=V=64) over T,
 * every schedule and chunk size auto considers, timed with runtime/measure.ts; auto's choice from
 * the cost model (with this adapter's calibration) compared with the measured fastest.
 */
import type { LinearAttnKnobs, Schedule } from '../compiler/ir/graph.ts';
import { linearAttnCost, linearAttnProgram, linearAttnSupports } from '../compiler/mixers/linear_attn/index.ts';
import { estimateMs } from '../compiler/plan/cost.ts';
import type { DeviceProfile } from '../compiler/plan/device.ts';
import { autoCandidates } from '../compiler/plan/plan.ts';
import { candidateKey } from '../compiler/plan/tuning.ts';
import type { Gpu } from '../runtime/gpu.ts';
import { fillForTiming, standalone, timeProgram, type TimeOptions } from '../runtime/measure.ts';
import { Program } from '../runtime/program.ts';

const BASE = { heads: 4, keyDim: 64, valueDim: 64, scale: 0.125, eps: 1e-6 };

export const BENCH_MIXERS: Record<string, LinearAttnKnobs> = {
  linear_attn: { ...BASE, feature: 'elu1', normalize: true, decay: { kind: 'none' }, update: 'additive' },
  gla: { ...BASE, feature: 'identity', normalize: false, decay: { kind: 'vector' }, update: 'additive' },
  gated_delta: { ...BASE, feature: 'identity', normalize: false, decay: { kind: 'scalar' }, update: 'delta' },
};

export interface SchedulePoint {
  mixer: string;
  T: number;
  /** Candidate key -> measured ms (second pass), or a string saying why it was not measured. */
  ms: Record<string, number | string>;
  /** Candidate key -> measured ms of the first pass (what `loom tune` would have stored). */
  tuneMs: Record<string, number>;
  /** Candidate key -> estimated ms. */
  est: Record<string, number>;
  /** auto's pick from the estimates, and from the first pass (tuned). */
  auto: string;
  tuned: string;
  /** The fastest in the second pass. */
  best: string;
  /** auto's (estimate) and tuned auto's second-pass time over the fastest second-pass time. */
  ratio: number;
  tunedRatio: number;
}

/** The schedules every point measures; auto's pick is added when it is another one. */
export const BENCH_SCHEDULES = ['parallel', 'chunkwise(64)', 'recurrent'];

export function opSpec(T: number, knobs: LinearAttnKnobs, schedule: Schedule, chunk: number) {
  const opt = (on: boolean, name: string) => (on ? name : null);
  const gated = knobs.decay.kind === 'scalar' || knobs.decay.kind === 'vector';
  return linearAttnProgram({
    label: 'bench',
    B: 1,
    T,
    knobs,
    schedule,
    chunk,
    buffers: { q: 'q', k: 'k', v: 'v', s0: 's0', z0: opt(knobs.normalize, 'z0'), g: opt(gated, 'g'), beta: opt(knobs.update === 'delta', 'beta'), o: 'o', S: 'S', z: opt(knobs.normalize, 'z') },
  });
}

/** Candidates with their estimates on this device, supported ones only. Pure. */
export function estimates(T: number, knobs: LinearAttnKnobs, device: DeviceProfile): { schedule: Schedule; chunk: number; key: string; est: number }[] {
  const d = { B: 1, T, knobs };
  return autoCandidates(T)
    .filter((c) => linearAttnSupports(c.schedule, { ...d, chunk: c.chunk }, device.limits).ok)
    .map((c) => ({ ...c, key: candidateKey(c), est: estimateMs(linearAttnCost(c.schedule, { ...d, chunk: c.chunk }), device) }));
}

export interface ScheduleBenchOptions {
  Ts: number[];
  /** Skip a candidate whose estimate is over this (ms). */
  maxEstimateMs: number;
  time: TimeOptions;
  log: (line: string) => void;
}

/**
 * Each point: every candidate's program created once, timed in a first pass (in candidate order)
 * and again in a second pass (reverse order). The first pass plays `loom tune`; the second judges
 * both auto's estimate-based pick and the tuned pick, so tuning gets no credit for timer noise.
 */
export async function scheduleBench(gpu: Gpu, device: DeviceProfile, o: ScheduleBenchOptions): Promise<SchedulePoint[]> {
  const points: SchedulePoint[] = [];
  for (const [mixer, knobs] of Object.entries(BENCH_MIXERS)) {
    for (const T of o.Ts) {
      const all = estimates(T, knobs, device);
      const auto = all.reduce((a, c) => (c.est < a.est ? c : a)).key;
      const cands = all.filter((c) => BENCH_SCHEDULES.includes(c.key) || c.key === auto);
      const ms: Record<string, number | string> = {};
      const tuneMs: Record<string, number> = {};
      const est: Record<string, number> = {};
      for (const c of autoCandidates(T)) {
        const why = linearAttnSupports(c.schedule, { B: 1, T, knobs, chunk: c.chunk }, device.limits);
        if (!why.ok && BENCH_SCHEDULES.includes(candidateKey(c))) ms[candidateKey(c)] = `not possible (${why.reason.split(':')[0]})`;
      }
      const programs: { key: string; program: Program }[] = [];
      try {
        for (const c of cands) {
          est[c.key] = c.est;
          if (c.est > o.maxEstimateMs) {
            ms[c.key] = `skipped (est. ${(c.est / 1000).toPrecision(2)} s)`;
            continue;
          }
          const spec = standalone(opSpec(T, knobs, c.schedule, c.chunk));
          const program = await Program.create(gpu, spec);
          fillForTiming(program, spec);
          programs.push({ key: c.key, program });
          tuneMs[c.key] = (await timeProgram(gpu, program, o.time)).ms;
        }
        for (const { key, program } of [...programs].reverse()) ms[key] = (await timeProgram(gpu, program, { ...o.time, warm: false })).ms;
      } finally {
        for (const { program } of programs) program.destroy();
      }
      const fastest = (m: Record<string, number | string>) => Object.entries(m).filter((e): e is [string, number] => typeof e[1] === 'number').reduce((a, e) => (e[1] < a[1] ? e : a))[0];
      const best = fastest(ms);
      const tuned = fastest(tuneMs);
      const at = (k: string) => (typeof ms[k] === 'number' ? (ms[k] as number) : Number.POSITIVE_INFINITY);
      const p: SchedulePoint = { mixer, T, ms, tuneMs, est, auto, tuned, best, ratio: at(auto) / at(best), tunedRatio: at(tuned) / at(best) };
      points.push(p);
      o.log(`schedules: ${mixer} T=${T}: best ${best} ${at(best).toFixed(2)} ms; auto ${auto} x${p.ratio.toFixed(2)}; tuned ${tuned} x${p.tunedRatio.toFixed(2)}`);
    }
  }
  return points;
}

/** Re-picks auto for saved points under another device profile (to evaluate a cost model offline). Pure. */
export function rescore(points: SchedulePoint[], device: DeviceProfile): { within10: number; total: number; worst: number } {
  let within10 = 0;
  let worst = 1;
  for (const p of points) {
    const cands = estimates(p.T, BENCH_MIXERS[p.mixer], device);
    const auto = cands.reduce((a, c) => (c.est < a.est ? c : a)).key;
    const autoMs = typeof p.ms[auto] === 'number' ? (p.ms[auto] as number) : Number.POSITIVE_INFINITY;
    const r = autoMs / (p.ms[p.best] as number);
    if (r <= 1.1) within10++;
    worst = Math.max(worst, r);
  }
  return { within10, total: points.length, worst };
}
