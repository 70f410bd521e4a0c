/**
 * `loom import` of fla's state-space models (Mamba, Mamba2, Samba) and LinearAttention's learned
 * feature maps, and the configs' bare NaN / Infinity tokens (Python's json writes them).
 */
import { describe, expect, it } from 'vitest';
import { importConfig } from '../../compiler/import/config.ts';
import { parseConfigJson } from '../../compiler/import/fields.ts';
import { checkSource } from '../../compiler/pipeline.ts';
import { LoomError } from '../../grammar/diagnostics.ts';
import { format } from '../../grammar/format.ts';
import { renderDiagnostics } from '../../grammar/render.ts';
import { SSM_CONFIGS } from '../helpers/fla-checkpoint.ts';

/** The rendered diagnostics of a config text that must be refused. */
function refusedText(text: string): string {
  try {
    importConfig(text, 'config.json');
  } catch (e) {
    if (e instanceof LoomError) return renderDiagnostics(e.diagnostics, { 'config.json': text });
    throw e;
  }
  throw new Error('expected the config to be refused');
}

describe('config.json with NaN and Infinity', () => {
  it('reads bare NaN, Infinity and -Infinity outside strings, and leaves strings alone', () => {
    const v = parseConfigJson('{"a": [0.0, Infinity], "b": -Infinity, "c": NaN, "s": "NaN Infinity \\" -Infinity", "d": {"x": [NaN]}}') as Record<string, unknown>;
    expect(v.a).toEqual([0, Infinity]);
    expect(v.b).toBe(-Infinity);
    expect(v.c).toBeNaN();
    expect(v.s).toBe('NaN Infinity " -Infinity');
    expect((v.d as { x: number[] }).x[0]).toBeNaN();
  });

  it('keeps positions: a JSON error after the tokens points where it is in the original text', () => {
    const text = '{"a": NaN, "b": -Infinity,\n "c": Infinity Infinity}';
    expect(() => parseConfigJson(text)).toThrow(new RegExp(`position ${text.lastIndexOf('Infinity')}\\b`));
    expect(() => parseConfigJson('{"a": Infinityx}')).toThrow(/JSON/); // not a token: still an error
  });

  it('a refused field after Infinity is located at its line and column, its value written as Python writes it', () => {
    const text = '{\n  "model_type": "gla",\n  "hidden_size": 64, "num_heads": 4, "vocab_size": 64, "num_hidden_layers": 2,\n  "norm_eps": 1e-6, "x_limit": [0.0, Infinity],   "clamp_min": -Infinity\n}';
    const out = refusedText(text);
    expect(out).toContain("config.json(4,51): error LOOM6010: config field 'clamp_min' = -Infinity: clamping the log-gates is not supported");
    expect(out).toContain("config.json(4,21): error LOOM6010: config field 'x_limit' is not known to loom import");
  });
});

const json = (c: unknown) => JSON.stringify(c, (_, v) => (v === Infinity ? '\uE00F' : v), 2).replaceAll('"\uE00F"', 'Infinity');
const spec = (c: Record<string, unknown>, out = 'm.loom') => importConfig(json(c), 'config.json', out).text;
const refused = (c: Record<string, unknown>) => refusedText(json(c));

describe('loom import: Mamba, Mamba2, Samba', () => {
  it.each(Object.keys(SSM_CONFIGS))('%s: the spec checks and is in canonical form', (kind) => {
    const text = spec(SSM_CONFIGS[kind], `${kind}.loom`);
    expect(checkSource(text, `${kind}.loom`).diagnostics).toEqual([]);
    expect(format(text, `${kind}.loom`).text).toBe(text);
  });

  it('Mamba: S6 knobs, no MLP and no model heads; init and precision fields listed as not changing the computation', () => {
    const text = spec(SSM_CONFIGS.mamba);
    expect(text).toMatch(/mixer ssm = mamba \{\n\s+d_state\s+= 8\n\s+expand\s+= 2\n\s+dt_rank\s+= 2\n\s+short_conv = 4\n\s+conv_bias\s+= true\n\s+\}/);
    expect(text).toContain('  block {\n    x = x + ssm(rmsnorm(x))\n  }\n');
    expect(text).not.toContain('swiglu');
    expect(text).not.toContain('heads');
    expect(text).toMatch(/# Not imported \(they do not change the computation\): model_type, residual_in_fp32, dt_min,\n# dt_init_scheme, rescale_prenorm_residual\.\n/);
    expect(spec({ ...SSM_CONFIGS.mamba, use_conv_bias: false, dt_rank: 5, conv_kernel: 2 })).toMatch(/dt_rank\s+= 5\n\s+short_conv = 2\n\s+\}/);
  });

  it("Mamba in transformers' spellings: layer_norm_epsilon, time_step_rank; a left-out tie_word_embeddings is true", () => {
    const { norm_eps: _, dt_rank: __, tie_word_embeddings: ___, ...rest } = SSM_CONFIGS.mamba;
    const text = spec({ ...rest, layer_norm_epsilon: 1e-6, time_step_rank: 3, use_mambapy: false, time_step_floor: 1e-4 });
    expect(text).toContain('norm_eps = 1e-6');
    expect(text).toMatch(/dt_rank\s+= 3/);
    expect(text).toContain('head = tied');
    expect(text).toContain('# A transformers config leaves out tie_word_embeddings when true: the head is tied.');
    expect(refused({ ...SSM_CONFIGS.mamba, layer_norm_epsilon: 1e-6 })).toContain("config field 'layer_norm_epsilon' = 0.000001: transformers' name of 'norm_eps', which the config also sets");
  });

  it('Mamba2: SSD knobs; time_step_limit [0.0, Infinity] read from the bare token', () => {
    const text = spec(SSM_CONFIGS.mamba2);
    expect(text).toMatch(/mixer ssm = ssd \{\n\s+d_state\s+= 8\n\s+expand\s+= 2\n\s+head_dim\s+= 16\n\s+short_conv = 4\n\s+conv_bias\s+= true\n\s+\}/);
    expect(text).toContain('# SSD: 4 heads of 16 channels, one group of B and C, gated RMSNorm over all 64 channels');
    expect(text).not.toContain('swiglu');
    expect(json(SSM_CONFIGS.mamba2)).toContain('"time_step_limit": [\n    0,\n    Infinity\n  ]');
  });

  it('Mamba2: what Loom cannot honour, each at its field', () => {
    const out = refused({ ...SSM_CONFIGS.mamba2, n_groups: 8, time_step_limit: [0.001, 0.1], norm_before_gate: true, rms_norm: false, use_bias: true, num_heads: 3 });
    expect(out).toMatch(/config\.json\(\d+,3\): error LOOM6010: config field 'n_groups' = 8: Loom's ssd shares one B and C among all heads/);
    expect(out).toContain("config field 'time_step_limit' = [0.001,0.1]: clamping dt is not supported; only [0.0, Infinity]");
    expect(out).toContain("config field 'norm_before_gate' = true: Loom's ssd gates before its norm");
    expect(out).toContain("config field 'rms_norm' = false: Loom's ssd always applies the gated RMSNorm");
    expect(out).toContain("config field 'use_bias' = true: Loom's ssd projections (in_proj, out_proj) have no bias");
    expect(out).toContain("config field 'num_heads' = 3: expected int(expand * hidden_size) / head_dim = 4");
    expect(refused({ ...SSM_CONFIGS.mamba2, head_dim: 24 })).toContain("config field 'head_dim' = 24: int(expand * hidden_size) = 64 is not divisible by it");
    expect(refused({ ...SSM_CONFIGS.mamba2, dt_limit: [0, Infinity] })).toContain("config field 'time_step_limit' = [0,Infinity]: transformers' name of 'dt_limit', which the config also sets");
    expect(refused({ ...SSM_CONFIGS.mamba, expand: 1.5 })).toContain("config field 'expand' = 1.5: Loom's inner width is an integer multiple of hidden_size");
    expect(refused({ ...SSM_CONFIGS.mamba, hidden_act: 'gelu', conv_kernel: 1 })).toMatch(/'conv_kernel' = 1: Loom's short convolutions are 2 to 64 taps wide[\s\S]*'hidden_act' = "gelu": Loom's Mamba applies silu/);
    expect(refused({ ...SSM_CONFIGS.mamba, dt_projection: 4 })).toContain("config field 'dt_projection' is not known to loom import");
  });

  it("Samba: Mamba layers and fla's hybrid sliding-window Attention in a block pattern, each with the GatedMLP", () => {
    const text = spec(SSM_CONFIGS.samba);
    expect(text).toMatch(/mixer ssm = mamba \{[^}]*conv_bias\s+= true\n\s+\}\n\n\s+mixer attn = attention \{\n\s+heads\s+= 4\n\s+kv_heads\s+= 2\n\s+window\s+= 8\n/);
    expect(text).toContain('  block pattern [ssm, attn] {\n    x = x + mixer(rmsnorm(x))\n    x = x + swiglu(rmsnorm(x), hidden = 256)\n  }');
    // SambaConfig's default attn: sliding-window Attention (18 heads, window 2048) in the odd layers.
    const { attn: _, ...noAttn } = SSM_CONFIGS.samba;
    const d = spec({ ...noAttn, hidden_size: 36, num_hidden_layers: 4 });
    expect(d).toMatch(/mixer attn = attention \{\n\s+heads\s+= 18\n\s+window\s+= 2048\n/);
    expect(d).toContain('block pattern [ssm, attn, ssm, attn]');
    expect(spec({ ...SSM_CONFIGS.samba, attn: null })).toContain('  block {\n    x = x + ssm(rmsnorm(x))\n    x = x + swiglu(rmsnorm(x), hidden = 256)\n  }'); // attn null: every layer Mamba
    expect(refused({ ...SSM_CONFIGS.samba, attn: { layers: [1], num_heads: 4, window_size: 0 } })).toMatch(/config field 'attn\.window_size' = 0: expected a positive integer/);
    expect(refused({ ...SSM_CONFIGS.samba, hidden_act: 'gelu' })).toContain("config field 'hidden_act' = \"gelu\": Loom's MLP is SwiGLU (swish)");
  });
});

describe("loom import: LinearAttention's learned feature maps", () => {
  it('hedgehog and t2r with fla\'s q scale (feature width^-1/2); tie_feature_map_qk listed', () => {
    expect(spec(SSM_CONFIGS.linear_attn_hedgehog)).toMatch(/feature\s+= hedgehog\n\s+scale\s+= 0\.17677669529663687\n\s+normalize = true\n\s+eps\s+= 1e-10\n/); // (2 * 16)^-1/2
    const t2r = spec(SSM_CONFIGS.linear_attn_t2r);
    expect(t2r).toMatch(/feature\s+= t2r\n\s+scale\s+= 0\.25\n\s+normalize = false\n/); // 16^-1/2
    expect(t2r).toMatch(/# Not imported[^.]*tie_feature_map_qk/);
  });

  it('maps Loom does not compute are refused', () => {
    expect(refused({ ...SSM_CONFIGS.linear_attn_hedgehog, feature_map: 'dpfp' })).toContain("config field 'feature_map' = \"dpfp\": Loom imports the feature maps 'elu' (elu + 1), 'relu', 'identity', 'hedgehog' and 't2r'; fla's elementwise_product (Hadamard) and dpfp are not supported");
    expect(refused({ ...SSM_CONFIGS.linear_attn_t2r, norm_q: true })).toContain("config field 'norm_q' = true: sum-normalising q is not supported");
  });
});
