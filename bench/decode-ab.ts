/**
 * `node bin/run-ts.js bench/decode-ab.ts BEFORE AFTER [--steps N]`: decode milliseconds per token
 * of two Loom checkouts (directories, e.g. a `git worktree` of an older commit and this one) side
 * by side in one process on one device, steps alternating between them (ABBA) so that both see the
 * same machine load. The models and the state are those of `npm run bench`'s decode section: the
 * softmax transformer with an 8256-slot and a 320-slot KV cache and the linear transformer, B = 1,
 * artifacts written to a directory and loaded, the state set to position 256 (random values).
 * Prints the median of N steps (default 60; the 320-slot cache stops at 60) of each and the ratio.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { Rng } from '../runtime/random.ts';

const { values, positionals } = parseArgs({ options: { steps: { type: 'string' } }, allowPositionals: true });
if (positionals.length !== 2) throw new Error('usage: bench/decode-ab.ts BEFORE_DIR AFTER_DIR [--steps N]');
const steps = Number(values.steps ?? 60);
const CONTEXT = 256;

/** The modules of one checkout this benchmark calls (public APIs that both sides have). */
async function checkout(dir: string) {
  const load = <T>(path: string): Promise<T> => import(pathToFileURL(resolve(dir, path)).href) as Promise<T>;
  return {
    dir,
    gpu: await load<typeof import('../runtime/gpu.ts')>('runtime/gpu.ts'),
    model: await load<typeof import('../runtime/model.ts')>('runtime/model.ts'),
    artifacts: await load<typeof import('../runtime/artifacts.ts')>('runtime/artifacts.ts'),
    emit: await load<typeof import('../compiler/emit/emit.ts')>('compiler/emit/emit.ts'),
    compile: await load<typeof import('../cli/commands/compile.ts')>('cli/commands/compile.ts'),
    weights: await load<typeof import('../runtime/weights.ts')>('runtime/weights.ts'),
  };
}
type Checkout = Awaited<ReturnType<typeof checkout>>;

const [A, B] = await Promise.all(positionals.map(checkout));
const gpu = await A.gpu.acquireGpu();
const device = A.gpu.deviceProfile(gpu);
const linearText = readFileSync(join(A.dir, 'models/linear-transformer.loom'), 'utf8');
const transformerText = (maxLen: number, name: string) => linearText
  .replace('model linear_transformer', `model ${name}`)
  .replace(/mixer attn = linear_attn \{[^}]*\}/, `mixer attn = attention {\n    head_dim = dim / heads\n    max_len  = ${maxLen}\n  }`)
  .replace(/schedule \{[^}]*\}/, '');

async function open(c: Checkout, text: string, path: string) {
  const options = { batch: 1, seq: 16, device, emit: ['wgsl'] as const, runtimeImport: c.emit.DEFAULT_RUNTIME_IMPORT, source: path };
  const r = c.emit.compileArtifacts(text, path, options);
  if (!r.ok) throw new Error(r.diagnostics.map((d) => d.message).join('\n'));
  const dir = mkdtempSync(join(tmpdir(), 'loom-ab-'));
  try {
    c.compile.writeArtifacts(dir, c.emit.emitArtifacts(r.pair, options), false);
    return await c.model.Model.create(gpu, c.artifacts.loadArtifacts(dir), c.weights.seededWeights(r.pair.forward.graph.weights, 1));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const cases: [string, string, number][] = [
  ['softmax_transformer, 8256-slot cache', transformerText(8256, 'softmax_transformer'), steps],
  ['softmax_transformer, 320-slot cache', transformerText(320, 'small_cache'), Math.min(steps, 60)],
  ['linear_transformer', linearText, steps],
];
for (const [label, text, n] of cases) {
  const models = [await open(A, text, `${label}.loom`), await open(B, text, `${label}.loom`)];
  const rng = new Rng(5);
  const state = Object.fromEntries(Object.entries(await models[0].readState()).map(([name, v]) => [name, name === 'pos' ? Float32Array.of(CONTEXT) : rng.normals(v.length, 0.1)]));
  for (const m of models) {
    m.writeState(state);
    for (let i = 0; i < 3; i++) await m.step(Int32Array.of(i));
  }
  const times: number[][] = [[], []];
  const load = loadavg()[0];
  for (let i = 0; i < n; i++) {
    for (const k of i % 2 ? [1, 0] : [0, 1]) {
      const t0 = performance.now();
      await models[k].step(Int32Array.of(i % 256));
      times[k].push(performance.now() - t0);
    }
  }
  const [a, b] = times.map(median);
  process.stdout.write(`${label} at context ${CONTEXT}: ${a.toFixed(2)} -> ${b.toFixed(2)} ms/token, ${(a / b).toFixed(2)}x (medians of ${n} alternating steps, load ${load.toFixed(2)})\n`);
  models.forEach((m) => m.destroy());
}
process.exit(0);
