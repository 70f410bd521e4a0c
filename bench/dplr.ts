/**
 * The DPLR recurrence's schedules: `dplr_delta_rule` (the general form) and `kda` alone, B=1, H=4,
 * K=V=64, recurrent against chunkwise(C) at T = 1024 and 4096, with GLA's two schedules at the same
 * sizes measured in the same run for scale, and auto's pick from the cost model. Each time is the
 * fastest of five rounds that alternate the schedules' order. Inputs in range: a
 * unit, b = -a r with r in (0, 1), k and unit keys (kda) as the device tests use them, log-gates
 * -0.1 |N(0, 0.5)|.
 *
 * Section `dplr` of `npm run bench` (`npm run bench -- --only dplr`).
 */
import { loadavg } from 'node:os';
import type { ScheduleChoice } from '../compiler/check/spec.ts';
import { dplrOpProgram } from '../compiler/mixers/linear_attn/dplr/ops.ts';
import { opProgram, type OpProgram } from '../compiler/mixers/linear_attn/op-program.ts';
import { FLA_OPS, type OpDims } from '../compiler/mixers/linear_attn/ops.ts';
import type { DeviceProfile } from '../compiler/plan/device.ts';
import type { Gpu } from '../runtime/gpu.ts';
import { fillForTiming, timeProgram } from '../runtime/measure.ts';
import { Program } from '../runtime/program.ts';
import { Rng } from '../runtime/random.ts';

export interface DplrRow {
  op: string;
  T: number;
  /** Schedule key -> measured ms. */
  ms: Record<string, number>;
  /** Schedule key -> the cost model's estimate (ms). */
  est: Record<string, number>;
  auto: string;
}

const key = (p: { schedule: string; chunk: number }) => (p.schedule === 'chunkwise' ? `chunkwise(${p.chunk})` : p.schedule);

function build(op: string, d: OpDims, schedule: ScheduleChoice, device: DeviceProfile): OpProgram {
  const p = op in FLA_OPS ? opProgram(FLA_OPS[op], d, { normalize: false, schedule }, device) : dplrOpProgram(op, d, { schedule }, device);
  if ('error' in p) throw new Error(`${op}: ${p.error}`);
  return p;
}

/** Unit rows of K, and b = -a r (r in (0, 1)): a transition that neither grows nor needs denormals. */
function fillPair(program: Program, d: OpDims, rng: Rng, names: string[]): void {
  const n = d.B * d.T * d.H * d.K;
  const a = rng.normals(n);
  for (let o = 0; o < n; o += d.K) {
    const s = Math.hypot(...a.subarray(o, o + d.K));
    for (let i = o; i < o + d.K; i++) a[i] /= s;
  }
  if (names.includes('a')) program.write('a', a);
  if (names.includes('b')) program.write('b', Float32Array.from(a, (x) => -x * rng.next()));
  program.write('k', names.includes('a') ? rng.normals(n, 1 / Math.sqrt(d.K)) : a);
}

export async function dplrBench(gpu: Gpu, device: DeviceProfile, o: { quick: boolean; log: (line: string) => void }): Promise<{ rows: DplrRow[]; dims: OpDims; loadEnd: number[] }> {
  const base = { B: 1, H: 4, K: 64, V: 64 };
  const rows: DplrRow[] = [];
  const time = { targetMs: o.quick ? 30 : 80, rounds: 2 };
  for (const T of o.quick ? [256, 1024] : [1024, 4096]) {
    const d = { ...base, T };
    for (const op of ['dplr_delta_rule', 'kda', 'gla']) {
      const auto = build(op, d, { kind: 'auto' }, device);
      const est = Object.fromEntries(auto.candidates.filter((c) => c.ok).map((c) => [key(c), c.estimateMs!]));
      const choices: ScheduleChoice[] = [{ kind: 'recurrent' }, { kind: 'chunkwise', chunk: 64 }];
      if (op !== 'gla') choices.push({ kind: 'chunkwise', chunk: 16 });
      // Every schedule's program made first, then timed in five rounds in alternating order; the
      // fastest round of each counts (other jobs on the machine only ever add time).
      const ms: Record<string, number> = {};
      const programs: { key: string; program: Program }[] = [];
      try {
        for (const choice of choices) {
          const p = build(op, d, choice, device);
          const program = await Program.create(gpu, p.spec);
          fillForTiming(program, p.spec);
          fillPair(program, d, new Rng(T), p.spec.buffers.map((b) => b.name));
          programs.push({ key: key(p), program });
        }
        for (let round = 0; round < 5; round++) {
          for (const { key: k, program } of round % 2 ? [...programs].reverse() : programs) {
            const t = (await timeProgram(gpu, program, { ...time, warm: round === 0 })).ms;
            ms[k] = Math.min(ms[k] ?? Infinity, t);
          }
        }
      } finally {
        for (const { program } of programs) program.destroy();
      }
      o.log(`dplr: ${op} T=${T} ${Object.entries(ms).map(([k, t]) => `${k} ${t.toFixed(1)} ms`).join(', ')}`);
      rows.push({ op, T, ms, est, auto: key(auto) });
    }
  }
  return { rows, dims: { ...base, T: 0 }, loadEnd: loadavg().map((x) => Math.round(x * 100) / 100) };
}

export function dplrMd(r: { rows: DplrRow[]; dims: OpDims; loadEnd?: number[] }): string[] {
  const fmt = (x: number | undefined) => (x === undefined ? 'n/a' : x < 10 ? x.toFixed(2) : x.toFixed(1));
  const out = ['## DPLR recurrence', '', `One op alone (\`loom op\`'s programs), B=${r.dims.B}, H=${r.dims.H}, K=V=${r.dims.K}; milliseconds per call (GPU timestamps over repeated dispatches). dplr_delta_rule is the general diagonal-plus-low-rank transition (a, b, gk given); kda adds its elementwise kernel (a = exp(g) k, b = -beta k, beta v); gla (a = b = 0, its own kernels) is measured in the same run for scale. auto is the cost model's pick (estimate in brackets).`, ''];
  out.push('| op | T | recurrent | chunkwise(16) | chunkwise(64) | chunkwise(64) / recurrent | auto picks |', '|---|---:|---:|---:|---:|---:|---|');
  for (const x of r.rows) {
    const ratio = x.ms['chunkwise(64)'] / x.ms.recurrent;
    out.push(`| ${x.op} | ${x.T} | ${fmt(x.ms.recurrent)} | ${fmt(x.ms['chunkwise(16)'])} | ${fmt(x.ms['chunkwise(64)'])} | ${ratio.toFixed(2)} | ${x.auto} (est. ${fmt(x.est[x.auto])}) |`);
  }
  out.push('', `Load average when the section ended: ${r.loadEnd?.join(' / ') ?? 'n/a'} (1 / 5 / 15 min; the machine has 2 cores).`, '');
  return out;
}
