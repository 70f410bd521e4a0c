/**
 * The planner's choice of the chunkwise schedule's kernel variant per device class (pure):
 * GPU-class adapters get the workgroup-memory variant, CPU adapters and the unknown default
 * profile keep the register one (unchanged plans), `loom tune` measures both everywhere, and a
 * measured variant wins on its time.
 */
import { describe, expect, it } from 'vitest';
import type { ScheduleChoice } from '../../compiler/check/spec.ts';
import { GPU_PREFERS_WORKGROUP, preferChunkVariant } from '../../compiler/plan/chunk-variant.ts';
import type { Candidate } from '../../compiler/plan/cost.ts';
import { DEFAULT_PROFILE, gpuClass, type DeviceProfile } from '../../compiler/plan/device.ts';
import { tuneTargets } from '../../compiler/plan/tune-targets.ts';
import { candidateKey, recordMeasured, shapeKey } from '../../compiler/plan/tuning.ts';
import { compileSource } from '../../compiler/pipeline.ts';

const CPU: DeviceProfile = { ...DEFAULT_PROFILE, name: 'llvmpipe (vulkan)', isCpu: true };
const GPU: DeviceProfile = { ...DEFAULT_PROFILE, name: 'gpu (vulkan)', unrollLoops: true };

const spec = (mixer: string) => `model small {
  vocab = 32
  dim = 32
  heads = 2
  layers = 1
  mixer m = ${mixer} { head_dim = 16 }
  block {
    x = x + m(rmsnorm(x))
  }
}`;

function compile(mixer: string, device: DeviceProfile, schedule: ScheduleChoice = { kind: 'chunkwise', chunk: 16 }, seq = 40) {
  const r = compileSource(spec(mixer), 'small.loom', { batch: 1, seq, schedule, device });
  if (!r.ok) throw new Error(r.diagnostics.map((d) => d.message).join('\n'));
  return r.compiled;
}

function kernelNames(c: ReturnType<typeof compile>): string[] {
  return c.program.steps.map((s) => s.kernel.name).filter((n) => /\.chunk_/.test(n));
}

describe('chunkwise kernel variant per device class', () => {
  it('GPU class: the identified GPU profile only', () => {
    expect(gpuClass(GPU)).toBe(true);
    expect(gpuClass(DEFAULT_PROFILE)).toBe(false);
    expect(gpuClass(CPU)).toBe(false);
    expect(gpuClass({ ...CPU, unrollLoops: true })).toBe(false);
  });

  it.each([
    ['the default profile', DEFAULT_PROFILE],
    ['a CPU adapter', CPU],
  ])('%s keeps the register variant, with no workgroup rows in the plan', (_, device) => {
    const c = compile('gla', device);
    const m = c.plan.mixers[0];
    expect(m.variant).toBeUndefined();
    expect(m.candidates.map(candidateKey)).toEqual(['chunkwise(16)']);
    expect(kernelNames(c)).toEqual(['L0.m.chunk_h', 'L0.m.chunk_o']);
  });

  it('a GPU-class adapter gets the workgroup variant; the register row says why it lost', () => {
    const c = compile('gla', GPU);
    const m = c.plan.mixers[0];
    expect(m.variant).toBe('workgroup');
    expect(m.candidates).toEqual([
      { schedule: 'chunkwise', chunk: 16, ok: false, reason: GPU_PREFERS_WORKGROUP },
      expect.objectContaining({ schedule: 'chunkwise', chunk: 16, variant: 'workgroup', ok: true }),
    ]);
    expect(kernelNames(c)).toEqual(['L0.m.chunk_h_wg', 'L0.m.chunk_o_wg']);
    expect(c.program.steps.find((s) => s.kernel.name === 'L0.m.chunk_o_wg')!.kernel.wgsl).toContain('var<workgroup> s_k');
  });

  it('auto on a GPU-class adapter offers the workgroup variant at every chunk size', () => {
    const m = compile('linear_attn', GPU, { kind: 'auto' }, 200).plan.mixers[0];
    const rows = m.candidates.filter((c) => c.schedule === 'chunkwise');
    expect(rows.filter((c) => c.ok).map(candidateKey)).toEqual(['chunkwise(16)/workgroup', 'chunkwise(32)/workgroup', 'chunkwise(64)/workgroup', 'chunkwise(128)/workgroup']);
    if (m.schedule === 'chunkwise') expect(m.variant).toBe('workgroup');
  });

  it('falls back to the register variant where the workgroup one does not fit, with its reason', () => {
    const m = compile('gla', GPU, { kind: 'chunkwise', chunk: 512 }, 600).plan.mixers[0];
    expect(m.variant).toBeUndefined();
    expect(m.candidates.find((c) => c.variant === 'workgroup')).toMatchObject({ ok: false, reason: expect.stringMatching(/chunk 512: .* the device allows 256 per workgroup/) });
  });

  it('the delta rule has only the register variant', () => {
    const m = compile('gated_delta', GPU).plan.mixers[0];
    expect(m.variant).toBeUndefined();
    expect(m.candidates.map(candidateKey)).toEqual(['chunkwise(16)']);
  });

  it('a measured variant competes on its time on every device class', () => {
    const g = compile('gla', CPU).graph;
    const n = g.nodes.find((x) => x.op === 'linear_attn')!;
    const shape = shapeKey(n, g.dims)!;
    const m = (ms: number) => ({ ms, reps: 10, method: 'wall' as const, at: '2026-11-28T00:00:00Z' });
    const wgFaster = recordMeasured(recordMeasured({}, shape, 'chunkwise(16)', m(2)), shape, 'chunkwise(16)/workgroup', m(1));
    expect(compile('gla', { ...CPU, measured: wgFaster }).plan.mixers[0].variant).toBe('workgroup');
    const regFaster = recordMeasured(recordMeasured({}, shape, 'chunkwise(16)', m(1)), shape, 'chunkwise(16)/workgroup', m(2));
    expect(compile('gla', { ...GPU, measured: regFaster }).plan.mixers[0].variant).toBeUndefined();
  });

  it('loom tune measures both variants where both are legal, whatever the device class', () => {
    const g = compile('gla', CPU, { kind: 'auto' }, 40).graph;
    const [t] = tuneTargets(g, CPU);
    const chunkwise = t.candidates.filter((c) => c.schedule === 'chunkwise' && c.ok).map(candidateKey);
    expect(chunkwise).toEqual(['chunkwise(16)', 'chunkwise(16)/workgroup', 'chunkwise(32)', 'chunkwise(32)/workgroup']);
  });
});

describe('preferChunkVariant', () => {
  const reg: Candidate = { schedule: 'chunkwise', chunk: 64, ok: true, estimateMs: 2 };
  const wg: Candidate = { schedule: 'chunkwise', chunk: 64, variant: 'workgroup', ok: true, estimateMs: 1 };
  const rec: Candidate = { schedule: 'recurrent', chunk: 0, ok: true, estimateMs: 3 };

  it('leaves other schedules and lone variants alone', () => {
    expect(preferChunkVariant([rec, reg], GPU)).toEqual([rec, reg]);
    expect(preferChunkVariant([rec, wg], CPU)).toEqual([rec, wg]);
  });

  it('keys the variant after the chunk size', () => {
    expect(candidateKey(wg)).toBe('chunkwise(64)/workgroup');
    expect(candidateKey(reg)).toBe('chunkwise(64)');
  });
});
