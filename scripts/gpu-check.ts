/**
 * `node bin/run-ts.js scripts/gpu-check.ts [OUT_DIR] [--only parts]`: one short script for a real GPU (or any
 * adapter): every model in models/ against the float64 reference with the plan the device gets
 * (its device class picks the kernel variants), in each schedule and through a decode step, then
 * timings side by side: linear-recurrence schedules, matmul variants, attention variants, a
 * model's forward and decode, and the device-class choices side by side (fusion levels, chunkwise
 * kernel variants, f16 weights). Prints a report and writes gpu-check.md / gpu-check.json to OUT_DIR.
 * Needs no ts-morph (bundle it with only `webgpu` external).
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ScheduleChoice } from '../compiler/check/spec.ts';
import { matmulKernel, matmulVariants } from '../compiler/codegen/kernels/index.ts';
import type { ProgramSpec } from '../compiler/codegen/program.ts';
import type { LinearAttnKnobs, Schedule } from '../compiler/ir/graph.ts';
import { linearAttnProgram, linearAttnSupports } from '../compiler/mixers/linear_attn/index.ts';
import { compileSource, type Compiled } from '../compiler/pipeline.ts';
import { acquireGpu, deviceProfile, type Gpu } from '../runtime/gpu.ts';
import { Program } from '../runtime/program.ts';
import { Rng } from '../runtime/random.ts';
import { interpretGraph } from '../runtime/reference/interpret.ts';
import { Session } from '../runtime/session.ts';
import { seededWeights } from '../runtime/weights.ts';

const outDir = process.argv[2] && !process.argv[2].startsWith('--') ? process.argv[2] : '.';
/** `--only a,b`: run only these parts (correctness, matmul, schedules, forwards, variants). */
const onlyAt = process.argv.indexOf('--only');
const only = onlyAt >= 0 ? new Set((process.argv[onlyAt + 1] ?? '').split(',')) : undefined;
const started = performance.now();
const lines: string[] = [];
const json: Record<string, unknown> = {};
const say = (s: string) => {
  lines.push(s);
  process.stdout.write(s + '\n');
};
const elapsed = () => (performance.now() - started) / 1000;

function relErr(out: ArrayLike<number>, ref: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < ref.length; i++) {
    const d = out[i] - ref[i];
    num += d * d;
    den += ref[i] * ref[i];
  }
  return Number.isFinite(num) ? Math.sqrt(num / Math.max(den, 1e-30)) : Infinity;
}

function compile(gpu: Gpu, path: string, seq: number, schedule?: ScheduleChoice): Compiled | string {
  const r = compileSource(readFileSync(path, 'utf8'), path, { batch: 1, seq, device: deviceProfile(gpu), ...(schedule ? { schedule } : {}) });
  return r.ok ? r.compiled : r.diagnostics.map((d) => d.message).join('; ');
}

async function median(fn: () => Promise<void>, reps = 5): Promise<number> {
  await fn();
  const t: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await fn();
    t.push(performance.now() - t0);
  }
  return t.sort((a, b) => a - b)[Math.floor(reps / 2)];
}

async function correctness(gpu: Gpu): Promise<void> {
  say('## Every model against the float64 reference (B=1, T=48; worst rms(out-ref)/rms(ref) of the logits)');
  say('');
  say('| model | auto | parallel | chunkwise(16) | recurrent | prefill 47 + step |');
  say('|---|---|---|---|---|---|');
  const rows: unknown[] = [];
  const T = 48;
  for (const f of readdirSync('models').filter((x) => x.endsWith('.loom')).sort()) {
    const path = `models/${f}`;
    const cells: string[] = [];
    const ids = Int32Array.from({ length: T }, (_, i) => (i * 37 + 11) % 256);
    for (const schedule of [undefined, { kind: 'parallel' }, { kind: 'chunkwise', chunk: 16 }, { kind: 'recurrent' }] as (ScheduleChoice | undefined)[]) {
      try {
        const c = compile(gpu, path, T, schedule);
        if (typeof c === 'string') {
          cells.push('refused');
          continue;
        }
        const w = seededWeights(c.graph.weights, 7);
        const s = await Session.create(gpu, c, w);
        const out = await s.forward(ids);
        s.destroy();
        const e = relErr(out.logits, interpretGraph(c.graph, w, ids).outputs.logits);
        cells.push(`${e.toExponential(1)}${e < 1e-4 ? '' : ' FAIL'}`);
      } catch (err) {
        cells.push(`error: ${String((err as Error).message).slice(0, 60)}`);
      }
    }
    try {
      const a = compile(gpu, path, T - 1);
      const b = compile(gpu, path, 1);
      const full = compile(gpu, path, T, { kind: 'recurrent' });
      if (typeof a === 'string' || typeof b === 'string' || typeof full === 'string') cells.push('n/a');
      else if (!Object.keys(a.graph.outputs).some((k) => k !== 'logits')) cells.push('no state');
      else {
        const w = seededWeights(a.graph.weights, 7);
        const sa = await Session.create(gpu, a, w);
        const p = await sa.forward(ids.subarray(0, T - 1));
        sa.destroy();
        const sb = await Session.create(gpu, b, w);
        const q = await sb.forward(ids.subarray(T - 1), p.states);
        sb.destroy();
        const ref = interpretGraph(full.graph, w, ids).outputs.logits;
        const vocab = q.logits.length;
        const e = relErr(q.logits, ref.subarray((T - 1) * vocab));
        cells.push(`${e.toExponential(1)}${e < 1e-4 ? '' : ' FAIL'}`);
      }
    } catch (err) {
      cells.push(`error: ${String((err as Error).message).slice(0, 60)}`);
    }
    say(`| ${f} | ${cells.join(' | ')} |`);
    rows.push({ model: f, cells });
  }
  json.correctness = rows;
  say('');
}

function attnSpec(T: number, knobs: LinearAttnKnobs, schedule: Schedule, chunk: number, variant?: 'register' | 'workgroup'): ProgramSpec {
  const { heads: H, keyDim: K, valueDim: V } = knobs;
  const gated = knobs.decay.kind === 'scalar' || knobs.decay.kind === 'vector';
  const delta = knobs.update === 'delta';
  const spec = linearAttnProgram({
    label: 'bench', B: 1, T, knobs, schedule, chunk, ...(variant ? { variant } : {}),
    buffers: { q: 'q', k: 'k', v: 'v', s0: 's0', z0: knobs.normalize ? 'z0' : null, g: gated ? 'g' : null, beta: delta ? 'beta' : null, o: 'o', S: 'S', z: knobs.normalize ? 'z' : null },
  });
  const sizes: Record<string, number> = { q: T * H * K, k: T * H * K, v: T * H * V, s0: H * K * V, o: T * H * V, S: H * K * V };
  if (knobs.normalize) Object.assign(sizes, { z0: H * K, z: H * K });
  if (gated) sizes.g = T * H * (knobs.decay.kind === 'vector' ? K : 1);
  if (delta) sizes.beta = T * H;
  spec.buffers.push(...Object.entries(sizes).map(([name, elements]) => ({ name, elements, elem: 'f32' as const, role: 'activation' as const })));
  return spec;
}

async function timeProgram(gpu: Gpu, spec: ProgramSpec): Promise<number> {
  const p = await Program.create(gpu, spec);
  const rng = new Rng(1);
  for (const b of spec.buffers) {
    if (b.elem !== 'f32') continue;
    const x = rng.normals(b.elements, 0.3);
    if (b.name === 'g') x.forEach((v, i) => (x[i] = -Math.log1p(Math.exp(v)) * 0.1));
    if (b.name === 'beta') x.forEach((v, i) => (x[i] = 1 / (1 + Math.exp(-v))));
    p.write(b.name, x);
  }
  const ms = await median(() => p.run());
  p.destroy();
  return ms;
}

async function schedules(gpu: Gpu): Promise<void> {
  const base = { heads: 4, keyDim: 64, valueDim: 64, scale: 0.125, eps: 1e-6 };
  const mixers: [string, LinearAttnKnobs][] = [
    ['linear_attn', { ...base, feature: 'elu1', normalize: true, decay: { kind: 'none' }, update: 'additive' }],
    ['gla', { ...base, feature: 'identity', normalize: false, decay: { kind: 'vector' }, update: 'additive' }],
    ['gated_delta', { ...base, feature: 'identity', normalize: false, decay: { kind: 'scalar' }, update: 'delta' }],
  ];
  const device = deviceProfile(gpu);
  say('## Schedules (B=1, H=4, K=V=64; ms per call, median of 5)');
  say('');
  say('| mixer | T | parallel | chunkwise(64) | recurrent |');
  say('|---|---:|---:|---:|---:|');
  const rows: unknown[] = [];
  for (const [name, knobs] of mixers) {
    for (const T of [1024, 4096, 16384]) {
      const cells: string[] = [];
      for (const [schedule, chunk] of [['parallel', 0], ['chunkwise', 64], ['recurrent', 0]] as [Schedule, number][]) {
        const ok = linearAttnSupports(schedule, { B: 1, T, knobs, chunk }, device.limits);
        if (!ok.ok || elapsed() > 280) {
          cells.push(ok.ok ? 'skipped (time)' : 'refused');
          continue;
        }
        try {
          cells.push((await timeProgram(gpu, attnSpec(T, knobs, schedule, chunk))).toFixed(2));
        } catch (err) {
          cells.push(`error ${String((err as Error).message).slice(0, 40)}`);
        }
      }
      say(`| ${name} | ${T} | ${cells.join(' | ')} |`);
      rows.push({ name, T, cells });
    }
  }
  json.schedules = rows;
  say('');
}

async function matmuls(gpu: Gpu): Promise<void> {
  say('## Matmul variants (GFLOP/s, median of 5)');
  say('');
  say('| M x K x N | variant | ms | GFLOP/s |');
  say('|---|---|---:|---:|');
  const rows: unknown[] = [];
  for (const d of [{ M: 1024, K: 1024, N: 1024, transposeW: false }, { M: 4096, K: 1024, N: 4096, transposeW: false }]) {
    for (const v of matmulVariants(d, gpu.limits, gpu.adapter.isCpu)) {
      if (!v.ok) continue;
      const kernel = matmulKernel({ ...d, name: `mm.${v.variant}`, variant: v.variant });
      const ms = await timeProgram(gpu, { buffers: kernel.bindings.map((b) => ({ name: b.name, elements: b.elements, elem: b.elem, role: 'activation' as const })), steps: [{ kernel, args: kernel.bindings.map((b) => b.name) }] });
      const gflops = (2 * d.M * d.K * d.N) / ms / 1e6;
      say(`| ${d.M} x ${d.K} x ${d.N} | ${v.variant} | ${ms.toFixed(3)} | ${gflops.toFixed(0)} |`);
      rows.push({ ...d, variant: v.variant, ms, gflops });
    }
  }
  json.matmul = rows;
  say('');
}

async function forwards(gpu: Gpu): Promise<void> {
  say('## Model forward and decode (B=1, seeded weights; ms, median of 5)');
  say('');
  say('| model | T | schedule | forward ms | tokens/s | step ms |');
  say('|---|---:|---|---:|---:|---:|');
  const rows: unknown[] = [];
  for (const f of ['linear-transformer.loom', 'gated-deltanet.loom', 'gla.loom', 'transformer.loom']) {
    const path = `models/${f}`;
    for (const T of [1024, 4096]) {
      if (elapsed() > 340) break;
      const c = compile(gpu, path, T);
      const step = compile(gpu, path, 1);
      if (typeof c === 'string' || typeof step === 'string') continue;
      const w = seededWeights(c.graph.weights, 0);
      const ids = Int32Array.from({ length: T }, (_, i) => (i * 31) % 256);
      const s = await Session.create(gpu, c, w);
      const ms = await median(async () => void (await s.forward(ids)));
      s.destroy();
      const st = await Session.create(gpu, step, w);
      const stepMs = await median(async () => void (await st.forward(ids.subarray(0, 1))));
      st.destroy();
      const sched = c.plan.mixers.map((m) => `${m.schedule}${m.chunk ? `(${m.chunk})` : ''}`).filter((x, i, a) => a.indexOf(x) === i).join('/');
      say(`| ${f} | ${T} | ${sched} | ${ms.toFixed(2)} | ${Math.round((T / ms) * 1000)} | ${stepMs.toFixed(2)} |`);
      rows.push({ model: f, T, sched, ms, stepMs });
    }
  }
  json.forwards = rows;
  say('');
}

/**
 * The choices made on lavapipe without a GPU, side by side on this adapter: fusion levels
 * (none / pointwise / all: on a GPU-class adapter `all` recomputes norms per reading kernel),
 * the chunkwise kernel variants (register / workgroup), f32 against f16 weights. Forwards
 * alternate call by call; medians.
 */
async function variants(gpu: Gpu): Promise<void> {
  const device = deviceProfile(gpu);
  const rows: unknown[] = [];
  say('## Variants side by side (B=1; ms, medians of alternating calls)');
  say('');
  say('| what | T | A | B | C |');
  say('|---|---:|---|---|---|');
  const alternate = async (fns: (() => Promise<unknown>)[], reps = 9) => {
    for (const f of fns) await f();
    const t = fns.map(() => [] as number[]);
    for (let i = 0; i < reps; i++) {
      for (const [j, f] of fns.entries()) {
        const t0 = performance.now();
        await f();
        t[j].push(performance.now() - t0);
      }
    }
    return t.map((x) => x.sort((a, b) => a - b)[Math.floor(reps / 2)]);
  };
  for (const f of ['gla.loom', 'linear-transformer.loom']) {
    if (elapsed() > 420) break;
    const path = `models/${f}`;
    const T = 4096;
    const sessions: { label: string; s: Session }[] = [];
    for (const level of ['none', 'pointwise', 'all'] as const) {
      const r = compileSource(readFileSync(path, 'utf8'), path, { batch: 1, seq: T, device, fuse: level });
      if (!r.ok) continue;
      sessions.push({ label: `${level} (${r.compiled.program.steps.length} kernels)`, s: await Session.create(gpu, r.compiled, seededWeights(r.compiled.graph.weights, 0)) });
    }
    const ids = Int32Array.from({ length: T }, (_, i) => (i * 31) % 256);
    const ms = await alternate(sessions.map(({ s }) => () => s.forward(ids)));
    say(`| fusion ${f} | ${T} | ${sessions.map((x, i) => `${x.label} ${ms[i].toFixed(2)}`).join(' | ')} |`);
    rows.push({ what: 'fusion', model: f, T, levels: sessions.map((x, i) => ({ level: x.label, ms: ms[i] })) });
    for (const x of sessions) x.s.destroy();
  }
  const gla: LinearAttnKnobs = { heads: 4, keyDim: 64, valueDim: 64, scale: 0.125, eps: 1e-6, feature: 'identity', normalize: false, decay: { kind: 'vector' }, update: 'additive' };
  for (const T of [4096, 16384]) {
    if (elapsed() > 440) break;
    const programs: Program[] = [];
    for (const variant of ['register', 'workgroup'] as const) {
      const spec = attnSpec(T, gla, 'chunkwise', 64, variant);
      const p = await Program.create(gpu, spec);
      const rng = new Rng(2);
      for (const b of spec.buffers) p.write(b.name, b.name === 'g' ? rng.normals(b.elements, 0.3).map((v) => -Math.log1p(Math.exp(v)) * 0.1) : rng.normals(b.elements, 0.3));
      programs.push(p);
    }
    const ms = await alternate(programs.map((p) => () => p.run()));
    say(`| gla chunkwise(64) op, H=4 K=V=64 | ${T} | register ${ms[0].toFixed(2)} | workgroup ${ms[1].toFixed(2)} | |`);
    rows.push({ what: 'chunk-variant', T, register: ms[0], workgroup: ms[1] });
    for (const p of programs) p.destroy();
  }
  if (device.shaderF16 && elapsed() < 460) {
    const path = 'models/gla.loom';
    for (const T of [1, 4096]) {
      const sessions: Session[] = [];
      for (const weights of ['f32', 'f16'] as const) {
        const r = compileSource(readFileSync(path, 'utf8'), path, { batch: 1, seq: T, device, weights });
        if (r.ok) sessions.push(await Session.create(gpu, r.compiled, seededWeights(r.compiled.graph.weights, 0)));
      }
      if (sessions.length !== 2) continue;
      const ids = Int32Array.from({ length: T }, (_, i) => (i * 31) % 256);
      const ms = await alternate(sessions.map((s) => () => s.forward(ids)));
      say(`| weights f32 / f16, gla.loom ${T === 1 ? 'decode step' : 'forward'} | ${T} | f32 ${ms[0].toFixed(3)} | f16 ${ms[1].toFixed(3)} | |`);
      rows.push({ what: 'weights', T, f32: ms[0], f16: ms[1] });
      for (const s of sessions) s.destroy();
    }
  }
  json.variants = rows;
  say('');
}

const gpu = await acquireGpu();
const profile = deviceProfile(gpu);
say(`# gpu-check on ${profile.name}${profile.isCpu ? ' (CPU class)' : ' (GPU class)'}, ${new Date().toISOString()}`);
say('');
json.adapter = profile.name;
for (const [name, part] of [['correctness', correctness], ['matmul', matmuls], ['schedules', schedules], ['forwards', forwards], ['variants', variants]] as const) {
  if (only && !only.has(name)) continue;
  try {
    await part(gpu);
  } catch (err) {
    say(`${name}: error ${(err as Error).stack ?? err}`);
  }
  process.stderr.write(`gpu-check: ${name} done at ${elapsed().toFixed(0)} s\n`);
}
writeFileSync(join(outDir, 'gpu-check.md'), lines.join('\n') + '\n');
writeFileSync(join(outDir, 'gpu-check.json'), JSON.stringify(json, null, 2) + '\n');
process.exit(0);
