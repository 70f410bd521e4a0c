/**
 * `npm run bench`: measured side by side in one run on this machine's adapter, written to
 * bench/RESULTS.md (dated, with the adapter) and bench/results.json.
 *
 * 1. linear attention schedules (B=1, H=4, K=V=64, elu1 normalized) over T, and auto's choice;
 * 2. matmul kernel variants;
 * 3. a whole forward pass of models/linear-transformer.loom per schedule.
 * Each figure is the median of repeated runs after warm-up (the first dispatch of a pipeline
 * compiles it on lavapipe); every run is one submission waited on.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { ProgramSpec } from '../compiler/codegen/program.ts';
import { matmulKernel, matmulVariants } from '../compiler/codegen/kernels/index.ts';
import type { LinearAttnKnobs, Schedule } from '../compiler/ir/graph.ts';
import { linearAttnProgram, linearAttnSupports, linearAttnCost } from '../compiler/mixers/linear_attn/index.ts';
import { estimateMs } from '../compiler/plan/cost.ts';
import { autoCandidates } from '../compiler/plan/plan.ts';
import { compileSource } from '../compiler/pipeline.ts';
import { acquireGpu, deviceProfile, type Gpu } from '../runtime/gpu.ts';
import { Program } from '../runtime/program.ts';
import { Rng } from '../runtime/random.ts';
import { Session } from '../runtime/session.ts';
import { seededWeights } from '../runtime/weights.ts';

const quick = process.argv.includes('--quick');
const REPS = quick ? 3 : 7;

async function median(fn: () => Promise<void>, reps = REPS): Promise<number> {
  await fn();
  await fn();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

async function timeProgram(gpu: Gpu, spec: ProgramSpec): Promise<number> {
  const p = await Program.create(gpu, spec);
  const rng = new Rng(1);
  for (const b of spec.buffers) if (b.elem === 'f32') p.write(b.name, rng.normals(b.elements, 0.5));
  const ms = await median(() => p.run());
  p.destroy();
  return ms;
}

/** A linear-attention op alone, with its input and output buffers declared. */
function attnSpec(T: number, knobs: LinearAttnKnobs, schedule: Schedule, chunk: number): ProgramSpec {
  const { heads: H, keyDim: K, valueDim: V } = knobs;
  const spec = linearAttnProgram({ label: 'bench', B: 1, T, knobs, schedule, chunk, buffers: { q: 'q', k: 'k', v: 'v', s0: 's0', z0: 'z0', g: null, beta: null, o: 'o', S: 'S', z: 'z' } });
  const sizes: Record<string, number> = { q: T * H * K, k: T * H * K, v: T * H * V, s0: H * K * V, z0: H * K, o: T * H * V, S: H * K * V, z: H * K };
  spec.buffers.push(...Object.entries(sizes).map(([name, elements]) => ({ name, elements, elem: 'f32' as const, role: 'activation' as const })));
  return spec;
}

const fmt = (ms: number | undefined) => (ms === undefined ? 'n/a' : ms < 10 ? ms.toFixed(2) : ms.toFixed(1));

async function schedules(gpu: Gpu, lines: string[], json: Record<string, unknown>) {
  const knobs: LinearAttnKnobs = { heads: 4, keyDim: 64, valueDim: 64, feature: 'elu1', normalize: true, scale: 0.125, eps: 1e-6, decay: { kind: 'none' }, update: 'additive' };
  const Ts = quick ? [64, 256, 1024] : [64, 256, 1024, 4096];
  const kinds: [Schedule, number][] = [['parallel', 0], ['chunkwise', 64], ['recurrent', 0]];
  const device = deviceProfile(gpu);
  lines.push('## Linear attention schedules', '', 'B=1, H=4, K=V=64, elu1 features, normalized; milliseconds per call (median).', '');
  lines.push('| T | parallel | chunkwise(64) | recurrent | auto picks | auto / best |', '|---:|---:|---:|---:|---|---:|');
  const rows = [];
  for (const T of Ts) {
    const ms: Record<string, number | undefined> = {};
    for (const [schedule, chunk] of kinds) {
      if (schedule === 'parallel' && T > 2048) continue; // O(T^2): minutes on a CPU adapter
      ms[`${schedule}${chunk || ''}`] = await timeProgram(gpu, attnSpec(T, knobs, schedule, chunk));
    }
    const cands = autoCandidates(T).filter((c) => linearAttnSupports(c.schedule, { B: 1, T, knobs, chunk: c.chunk }, device.limits).ok);
    const pick = cands.map((c) => ({ ...c, est: estimateMs(linearAttnCost(c.schedule, { B: 1, T, knobs, chunk: c.chunk }), device) })).sort((a, b) => a.est - b.est)[0];
    const pickKey = `${pick.schedule}${pick.chunk || ''}`;
    const pickName = pick.schedule === 'chunkwise' ? `chunkwise(${pick.chunk})` : pick.schedule;
    if (!(pickKey in ms)) ms[pickKey] = await timeProgram(gpu, attnSpec(T, knobs, pick.schedule, pick.chunk));
    const best = Math.min(...Object.values(ms).filter((x): x is number => x !== undefined));
    lines.push(`| ${T} | ${fmt(ms.parallel)} | ${fmt(ms.chunkwise64)} | ${fmt(ms.recurrent)} | ${pickName} (${fmt(ms[pickKey])}) | ${(ms[pickKey]! / best).toFixed(2)} |`);
    rows.push({ T, ms, auto: pickName });
    process.stderr.write(`bench: schedules T=${T} done\n`);
  }
  json.schedules = rows;
  lines.push('');
}

async function matmuls(gpu: Gpu, lines: string[], json: Record<string, unknown>) {
  const shapes = [{ M: 256, K: 512, N: 512, transposeW: false }, { M: 512, K: 128, N: 256, transposeW: true }];
  lines.push('## Matmul variants', '', 'Milliseconds per call (median); GFLOP/s in brackets.', '');
  lines.push('| M x K x N | W | register4x4 | naive | workgroup16 |', '|---|---|---:|---:|---:|');
  const rows = [];
  for (const d of shapes) {
    const cells: string[] = [];
    const ms: Record<string, number> = {};
    for (const v of matmulVariants(d, gpu.limits, true)) {
      if (!v.ok) continue;
      const kernel = matmulKernel({ ...d, name: `bench.${v.variant}`, variant: v.variant });
      ms[v.variant] = await timeProgram(gpu, {
        buffers: kernel.bindings.map((b) => ({ name: b.name, elements: b.elements, elem: b.elem, role: 'activation' as const })),
        steps: [{ kernel, args: kernel.bindings.map((b) => b.name) }],
      });
    }
    for (const v of ['register4x4', 'naive', 'workgroup16']) {
      cells.push(ms[v] === undefined ? 'n/a' : `${fmt(ms[v])} (${((2 * d.M * d.K * d.N) / ms[v] / 1e6).toFixed(1)})`);
    }
    lines.push(`| ${d.M} x ${d.K} x ${d.N} | ${d.transposeW ? '[N,K]' : '[K,N]'} | ${cells.join(' | ')} |`);
    rows.push({ ...d, ms });
  }
  json.matmul = rows;
  lines.push('');
}

async function model(gpu: Gpu, lines: string[], json: Record<string, unknown>) {
  const path = 'models/linear-transformer.loom';
  const T = quick ? 256 : 1024;
  lines.push(`## Forward pass of ${path}`, '', `B=1, T=${T}, seeded weights; milliseconds per forward (one submission).`, '');
  lines.push('| schedule | ms | tokens/s |', '|---|---:|---:|');
  const rows = [];
  for (const schedule of ['parallel', 'chunkwise', 'recurrent', 'auto'] as const) {
    const choice = schedule === 'chunkwise' ? { kind: 'chunkwise' as const, chunk: 64 } : { kind: schedule };
    const r = compileSource(readFileSync(path, 'utf8'), path, { batch: 1, seq: T, schedule: choice, device: deviceProfile(gpu) });
    if (!r.ok) throw new Error(r.diagnostics.map((d) => d.message).join('\n'));
    const s = await Session.create(gpu, r.compiled, seededWeights(r.compiled.graph.weights, 0));
    const rng = new Rng(3);
    const tokens = Int32Array.from({ length: T }, () => rng.int(256));
    const ms = await median(async () => void (await s.forward(tokens)));
    s.destroy();
    const picked = r.compiled.plan.mixers[0];
    const name = schedule === 'auto' ? `auto (${picked.schedule}${picked.chunk ? `(${picked.chunk})` : ''})` : schedule === 'chunkwise' ? 'chunkwise(64)' : schedule;
    lines.push(`| ${name} | ${fmt(ms)} | ${Math.round((T / ms) * 1000)} |`);
    rows.push({ schedule: name, ms });
  }
  json.model = rows;
  lines.push('');
}

const gpu = await acquireGpu();
const adapter = deviceProfile(gpu).name;
const date = new Date().toISOString().slice(0, 10);
const lines = [`# Benchmark results`, '', `Run on ${date}, adapter: ${adapter}${gpu.adapter.isCpu ? ' (CPU adapter)' : ''}, ${quick ? 'quick mode' : 'full mode'}.`, 'All numbers in one table come from the same run, side by side.', ''];
const json: Record<string, unknown> = { date, adapter };
await schedules(gpu, lines, json);
await matmuls(gpu, lines, json);
await model(gpu, lines, json);
writeFileSync('bench/RESULTS.md', lines.join('\n'));
writeFileSync('bench/results.json', JSON.stringify(json, null, 2) + '\n');
process.stdout.write(lines.join('\n') + '\n');
process.exit(0);
