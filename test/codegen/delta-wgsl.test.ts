import { describe, expect, it } from 'vitest';
import type { Kernel } from '../../compiler/codegen/kernel.ts';
import type { Decay, Schedule } from '../../compiler/ir/graph.ts';
import { linearAttnCost, linearAttnProgram, linearAttnSupports, type LinearAttnCall, type LinearAttnDims } from '../../compiler/mixers/linear_attn/index.ts';
import { DEFAULT_LIMITS } from '../../compiler/plan/device.ts';

const LIMITS = DEFAULT_LIMITS;

interface Opts {
  K?: number;
  V?: number;
  chunk?: number;
  B?: number;
  H?: number;
  decay?: Decay;
  normalize?: boolean;
}

function dims(T: number, o: Opts = {}): LinearAttnDims {
  const K = o.K ?? 4;
  return {
    B: o.B ?? 2,
    T,
    chunk: o.chunk ?? 8,
    knobs: { heads: o.H ?? 2, keyDim: K, valueDim: o.V ?? 8, feature: 'identity', normalize: o.normalize ?? false, scale: 1 / Math.sqrt(K), eps: 1e-6, decay: o.decay ?? { kind: 'scalar' }, update: 'delta' },
  };
}

function call(schedule: Schedule, d: LinearAttnDims): LinearAttnCall {
  const g = d.knobs.decay.kind === 'scalar' ? 'g' : null;
  return { ...d, label: 'L0.dn', schedule, buffers: { q: 'q', k: 'k', v: 'v', s0: 's0', z0: null, g, beta: 'beta', o: 'o', S: 'S', z: null } };
}

function kernels(schedule: Schedule, d: LinearAttnDims, maxWorkgroupsPerDim?: number): Kernel[] {
  return linearAttnProgram(call(schedule, d), { maxWorkgroupsPerDim }).steps.map((s) => s.kernel);
}

const SCHEDULES: Schedule[] = ['recurrent', 'chunkwise', 'parallel'];
const FIXED: Decay = { kind: 'fixed', logDecay: [-0.03125, -0.015625] };

describe('delta rule WGSL', () => {
  it.each(SCHEDULES)('matches the snapshot (B2-T20-H2-K4-V8-c8-scalar): %s', async (schedule) => {
    for (const k of kernels(schedule, dims(20))) {
      await expect(k.wgsl).toMatchFileSnapshot(`__snapshots__/delta/${k.name.slice('L0.dn.'.length)}.wgsl`);
    }
  });

  it('matches the snapshot of a fixed-decay recurrent kernel with scalar columns (V = 3)', async () => {
    const [k] = kernels('recurrent', dims(5, { V: 3, decay: FIXED }));
    await expect(k.wgsl).toMatchFileSnapshot('__snapshots__/delta/recurrent-fixed-V3.wgsl');
  });

  it('names kernels after the label, declares its intermediates and binds them in order', () => {
    const p = linearAttnProgram(call('chunkwise', dims(20)));
    expect(p.steps.map((s) => s.kernel.name)).toEqual(['L0.dn.chunk_kk', 'L0.dn.chunk_w', 'L0.dn.chunk_u', 'L0.dn.chunk_h', 'L0.dn.chunk_o']);
    expect(p.buffers).toEqual([
      { name: 'L0.dn.kk', elem: 'f32', elements: 2 * 2 * 20 * 8, role: 'activation' },
      { name: 'L0.dn.w', elem: 'f32', elements: 2 * 20 * 2 * 4, role: 'activation' },
      { name: 'L0.dn.u', elem: 'f32', elements: 2 * 20 * 2 * 8, role: 'activation' },
      { name: 'L0.dn.h', elem: 'f32', elements: 2 * 2 * 3 * 4 * 8, role: 'activation' },
    ]);
    expect(p.steps[3].args).toEqual(['k', 'L0.dn.w', 's0', 'g', 'L0.dn.u', 'L0.dn.h', 'S']);
    for (const decay of [{ kind: 'none' }, FIXED, { kind: 'scalar' }] as Decay[]) {
      for (const schedule of SCHEDULES) {
        for (const s of linearAttnProgram(call(schedule, dims(9, { decay }))).steps) {
          expect(s.args.length).toBe(s.kernel.bindings.length);
          expect(s.kernel.bindings.length).toBeLessThanOrEqual(8);
        }
      }
    }
    expect(linearAttnProgram(call('parallel', dims(20))).steps.map((s) => s.kernel.name)).toContain('L0.dn.parallel_kk');
  });

  it('emits gate code only for the decay chosen', () => {
    for (const schedule of SCHEDULES) {
      const none = kernels(schedule, dims(9, { decay: { kind: 'none' } })).map((k) => k.wgsl).join('\n');
      expect(none).not.toMatch(/exp\(|\bg\[|LOG_DECAY|b_lam/);
      const fixed = kernels(schedule, dims(9, { decay: FIXED })).map((k) => k.wgsl).join('\n');
      expect(fixed).toMatch(/LOG_DECAY = array<f32, H>\(-0\.03125, -0\.015625\)/);
      expect(fixed).not.toMatch(/\bg\[/);
      expect(kernels(schedule, dims(9)).map((k) => k.wgsl).join('\n')).not.toMatch(/LOG_DECAY/);
    }
  });

  it('folds grids past the per-dimension workgroup limit into 2D', () => {
    for (const schedule of SCHEDULES) {
      for (const k of kernels(schedule, dims(50, { B: 3, V: 68 }), 1)) {
        const n = Number(/const N: u32 = (\d+)u;/.exec(k.wgsl)?.[1]);
        expect(k.dispatch[0]).toBe(1);
        expect(k.dispatch[1] * 64).toBeGreaterThanOrEqual(n);
        if (n > 64) expect(k.wgsl).toContain('let i_thread = gid.y * (GRID_X * WG) + gid.x;');
      }
    }
  });

  it('rejects bad calls at the boundary', () => {
    const c = call('recurrent', dims(4));
    expect(() => linearAttnProgram({ ...c, buffers: { ...c.buffers, beta: null } })).toThrow(/needs the beta buffer/);
    expect(() => linearAttnProgram({ ...c, buffers: { ...c.buffers, g: null } })).toThrow(/buffer g = null with decay scalar/);
    expect(() => linearAttnProgram(call('recurrent', dims(4, { normalize: true })))).toThrow(/normalize = true is not defined/);
  });
});

describe('delta rule supports', () => {
  it('accepts ordinary shapes on every schedule and decay', () => {
    for (const decay of [{ kind: 'none' }, { kind: 'scalar' }] as Decay[]) {
      for (const schedule of SCHEDULES) expect(linearAttnSupports(schedule, dims(300, { K: 64, V: 64, decay }), LIMITS)).toEqual({ ok: true });
    }
  });

  it('refuses what it does not define or implement, with the reason', () => {
    const reason = (schedule: Schedule, d: LinearAttnDims): string => {
      const r = linearAttnSupports(schedule, d, LIMITS);
      return r.ok ? 'ok' : r.reason;
    };
    expect(reason('recurrent', dims(8, { normalize: true }))).toMatch(/normalize = true is not defined for the delta rule/);
    expect(reason('parallel', dims(8, { decay: { kind: 'vector' } }))).toMatch(/vector decay with the delta rule runs in the recurrent and chunkwise schedules/);
    expect(reason('chunkwise', dims(8, { decay: { kind: 'vector' } }))).toBe('ok'); // as the DPLR recurrence
    expect(reason('recurrent', dims(8, { decay: { kind: 'vector' } }))).toBe('ok');
    expect(reason('parallel', dims(1025))).toMatch(/T = 1025 > 1024: the parallel delta rule solves a T x T triangular system/);
    expect(reason('parallel', dims(1024))).toBe('ok');
    expect(reason('recurrent', dims(8, { K: 257 }))).toMatch(/K = 257 > 256/);
    expect(reason('recurrent', dims(8, { decay: { kind: 'fixed', logDecay: [-1] } }))).toMatch(/1 log-decays, expected one per head \(heads = 2\)/);
    expect(reason('recurrent', dims(8, { decay: { kind: 'fixed', logDecay: [-1, 0.5] } }))).toMatch(/head 1 = 0.5 must be finite and <= 0/);
    expect(reason('chunkwise', { ...dims(8), chunk: 0 })).toBe('chunk = 0 must be a positive integer');
  });

  it('checks the storage-buffer count and binding sizes', () => {
    const seven = { ...LIMITS, maxStorageBuffersPerShaderStage: 7 };
    expect(linearAttnSupports('recurrent', dims(8), seven)).toMatchObject({ ok: false, reason: expect.stringMatching(/needs 8 storage buffers/) });
    expect(linearAttnSupports('recurrent', dims(8, { decay: { kind: 'none' } }), seven)).toEqual({ ok: true });
    expect(linearAttnSupports('chunkwise', dims(8), seven)).toEqual({ ok: true });
    // kk = B*H*T*C floats: 2*2*1024*1024*4 bytes = 16 MiB for parallel at T = 1024.
    const small = { ...LIMITS, maxStorageBufferBindingSize: 8 << 20 };
    expect(linearAttnSupports('parallel', dims(1024), small)).toMatchObject({ ok: false, reason: expect.stringMatching(/^kk \(chunk k k\^T\) needs 16777216 bytes/) });
    expect(linearAttnSupports('chunkwise', { ...dims(1024), chunk: 64 }, small)).toEqual({ ok: true });
  });
});

describe('delta rule cost', () => {
  const Ts = [1, 7, 64, 65, 300, 1024];
  it.each(SCHEDULES)('is monotone in T: %s', (schedule) => {
    const costs = Ts.map((T) => linearAttnCost(schedule, dims(T, { K: 16, V: 32, chunk: 64 })));
    for (let i = 1; i < costs.length; i++) {
      expect(costs[i].flops).toBeGreaterThan(costs[i - 1].flops);
      expect(costs[i].bytes).toBeGreaterThan(costs[i - 1].bytes);
      expect(costs[i].serialSteps).toBeGreaterThanOrEqual(costs[i - 1].serialSteps);
    }
  });

  it('grows ~T^2 for parallel and ~T for recurrent and chunkwise, and differs from the additive cost', () => {
    const at = (s: Schedule, T: number): number => linearAttnCost(s, dims(T, { K: 16, V: 32, chunk: 64 })).flops;
    expect(at('parallel', 1024) / at('parallel', 512)).toBeGreaterThan(3);
    expect(at('recurrent', 1024) / at('recurrent', 512)).toBeCloseTo(2, 5);
    expect(at('chunkwise', 1024) / at('chunkwise', 512)).toBeCloseTo(2, 1);
    const d = dims(512, { K: 16, V: 32, chunk: 64 });
    expect(at('chunkwise', 1024)).toBeLessThan(at('parallel', 1024));
    expect(linearAttnCost('recurrent', d).flops).not.toBe(linearAttnCost('recurrent', { ...d, knobs: { ...d.knobs, update: 'additive' } }).flops);
  });
});
