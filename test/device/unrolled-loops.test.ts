/**
 * The GPU variant of the mixer kernels: constant loop bounds over K (compiler/plan/device.ts
 * `unrollLoops`), which a GPU compiler unrolls into registers. On lavapipe full unrolling is slow
 * to compile, so this runs it only at small K; it must compute the same as the rolled variant.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_PROFILE, unrollLoops, type DeviceProfile } from '../../compiler/plan/device.ts';
import { compileSource } from '../../compiler/pipeline.ts';
import { deviceProfile } from '../../runtime/gpu.ts';
import { interpretGraph } from '../../runtime/reference/interpret.ts';
import { Session } from '../../runtime/session.ts';
import { seededWeights } from '../../runtime/weights.ts';
import { expectClose } from '../helpers/compare.ts';
import { gpu } from './gpu.ts';

/** Tolerance of the one-layer model at K = 8, T = 12: 1.7e-7 measured, so 2e-6. */
const TOL = 2e-6;

const spec = (mixer: string) => `model small {
  vocab = 32
  dim = 16
  heads = 2
  layers = 1
  mixer m = ${mixer} { head_dim = 8 }
  block {
    x = x + m(rmsnorm(x))
  }
}`;

describe('unrolled loops over K (GPU variant)', () => {
  it('is chosen only for GPU-class adapters the runtime identified', async () => {
    const real = deviceProfile(await gpu());
    expect(unrollLoops(real)).toBe(!real.isCpu);
    expect(unrollLoops(DEFAULT_PROFILE)).toBe(false);
    expect(unrollLoops({ ...DEFAULT_PROFILE, isCpu: true, unrollLoops: true })).toBe(false);
    expect(unrollLoops({ ...DEFAULT_PROFILE, unrollLoops: true })).toBe(true);
  });

  it.each(['linear_attn', 'gated_delta'])('%s: same result as the float64 reference in every schedule', async (mixer) => {
    const g = await gpu();
    const gpuClass: DeviceProfile = { ...deviceProfile(g), isCpu: false, unrollLoops: true };
    for (const kind of ['recurrent', 'chunkwise', 'parallel'] as const) {
      const schedule = kind === 'chunkwise' ? { kind, chunk: 8 } : { kind };
      const r = compileSource(spec(mixer), 'small.loom', { batch: 1, seq: 12, schedule, device: gpuClass });
      if (!r.ok) throw new Error(r.diagnostics.map((d) => d.message).join('\n'));
      expect(r.compiled.plan.mixers.map((m) => m.unrollK)).toEqual([true]); // the planner's choice, read by codegen
      const wgsl = r.compiled.program.steps.map((s) => s.kernel.wgsl).join('\n');
      // chunkwise of the additive update runs the workgroup variant here, its loops over K tiles.
      const wg = kind === 'chunkwise' && mixer === 'linear_attn';
      expect(r.compiled.plan.mixers.map((m) => m.variant)).toEqual([wg ? 'workgroup' : undefined]);
      expect(wgsl).toContain(wg ? 'let n_BK = BK;' : 'let n_K = K;');
      expect(wgsl).not.toMatch(/select\((K|BK|NKT|NSL), 0u/);
      const w = seededWeights(r.compiled.graph.weights, 2);
      const ids = Int32Array.from({ length: 12 }, (_, i) => (i * 7) % 32);
      const s = await Session.create(g, r.compiled, w);
      const out = await s.forward(ids);
      s.destroy();
      const ref = interpretGraph(r.compiled.graph, w, ids).outputs;
      expectClose(`${mixer} ${kind} logits`, out.logits, ref.logits, TOL);
      expectClose(`${mixer} ${kind} state`, out.states['L0.m.S'], ref['L0.m.S'], TOL);
    }
  });
});
