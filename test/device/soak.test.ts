/**
 * Soak: 2000 greedy decode steps through the public Model API keep the JS heap (after GC), the
 * process RSS and the number of live GPU buffers flat; two Model instances in one process do not
 * interfere (interleaved calls give bitwise the same logits as separate runs). The long version
 * is `npm run soak` (scripts/soak.ts).
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { liveGpuBuffers } from '../../runtime/program.ts';
import type { Model } from '../../runtime/model.ts';
import { decode, openModel, SOAK_SPEC, type MemorySample } from '../../scripts/soak.ts';
import { gpu } from './gpu.ts';

const WARMUP = 300;
const STEPS = 2000;
const EVERY = 250;
/**
 * RSS is noisy (allocator arenas, the shader compiler): it moved by ±50 MiB without a trend over
 * 20,000 steps in `npm run soak`. 128 MiB over 2000 steps still catches a native leak of 64 KiB
 * per step; the JS heap after GC is measured to much finer precision.
 */
const MAX_RSS_GROWTH_MIB = 128;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

describe('soak', () => {
  it(`${WARMUP} + ${STEPS} decode steps: heap, RSS and live GPU buffers stay flat`, { timeout: 120_000 }, async () => {
    const model = await openModel(await gpu(), SOAK_SPEC, 1);
    const samples: MemorySample[] = [];
    try {
      const warm = await decode(model, Int32Array.of(3), WARMUP, WARMUP, () => undefined);
      await decode(model, warm, STEPS, EVERY, (s) => {
        gc();
        samples.push({ ...s, heapMiB: process.memoryUsage().heapUsed / 2 ** 20, rssMiB: process.memoryUsage().rss / 2 ** 20 });
      });
    } finally {
      model.destroy();
    }
    expect(samples).toHaveLength(STEPS / EVERY);
    // Medians of the first and last three samples, after a warm-up (pipelines compiled, caches warm).
    const [first, rest] = [samples.slice(0, 3), samples.slice(-3)];
    const heapGrowth = median(rest.map((s) => s.heapMiB)) - median(first.map((s) => s.heapMiB));
    const rssGrowth = median(rest.map((s) => s.rssMiB)) - median(first.map((s) => s.rssMiB));
    process.stdout.write(`soak: ${STEPS} steps, heap ${heapGrowth.toFixed(2)} MiB, RSS ${rssGrowth.toFixed(1)} MiB, live GPU buffers ${samples.map((s) => s.liveBuffers).join(' ')}\n`);
    expect(heapGrowth, 'JS heap growth after GC (MiB)').toBeLessThan(1);
    expect(rssGrowth, 'RSS growth (MiB)').toBeLessThan(MAX_RSS_GROWTH_MIB);
    expect(new Set(samples.map((s) => s.liveBuffers)).size, 'live GPU buffers change').toBe(1);
    expect(samples[0].liveBuffers).toBeGreaterThan(0);
    expect(liveGpuBuffers(), 'buffers left after destroy').toBe(0);
  });

  it('two models in one process do not interfere: interleaved calls equal separate runs', { timeout: 120_000 }, async () => {
    const g = await gpu();
    const [a, b] = [await openModel(g, SOAK_SPEC, 1), await openModel(g, SOAK_SPEC, 2)];
    const prompt = { a: Int32Array.from({ length: 11 }, (_, i) => (i * 5) % 64), b: Int32Array.from({ length: 11 }, (_, i) => (i * 3 + 1) % 64) };
    const steps = 12;
    /** prefill the prompt, then `steps` steps feeding token t % 64: every call's logits. */
    async function* calls(m: Model, p: Int32Array): AsyncGenerator<Float32Array> {
      yield await m.prefill(p);
      for (let t = 0; t < steps; t++) yield await m.step(Int32Array.of((t * 7) % 64));
    }
    try {
      const separate = { a: [] as Float32Array[], b: [] as Float32Array[] };
      for await (const l of calls(a, prompt.a)) separate.a.push(l);
      for await (const l of calls(b, prompt.b)) separate.b.push(l);
      a.reset();
      b.reset();
      const [ia, ib] = [calls(a, prompt.a), calls(b, prompt.b)];
      for (let i = 0; i <= steps; i++) {
        const [ra, rb] = [await ia.next(), await ib.next()];
        expect(Array.from(ra.value as Float32Array), `model a, call ${i}`).toEqual(Array.from(separate.a[i]));
        expect(Array.from(rb.value as Float32Array), `model b, call ${i}`).toEqual(Array.from(separate.b[i]));
      }
      expect(Array.from(separate.a[steps])).not.toEqual(Array.from(separate.b[steps]));
    } finally {
      a.destroy();
      b.destroy();
    }
  });
});
