/**
 * One real-size checkpoint directory measured in a process of its own (so its peak RSS is its
 * own): load (compile and upload), host peak RSS against the bytes on the device, prefill of
 * prompts of several lengths, decode per token. Prints one JSON object on stdout. Run by
 * bench/realsize.ts; `node bin/run-ts.js bench/realsize-run.ts DIR [--prompts 17,100,1000]`.
 */
import { elemBytes } from '../compiler/codegen/kernel.ts';
import { acquireGpu } from '../runtime/gpu.ts';
import { openPretrained } from '../runtime/open.ts';
import { Rng } from '../runtime/random.ts';

const dir = process.argv[2];
const promptsArg = process.argv.indexOf('--prompts');
const prompts = (promptsArg > 0 ? process.argv[promptsArg + 1] : '17,100,1000').split(',').map(Number);
const STEPS = 24;
const peakRss = () => process.resourceUsage().maxRSS * 1024;

const gpu = await acquireGpu();
const baseRss = peakRss();
const t0 = performance.now();
const { model, pair } = await openPretrained(gpu, dir, { seq: 1024 });
const loadMs = performance.now() - t0;
const loadRss = peakRss();
const bytes = (b: { elements: number; elem: string }) => b.elements * elemBytes(b.elem as never);
const weights = pair.forward.program.buffers.filter((b) => b.role === 'weight');
const weightBytes = weights.reduce((a, b) => a + bytes(b), 0);
const deviceBytes = pair.forward.program.buffers.reduce((a, b) => a + bytes(b), 0) + (pair.step?.program.buffers.filter((b) => b.role !== 'weight').reduce((a, b) => a + bytes(b), 0) ?? 0);
// A decode step reads every weight but the embedding table, of which it gathers one row.
const embed = weights.find((b) => b.name === 'embed.weight');
const stepReadBytes = weightBytes - (embed ? bytes(embed) : 0);
const rng = Rng.forName(1, 'realsize');
const ids = (n: number) => Int32Array.from({ length: n }, () => 3 + rng.int(200));

const prefill: Record<number, { ms: number; widths: number[] }> = {};
for (const n of prompts) {
  const p = ids(n);
  await model.prepare(n); // makes the window programs this length needs
  model.reset();
  // A first call compiles the pipelines on lavapipe (at their first dispatch); the long prompt is
  // timed on its first call (Mesa's shader cache holds most kernels by then) to bound the run's time.
  if (n <= 128) await model.prefill(p, { logits: 'last' });
  model.reset();
  const t = performance.now();
  await model.prefill(p, { logits: 'last' }); // as generation runs it: the LM head on the last call only
  prefill[n] = { ms: performance.now() - t, widths: model.windowWidths(n) };
}
model.reset();
await model.prefill(ids(17));
await model.step(Int32Array.of(5)); // warm-up
const ts: number[] = [];
for (let i = 0; i < STEPS; i++) {
  const t = performance.now();
  await model.step(Int32Array.of(3 + (i % 200)));
  ts.push(performance.now() - t);
}
ts.sort((a, b) => a - b);
const stepMs = ts[Math.floor(ts.length / 2)];
model.destroy();
const f16 = weights.filter((b) => b.elem === 'f16').length;
process.stdout.write(JSON.stringify({ dir, loadMs, baseRss, loadRss, deviceBytes, weightBytes, stepReadBytes, f16Weights: `${f16} of ${weights.length}`, prefill, stepMs, stepMinMs: ts[0] }) + '\n');
process.exit(0);
