import { describe, expect, it } from 'vitest';
import type { ScheduleSpec } from '../../compiler/check/spec.ts';
import { chooseCheapest, estimateMs, type Candidate } from '../../compiler/plan/cost.ts';
import { DEFAULT_LIMITS, type DeviceProfile } from '../../compiler/plan/device.ts';
import { autoCandidates, resolveChoice } from '../../compiler/plan/plan.ts';

const span = { start: 0, end: 0, line: 1, col: 1 };
const cpu: DeviceProfile = { name: 'cpu', isCpu: true, limits: DEFAULT_LIMITS };
const gpu: DeviceProfile = { name: 'gpu', isCpu: false, limits: DEFAULT_LIMITS };

describe('resolveChoice', () => {
  const spec: ScheduleSpec = {
    default: { kind: 'auto' },
    prefill: { kind: 'chunkwise', chunk: 64 },
    decode: { kind: 'recurrent' },
    layers: [
      { first: 0, last: 3, choice: { kind: 'parallel' }, span },
      { first: 2, last: 2, choice: { kind: 'recurrent' }, span },
    ],
  };
  it('a --schedule override beats everything', () => {
    expect(resolveChoice(spec, 0, 'prefill', { kind: 'recurrent' })).toEqual({ choice: { kind: 'recurrent' }, source: '--schedule' });
  });
  it('later layer entries win over earlier ones and over the mode', () => {
    expect(resolveChoice(spec, 2, 'prefill').choice).toEqual({ kind: 'recurrent' });
    expect(resolveChoice(spec, 1, 'prefill')).toEqual({ choice: { kind: 'parallel' }, source: 'layers[0..3]', span });
  });
  it('the mode entry applies outside the ranges, then the default', () => {
    expect(resolveChoice(spec, 5, 'prefill')).toEqual({ choice: { kind: 'chunkwise', chunk: 64 }, source: 'prefill' });
    expect(resolveChoice(spec, 5, 'decode').choice).toEqual({ kind: 'recurrent' });
    expect(resolveChoice({ default: { kind: 'auto' }, layers: [] }, 5, 'decode')).toEqual({ choice: { kind: 'auto' }, source: 'default' });
  });
});

describe('auto candidates and choice', () => {
  it('offers chunk sizes up to T (and always the smallest)', () => {
    expect(autoCandidates(1).map((c) => `${c.schedule}${c.chunk || ''}`)).toEqual(['recurrent', 'parallel', 'chunkwise16']);
    expect(autoCandidates(100).filter((c) => c.schedule === 'chunkwise').map((c) => c.chunk)).toEqual([16, 32, 64]);
  });
  it('picks the cheapest supported candidate, never an unsupported one', () => {
    const cands: Candidate[] = [
      { schedule: 'recurrent', chunk: 0, ok: true, estimateMs: 3 },
      { schedule: 'parallel', chunk: 0, ok: false, reason: 'too big' },
      { schedule: 'chunkwise', chunk: 16, ok: true, estimateMs: 2 },
      { schedule: 'chunkwise', chunk: 32, ok: true, estimateMs: 2 },
    ];
    expect(chooseCheapest(cands)).toBe(cands[2]);
    expect(chooseCheapest([cands[1]])).toBeUndefined();
  });
});

describe('estimateMs', () => {
  const base = { flops: 1e9, bytes: 1e6, serialSteps: 100, threads: 1e6 };
  it('grows with work and with serial steps', () => {
    for (const d of [cpu, gpu]) {
      expect(estimateMs({ ...base, flops: 2e9 }, d)).toBeGreaterThan(estimateMs(base, d));
      expect(estimateMs({ ...base, serialSteps: 1e4 }, d)).toBeGreaterThan(estimateMs(base, d));
      expect(estimateMs({ ...base, bytes: 1e9 }, d)).toBeGreaterThan(estimateMs(base, d));
    }
  });
  it('penalises too few threads far more on a GPU than on a CPU adapter', () => {
    const few = { ...base, threads: 256 };
    const ratio = (d: DeviceProfile) => estimateMs(few, d) / estimateMs(base, d);
    expect(ratio(gpu)).toBeGreaterThan(ratio(cpu) * 10);
  });
});
