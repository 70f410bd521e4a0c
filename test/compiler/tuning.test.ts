/** Calibration, the tune store and the planner's preference for measured times: pure functions. */
import { describe, expect, it } from 'vitest';
import { compileSource } from '../../compiler/pipeline.ts';
import { deviceRates, estimateMs, type Candidate } from '../../compiler/plan/cost.ts';
import { DEFAULT_LIMITS, type DeviceProfile } from '../../compiler/plan/device.ts';
import { candidateProgram, tuneTargets } from '../../compiler/plan/tune-targets.ts';
import { candidateKey, chooseAuto, lookupMeasured, recordMeasured, shapeKey, type Calibration, type MeasuredTable } from '../../compiler/plan/tuning.ts';
import { parseCache } from '../../runtime/tune-cache.ts';
import { adapterHash } from '../../runtime/tune-cache.ts';

const cpu: DeviceProfile = { name: 'cpu', isCpu: true, limits: DEFAULT_LIMITS };
const calibration: Calibration = { flopsPerSec: 2e9, matmulGflops: { register4x4: 2 }, matmulShape: '256 x 256 x 256', bytesPerSec: 3e9, dispatchSec: 2e-4, method: 'timestamps', at: '2026-01-01T00:00:00Z' };
const m = (ms: number) => ({ ms, reps: 10, method: 'timestamps' as const, at: '2026-01-01T00:00:00Z' });

const SPEC = `model tiny {
  vocab = 32
  dim = 32
  heads = 2
  layers = 3
  mixer attn = linear_attn { }
  block {
    x = x + attn(rmsnorm(x))
  }
}
`;

function compile(device: DeviceProfile, seq = 64) {
  const r = compileSource(SPEC, 'tiny.loom', { batch: 1, seq, device });
  if (!r.ok) throw new Error(r.diagnostics.map((d) => d.message).join('\n'));
  return r.compiled;
}

describe('calibrated rates', () => {
  it('replace the class constants in the cost model, and only the measured ones', () => {
    const r = deviceRates({ ...cpu, calibration });
    expect(r).toMatchObject({ flopsPerSec: 2e9, bytesPerSec: 3e9, dispatchSec: 2e-4 });
    expect(r.width).toBe(deviceRates(cpu).width);
    const cost = { flops: 1e9, bytes: 1e6, serialSteps: 0, threads: 1e6 };
    expect(estimateMs(cost, { ...cpu, calibration })).toBeCloseTo(500 + (1e6 / 3e9) * 1e3, 6);
  });
  it('ignore a rate that is not a positive number', () => {
    expect(deviceRates({ ...cpu, calibration: { ...calibration, flopsPerSec: 0 } }).flopsPerSec).toBe(deviceRates(cpu).flopsPerSec);
  });
});

describe('the measured table', () => {
  it('records and looks up by shape and candidate, without touching the old table', () => {
    const t0: MeasuredTable = {};
    const t1 = recordMeasured(t0, 'shape A', 'recurrent', m(3));
    const t2 = recordMeasured(t1, 'shape A', 'chunkwise(32)', m(2));
    expect(t0).toEqual({});
    expect(lookupMeasured(t2, 'shape A', 'recurrent')?.ms).toBe(3);
    expect(lookupMeasured(t2, 'shape A', 'parallel')).toBeUndefined();
    expect(lookupMeasured(t2, 'shape B', 'recurrent')).toBeUndefined();
    expect(lookupMeasured(recordMeasured(t2, 'shape A', 'recurrent', m(5)), 'shape A', 'recurrent')?.ms).toBe(5);
    expect(lookupMeasured(t2, 'constructor', 'toString')).toBeUndefined();
  });
  it('names candidates as the CLI prints them', () => {
    expect(candidateKey({ schedule: 'chunkwise', chunk: 32 })).toBe('chunkwise(32)');
    expect(candidateKey({ schedule: 'recurrent', chunk: 0 })).toBe('recurrent');
    expect(candidateKey({ schedule: 'parallel', chunk: 0, variant: 'tiled' })).toBe('parallel/tiled');
  });
});

describe('auto with measurements', () => {
  const cands: Candidate[] = [
    { schedule: 'recurrent', chunk: 0, ok: true, estimateMs: 1 },
    { schedule: 'parallel', chunk: 0, ok: false, reason: 'too big', measuredMs: 0.1 },
    { schedule: 'chunkwise', chunk: 32, ok: true, estimateMs: 5, measuredMs: 2 },
    { schedule: 'chunkwise', chunk: 64, ok: true, estimateMs: 4, measuredMs: 3 },
  ];
  it('prefers the fastest measured candidate over the lowest estimate, never an unsupported one', () => {
    expect(chooseAuto(cands)).toEqual({ pick: cands[2], basis: 'measured' });
  });
  it('falls back to the estimates when nothing was measured', () => {
    const plain = cands.map(({ measuredMs: _, ...c }) => c);
    expect(chooseAuto(plain)).toEqual({ pick: plain[0], basis: 'estimated' });
    expect(chooseAuto([cands[1]])).toBeUndefined();
  });
  it('the planner picks a measured schedule and says so; identical layers share one shape', () => {
    const plain = compile(cpu);
    const targets = tuneTargets(plain.fused, cpu);
    expect(targets).toHaveLength(1);
    expect(targets[0].labels).toEqual(['L0.attn', 'L1.attn', 'L2.attn']);
    const shape = targets[0].shape;
    expect(shape).toBe(shapeKey(plain.fused.nodes.find((n) => n.op === 'linear_attn')!, { B: 1, T: 64 }));
    const byEstimate = plain.plan.mixers[0];
    expect(byEstimate.why).toMatch(/^auto: lowest estimate/);
    // Make the candidate the estimates rank worst the measured fastest.
    const worst = byEstimate.candidates.filter((c) => c.ok).sort((a, b) => b.estimateMs! - a.estimateMs!)[0];
    const measured = recordMeasured(recordMeasured({}, shape, candidateKey(worst), m(0.5)), shape, candidateKey(byEstimate), m(9));
    const tuned = compile({ ...cpu, measured });
    for (const p of tuned.plan.mixers) {
      expect(`${p.schedule}${p.chunk}`).toBe(`${worst.schedule}${worst.chunk}`);
      expect(p.why).toMatch(/^auto: measured fastest \(0\.500 ms, loom tune; est\. /);
      expect(p.candidates.find((c) => c.schedule === worst.schedule && c.chunk === worst.chunk)?.measuredMs).toBe(0.5);
    }
    // Another T is another shape: its plan is estimated.
    expect(compile({ ...cpu, measured }, 128).plan.mixers[0].why).toMatch(/^auto: lowest estimate/);
  });
  it('a schedule the spec asks for is kept even when another was measured faster', () => {
    const text = `${SPEC}\nschedule {\n  default = recurrent\n}\n`;
    const plain = compile(cpu);
    const shape = tuneTargets(plain.fused, cpu)[0].shape;
    const r = compileSource(text, 'tiny.loom', { batch: 1, seq: 64, device: { ...cpu, measured: recordMeasured({}, shape, 'parallel', m(0.001)) } });
    expect(r.ok && r.compiled.plan.mixers[0].schedule).toBe('recurrent');
  });
  it('each candidate has a standalone program that binds only named roles', () => {
    const c = compile(cpu);
    const t = tuneTargets(c.fused, cpu)[0];
    for (const cand of t.candidates.filter((x) => x.ok)) {
      const p = candidateProgram(t.node, cand, c.fused.dims);
      expect(p.steps.length).toBeGreaterThan(0);
      for (const s of p.steps) for (const a of s.args) expect(a).toMatch(/^(q|k|v|s0|z0|g|beta|o|S|z|tune\..*)$/);
    }
  });
});

describe('the cache file', () => {
  it('round-trips and drops malformed entries', () => {
    const good = { version: 1, adapter: 'x', calibration, measured: { s: { recurrent: m(1), bad: { ms: 'no' } }, empty: {} } };
    const { cache, problem } = parseCache(JSON.stringify(good), 'x');
    expect(problem).toBeUndefined();
    expect(cache.calibration).toEqual(calibration);
    expect(cache.measured).toEqual({ s: { recurrent: m(1) } });
  });
  it('reports text that is not a cache and starts empty', () => {
    expect(parseCache('{', 'x').problem).toMatch(/not JSON/);
    expect(parseCache('{"version": 7}', 'x')).toEqual({ cache: { version: 1, adapter: 'x', measured: {} }, problem: 'not a version 1 loom tune cache' });
  });
  it('keys adapters by everything they say about themselves', () => {
    const a = { vendor: 'mesa', architecture: 'software', device: 'llvmpipe', description: 'd', backend: 'vulkan', isCpu: true };
    expect(adapterHash(a)).toMatch(/^[0-9a-f]{16}$/);
    expect(adapterHash({ ...a, backend: 'opengles' })).not.toBe(adapterHash(a));
  });
});

describe('loom tune options', () => {
  async function loom(...argv: string[]) {
    const { main } = await import('../../cli/main.ts');
    let err = '';
    const code = await main(argv, { out: () => {}, err: (t) => (err += t) });
    return { code, err };
  }
  it('refuses a bad --seq or --max-seconds before touching the device', async () => {
    for (const [args, msg] of [
      [['--seq', '0'], /--seq must be a positive integer, got '0'/],
      [['--seq', '64,x'], /--seq must be a positive integer, got 'x'/],
      [['--seq'], /option '--seq <T>' argument missing/],
      [['--max-seconds', 'soon'], /--max-seconds must be a positive number, got 'soon'/],
    ] as const) {
      const r = await loom('tune', 'models/gla.loom', ...args);
      expect(r.code).toBe(2); // a usage error
      expect(r.err).toMatch(/LOOM6001/);
      expect(r.err).toMatch(msg);
    }
  });
});
