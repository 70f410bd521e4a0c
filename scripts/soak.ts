/**
 * `npm run soak [-- --steps N] [--every K] [--spec FILE]`: greedy decoding for many steps with a
 * small model through the public Model API (compiled artifacts, forward + step programs sharing
 * weights), printing process memory (RSS, JS heap, external) and the number of live GPU buffers
 * every K steps (after a garbage collection: the script runs with --expose-gc), then the growth
 * between the medians of the first and the last three samples. Exit 1 when the live GPU buffers
 * changed, the JS heap grew by more than 4 MiB or RSS by more than `--max-rss-mib` (default 128;
 * RSS moves by tens of MiB without a trend on lavapipe).
 *
 * test/device/soak.test.ts runs a short version of the same loop.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { writeArtifacts } from '../cli/commands/compile.ts';
import { compileArtifacts, DEFAULT_RUNTIME_IMPORT, emitArtifacts } from '../compiler/emit/emit.ts';
import { loadArtifacts } from '../runtime/artifacts.ts';
import { acquireGpu, deviceProfile, type Gpu } from '../runtime/gpu.ts';
import { Model } from '../runtime/model.ts';
import { liveGpuBuffers } from '../runtime/program.ts';
import { seededWeights } from '../runtime/weights.ts';

/** A small model with a recurrent mixer (carried state) and an MLP, two layers. */
export const SOAK_SPEC = `model soak {
  vocab = 64
  dim = 32
  heads = 2
  layers = 2
  mixer attn = linear_attn {}
  block {
    x = x + attn(rmsnorm(x))
    x = x + swiglu(rmsnorm(x), hidden = 64)
  }
}
`;

/** Compiles `spec` into a temporary artifact directory and opens it as a Model with seeded weights. */
export async function openModel(gpu: Gpu, spec: string, seed: number, dims = { batch: 1, seq: 8 }): Promise<Model> {
  const options = { ...dims, device: deviceProfile(gpu), emit: ['wgsl'] as const, runtimeImport: DEFAULT_RUNTIME_IMPORT, source: 'soak.loom' };
  const r = compileArtifacts(spec, 'soak.loom', { ...options, emit: ['wgsl'] });
  if (!r.ok) throw new Error(r.diagnostics.map((d) => d.message).join('\n'));
  const dir = mkdtempSync(join(tmpdir(), 'loom-soak-'));
  try {
    writeArtifacts(dir, emitArtifacts(r.pair, { ...options, emit: ['wgsl'] }), false);
    const artifacts = loadArtifacts(dir);
    const weights = seededWeights(r.pair.forward.graph.weights, seed);
    return await Model.create(gpu, artifacts, weights);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface MemorySample {
  step: number;
  rssMiB: number;
  heapMiB: number;
  externalMiB: number;
  liveBuffers: number;
}

function sample(step: number): MemorySample {
  (globalThis as { gc?: () => void }).gc?.(); // with node --expose-gc: measure live memory, not garbage
  const m = process.memoryUsage();
  const mib = (x: number) => Math.round((x / 2 ** 20) * 10) / 10;
  return { step, rssMiB: mib(m.rss), heapMiB: mib(m.heapUsed), externalMiB: mib(m.external), liveBuffers: liveGpuBuffers() };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function argmaxRows(logits: Float32Array, vocab: number): Int32Array {
  const out = new Int32Array(logits.length / vocab);
  for (let b = 0; b < out.length; b++) {
    let best = 0;
    for (let v = 1; v < vocab; v++) if (logits[b * vocab + v] > logits[b * vocab + best]) best = v;
    out[b] = best;
  }
  return out;
}

/**
 * Greedy decoding: `steps` calls of `model.step`, each fed the argmax of the previous logits,
 * starting from `first`. Calls `onSample` every `every` steps (and after the last).
 */
export async function decode(model: Model, first: Int32Array, steps: number, every: number, onSample: (s: MemorySample) => void): Promise<Int32Array> {
  let tokens = first;
  for (let i = 1; i <= steps; i++) {
    tokens = argmaxRows(await model.step(tokens), model.dims.vocab);
    if (i % every === 0 || i === steps) onSample(sample(i));
  }
  return tokens;
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { steps: { type: 'string' }, every: { type: 'string' }, spec: { type: 'string' }, 'max-rss-mib': { type: 'string' } } });
  const steps = Number(values.steps ?? 20000);
  const every = Number(values.every ?? 1000);
  const maxRss = Number(values['max-rss-mib'] ?? 128);
  const spec = values.spec ? readFileSync(values.spec, 'utf8') : SOAK_SPEC;
  const gpu = await acquireGpu();
  const model = await openModel(gpu, spec, 1);
  const samples: MemorySample[] = [];
  const t0 = performance.now();
  process.stdout.write(`soak: ${steps} decode steps of ${model.artifacts.model} on ${gpu.adapter.description || gpu.adapter.device}\n`);
  process.stdout.write('    step   rss MiB  heap MiB  external MiB  live GPU buffers   ms/step\n');
  let last = t0;
  await decode(model, Int32Array.of(1), steps, every, (s) => {
    const now = performance.now();
    const ms = (now - last) / (samples.length ? every : s.step);
    last = now;
    samples.push(s);
    process.stdout.write(`${String(s.step).padStart(8)} ${s.rssMiB.toFixed(1).padStart(9)} ${s.heapMiB.toFixed(1).padStart(9)} ${s.externalMiB.toFixed(1).padStart(13)} ${String(s.liveBuffers).padStart(17)} ${ms.toFixed(2).padStart(9)}\n`);
  });
  model.destroy();
  const growth = (key: 'rssMiB' | 'heapMiB') => median(samples.slice(-3).map((s) => s[key])) - median(samples.slice(0, 3).map((s) => s[key]));
  const [rss, heap] = [growth('rssMiB'), growth('heapMiB')];
  const buffersOk = new Set(samples.map((s) => s.liveBuffers)).size === 1 && liveGpuBuffers() === 0;
  const signed = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(1)} MiB`;
  process.stdout.write(`soak: RSS ${signed(rss)}, JS heap ${signed(heap)}, live GPU buffers ${samples[0].liveBuffers} -> ${samples[samples.length - 1].liveBuffers} (${liveGpuBuffers()} after destroy); ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
  const ok = buffersOk && rss <= maxRss && heap <= 4;
  process.stdout.write(ok ? 'soak: flat\n' : `soak: GROWING (limits: RSS ${maxRss} MiB, heap 4 MiB, buffers unchanged)\n`);
  return ok ? 0 : 1;
}

if (process.argv[1] && pathToFileURL(resolve(process.argv[1])).href === import.meta.url) {
  process.exitCode = await main();
}
