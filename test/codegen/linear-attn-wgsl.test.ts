import { describe, expect, it } from 'vitest';
import type { Kernel } from '../../compiler/codegen/kernel.ts';
import type { Decay, FeatureMap, Schedule } from '../../compiler/ir/graph.ts';
import {
  linearAttnCost,
  linearAttnProgram,
  linearAttnSupports,
  type LinearAttnCall,
  type LinearAttnDims,
} from '../../compiler/mixers/linear_attn/index.ts';
import type { DeviceLimits } from '../../runtime/gpu.ts';

const LIMITS: DeviceLimits = {
  maxStorageBufferBindingSize: 128 << 20,
  maxBufferSize: 256 << 20,
  maxStorageBuffersPerShaderStage: 8,
  maxComputeWorkgroupStorageSize: 16384,
  maxComputeInvocationsPerWorkgroup: 256,
  maxComputeWorkgroupSizeX: 256,
  maxComputeWorkgroupsPerDimension: 65535,
};

interface DimOpts {
  K?: number;
  V?: number;
  feature?: FeatureMap;
  normalize?: boolean;
  chunk?: number;
  B?: number;
  H?: number;
  decay?: Decay;
}

function dims(T: number, o: DimOpts = {}): LinearAttnDims {
  const K = o.K ?? 4;
  const knobs = { heads: o.H ?? 2, keyDim: K, valueDim: o.V ?? 8, feature: o.feature ?? 'elu1', normalize: o.normalize ?? true, scale: 1 / Math.sqrt(K), eps: 1e-6 };
  return { B: o.B ?? 2, T, chunk: o.chunk ?? 8, knobs: { ...knobs, decay: o.decay ?? { kind: 'none' }, update: 'additive' } };
}

function call(schedule: Schedule, d: LinearAttnDims): LinearAttnCall {
  const n = d.knobs.normalize;
  const g = d.knobs.decay.kind === 'scalar' || d.knobs.decay.kind === 'vector' ? 'g' : null;
  return { ...d, label: 'L0.attn', schedule, buffers: { q: 'q', k: 'k', v: 'v', s0: 's0', z0: n ? 'z0' : null, g, beta: null, o: 'o', S: 'S', z: n ? 'z' : null } };
}

const RETNET: Decay = { kind: 'fixed', logDecay: [Math.log(1 - 2 ** -5), Math.log(1 - 2 ** -6)] };

/** One configuration per decay for the snapshots: fixed elu1-norm, scalar identity, vector elu1-norm. */
const DECAY_CONFIGS: { id: string; o: DimOpts }[] = [
  { id: 'fixed', o: { decay: RETNET } },
  { id: 'scalar', o: { decay: { kind: 'scalar' }, feature: 'identity', normalize: false } },
  { id: 'vector', o: { decay: { kind: 'vector' } } },
];

function kernels(schedule: Schedule, d: LinearAttnDims, maxWorkgroupsPerDim?: number): Kernel[] {
  return linearAttnProgram(call(schedule, d), { maxWorkgroupsPerDim }).steps.map((s) => s.kernel);
}

const SCHEDULES: Schedule[] = ['recurrent', 'chunkwise', 'parallel'];

describe('linear attention WGSL', () => {
  it.each(SCHEDULES)('is deterministic: %s', (schedule) => {
    const a = kernels(schedule, dims(20));
    const b = kernels(schedule, dims(20));
    expect(a.map((k) => k.wgsl)).toEqual(b.map((k) => k.wgsl));
  });

  it.each(SCHEDULES)('matches the snapshot (B2-T20-H2-K4-V8-c8-elu1-norm): %s', async (schedule) => {
    for (const k of kernels(schedule, dims(20))) {
      const file = k.name.slice('L0.attn.'.length);
      await expect(k.wgsl).toMatchFileSnapshot(`__snapshots__/linear_attn/${file}.wgsl`);
    }
  });

  it('matches the snapshot of a scalar-column, unnormalized, identity recurrent kernel (V = 3)', async () => {
    const [k] = kernels('recurrent', dims(5, { V: 3, feature: 'identity', normalize: false }));
    await expect(k.wgsl).toMatchFileSnapshot('__snapshots__/linear_attn/recurrent-identity-V3.wgsl');
  });

  it.each(DECAY_CONFIGS.flatMap(({ id, o }) => SCHEDULES.map((schedule) => ({ id, o, schedule }))))(
    'matches the snapshot with decay (B2-T20-H2-K4-V8-c8): $id $schedule',
    async ({ id, o, schedule }) => {
      for (const k of kernels(schedule, dims(20, o))) {
        const file = k.name.slice('L0.attn.'.length);
        await expect(k.wgsl).toMatchFileSnapshot(`__snapshots__/linear_attn/decay-${id}/${file}.wgsl`);
      }
    },
  );

  it('emits only the chosen decay', () => {
    for (const schedule of SCHEDULES) {
      const none = kernels(schedule, dims(9, { feature: 'identity', normalize: false })).map((k) => k.wgsl).join('\n');
      expect(none).not.toMatch(/exp\(|b_lg|b_d\b|LOG_DECAY|\bg\[/);
      const fixed = kernels(schedule, dims(9, { decay: RETNET })).map((k) => k.wgsl).join('\n');
      expect(fixed).toMatch(/const LOG_DECAY = array<f32, H>\(/);
      expect(fixed).not.toMatch(/\bg\[|\bg: array/);
      const scalar = kernels(schedule, dims(9, { decay: { kind: 'scalar' } })).map((k) => k.wgsl).join('\n');
      expect(scalar).toMatch(/g\[o_(tok|src)\]/);
      expect(scalar).not.toMatch(/LOG_DECAY|g\[o_\w+ \* K/);
      const vector = kernels(schedule, dims(9, { decay: { kind: 'vector' } })).map((k) => k.wgsl).join('\n');
      expect(vector).toMatch(/g\[o_(tok|src) \* K \+ i_i\]/);
    }
  });

  it('binds the gate buffer after v', () => {
    const scalar = dims(20, { decay: { kind: 'scalar' }, normalize: false });
    expect(linearAttnProgram(call('recurrent', scalar)).steps[0].args).toEqual(['q', 'k', 'v', 'g', 's0', 'o', 'S']);
    const p = linearAttnProgram(call('chunkwise', dims(20, { decay: { kind: 'vector' } })));
    expect(p.steps[0].args).toEqual(['k', 'v', 'g', 's0', 'z0', 'L0.attn.h', 'L0.attn.hz', 'S', 'z']);
    expect(p.steps[1].args).toEqual(['q', 'k', 'v', 'g', 'L0.attn.h', 'L0.attn.hz', 'o']);
    const par = linearAttnProgram(call('parallel', dims(20, { decay: RETNET })));
    expect(par.steps.map((s) => s.args)).toEqual([['q', 'k', 'v', 's0', 'z0', 'o'], ['k', 'v', 's0', 'z0', 'S', 'z']]);
    for (const d of [scalar, dims(20, { decay: { kind: 'vector' } })]) {
      for (const schedule of SCHEDULES) {
        for (const s of linearAttnProgram(call(schedule, d)).steps) expect(s.args.length).toBe(s.kernel.bindings.length);
      }
    }
  });

  it('names kernels after the label and binds the chunk states it declares', () => {
    const p = linearAttnProgram(call('chunkwise', dims(20)));
    expect(p.steps.map((s) => s.kernel.name)).toEqual(['L0.attn.chunk_h', 'L0.attn.chunk_o']);
    expect(p.buffers).toEqual([
      { name: 'L0.attn.h', elem: 'f32', elements: 2 * 2 * 3 * 4 * 8, role: 'activation' },
      { name: 'L0.attn.hz', elem: 'f32', elements: 2 * 2 * 3 * 4, role: 'activation' },
    ]);
    expect(p.steps[0].args).toEqual(['k', 'v', 's0', 'z0', 'L0.attn.h', 'L0.attn.hz', 'S', 'z']);
    expect(p.steps[1].args).toEqual(['q', 'k', 'v', 'L0.attn.h', 'L0.attn.hz', 'o']);
    for (const s of p.steps) expect(s.args.length).toBe(s.kernel.bindings.length);
  });

  it('emits only the chosen feature map and normalization', () => {
    for (const schedule of SCHEDULES) {
      for (const k of kernels(schedule, dims(9, { feature: 'identity', normalize: false }))) {
        expect(k.wgsl).not.toMatch(/elu1|EPS|b_den|\bz0\b|\bhz\b|\bz\[/);
      }
      const norm = kernels(schedule, dims(9)).map((k) => k.wgsl).join('\n');
      expect(norm).toMatch(/fn elu1/);
      expect(norm).toMatch(/EPS/);
    }
  });

  it('uses vec4 value registers only when V is a multiple of 4', () => {
    for (const schedule of SCHEDULES) {
      expect(kernels(schedule, dims(9, { V: 8 })).every((k) => k.wgsl.includes('vec4<f32>'))).toBe(true);
      expect(kernels(schedule, dims(9, { V: 6 })).some((k) => k.wgsl.includes('vec4'))).toBe(false);
    }
  });

  it('folds grids past the per-dimension workgroup limit into 2D', () => {
    const d = dims(50, { B: 3, V: 68 });
    for (const schedule of SCHEDULES) {
      for (const k of kernels(schedule, d, 1)) {
        expect(k.dispatch[0]).toBe(1);
        expect(k.wgsl).toContain('let i_thread = gid.y * (GRID_X * WG) + gid.x;');
        const n = Number(/const N: u32 = (\d+)u;/.exec(k.wgsl)?.[1]);
        expect(k.dispatch[0] * k.dispatch[1] * 64).toBeGreaterThanOrEqual(n);
      }
      for (const k of kernels(schedule, d)) expect(k.wgsl).not.toContain('gid.y');
    }
  });

  it('rejects bad calls at the boundary', () => {
    const c = call('recurrent', dims(4));
    expect(() => linearAttnProgram({ ...c, buffers: { ...c.buffers, z: null } })).toThrow(/z0 = z0, z = null; expected both set/);
    expect(() => linearAttnProgram({ ...call('chunkwise', dims(4)), chunk: 0 })).toThrow(/chunk = 0 must be a positive integer/);
    const fixed = call('parallel', dims(4, { decay: RETNET }));
    expect(() => linearAttnProgram({ ...fixed, buffers: { ...fixed.buffers, g: 'g' } })).toThrow(/g = g with decay fixed; expected g null/);
    const scalar = call('parallel', dims(4, { decay: { kind: 'scalar' } }));
    expect(() => linearAttnProgram({ ...scalar, buffers: { ...scalar.buffers, g: null } })).toThrow(/g = null with decay scalar; expected g set/);
  });
});

describe('linearAttnSupports', () => {
  it('accepts ordinary shapes on every schedule', () => {
    for (const schedule of SCHEDULES) expect(linearAttnSupports(schedule, dims(300, { K: 64, V: 64 }), LIMITS)).toEqual({ ok: true });
  });

  it('refuses a K whose private arrays exceed 8192 bytes, with the sizes', () => {
    // recurrent, V = 8 (vec4 columns) and z: 4 * K * (4 + 1) bytes; K = 409 fits, 410 does not.
    expect(linearAttnSupports('recurrent', dims(16, { K: 409 }), LIMITS)).toEqual({ ok: true });
    const r = linearAttnSupports('recurrent', dims(16, { K: 410 }), LIMITS);
    expect(!r.ok && r.reason).toMatch(/K = 410: each recurrent invocation keeps .* in 8200 bytes of private arrays, over WGSL's 8192/);
    // Expanded feature maps: Based's K' = 273 (d = 16, full square) runs everywhere; K' = 561 (d = 32) only without the recurrent schedule.
    for (const schedule of SCHEDULES) expect(linearAttnSupports(schedule, dims(16, { K: 273, V: 16 }), LIMITS)).toEqual({ ok: true });
    expect(linearAttnSupports('recurrent', dims(16, { K: 561, V: 16 }), LIMITS).ok).toBe(false);
    expect(linearAttnSupports('chunkwise', dims(16, { K: 561, V: 16 }), LIMITS)).toEqual({ ok: true });
    expect(linearAttnSupports('parallel', dims(16, { K: 2033, V: 16 }), LIMITS).ok).toBe(false); // 4 * (2033 + 16) > 8192
    expect(linearAttnSupports('parallel', dims(16, { K: 2032, V: 16 }), LIMITS)).toEqual({ ok: true });
  });

  it('checks the storage-buffer count and binding size', () => {
    const few = { ...LIMITS, maxStorageBuffersPerShaderStage: 6 };
    expect(linearAttnSupports('recurrent', dims(8), few)).toMatchObject({ ok: false, reason: expect.stringMatching(/8 storage buffers/) });
    expect(linearAttnSupports('parallel', dims(8), few)).toEqual({ ok: true });
    expect(linearAttnSupports('recurrent', dims(8, { normalize: false }), few)).toEqual({ ok: true });
    // h = B*H*NC*K*V floats: 2*2*64*64*64*4 bytes = 4 MiB with C = 1, T = 64.
    const small = { ...LIMITS, maxStorageBufferBindingSize: 2 << 20 };
    const d = { ...dims(64, { K: 64, V: 64 }), chunk: 1 };
    expect(linearAttnSupports('chunkwise', d, small)).toMatchObject({ ok: false, reason: expect.stringMatching(/^h \(chunk states\)/) });
    expect(linearAttnSupports('chunkwise', { ...d, chunk: 64 }, small)).toEqual({ ok: true });
  });

  it('counts the gate buffer against the storage-buffer limit, with the reason', () => {
    const norm = dims(8, { decay: { kind: 'scalar' } });
    for (const schedule of ['recurrent', 'chunkwise'] as Schedule[]) {
      expect(linearAttnSupports(schedule, norm, LIMITS)).toMatchObject({ ok: false, reason: expect.stringMatching(/9 storage buffers in one kernel \(\w+, normalized, decay scalar\), the device allows 8/) });
      expect(linearAttnSupports(schedule, norm, { ...LIMITS, maxStorageBuffersPerShaderStage: 9 })).toEqual({ ok: true });
      expect(linearAttnSupports(schedule, dims(8, { decay: { kind: 'vector' }, normalize: false }), LIMITS)).toEqual({ ok: true });
      expect(linearAttnSupports(schedule, dims(8, { decay: RETNET }), LIMITS)).toEqual({ ok: true });
    }
    expect(linearAttnSupports('parallel', dims(8, { decay: { kind: 'vector' } }), LIMITS)).toEqual({ ok: true });
  });

  it('rejects a fixed decay that is not one log-decay <= 0 per head', () => {
    expect(linearAttnSupports('recurrent', dims(8, { decay: { kind: 'fixed', logDecay: [-0.1] } }), LIMITS)).toMatchObject({
      ok: false,
      reason: 'fixed decay has 1 log-decays, expected one per head (heads = 2)',
    });
    expect(linearAttnSupports('parallel', dims(8, { decay: { kind: 'fixed', logDecay: [-0.1, 0.5] } }), LIMITS)).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/logDecay\[1\] = 0.5 must be finite and <= 0/),
    });
  });

  it('rejects non-positive dimensions', () => {
    expect(linearAttnSupports('parallel', dims(0), LIMITS)).toMatchObject({ ok: false, reason: 'T = 0 must be a positive integer' });
  });
});

describe('linearAttnCost', () => {
  const Ts = [1, 7, 64, 65, 300, 1024];
  it.each(['recurrent', 'chunkwise', 'parallel'] as Schedule[])('is monotone in T: %s', (schedule) => {
    const costs = Ts.map((T) => linearAttnCost(schedule, dims(T, { K: 16, V: 32, chunk: 64 })));
    for (let i = 1; i < costs.length; i++) {
      expect(costs[i].flops).toBeGreaterThan(costs[i - 1].flops);
      expect(costs[i].bytes).toBeGreaterThan(costs[i - 1].bytes);
      expect(costs[i].serialSteps).toBeGreaterThanOrEqual(costs[i - 1].serialSteps);
    }
  });

  it('grows ~T^2 for parallel and ~T for recurrent and chunkwise', () => {
    const ratio = (s: Schedule): number => linearAttnCost(s, dims(8192, { K: 16, V: 32, chunk: 64 })).flops / linearAttnCost(s, dims(4096, { K: 16, V: 32, chunk: 64 })).flops;
    expect(ratio('parallel')).toBeGreaterThan(3.5);
    expect(ratio('parallel')).toBeLessThanOrEqual(4);
    expect(ratio('recurrent')).toBeCloseTo(2, 5);
    expect(ratio('chunkwise')).toBeCloseTo(2, 2);
  });

  it.each(SCHEDULES)('counts the decay work: none < fixed < scalar < vector: %s', (schedule) => {
    const cost = (decay: Decay): number => linearAttnCost(schedule, dims(300, { K: 16, V: 32, chunk: 64, decay })).flops;
    const none = cost({ kind: 'none' });
    const fixed = cost({ kind: 'fixed', logDecay: [-0.1, -0.2] });
    expect(fixed).toBeGreaterThan(none);
    expect(cost({ kind: 'scalar' })).toBeGreaterThan(fixed);
    expect(cost({ kind: 'vector' })).toBeGreaterThan(cost({ kind: 'scalar' }));
    const bytes = (decay: Decay): number => linearAttnCost(schedule, dims(300, { K: 16, V: 32, chunk: 64, decay })).bytes;
    expect(bytes({ kind: 'vector' })).toBeGreaterThan(bytes({ kind: 'scalar' }));
    expect(bytes({ kind: 'scalar' })).toBeGreaterThan(bytes({ kind: 'none' }));
  });

  it('ranks chunkwise below parallel in work for long sequences', () => {
    const d = dims(2048, { K: 16, V: 32, chunk: 64 });
    expect(linearAttnCost('chunkwise', d).flops).toBeLessThan(linearAttnCost('parallel', d).flops);
  });
});

describe('linear attention WGSL: the chunkwise workgroup variant', () => {
  const wg = (d: LinearAttnDims, maxWorkgroupsPerDim?: number): Kernel[] =>
    linearAttnProgram({ ...call('chunkwise', d), variant: 'workgroup' }, { maxWorkgroupsPerDim }).steps.map((s) => s.kernel);

  it('matches the snapshot of chunk_o_wg (B2-T20-H2-K4-V8-c8-elu1-norm, vector decay)', async () => {
    const [h, o] = wg(dims(20, { decay: { kind: 'vector' } }));
    expect(h.name).toBe('L0.attn.chunk_h_wg');
    expect(o.name).toBe('L0.attn.chunk_o_wg');
    await expect(o.wgsl).toMatchFileSnapshot('__snapshots__/linear_attn/workgroup/chunk_o_wg-vector.wgsl');
  });

  it('binds what the register variant binds and emits only the chosen decay', () => {
    for (const decay of [{ kind: 'none' }, RETNET, { kind: 'scalar' }, { kind: 'vector' }] as Decay[]) {
      const d = dims(20, { decay, feature: 'identity' });
      const reg = linearAttnProgram(call('chunkwise', d));
      const p = linearAttnProgram({ ...call('chunkwise', d), variant: 'workgroup' });
      expect(p.buffers).toEqual(reg.buffers);
      expect(p.steps.map((s) => s.args)).toEqual(reg.steps.map((s) => s.args));
      for (const s of p.steps) expect(s.args.length).toBe(s.kernel.bindings.length);
      const text = p.steps.map((s) => s.kernel.wgsl).join('\n');
      expect(text).toContain('workgroupBarrier();');
      expect(/\bg\[/.test(text)).toBe(decay.kind === 'scalar' || decay.kind === 'vector');
      expect(text.includes('LOG_DECAY')).toBe(decay.kind === 'fixed');
      if (decay.kind === 'none') expect(text).not.toMatch(/exp\(|b_lg|b_d\b/);
    }
  });

  it('sizes its workgroup arrays within 16 KiB', () => {
    for (const C of [8, 16, 64, 128, 256]) {
      for (const [K, V] of [[16, 16], [64, 64], [128, 128], [153, 64]]) {
        for (const decay of [{ kind: 'none' }, { kind: 'vector' }] as Decay[]) {
          const d = { ...dims(300, { K, V, decay, chunk: C }), chunk: C };
          // Normalized with a vector gate binds 9 storage buffers: allow them, to size the tiles alone.
          expect(linearAttnSupports('chunkwise', { ...d, variant: 'workgroup' }, { ...LIMITS, maxStorageBuffersPerShaderStage: 10 })).toEqual({ ok: true });
          for (const k of wg(d)) {
            const floats = [...k.wgsl.matchAll(/var<workgroup> \w+: array<f32, (\d+)>/g)].reduce((a, m) => a + Number(m[1]), 0);
            expect(floats * 4).toBeLessThanOrEqual(16384);
            expect(k.workgroupSize[0]).toBeLessThanOrEqual(256);
          }
        }
      }
    }
  });

  it('refuses what it cannot run, with the reason', () => {
    const d = dims(600, { K: 64, V: 64, chunk: 64 });
    const ask = (x: LinearAttnDims, schedule: Schedule = 'chunkwise', limits = LIMITS) => linearAttnSupports(schedule, { ...x, variant: 'workgroup' }, limits);
    expect(ask({ ...d, chunk: 512 })).toMatchObject({ ok: false, reason: expect.stringMatching(/^workgroup variant: chunk 512: .*the device allows 256 per workgroup/) });
    expect(ask(d, 'chunkwise', { ...LIMITS, maxComputeWorkgroupStorageSize: 4096 })).toMatchObject({ ok: false, reason: expect.stringMatching(/bytes of workgroup memory, the device allows 4096/) });
    expect(ask(d, 'recurrent')).toMatchObject({ ok: false, reason: 'the workgroup variant is a form of the chunkwise schedule, not of recurrent' });
    expect(ask({ ...d, knobs: { ...d.knobs, update: 'delta' } })).toMatchObject({ ok: false, reason: "the delta rule's chunkwise kernels have only the register variant" });
    expect(linearAttnSupports('chunkwise', { ...d, variant: 'shared' }, LIMITS)).toMatchObject({ ok: false, reason: "unknown kernel variant 'shared' (register | workgroup)" });
    expect(() => linearAttnProgram({ ...call('parallel', d), variant: 'workgroup' })).toThrow(/not of parallel/);
  });

  it('folds its workgroup grid into 2D past the per-dimension limit', () => {
    for (const k of wg(dims(50, { B: 3, V: 68 }), 2)) {
      expect(k.dispatch[1]).toBeGreaterThan(1);
      expect(k.wgsl).toContain('let i_wg = wid.y * GRID_X + wid.x;');
      const n = Number(/const NWG: u32 = (\d+)u;/.exec(k.wgsl)?.[1]);
      expect(k.dispatch[0] * k.dispatch[1]).toBeGreaterThanOrEqual(n);
    }
  });

  it('costs less memory traffic than the register variant', () => {
    const d = dims(4096, { K: 64, V: 64, chunk: 64, decay: { kind: 'vector' }, feature: 'identity', normalize: false });
    const reg = linearAttnCost('chunkwise', d);
    const wgc = linearAttnCost('chunkwise', { ...d, variant: 'workgroup' });
    expect(wgc.bytes).toBeLessThan(reg.bytes / 4);
    expect(wgc.flops).toBeLessThanOrEqual(reg.flops);
  });
});
