/**
 * `npm run bench [-- --quick] [-- --only schedules,prefill,decode,kernels,compile,windows]`:
 * measured on this machine's adapter and written to bench/results.json (one entry per section,
 * each with its time and the machine's load) and bench/RESULTS.md with SVG plots in bench/.
 *
 * 1. schedules: linear_attn, gla, gated_delta ops (B=1, H=4, K=V=64) over T; every schedule, auto's
 *    pick from the calibrated cost model, and the pick `loom tune` would make (bench/schedules.ts);
 * 2. prefill: a whole 4-layer model's forward over T;
 * 3. decode: milliseconds per token against the context length, linear model and softmax transformer;
 * 4. kernels: matmul GFLOP/s per variant against naive and the calibrated peak; fused vs unfused;
 * 5. compile: a 24-layer spec to WGSL and manifest; cold and warm pipeline creation;
 * 6. windows: prompts of 17, 100 and 1000 tokens prefilled in windows of powers of two against
 *    windows of T and single steps (bench/prefill-windows.ts);
 * 7. realsize: GLA-340M- and Gated-DeltaNet-400M-shaped checkpoints, f32 and bf16: load, peak RSS,
 *    prefill and decode against their limits (bench/realsize.ts);
 * 8. dplr: the DPLR recurrence (dplr_delta_rule, kda) recurrent against chunkwise at T = 1024 and 4096
 *    (bench/dplr.ts).
 * `--only` runs some sections and keeps the others' last results. Points whose estimate is hopeless
 * are skipped and say so.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { compileInMemory } from '../cli/open-model.ts';
import { matmulKernel, matmulVariants } from '../compiler/codegen/kernels/index.ts';
import type { ScheduleChoice } from '../compiler/check/spec.ts';
import { compileArtifacts, DEFAULT_RUNTIME_IMPORT, emitArtifacts } from '../compiler/emit/emit.ts';
import type { DeviceProfile } from '../compiler/plan/device.ts';
import { compileSource } from '../compiler/pipeline.ts';
import type { FusionLevel } from '../compiler/fuse/fuse.ts';
import { acquireGpu, createGpu, type Gpu } from '../runtime/gpu.ts';
import { timeSpec } from '../runtime/measure.ts';
import { Model } from '../runtime/model.ts';
import { Program } from '../runtime/program.ts';
import { Rng } from '../runtime/random.ts';
import { Session } from '../runtime/session.ts';
import { loadProfile } from '../runtime/tune-cache.ts';
import { seededWeights } from '../runtime/weights.ts';
import { dplrBench, dplrMd } from './dplr.ts';
import { windowsBench, windowsMd } from './prefill-windows.ts';
import { realsizeBench, realsizeMd } from './realsize.ts';
import { scheduleBench, type SchedulePoint } from './schedules.ts';
import { logLogSvg, type Series } from './svg.ts';

const quick = process.argv.includes('--quick');
const onlyArg = process.argv.indexOf('--only');
const SECTIONS = ['schedules', 'prefill', 'decode', 'kernels', 'compile', 'windows', 'realsize', 'dplr'] as const;
type Section = (typeof SECTIONS)[number];
const only = onlyArg >= 0 ? (process.argv[onlyArg + 1] ?? '').split(',') : [...SECTIONS];
const log = (line: string) => process.stderr.write(`bench: ${line}\n`);

const fmt = (ms: number | string | undefined) => (ms === undefined ? 'n/a' : typeof ms === 'string' ? ms : ms < 10 ? ms.toFixed(2) : ms.toFixed(1));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function medianMs(fn: () => Promise<unknown>, reps: number): Promise<number> {
  await fn(); // warm-up
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  return median(times);
}

function compile(text: string, path: string, seq: number, device: DeviceProfile, schedule?: ScheduleChoice, fuse: FusionLevel = 'all') {
  const r = compileSource(text, path, { batch: 1, seq, device, schedule, fuse });
  if (!r.ok) throw new Error(r.diagnostics.map((d) => d.message).join('\n'));
  return r.compiled;
}

const LINEAR = 'models/linear-transformer.loom';
const linearText = () => readFileSync(LINEAR, 'utf8');
/** The linear transformer with its mixer replaced by softmax attention of the same heads and widths. */
function transformerText(maxLen: number, name = 'softmax_transformer'): string {
  return linearText()
    .replace('model linear_transformer', `model ${name}`)
    .replace(/mixer attn = linear_attn \{[^}]*\}/, `mixer attn = attention {\n    head_dim = dim / heads\n    max_len  = ${maxLen}\n  }`)
    .replace(/schedule \{[^}]*\}/, '');
}

// ---------------------------------------------------------------------------------------------

async function schedules(gpu: Gpu, device: DeviceProfile) {
  const Ts = quick ? [64, 256, 1024] : [64, 256, 1024, 4096, 16384];
  const points = await scheduleBench(gpu, device, { Ts, maxEstimateMs: quick ? 5000 : 15000, time: { targetMs: quick ? 30 : 80, rounds: 2 }, log });
  return { points };
}

function schedulesMd(r: { points: SchedulePoint[] }): string[] {
  const out = ['## Schedules', '', 'One op alone, B=1, H=4, K=V=64; milliseconds per call (second pass; GPU timestamps over repeated dispatches in one submission).',
    '`auto` is the pick of the cost model with this adapter\'s calibration; `tuned` is the fastest of a first pass (what `loom tune` stores), judged on the second pass.', ''];
  out.push('| mixer | T | parallel | chunkwise(64) | recurrent | auto picks | auto / best | tuned picks | tuned / best |', '|---|---:|---:|---:|---:|---|---:|---|---:|');
  for (const p of r.points) {
    const autoCell = `${p.auto} (${fmt(p.ms[p.auto])})`;
    out.push(`| ${p.mixer} | ${p.T} | ${fmt(p.ms.parallel)} | ${fmt(p.ms['chunkwise(64)'])} | ${fmt(p.ms.recurrent)} | ${autoCell} | ${p.ratio.toFixed(2)} | ${p.tuned} | ${p.tunedRatio.toFixed(2)} |`);
  }
  const n = r.points.length;
  const ok = r.points.filter((p) => p.ratio <= 1.1).length;
  const okTuned = r.points.filter((p) => p.tunedRatio <= 1.1).length;
  const logs = r.points.flatMap((p) => Object.entries(p.ms).filter((e): e is [string, number] => typeof e[1] === 'number').map(([k, ms]) => Math.log(p.est[k] / ms)));
  const geo = Math.exp(logs.reduce((a, b) => a + b, 0) / logs.length);
  const spread = Math.exp(Math.sqrt(logs.reduce((a, b) => a + (b - Math.log(geo)) ** 2, 0) / logs.length));
  out.push('', `Estimates against measurements: geometric mean of estimate / measured ${geo.toFixed(2)} over ${logs.length} timings (geometric spread x${spread.toFixed(2)}); auto uses only their order.`);
  out.push('', `auto (cost model) is within 10% of the fastest at ${ok} of ${n} points (${Math.round((100 * ok) / n)}%); tuned auto at ${okTuned} of ${n} (${Math.round((100 * okTuned) / n)}%).`, '');
  for (const mixer of new Set(r.points.map((p) => p.mixer))) out.push(`![${mixer} schedules](schedules-${mixer}.svg)`);
  out.push('');
  return out;
}

function schedulesSvgs(r: { points: SchedulePoint[] }): Record<string, string> {
  const files: Record<string, string> = {};
  for (const mixer of new Set(r.points.map((p) => p.mixer))) {
    const pts = r.points.filter((p) => p.mixer === mixer);
    const series: Series[] = ['parallel', 'chunkwise(64)', 'recurrent'].map((k) => ({ name: k, points: pts.filter((p) => typeof p.ms[k] === 'number').map((p) => [p.T, p.ms[k] as number]) }));
    series.push({ name: 'auto (model)', dashed: true, points: pts.filter((p) => typeof p.ms[p.auto] === 'number').map((p) => [p.T, p.ms[p.auto] as number]) });
    files[`schedules-${mixer}.svg`] = logLogSvg({ title: `${mixer}: schedules (B=1, H=4, K=V=64)`, xLabel: 'T (tokens)', yLabel: 'ms per call', series });
  }
  return files;
}

// ---------------------------------------------------------------------------------------------

interface PrefillRow { T: number; schedule: string; ms: number; kernels: number }

async function prefill(gpu: Gpu, device: DeviceProfile) {
  const Ts = quick ? [256, 1024] : [1024, 2048, 4096, 8192, 16384];
  const rows: PrefillRow[] = [];
  for (const T of Ts) {
    for (const [name, choice] of [['auto', undefined], ['chunkwise(64)', { kind: 'chunkwise', chunk: 64 } as ScheduleChoice]] as const) {
      const c = compile(linearText(), LINEAR, T, device, choice);
      const s = await Session.create(gpu, c, seededWeights(c.graph.weights, 0));
      const tokens = Int32Array.from({ length: T }, (_, i) => (i * 31) % 256);
      const ms = await medianMs(() => s.forward(tokens), T >= 8192 ? 1 : 3);
      s.destroy();
      const picked = name === 'auto' ? `auto: ${c.plan.mixers[0].schedule}${c.plan.mixers[0].chunk ? `(${c.plan.mixers[0].chunk})` : ''}` : name;
      rows.push({ T, schedule: picked, ms, kernels: c.program.steps.length });
      log(`prefill T=${T} ${picked}: ${ms.toFixed(1)} ms`);
    }
  }
  return { model: LINEAR, rows };
}

function prefillMd(r: { model: string; rows: PrefillRow[] }): string[] {
  const out = ['## Prefill scaling', '', `A whole forward of ${r.model} (4 layers, dim 128, 4 heads), B=1, seeded weights; milliseconds (median), one submission per forward.`, ''];
  out.push('| T | schedule | ms | tokens/s | ms / (ms at first T) |', '|---:|---|---:|---:|---:|');
  const first = new Map<string, number>();
  for (const x of r.rows) {
    const kind = x.schedule.startsWith('auto') ? 'auto' : x.schedule;
    if (!first.has(kind)) first.set(kind, x.ms);
    out.push(`| ${x.T} | ${x.schedule} | ${fmt(x.ms)} | ${Math.round((x.T / x.ms) * 1000)} | ${(x.ms / first.get(kind)!).toFixed(1)} |`);
  }
  out.push('', '![prefill](prefill.svg)', '');
  return out;
}

function prefillSvg(r: { rows: PrefillRow[] }): string {
  const kinds = ['auto', 'chunkwise(64)'];
  const series: Series[] = kinds.map((k) => ({ name: k, points: r.rows.filter((x) => (k === 'auto' ? x.schedule.startsWith('auto') : x.schedule === k)).map((x) => [x.T, x.ms]) }));
  const first = r.rows[0];
  if (first) series.push({ name: 'linear in T', dashed: true, points: r.rows.filter((x) => x.schedule === first.schedule).map((x) => [x.T, (first.ms * x.T) / first.T]) });
  return logLogSvg({ title: 'Prefill: 4-layer linear transformer', xLabel: 'T (tokens)', yLabel: 'ms per forward', series });
}

// ---------------------------------------------------------------------------------------------

interface DecodeRow { model: string; context: number; msPerToken: number }

async function decodeModel(gpu: Gpu, device: DeviceProfile, text: string, path: string, contexts: number[], steps: number): Promise<DecodeRow[]> {
  const { pair, artifacts } = compileInMemory(text, path, { batch: 1, seq: 16, device });
  const model = await Model.create(gpu, artifacts, seededWeights(pair.forward.graph.weights, 1));
  const rows: DecodeRow[] = [];
  try {
    const base = await model.readState();
    const rng = new Rng(5);
    for (const L of contexts) {
      // The state after L tokens, without running them: random caches and states at position L
      // (a step's work depends on the position, not on the values).
      const state: Record<string, Float32Array> = {};
      for (const [name, v] of Object.entries(base)) state[name] = name === 'pos' ? Float32Array.of(L) : rng.normals(v.length, 0.1);
      model.writeState(state);
      for (let i = 0; i < 3; i++) await model.step(Int32Array.of(i));
      const times: number[] = [];
      for (let i = 0; i < steps; i++) {
        const t0 = performance.now();
        await model.step(Int32Array.of(i % 256));
        times.push(performance.now() - t0);
      }
      rows.push({ model: pair.forward.spec.name, context: L, msPerToken: median(times) });
      log(`decode ${pair.forward.spec.name} context ${L}: ${median(times).toFixed(2)} ms/token`);
    }
  } finally {
    model.destroy();
  }
  return rows;
}

async function decode(gpu: Gpu, device: DeviceProfile) {
  const contexts = quick ? [256, 1024] : [256, 512, 1024, 2048, 4096, 8192];
  const steps = quick ? 10 : 30;
  const linear = await decodeModel(gpu, device, linearText(), LINEAR, contexts, steps);
  let softmax: DecodeRow[] = [];
  let note = '';
  try {
    softmax = await decodeModel(gpu, device, transformerText(Math.max(...contexts) + 64), 'softmax-transformer.loom', contexts, steps);
    // The same at the smallest context with a cache sized for it: what the cache's capacity costs.
    softmax.push(...(await decodeModel(gpu, device, transformerText(contexts[0] + 64, `softmax_transformer_max_len_${contexts[0] + 64}`), 'small-cache.loom', [contexts[0]], steps)));
  } catch (e) {
    note = `softmax transformer not measured: ${(e as Error).message.split('\n')[0]}`;
    log(note);
  }
  return { rows: [...linear, ...softmax], note };
}

function decodeMd(r: { rows: DecodeRow[]; note: string }): string[] {
  const models = [...new Set(r.rows.map((x) => x.model))].filter((m) => !m.includes('_max_len_'));
  const small = r.rows.find((x) => x.model.includes('_max_len_'));
  const contexts = [...new Set(r.rows.map((x) => x.context))].sort((a, b) => a - b);
  const out = ['## Decode', '', `Milliseconds per token (median of single steps, B=1) after a context of L tokens: ${LINEAR} and the same model with softmax attention (head_dim 32, KV cache) in place of linear attention. The state is set to position L directly (random values).`, ''];
  out.push(`| context | ${models.join(' | ')} |`, `|---:|${models.map(() => '---:').join('|')}|`);
  for (const L of contexts) out.push(`| ${L} | ${models.map((m) => fmt(r.rows.find((x) => x.model === m && x.context === L)?.msPerToken)).join(' | ')} |`);
  for (const m of models) {
    const xs = r.rows.filter((x) => x.model === m);
    out.push('', `${m}: ${fmt(xs[xs.length - 1].msPerToken)} ms at ${xs[xs.length - 1].context} is ${(xs[xs.length - 1].msPerToken / xs[0].msPerToken).toFixed(2)}x the time at ${xs[0].context}.`);
  }
  const big = small && r.rows.find((x) => x.model === 'softmax_transformer' && x.context === small.context);
  if (small && big) {
    out.push('', `The softmax model's KV cache holds ${contexts[contexts.length - 1] + 64} positions; with a cache of ${small.model.split('_max_len_')[1]} positions the same step at context ${small.context} takes ${fmt(small.msPerToken)} ms instead of ${fmt(big.msPerToken)} ms. A step copies no state (the cache is appended in place and the program binds the carried state's own buffers); what grows with the capacity is the decode kernel, whose blocks of 32 keys cover the whole cache (most of them empty at a short context) and whose merge reads every block's partial.`);
  }
  if (r.note) out.push('', `TODO: ${r.note}`);
  out.push('', '![decode](decode.svg)', '');
  return out;
}

function decodeSvg(r: { rows: DecodeRow[] }): string {
  const models = [...new Set(r.rows.map((x) => x.model))].filter((m) => !m.includes('_max_len_'));
  return logLogSvg({ title: 'Decode: ms per token against context', xLabel: 'context (tokens)', yLabel: 'ms per token', series: models.map((m) => ({ name: m, points: r.rows.filter((x) => x.model === m).map((x) => [x.context, x.msPerToken]) })) });
}

// ---------------------------------------------------------------------------------------------

async function kernels(gpu: Gpu, device: DeviceProfile) {
  const n = quick ? 256 : 1024;
  const d = { M: n, K: n, N: n, transposeW: false };
  const matmul: Record<string, { ms: number; gflops: number }> = {};
  for (const v of matmulVariants(d, gpu.limits, gpu.adapter.isCpu)) {
    if (!v.ok) continue;
    const k = matmulKernel({ ...d, name: `bench.${v.variant}`, variant: v.variant });
    const t = await timeSpec(gpu, { buffers: [], steps: [{ kernel: k, args: k.bindings.map((b) => b.name) }] }, { targetMs: 100, rounds: 2 });
    matmul[v.variant] = { ms: t.ms, gflops: (2 * n * n * n) / (t.ms * 1e6) };
    log(`matmul ${n}^3 ${v.variant}: ${matmul[v.variant].gflops.toFixed(2)} GFLOP/s`);
  }
  const fusion: { model: string; T: number; level: FusionLevel; kernels: number; ms: number; best: number }[] = [];
  const T = quick ? 256 : 1024;
  // The fusion levels' forwards alternate, call by call, so that load changes hit all alike: a
  // prefill window of T tokens (15 rounds) and a decode step of one token (61 rounds).
  for (const path of ['models/gla.loom', LINEAR]) {
    for (const [seq, rounds] of [[T, 15], [1, 61]] as const) {
      const runs = [];
      for (const level of ['none', 'pointwise', 'all'] as const) {
        const c = compile(readFileSync(path, 'utf8'), path, seq, device, undefined, level);
        runs.push({ level, c, s: await Session.create(gpu, c, seededWeights(c.graph.weights, 0)), times: [] as number[] });
      }
      const tokens = Int32Array.from({ length: seq }, (_, i) => (i * 13) % 256);
      for (const r of runs) await r.s.forward(tokens); // warm-up: pipelines compiled
      for (let i = 0; i < rounds; i++) {
        for (const r of i % 2 ? runs.slice().reverse() : runs) {
          const t0 = performance.now();
          await r.s.forward(tokens);
          r.times.push(performance.now() - t0);
        }
      }
      for (const r of runs) {
        r.s.destroy();
        const ms = median(r.times);
        const best = Math.min(...r.times);
        fusion.push({ model: path, T: seq, level: r.level, kernels: r.c.program.steps.length, ms, best });
        log(`fusion ${path} T=${seq} ${r.level}: ${r.c.program.steps.length} kernels, median ${ms.toFixed(2)} ms, fastest ${best.toFixed(2)} ms`);
      }
    }
  }
  return { matmulShape: `${n} x ${n} x ${n}`, matmul, peakGflops: (device.calibration?.flopsPerSec ?? 0) / 1e9, calibratedAt: device.calibration?.matmulShape, fusion, T };
}

function kernelsMd(r: Awaited<ReturnType<typeof kernels>>): string[] {
  const out = ['## Kernels', '', `Matmul ${r.matmulShape} (f32), GFLOP/s; the calibrated peak is this adapter's best variant at ${r.calibratedAt ?? '?'} from the calibration.`, ''];
  out.push('| variant | ms | GFLOP/s | x naive | / calibrated peak |', '|---|---:|---:|---:|---:|');
  const naive = r.matmul.naive?.gflops;
  for (const [v, x] of Object.entries(r.matmul)) out.push(`| ${v} | ${fmt(x.ms)} | ${x.gflops.toFixed(2)} | ${naive ? (x.gflops / naive).toFixed(2) : 'n/a'} | ${r.peakGflops ? (x.gflops / r.peakGflops).toFixed(2) : 'n/a'} |`);
  out.push('', `Fusion: dispatches per forward and time per call (B=1; a prefill window of T=${r.T}, median of 15, and a decode step, T=1, median of 61; the levels' calls alternating in ABCCBA order). \`pointwise\`: elementwise chains and matmul epilogues only; \`all\` adds norms into matmuls, SwiGLU pairs and merged sibling projections. The fastest call of each level is given too: other jobs on the machine slow calls in bursts, which the fastest call escapes.`, '', '| model | T | fusion | kernels | median ms | / unfused | fastest ms | / unfused |', '|---|---:|---|---:|---:|---:|---:|---:|');
  for (const x of r.fusion) {
    const none = r.fusion.find((y) => y.model === x.model && y.T === x.T && y.level === 'none');
    const ratio = (a?: number, b?: number) => (a !== undefined && b ? (a / b).toFixed(3) : 'n/a');
    out.push(`| ${x.model} | ${x.T ?? r.T} | ${x.level} | ${x.kernels} | ${fmt(x.ms)} | ${ratio(x.ms, none?.ms)} | ${x.best === undefined ? 'n/a' : fmt(x.best)} | ${ratio(x.best, none?.best)} |`);
  }
  out.push('');
  return out;
}

// ---------------------------------------------------------------------------------------------

async function compileBench(device: DeviceProfile) {
  const text = linearText().replace(/layers\s*=\s*4/, 'layers = 24');
  const options = { batch: 1, seq: 1024, device, emit: ['wgsl'] as const, runtimeImport: DEFAULT_RUNTIME_IMPORT, source: 'deep.loom' };
  const times: number[] = [];
  let kernelsN = 0;
  for (let i = 0; i < (quick ? 3 : 7); i++) {
    const t0 = performance.now();
    const r = compileArtifacts(text, 'deep.loom', options);
    if (!r.ok) throw new Error(r.diagnostics.map((d) => d.message).join('\n'));
    const files = emitArtifacts(r.pair, options);
    times.push(performance.now() - t0);
    kernelsN = [...files.keys()].filter((f) => f.endsWith('.wgsl')).length;
  }
  // Pipelines: a fresh device (empty pipeline cache) against the same device again.
  const c = compile(linearText(), LINEAR, 256, device);
  const fresh = await createGpu();
  const t0 = performance.now();
  const p1 = await Program.create(fresh, c.program);
  const cold = performance.now() - t0;
  const t1 = performance.now();
  const p2 = await Program.create(fresh, c.program);
  const warm = performance.now() - t1;
  p1.destroy();
  p2.destroy();
  fresh.device.destroy();
  log(`compile: 24 layers ${median(times).toFixed(1)} ms; pipelines cold ${cold.toFixed(0)} ms, warm ${warm.toFixed(1)} ms`);
  return { layers: 24, compileMs: median(times), firstMs: times[0], files: kernelsN, pipelines: { kernels: c.program.steps.length, coldMs: cold, warmMs: warm } };
}

function compileMd(r: Awaited<ReturnType<typeof compileBench>>): string[] {
  return ['## Compile', '', `A 24-layer linear transformer (dim 128) to WGSL and manifest (check, lower, fuse, plan, assemble, emit; ${r.files} .wgsl files): median ${fmt(r.compileMs)} ms (first run in the process ${fmt(r.firstMs)} ms).`, '',
    `Pipeline creation for ${LINEAR} at T=256 (${r.pipelines.kernels} kernels): cold (a new device, empty pipeline cache) ${fmt(r.pipelines.coldMs)} ms, warm (same device again) ${fmt(r.pipelines.warmMs)} ms. Lavapipe compiles the shader code at the first dispatch, so cold creation is only part of a first run's cost.`, ''];
}

// ---------------------------------------------------------------------------------------------

type Results = Partial<Record<Section, { ranAt: string; load: number[]; quick: boolean; adapter: string; calibratedGflops?: number; data: any }>> & { calibration?: unknown };

const gpu = await acquireGpu();
// A fresh calibration, stored in the cache as well: the peak the kernels table compares with.
const device = await loadProfile(gpu, { calibrate: 'always', progress: log });
const results: Results = existsSync('bench/results.json') ? (() => {
  try {
    const old = JSON.parse(readFileSync('bench/results.json', 'utf8'));
    return old && typeof old === 'object' && 'ranAt' in (old.schedules ?? {}) ? old : {};
  } catch {
    return {};
  }
})() : {};
const runners: Record<Section, () => Promise<unknown>> = {
  schedules: () => schedules(gpu, device),
  prefill: () => prefill(gpu, device),
  decode: () => decode(gpu, device),
  kernels: () => kernels(gpu, device),
  compile: () => compileBench(device),
  windows: () => windowsBench(gpu, device, { quick, log }),
  realsize: () => realsizeBench(device, { quick, log }),
  dplr: () => dplrBench(gpu, device, { quick, log }),
};
for (const s of SECTIONS) {
  if (!only.includes(s)) continue;
  const load = loadavg().map((x) => Math.round(x * 100) / 100);
  const data = await runners[s]();
  results[s] = { ranAt: new Date().toISOString(), load, quick, adapter: device.name, calibratedGflops: (device.calibration?.flopsPerSec ?? 0) / 1e9, data };
  results.calibration = device.calibration;
  writeFileSync('bench/results.json', JSON.stringify(results, null, 1) + '\n');
}

const md = ['# Benchmark results', '', `Adapter: ${device.name}${device.isCpu ? ' (CPU adapter, 2 cores)' : ''}.`,
  'The machine was shared with other jobs while these ran (the load average when each section started is given); ratios within one table come from the same run, side by side.', ''];
const cal = device.calibration;
if (cal) md.push(`Latest calibration (${cal.at}): matmul ${cal.matmulShape} ${Object.entries(cal.matmulGflops).map(([v, g]) => `${v} ${g.toFixed(2)}`).join(', ')} GFLOP/s; copy ${(cal.bytesPerSec / 1e9).toFixed(2)} GB/s; ${(cal.dispatchSec * 1e3).toFixed(3)} ms per dispatch.`, '');
const render: Record<Section, (d: any) => string[]> = { schedules: schedulesMd, prefill: prefillMd, decode: decodeMd, kernels: kernelsMd, compile: compileMd, windows: windowsMd, realsize: realsizeMd, dplr: dplrMd };
for (const s of SECTIONS) {
  const r = results[s];
  if (!r) continue;
  const body = render[s](r.data);
  md.push(body[0], '', `Run ${r.ranAt.slice(0, 16).replace('T', ' ')} UTC, ${r.quick ? 'quick mode, ' : ''}load average ${r.load.join(' / ')}${r.calibratedGflops ? `, calibrated peak then ${r.calibratedGflops.toFixed(2)} GFLOP/s` : ''}.`, ...body.slice(1));
}
if (results.schedules) for (const [f, svg] of Object.entries(schedulesSvgs(results.schedules.data))) writeFileSync(join('bench', f), svg);
if (results.prefill) writeFileSync('bench/prefill.svg', prefillSvg(results.prefill.data));
if (results.decode) writeFileSync('bench/decode.svg', decodeSvg(results.decode.data));
// Hand-written sections (measurements made outside this script) are kept in RESULTS.extra.md.
const extra = existsSync('bench/RESULTS.extra.md') ? readFileSync('bench/RESULTS.extra.md', 'utf8') : '';
writeFileSync('bench/RESULTS.md', md.join('\n') + extra);
process.stdout.write(md.join('\n') + '\n');
process.exit(0);
