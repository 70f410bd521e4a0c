/**
 * Prefill of prompts of any length: windows of T, then one window program per binary digit of the
 * rest (Model.prefill with the spec's window programs) against the old path, windows of T and
 * then single steps (the same Model without a window source), on models/gla.loom at B = 1.
 * Side by side: the calls each runs, the first prefill (which makes the window programs it needs
 * that earlier rows did not: spec compile, pipelines, first dispatch) and the median of
 * alternating warm prefills (lavapipe keeps compiled shaders in Mesa's disk cache across
 * processes: `MESA_SHADER_CACHE_DISABLE=true` makes the first prefill that of a new machine). Then
 * what making window programs costs, each way in a process of its own with Mesa's cache off: the
 * six programs of a 126-token prompt (64 + 32 + 16 + 8 + 4 + 2) made at once by one prefill,
 * against made one per prefill in turn.
 *
 * `node bin/run-ts.js bench/prefill-windows.ts [--quick] [--json]`, or section `windows` of
 * `npm run bench`.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileInMemory } from '../cli/open-model.ts';
import type { DeviceProfile } from '../compiler/plan/device.ts';
import { acquireGpu, createGpu, deviceProfile, type Gpu } from '../runtime/gpu.ts';
import { Model } from '../runtime/model.ts';
import { seededWeights } from '../runtime/weights.ts';

const GLA = 'models/gla.loom';

export interface WindowsRow {
  n: number;
  /** Widths of the calls with window programs, and of the old path. */
  windows: number[];
  old: number[];
  /** The first prefill of this n with window programs (making those not made for an earlier n). */
  firstMs: number;
  /** Medians of alternating warm prefills. */
  windowsMs: number;
  oldMs: number;
}

export interface WindowsResult {
  model: string;
  T: number;
  reps: number;
  mesaCache: boolean;
  rows: WindowsRow[];
  /** Making the six window programs of a 126-token prompt on a fresh device: at once, and in turn. */
  making: { widths: number[]; concurrentMs: number; sequentialMs: number };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const prompt = (n: number) => Int32Array.from({ length: n }, (_, i) => (i * 31 + 7) % 256);

async function open(gpu: Gpu, device: DeviceProfile, T: number, windowed: boolean): Promise<Model> {
  const { pair, artifacts } = compileInMemory(readFileSync(GLA, 'utf8'), GLA, { batch: 1, seq: T, device });
  return Model.create(gpu, artifacts, seededWeights(pair.forward.graph.weights, 1), windowed ? {} : { windows: null });
}

async function timed(f: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await f();
  return performance.now() - t0;
}

const MAKING = [64, 32, 16, 8, 4, 2];

/** Milliseconds to make the MAKING window programs on a fresh device: by one prefill, or one prefill each. */
async function making(T: number, atOnce: boolean): Promise<number> {
  const gpu = await createGpu();
  const model = await open(gpu, deviceProfile(gpu), T, true);
  try {
    await model.prefill(prompt(T + 1)); // the forward and step programs' first dispatches, out of the count
    model.reset();
    if (atOnce) return await timed(() => model.prefill(prompt(MAKING.reduce((a, b) => a + b, 0))));
    let ms = 0;
    for (const w of MAKING) ms += await timed(() => model.prefill(prompt(w)));
    return ms;
  } finally {
    model.destroy();
    gpu.device.destroy();
  }
}

/** `making` in a child process without Mesa's shader cache: nothing compiled before counts. */
function makingCold(atOnce: boolean): number {
  const me = fileURLToPath(import.meta.url);
  const r = spawnSync(process.execPath, ['bin/run-ts.js', me, '--making', atOnce ? 'once' : 'turn'], { env: { ...process.env, MESA_SHADER_CACHE_DISABLE: 'true' }, encoding: 'utf8' });
  const ms = Number(r.stdout.trim().split('\n').at(-1));
  if (r.status !== 0 || !Number.isFinite(ms)) throw new Error(`the making benchmark failed: ${r.stderr.slice(-2000)}`);
  return ms;
}

export async function windowsBench(gpu: Gpu, device: DeviceProfile, o: { quick: boolean; log: (line: string) => void }): Promise<WindowsResult> {
  const T = 128;
  const reps = o.quick ? 3 : 7;
  const lengths = [17, 100, 1000];
  const win = await open(gpu, device, T, true);
  const old = await open(gpu, device, T, false);
  const rows: WindowsRow[] = [];
  try {
    await old.prefill(prompt(T + 1)); // both programs' first dispatches (shared pipelines) before any count
    for (const n of lengths) {
      win.reset();
      const firstMs = await timed(() => win.prefill(prompt(n)));
      const times = { windows: [] as number[], old: [] as number[] };
      for (let r = 0; r < reps; r++) {
        for (const [m, key] of [[win, 'windows'], [old, 'old']] as const) {
          m.reset();
          times[key].push(await timed(() => m.prefill(prompt(n))));
        }
      }
      const row = { n, windows: win.windowWidths(n), old: old.windowWidths(n), firstMs, windowsMs: median(times.windows), oldMs: median(times.old) };
      rows.push(row);
      o.log(`windows n=${n}: ${row.windows.length} calls ${row.windowsMs.toFixed(1)} ms (first ${firstMs.toFixed(0)} ms), old ${row.old.length} calls ${row.oldMs.toFixed(1)} ms`);
    }
  } finally {
    win.destroy();
    old.destroy();
  }
  const sequentialMs = makingCold(false);
  const concurrentMs = makingCold(true);
  o.log(`windows: making ${MAKING.join(', ')}: at once ${concurrentMs.toFixed(0)} ms, in turn ${sequentialMs.toFixed(0)} ms`);
  return { model: GLA, T, reps, mesaCache: !/^(1|true)$/i.test(process.env.MESA_SHADER_CACHE_DISABLE ?? ''), rows, making: { widths: MAKING, concurrentMs, sequentialMs } };
}

const fmt = (ms: number) => (ms < 10 ? ms.toFixed(2) : ms.toFixed(1));
const runs = (ws: number[]) => {
  const out: string[] = [];
  for (let i = 0; i < ws.length; ) {
    let j = i;
    while (j < ws.length && ws[j] === ws[i]) j++;
    out.push(j - i > 1 ? `${ws[i]}x${j - i}` : `${ws[i]}`);
    i = j;
  }
  return out.join(' ');
};

export function windowsMd(r: WindowsResult): string[] {
  const out = ['## Prefill at any length', '', `Prompts of n tokens on ${r.model} (2 layers, dim 64), B=1, T=${r.T} (\`--seq\`'s default): windows of T, then one window program per binary digit of the rest, against the old path (windows of T, then single steps). Calls listed by width (\`128x7\`: seven windows of 128). Warm: median of ${r.reps} alternating prefills; first: the first prefill of that n, making the window programs no shorter prompt needed before (Mesa's shader disk cache ${r.mesaCache ? 'on' : 'off'}).`, ''];
  out.push('| n | windows: calls | ms | first ms | old path: calls | ms | old / windows |', '|---:|---|---:|---:|---|---:|---:|');
  for (const x of r.rows) out.push(`| ${x.n} | ${runs(x.windows)} (${x.windows.length}) | ${fmt(x.windowsMs)} | ${fmt(x.firstMs)} | ${runs(x.old)} (${x.old.length}) | ${fmt(x.oldMs)} | ${(x.oldMs / x.windowsMs).toFixed(1)} |`);
  const m = r.making;
  out.push('', `Making the window programs of widths ${m.widths.join(', ')} (spec compile, pipelines, first dispatch) in a fresh process with Mesa's shader cache off: all at once (one prefill of ${m.widths.reduce((a, b) => a + b, 0)} tokens) ${fmt(m.concurrentMs)} ms; one prefill per width in turn ${fmt(m.sequentialMs)} ms.`, '');
  return out;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  const at = process.argv.indexOf('--making');
  if (at >= 0) {
    process.stdout.write(`${await making(128, process.argv[at + 1] === 'once')}\n`);
    process.exit(0);
  }
  const gpu = await acquireGpu();
  const r = await windowsBench(gpu, deviceProfile(gpu), { quick: process.argv.includes('--quick'), log: (l) => process.stderr.write(`bench: ${l}\n`) });
  process.stdout.write(process.argv.includes('--json') ? JSON.stringify(r) + '\n' : windowsMd(r).join('\n') + '\n');
  process.exit(0);
}
