/**
 * `node bin/run-ts.js bench/f16-weights.ts [SPEC] [--T 1024] [--rounds 5] [--steps 50] [--seeds 3]`:
 * f32 against f16 weights (`--weights-dtype f16`) on this adapter, side by side in one process:
 * both models built first over the same seeded weights, then the forward pass over [1, T] and one
 * decode step timed in alternating rounds (medians), so both see the same machine load. Then the
 * accuracy f16 weights reach: the logits against the float64 reference over the f32 weights (and,
 * as a check of the kernels, over the f16-rounded ones), at T = 16 for a few seeds and at T.
 * `--matmul`: also one register4x4 matmul kernel alone, f32 against f16 weights (runtime/measure.ts,
 * fastest of alternating rounds): M = 1 (a decode step's GEMV, bound by reading W) and M = 1024.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { compileInMemory } from '../cli/open-model.ts';
import type { WeightDtype } from '../compiler/plan/weight-dtype.ts';
import { storedWeights } from '../runtime/f16.ts';
import { acquireGpu, deviceProfile } from '../runtime/gpu.ts';
import { Model } from '../runtime/model.ts';
import { Rng } from '../runtime/random.ts';
import { interpretGraph } from '../runtime/reference/interpret.ts';
import { seededWeights } from '../runtime/weights.ts';
import { relativeError } from '../cli/commands/run.ts';
import { matmulKernel } from '../compiler/codegen/kernels/index.ts';
import type { ProgramSpec } from '../compiler/codegen/program.ts';
import { fillForTiming, timeProgram } from '../runtime/measure.ts';
import { Program } from '../runtime/program.ts';

const { values, positionals } = parseArgs({ options: { T: { type: 'string' }, rounds: { type: 'string' }, steps: { type: 'string' }, seeds: { type: 'string' }, matmul: { type: 'boolean' } }, allowPositionals: true });
const path = positionals[0] ?? 'models/gla.loom';
const T = Number(values.T ?? 1024);
const rounds = Number(values.rounds ?? 5);
const steps = Number(values.steps ?? 50);
const seeds = Number(values.seeds ?? 3);
const gpu = await acquireGpu();
const device = deviceProfile(gpu);
const text = readFileSync(path, 'utf8');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const tokens = (seed: number, n: number, vocab: number) => {
  const rng = Rng.forName(seed, 'f16-bench');
  return Int32Array.from({ length: n }, () => rng.int(vocab));
};

async function open(seq: number, dtype: WeightDtype, seed: number) {
  const { pair, artifacts } = compileInMemory(text, path, { batch: 1, seq, device, ...(dtype === 'f16' ? { weights: dtype } : {}) });
  const weights = seededWeights(pair.forward.graph.weights, seed);
  const bytes = artifacts.forward.buffers.filter((b) => b.role === 'weight').reduce((a, b) => a + b.elements * (b.elem === 'f16' ? 2 : 4), 0);
  return { pair, artifacts, weights, bytes, model: await Model.create(gpu, artifacts, weights) };
}

process.stdout.write(`adapter ${device.name}${device.shaderF16 ? '' : ' (no shader-f16: f16 refused)'}; ${path}\n`);

// Speed: forward [1, T] and one decode step, f32 and f16 alternating.
const dtypes: WeightDtype[] = ['f32', 'f16'];
const models = [await open(T, 'f32', 1), await open(T, 'f16', 1)];
const ids = tokens(1, T, models[0].artifacts.vocab);
for (const m of models) await m.model.forward(ids); // warm-up: compiles the pipelines
const fwd: number[][] = [[], []];
for (let r = 0; r < rounds; r++) for (const [i, m] of models.entries()) fwd[i].push((await m.model.forward(ids)).ms);
for (const m of models) {
  await m.model.prefill(ids.subarray(0, 16));
  for (let i = 0; i < 10; i++) await m.model.step(Int32Array.of(i));
}
const dec: number[][] = [[], []];
for (let s = 0; s < steps; s++) {
  for (const [i, m] of models.entries()) {
    const t0 = performance.now();
    await m.model.step(Int32Array.of((s * 13) % 256));
    dec[i].push(performance.now() - t0);
  }
}
for (const [i, dtype] of dtypes.entries()) {
  process.stdout.write(`${dtype}: weights ${(models[i].bytes / 1048576).toFixed(3)} MiB, forward T=${T} ${median(fwd[i]).toFixed(2)} ms (median of ${rounds}; all ${fwd[i].map((x) => x.toFixed(1)).join(' ')}), decode step ${median(dec[i]).toFixed(3)} ms (median of ${steps})\n`);
}
process.stdout.write(`f16/f32: forward ${(median(fwd[1]) / median(fwd[0])).toFixed(3)}x, step ${(median(dec[1]) / median(dec[0])).toFixed(3)}x (time ratio; < 1 is faster)\n`);

// Accuracy at T: the f16 model against the reference over the f32 and over the f16-rounded weights.
{
  const [f32, f16] = models;
  const ref = interpretGraph(f16.pair.forward.graph, f16.weights, ids).outputs.logits;
  const refStored = interpretGraph(f16.pair.forward.graph, storedWeights(f16.weights, f16.artifacts.forward.buffers), ids).outputs.logits;
  const out16 = (await f16.model.forward(ids)).logits;
  const out32 = (await f32.model.forward(ids)).logits;
  const vocab = f16.artifacts.vocab;
  let same = 0;
  for (let t = 0; t < T; t++) {
    const arg = (a: ArrayLike<number>) => {
      let best = 0;
      for (let v = 1; v < vocab; v++) if (a[t * vocab + v] > a[t * vocab + best]) best = v;
      return best;
    };
    if (arg(out16) === arg(ref)) same++;
  }
  process.stdout.write(`T=${T} seed 1: f16 logits vs float64 over f32 weights ${relativeError(out16, ref).toExponential(2)}, over f16-rounded weights ${relativeError(out16, refStored).toExponential(2)}; f32 model vs float64 ${relativeError(out32, ref).toExponential(2)}; argmax agrees at ${same}/${T} positions\n`);
}
for (const m of models) m.model.destroy();

// Accuracy at T = 16 over several seeds of weights and tokens.
for (let seed = 1; seed <= seeds; seed++) {
  const m = await open(16, 'f16', seed);
  const x = tokens(seed, 16, m.artifacts.vocab);
  const out = (await m.model.forward(x)).logits;
  const ref = interpretGraph(m.pair.forward.graph, m.weights, x).outputs.logits;
  const refStored = interpretGraph(m.pair.forward.graph, storedWeights(m.weights, m.artifacts.forward.buffers), x).outputs.logits;
  process.stdout.write(`T=16 seed ${seed}: f16 logits vs float64 over f32 weights ${relativeError(out, ref).toExponential(2)}, over f16-rounded weights ${relativeError(out, refStored).toExponential(2)}\n`);
  m.model.destroy();
}

if (values.matmul) {
  for (const [M, K, N] of [[1, 2048, 2048], [1, 4096, 4096], [1024, 1024, 1024]]) {
    const programs = await Promise.all((['f32', 'f16'] as const).map(async (w) => {
      const kernel = matmulKernel({ name: `mm.${w}`, M, K, N, transposeW: false, variant: 'register4x4', ...(w === 'f16' ? { weights: w } : {}) });
      const spec: ProgramSpec = { buffers: kernel.bindings.map((b) => ({ name: b.name, elem: b.elem, elements: b.elements, role: 'activation' })), steps: [{ kernel, args: kernel.bindings.map((b) => b.name) }] };
      const program = await Program.create(gpu, spec);
      fillForTiming(program, spec);
      await program.run();
      return program;
    }));
    const best = [Infinity, Infinity];
    for (let r = 0; r < rounds; r++) for (const [i, p] of programs.entries()) best[i] = Math.min(best[i], (await timeProgram(gpu, p, { warm: false, rounds: 1 })).ms);
    const gbs = (ms: number, bytes: number) => (K * N * bytes / 1e9 / (ms / 1e3)).toFixed(1);
    process.stdout.write(`matmul register4x4 M=${M} K=${K} N=${N}: f32 weights ${best[0].toFixed(3)} ms (${gbs(best[0], 4)} GB/s of W), f16 weights ${best[1].toFixed(3)} ms (${gbs(best[1], 2)} GB/s of W), f16/f32 ${(best[1] / best[0]).toFixed(3)}x\n`);
    for (const p of programs) p.destroy();
  }
}
process.exit(0);
