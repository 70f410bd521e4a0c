/**
 * Pure tests of softmax attention: WGSL snapshots of every kernel (rows, decode + merge, cache
 * append, RoPE), determinism, the planner's schedule and variant per T, and the cost model.
 */
import { describe, expect, it } from 'vitest';
import { ropeKernel, ropeTurns } from '../../compiler/codegen/kernels/rope.ts';
import { softmaxKernel } from '../../compiler/codegen/kernels/softmax.ts';
import type { AttentionKnobs } from '../../compiler/ir/graph.ts';
import { attentionCost, attentionProgram, attentionSchedule, attentionSupports, attentionVariants } from '../../compiler/mixers/attention/index.ts';
import { compileSource } from '../../compiler/pipeline.ts';
import { estimateMs } from '../../compiler/plan/cost.ts';
import { DEFAULT_LIMITS, type DeviceProfile } from '../../compiler/plan/device.ts';

const knobs = (o: Partial<AttentionKnobs> = {}): AttentionKnobs => ({ heads: 4, kvHeads: 2, headDim: 16, valueDim: 16, causal: true, window: null, scale: 0.25, maxLen: 256, ...o });
const causalBuffers = { q: 'q', k: 'k', v: 'v', pos: 'pos', kc0: 'kc0', vc0: 'vc0', o: 'o', kCache: 'kc', vCache: 'vc' };
const CPU: DeviceProfile = { name: 'cpu', isCpu: true, limits: DEFAULT_LIMITS };

describe('attention WGSL', () => {
  const programs = {
    'causal-T17': attentionProgram({ label: 'L0.attn', B: 2, T: 17, knobs: knobs(), variant: 'rows', buffers: causalBuffers }),
    'swa8-T1-decode': attentionProgram({ label: 'L0.swa', B: 1, T: 1, knobs: knobs({ window: 8 }), variant: 'decode', buffers: causalBuffers }),
    'swa8-T70-tiled': attentionProgram({ label: 'L0.swa', B: 1, T: 70, knobs: knobs({ window: 8 }), variant: 'tiled', buffers: causalBuffers }),
    'bidir-w4-T9': attentionProgram({ label: 'L0.enc', B: 1, T: 9, knobs: knobs({ causal: false, window: 4 }), variant: 'rows', buffers: { ...causalBuffers, pos: null, kc0: null, vc0: null, kCache: null, vCache: null } }),
  };
  for (const [id, p] of Object.entries(programs)) {
    it(`${id}: kernels are deterministic and match their snapshots`, async () => {
      for (const s of p.steps) await expect(s.kernel.wgsl).toMatchFileSnapshot(`__snapshots__/attention/${id}.${s.kernel.name.split('.').at(-1)}.wgsl`);
      expect(p.steps.map((s) => s.kernel.name)).toEqual(
        id === 'causal-T17' ? ['L0.attn.attn_rows', 'L0.attn.k_append', 'L0.attn.v_append'] : id === 'swa8-T70-tiled' ? ['L0.swa.attn_tiled', 'L0.swa.k_append', 'L0.swa.v_append'] : id === 'swa8-T1-decode' ? ['L0.swa.decode', 'L0.swa.decode_merge', 'L0.swa.k_append', 'L0.swa.v_append'] : ['L0.enc.attn_rows'],
      );
    });
  }
  it('softmax feature-map kernel snapshot (Liger)', async () => {
    await expect(softmaxKernel({ name: 'L0.lig.q_softmax', rows: 40, D: 16 }).wgsl).toMatchFileSnapshot('__snapshots__/attention/softmax.wgsl');
  });
  it('RoPE kernel snapshot; the angle split is exact in its high part', async () => {
    await expect(ropeKernel({ name: 'L0.attn.q_rope', B: 1, T: 5, width: 32, D: 8, theta: 10000, positions: true }).wgsl).toMatchFileSnapshot('__snapshots__/attention/rope.wgsl');
    const { hi, lo } = ropeTurns(64, 10000);
    for (const [i, h] of hi.entries()) {
      const f = Math.pow(10000, (-2 * i) / 64) / (2 * Math.PI);
      expect(Math.abs(h + lo[i] - f)).toBeLessThan(f * 1e-7);
      // 12 significant bits: 4095 * 4096 * h is an integer multiple of h's last bit, exact in f32.
      expect(Math.fround(4095 * 4096 * h)).toBe(4095 * 4096 * h);
    }
  });
});

describe('attention planning', () => {
  it('has one schedule per T: parallel for a window, recurrent (decode) for one token', () => {
    expect(attentionSchedule(40)).toBe('parallel');
    expect(attentionSchedule(1)).toBe('recurrent');
    expect(attentionVariants({ B: 1, T: 1, knobs: knobs() })).toEqual(['decode', 'rows']);
    expect(attentionVariants({ B: 1, T: 1, knobs: knobs({ causal: false }) })).toEqual(['rows', 'tiled']);
    expect(attentionVariants({ B: 1, T: 64, knobs: knobs() })).toEqual(['rows', 'tiled']);
  });

  it('refuses with reasons: decode for T > 1, head_dim past the register budget', () => {
    expect(attentionSupports('decode', { B: 1, T: 4, knobs: knobs() }, DEFAULT_LIMITS)).toMatchObject({ ok: false, reason: expect.stringMatching(/one token of causal/) });
    expect(attentionSupports('rows', { B: 1, T: 300, knobs: knobs() }, DEFAULT_LIMITS)).toMatchObject({ ok: false, reason: 'a window of T = 300 tokens does not fit the KV cache of max_len = 256 positions' });
    expect(attentionSupports('rows', { B: 1, T: 4, knobs: knobs({ headDim: 512 }) }, DEFAULT_LIMITS)).toMatchObject({ ok: false, reason: expect.stringMatching(/head_dim 512/) });
  });

  it('costs: pure, a window reads fewer keys than a long cache, decode spreads one token over more invocations', () => {
    const d = { B: 1, T: 64, knobs: knobs({ maxLen: 4096 }) };
    expect(attentionCost('rows', d)).toEqual(attentionCost('rows', d));
    expect(attentionCost('rows', { ...d, knobs: knobs({ maxLen: 4096, window: 32 }) }).flops).toBeLessThan(attentionCost('rows', d).flops);
    const one = { ...d, T: 1 };
    expect(attentionCost('decode', one).threads).toBeGreaterThan(attentionCost('rows', one).threads);
    expect(estimateMs(attentionCost('decode', one), CPU)).toBeLessThan(estimateMs(attentionCost('rows', one), CPU));
  });

  const spec = (schedule: string) => `model m {\n  vocab = 16\n  dim = 16\n  heads = 2\n  layers = 2\n  mixer a = attention { max_len = 512 }\n  mixer r = retnet\n  block {\n    x = x + a(x)\n  }\n}\n${schedule}`;
  it('the plan shows the schedule and variant chosen, and says when a written schedule does not apply', () => {
    const prefill = compileSource(spec('schedule {\n  prefill = chunkwise(16)\n}\n'), 'm.loom', { batch: 1, seq: 32, device: CPU });
    if (!prefill.ok) throw new Error(prefill.diagnostics.map((d) => d.message).join('\n'));
    expect(prefill.compiled.plan.mixers.map((m) => [m.schedule, m.variant])).toEqual([['parallel', 'rows'], ['parallel', 'rows']]);
    expect(prefill.compiled.plan.mixers[0].why).toMatch(/chunkwise \(prefill\) does not apply to attention/);
    expect(prefill.compiled.plan.mixers[0].candidates.find((c) => c.variant === 'tiled')?.reason).toMatch(/CPU adapter/);
    const gpu = compileSource(spec(''), 'm.loom', { batch: 1, seq: 256, device: { ...CPU, isCpu: false } });
    if (!gpu.ok) throw new Error('gpu');
    expect(gpu.compiled.plan.mixers.map((m) => m.variant)).toEqual(['tiled', 'tiled']);
    const decode = compileSource(spec(''), 'm.loom', { batch: 1, seq: 1, device: CPU });
    if (!decode.ok) throw new Error('decode');
    expect(decode.compiled.plan.mixers.map((m) => [m.schedule, m.variant])).toEqual([['recurrent', 'decode'], ['recurrent', 'decode']]);
  });
});
