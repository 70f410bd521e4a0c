/**
 * `node bin/run-ts.js bench/decode.ts [SPEC...] [--steps N] [--json]`: decode milliseconds per
 * token through the public Model API (compiled artifact directory, forward + step programs): a
 * 16-token prefill, 10 warm-up steps, then the median of N (default 100) single steps at B = 1.
 * Uses only APIs that predate device-resident state, so the same file measures older checkouts.
 * `--host-state`: every step also reads the whole state back and writes it again (what each step
 * did before the state stayed on the device), for a same-tree comparison; `--compare`: both,
 * alternating step by step so that both see the same machine load, and their ratio.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { compileInMemory } from '../cli/open-model.ts';
import { acquireGpu, deviceProfile } from '../runtime/gpu.ts';
import { Model } from '../runtime/model.ts';
import { seededWeights } from '../runtime/weights.ts';

const { values, positionals } = parseArgs({ options: { steps: { type: 'string' }, json: { type: 'boolean' }, 'host-state': { type: 'boolean' }, compare: { type: 'boolean' } }, allowPositionals: true });
const specs = positionals.length ? positionals : ['models/gated-deltanet.loom', 'models/linear-transformer.loom'];
const steps = Number(values.steps ?? 100);
const gpu = await acquireGpu();
const results: Record<string, number> = {};
for (const path of specs) {
  const { pair, artifacts } = compileInMemory(readFileSync(path, 'utf8'), path, { batch: 1, seq: 16, device: deviceProfile(gpu) });
  const model = await Model.create(gpu, artifacts, seededWeights(pair.forward.graph.weights, 1));
  await model.prefill(Int32Array.from({ length: 16 }, (_, i) => (i * 7) % 256));
  for (let i = 0; i < 10; i++) await model.step(Int32Array.of(i));
  const times: Record<'device' | 'host', number[]> = { device: [], host: [] };
  const modes: ('device' | 'host')[] = values.compare ? ['device', 'host'] : [values['host-state'] ? 'host' : 'device'];
  for (let i = 0; i < steps; i++) {
    for (const mode of modes) {
      const t0 = performance.now();
      if (mode === 'host') model.writeState(await model.readState());
      await model.step(Int32Array.of((i * 13) % 256));
      times[mode].push(performance.now() - t0);
    }
  }
  model.destroy();
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  results[path] = median(times[modes[0]]);
  if (values.compare) {
    const [d, h] = [median(times.device), median(times.host)];
    results[`${path} host-state`] = h;
    if (!values.json) process.stdout.write(`${path.padEnd(36)} state on device ${d.toFixed(3)} ms/token, state through the host ${h.toFixed(3)} ms/token: ${(h / d).toFixed(2)}x (medians of ${steps} alternating steps)\n`);
  } else if (!values.json) process.stdout.write(`${path.padEnd(36)} ${results[path].toFixed(3)} ms/token (median of ${steps} steps)\n`);
}
if (values.json) process.stdout.write(JSON.stringify(results) + '\n');
process.exit(0);
