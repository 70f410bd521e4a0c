/**
 * The mamba family's knobs: `conv_bias` on mamba and ssd, `head_dim` / `eps` only on ssd (Mamba2's
 * SSD layer), `dt_rank` only on mamba, and the weights each declares.
 */
import { describe, expect, it } from 'vitest';
import { checkSource, compileSource } from '../../compiler/pipeline.ts';

const spec = (mixer: string) => `model m {\n  vocab = 16\n  dim = 32\n  layers = 1\n\n  mixer ssm = ${mixer}\n\n  block {\n    x = x + ssm(rmsnorm(x))\n  }\n}\n`;
const errors = (mixer: string) => checkSource(spec(mixer), 'm.loom').diagnostics.map((d) => `LOOM${d.code}: ${d.message}`);

describe('mamba family knobs', () => {
  it('ssd declares the Mamba2 weights: x, B, C, their convs and biases, dt per head, D per channel, the gated norm', () => {
    const r = compileSource(spec('ssd {\n    d_state = 8\n    head_dim = 16\n    conv_bias = true\n  }'), 'm.loom', { batch: 1, seq: 4 });
    if (!r.ok) throw new Error(r.diagnostics.map((d) => d.message).join('\n'));
    const shapes = Object.fromEntries(r.compiled.graph.weights.filter((w) => w.name.startsWith('layers.0.ssm.')).map((w) => [w.name.slice(13), w.shape]));
    expect(shapes).toEqual({
      'x.weight': [32, 64], 'x_conv1d.weight': [64, 4], 'x_conv1d.bias': [64], 'B.weight': [32, 8], 'B_conv1d.weight': [8, 4], 'B_conv1d.bias': [8],
      'C.weight': [32, 8], 'C_conv1d.weight': [8, 4], 'C_conv1d.bias': [8], 'z.weight': [32, 64], 'dt.weight': [32, 4], dt_bias: [4], A_log: [4], D: [64],
      'norm.weight': [64], 'out.weight': [64, 32],
    });
    const states = r.compiled.graph.nodes.filter((n) => n.op === 'state_in').map((n) => [n.label, n.type.shape]);
    expect(states).toContainEqual(['L0.ssm.S0', [1, 4, 8, 16]]); // [B, heads, d_state, head_dim]
  });

  it('mamba with conv_bias declares the bias; without it the weights are as before', () => {
    const names = (m: string) => {
      const r = compileSource(spec(m), 'm.loom', { batch: 1, seq: 4 });
      if (!r.ok) throw new Error('compile');
      return r.compiled.graph.weights.map((w) => w.name);
    };
    expect(names('mamba {\n    conv_bias = true\n  }')).toContain('layers.0.ssm.x_conv1d.bias');
    expect(names('mamba').filter((n) => n.includes('bias'))).toEqual(['layers.0.ssm.dt_bias']);
  });

  it("each preset's own knobs, and the combinations that are not defined, are errors", () => {
    expect(errors('ssd {\n    dt_rank = 4\n  }')).toEqual(["LOOM3009: mixer 'ssm': dt_rank is a knob of mamba, not ssd"]);
    expect(errors('mamba {\n    head_dim = 4\n  }')).toEqual(["LOOM3009: mixer 'ssm': head_dim is a knob of ssd, not mamba"]);
    expect(errors('mamba {\n    short_conv = none\n    conv_bias = true\n  }')).toEqual(["LOOM3009: mixer 'ssm': conv_bias needs a convolution (short_conv = none has none)"]);
    expect(errors('ssd {\n    head_dim = 24\n  }')).toEqual(['LOOM3006: the inner width (expand * dim) of ssm = 64 is not divisible by head_dim = 24']);
    expect(errors('ssd {\n    short_conv = none\n  }')).toEqual(["LOOM3009: mixer 'ssm': ssd convolves x, B and C; short_conv = none is not defined for it"]);
    expect(errors('ssd {\n    head_dim = 16\n    eps = 0\n  }')).toEqual(['LOOM3002: ssm.eps must be positive, got 0']);
  });
});
