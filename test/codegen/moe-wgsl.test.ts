/** MoE kernel generators: WGSL snapshots and determinism; a causal MoE model keeps its decode. */
import { describe, expect, it } from 'vitest';
import { compileArtifacts } from '../../compiler/emit/emit.ts';
import { moeProgram } from '../../compiler/mixers/moe/index.ts';
import { DEFAULT_PROFILE } from '../../compiler/plan/device.ts';

const names = { x: 'x', logits: 'logits', gate: 'gate', up: 'up', down: 'down', y: 'y' };

describe('MoE WGSL snapshots', () => {
  const p = moeProgram('L0.moe0', { tokens: 37, D: 64, E: 4, K: 2, N: 128 }, names);
  it.each(p.steps.map((s) => ({ id: s.kernel.name.replace('L0.moe0.', ''), s })))('$id', async ({ id, s }) => {
    await expect(s.kernel.wgsl).toMatchFileSnapshot(`__snapshots__/moe/M37-D64-E4-k2-N128.${id}.wgsl`);
  });
  it('is deterministic and binds the router choice between the kernels', () => {
    expect(moeProgram('L0.moe0', { tokens: 37, D: 64, E: 4, K: 2, N: 128 }, names)).toEqual(p);
    expect(p.steps.map((s) => s.args)).toEqual([
      ['logits', 'L0.moe0.sel', 'L0.moe0.weight'],
      ['x', 'L0.moe0.sel', 'gate', 'up', 'L0.moe0.h'],
      ['L0.moe0.h', 'L0.moe0.sel', 'L0.moe0.weight', 'down', 'y'],
    ]);
  });
});

describe('MoE in a causal model', () => {
  it('is token-wise, so the model keeps its step program', () => {
    const spec = `model moe_lm {
  vocab  = 32
  dim    = 16
  heads  = 2
  layers = 1

  mixer attn = linear_attn

  block {
    x = x + attn(rmsnorm(x))
    x = x + moe(rmsnorm(x), experts = 4, top_k = 2, hidden = 32)
  }
}
`;
    const r = compileArtifacts(spec, 'moe.loom', { batch: 1, seq: 8, device: DEFAULT_PROFILE, emit: ['wgsl'], runtimeImport: '', source: 'moe.loom' });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.pair.noDecode).toBeUndefined();
    expect(r.pair.step!.program.steps.map((s) => s.kernel.name).filter((n) => n.includes('moe'))).toEqual(['L0.moe0.router', 'L0.moe0.route', 'L0.moe0.expert_h', 'L0.moe0.expert_out']);
    expect(r.pair.forward.graph.weights.filter((w) => w.name.includes('moe')).map((w) => `${w.name} [${w.shape}]`)).toEqual([
      'layers.0.moe0.router.weight [16,4]',
      'layers.0.moe0.gate.weight [4,16,32]',
      'layers.0.moe0.up.weight [4,16,32]',
      'layers.0.moe0.down.weight [4,32,16]',
    ]);
  });
});
