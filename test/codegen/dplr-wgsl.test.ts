import { describe, expect, it } from 'vitest';
import type { Schedule } from '../../compiler/ir/graph.ts';
import { dplrCost, dplrProgram, dplrSupports, type DplrDims } from '../../compiler/mixers/linear_attn/dplr/index.ts';
import { checkDplrTensors, DPLR_OPS } from '../../compiler/mixers/linear_attn/dplr/ops.ts';
import { kdaPrepKernel } from '../../compiler/mixers/linear_attn/dplr/kda.ts';
import { DEFAULT_LIMITS } from '../../compiler/plan/device.ts';

const BUF = { q: 'q', k: 'k', v: 'v', a: 'a', b: 'b', gk: 'gk', s0: 's0', o: 'o', S: 'S' };
const LIMITS = { ...DEFAULT_LIMITS, maxStorageBuffersPerShaderStage: 16 };

function dims(T: number, o: Partial<DplrDims> = {}): DplrDims {
  return { B: 2, T, H: 2, K: 4, V: 8, scale: 0.5, chunk: 8, ...o };
}

describe('DPLR WGSL', () => {
  it.each(['recurrent', 'chunkwise'] as Schedule[])('matches the snapshot (B2-T20-H2-K4-V8-c8): %s', async (schedule) => {
    for (const s of dplrProgram('L0.x', schedule, dims(20), BUF).steps) {
      await expect(s.kernel.wgsl).toMatchFileSnapshot(`__snapshots__/dplr/${s.kernel.name.slice('L0.x.'.length)}.wgsl`);
    }
    await expect(kdaPrepKernel('op.kda_prep', dims(20)).wgsl).toMatchFileSnapshot('__snapshots__/dplr/kda_prep.wgsl');
  });

  it('names kernels after the label, declares its intermediates and binds every binding', () => {
    const p = dplrProgram('L0.x', 'chunkwise', dims(20), BUF);
    expect(p.steps.map((s) => s.kernel.name)).toEqual(['L0.x.chunk_a', 'L0.x.chunk_w', 'L0.x.chunk_u', 'L0.x.chunk_h', 'L0.x.chunk_o']);
    expect(p.buffers.map((b) => [b.name, b.elements])).toEqual([
      ['L0.x.mats', 2 * 20 * 2 * 4 * 8],
      ['L0.x.dec', 2 * 20 * 2 * 4 * 4],
      ['L0.x.wk', 2 * 20 * 2 * 4],
      ['L0.x.u', 2 * 20 * 2 * 8],
      ['L0.x.h', 2 * 2 * 3 * 4 * 8],
    ]);
    for (const schedule of ['recurrent', 'chunkwise'] as Schedule[]) {
      for (const V of [8, 3]) for (const s of dplrProgram('L0.x', schedule, dims(9, { V }), BUF).steps) expect(s.args.length).toBe(s.kernel.bindings.length);
    }
    // Scalar columns when V (or K, for W) is not a multiple of 4; a folded grid past the per-dimension limit.
    expect(dplrProgram('x', 'chunkwise', dims(9, { K: 5, V: 3 }), BUF).steps[1].kernel.wgsl).toMatch(/const KW: u32 = 1u;/);
    const folded = dplrProgram('x', 'chunkwise', dims(300), BUF, { maxWorkgroupsPerDim: 4 }).steps[0].kernel;
    expect(folded.wgsl).toMatch(/let i_thread = gid.y \* \(GRID_X \* WG\) \+ gid.x;/);
  });

  it('takes exp only of sums of gates (never of a difference of cumulative sums)', () => {
    const wgsl = dplrProgram('x', 'chunkwise', dims(20), BUF).steps.map((s) => s.kernel.wgsl).join('\n').split('\n').filter((l) => !l.trim().startsWith('//')).join('\n');
    const args = [...wgsl.matchAll(/exp\(([^()]*(?:\([^()]*\))?[^()]*)\)/g)].map((m) => m[1]);
    expect(new Set(args)).toEqual(new Set(['gk[o_k + i_i]', 'b_lg[i_i]', 'b_gl[i_i]']));
  });
});

describe('dplrSupports and dplrCost', () => {
  it('refuses with the reason', () => {
    const why = (schedule: Schedule, d: DplrDims, limits = LIMITS) => {
      const r = dplrSupports(schedule, d, limits);
      return r.ok ? 'ok' : r.reason;
    };
    expect(why('recurrent', dims(20))).toBe('ok');
    expect(why('chunkwise', dims(20))).toBe('ok');
    expect(why('parallel', dims(20))).toMatch(/no parallel schedule \(use chunkwise/);
    expect(why('chunkwise', dims(20, { chunk: 0 }))).toMatch(/chunk = 0 must be a positive integer/);
    expect(why('recurrent', dims(20, { H: 1.5 }))).toMatch(/heads = 1.5 must be a positive integer/);
    expect(why('recurrent', dims(20, { scale: NaN }))).toMatch(/scale = NaN must be finite/);
    expect(why('chunkwise', dims(20, { K: 257 }))).toMatch(/K = 257 > 256/);
    // recurrent binds 9 storage buffers, over WebGPU's default of 8; chunkwise binds at most 8.
    expect(why('recurrent', dims(20), DEFAULT_LIMITS)).toMatch(/needs 9 storage buffers in one kernel, the device allows 8/);
    expect(why('chunkwise', dims(20), DEFAULT_LIMITS)).toBe('ok');
    expect(why('chunkwise', dims(1 << 16, { chunk: 1024, H: 16 }))).toMatch(/^mats needs \d+ bytes, over the device's/);
  });

  it('grows linearly in T for both schedules; chunkwise has C serial steps per chunk kernel, recurrent T', () => {
    for (const schedule of ['recurrent', 'chunkwise'] as Schedule[]) {
      const a = dplrCost(schedule, dims(1024, { chunk: 64 }));
      const b = dplrCost(schedule, dims(4096, { chunk: 64 }));
      expect(b.flops / a.flops).toBeCloseTo(4, 1);
      expect(b.bytes / a.bytes).toBeGreaterThan(3.5);
      expect(b.bytes / a.bytes).toBeLessThan(4.5);
    }
    expect(dplrCost('recurrent', dims(4096)).serialSteps).toBe(4096);
    expect(dplrCost('chunkwise', dims(4096, { chunk: 64 })).serialSteps).toBe(3 * 64 + 2 * 4096 + 64);
  });

  it('checks op tensors: dims from q and v, every shape exact', () => {
    const ok = checkDplrTensors('kda', DPLR_OPS.kda, new Map([['q', [1, 5, 2, 4]], ['k', [1, 5, 2, 4]], ['v', [1, 5, 2, 3]], ['g', [1, 5, 2, 4]], ['beta', [1, 5, 2]]]));
    expect(ok).toEqual({ dims: { B: 1, T: 5, H: 2, K: 4, V: 3 }, problems: [] });
    const bad = checkDplrTensors('dplr_delta_rule', DPLR_OPS.dplr_delta_rule, new Map([['q', [1, 5, 2]], ['v', [1, 5, 2, 3]]]));
    expect(bad.problems).toEqual(['q has shape [1, 5, 2], expected [B, T, H, K]']);
  });
});
