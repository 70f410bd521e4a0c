/**
 * `loom tune` on the adapter: a tiny spec tuned into a temporary cache (calibrating first), after
 * which `explain` shows measured next to estimated times and `auto` picks the measured fastest.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../cli/main.ts';
import { compileSource } from '../../compiler/pipeline.ts';
import { candidateKey } from '../../compiler/plan/tuning.ts';
import { loadProfile } from '../../runtime/tune-cache.ts';
import { gpu } from './gpu.ts';

const SPEC = `model tiny_tune {
  vocab = 16
  dim = 16
  heads = 2
  layers = 2
  mixer attn = linear_attn { }
  block {
    x = x + attn(rmsnorm(x))
  }
}
`;

async function loom(...argv: string[]) {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (t) => (out += t), err: (t) => (err += t) });
  return { code, out, err };
}

describe('loom tune', () => {
  const dir = mkdtempSync(join(tmpdir(), 'loom-tune-'));
  const spec = join(dir, 'tiny.loom');
  const saved = { cache: process.env.LOOM_CACHE_DIR, calibrate: process.env.LOOM_CALIBRATE };
  beforeAll(() => {
    writeFileSync(spec, SPEC);
    process.env.LOOM_CACHE_DIR = join(dir, 'cache');
    delete process.env.LOOM_CALIBRATE;
  });
  afterAll(() => {
    process.env.LOOM_CACHE_DIR = saved.cache;
    process.env.LOOM_CALIBRATE = saved.calibrate;
    rmSync(dir, { recursive: true, force: true });
  });

  it('measures every legal schedule once per distinct shape and caches the times per adapter', async () => {
    const r = await loom('tune', spec, '--seq', '16', '--quick', '--json');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out);
    expect(report.results).toHaveLength(1);
    const [shape] = report.results[0].shapes;
    expect(shape.labels).toEqual(['L0.attn', 'L1.attn']);
    const measured = shape.candidates.filter((c: { measuredMs?: number }) => c.measuredMs !== undefined);
    // Both kernel variants of chunkwise are measured, whatever the device class.
    expect(measured.map((c: { key: string }) => c.key).sort()).toEqual(['chunkwise(16)', 'chunkwise(16)/workgroup', 'parallel', 'recurrent']);
    for (const c of measured) expect(c.measuredMs).toBeGreaterThan(0);
    const files = readdirSync(join(dir, 'cache'));
    expect(files).toHaveLength(1);
    const cache = JSON.parse(readFileSync(join(dir, 'cache', files[0]), 'utf8'));
    expect(cache.calibration.flopsPerSec).toBeGreaterThan(0);
    expect(cache.calibration.dispatchSec).toBeGreaterThan(0);
    expect(Object.keys(cache.measured)).toEqual([shape.shape]);

    // The planner now prefers the measured fastest and says so.
    const device = await loadProfile(await gpu(), { calibrate: 'never' });
    const c = compileSource(SPEC, 'tiny.loom', { batch: 1, seq: 16, device });
    expect(c.ok).toBe(true);
    const plan = c.ok ? c.compiled.plan.mixers[0] : undefined;
    expect(candidateKey(plan!)).toBe(shape.best);
    expect(plan!.why).toMatch(/measured fastest/);

    const e = await loom('explain', spec, '--seq', '16');
    expect(e.code).toBe(0);
    expect(e.out).toMatch(/calibrated: [\d.]+ GFLOP\/s/);
    expect(e.out).toMatch(/recurrent\s+est\. [\d.e+-]+ ms\s+measured [\d.e+-]+ ms/);
  });
});
