/**
 * `loom import`: Hugging Face configs of fla models and LLaMA -> .loom specs. Mapped fields, fla's
 * implicit defaults written out, ignored fields listed, and refused fields named (LOOM6010).
 */
import { describe, expect, it } from 'vitest';
import { importConfig } from '../../compiler/import/config.ts';
import { flaMlpWidth } from '../../compiler/import/fields.ts';
import { checkSource } from '../../compiler/pipeline.ts';
import { format } from '../../grammar/format.ts';
import { LoomError } from '../../grammar/diagnostics.ts';
import { renderDiagnostics } from '../../grammar/render.ts';
import { CONFIGS } from '../helpers/fla-checkpoint.ts';

function spec(config: Record<string, unknown>, out = 'm.loom'): string {
  return importConfig(JSON.stringify(config, null, 2), 'config.json', out).text;
}

/** The rendered diagnostics of a config that must be refused. */
function refused(config: Record<string, unknown>): string {
  const text = JSON.stringify(config, null, 2);
  try {
    importConfig(text, 'config.json');
  } catch (e) {
    if (e instanceof LoomError) return renderDiagnostics(e.diagnostics, { 'config.json': text });
    throw e;
  }
  throw new Error('expected the config to be refused');
}

describe('loom import', () => {
  it.each(Object.keys(CONFIGS))('%s: the spec checks and is in canonical form', (kind) => {
    const text = spec(CONFIGS[kind], `${kind}.loom`);
    expect(checkSource(text, `${kind}.loom`).diagnostics).toEqual([]);
    expect(format(text, `${kind}.loom`).text).toBe(text);
  });

  it("GLA: fla's implicit gate normaliser, rank and bias, output-norm eps and MLP width are written out", () => {
    const text = spec({ ...CONFIGS.gla, hidden_size: 2048, num_heads: 4, norm_eps: 1e-6, use_short_conv: true, conv_size: 4 }, 'gla-340M.loom');
    expect(text).toContain('model gla_340M {');
    expect(text).toContain('  norm_eps = 1e-6\n');
    expect(text).toContain('    head_dim   = 256\n    value_dim  = 512\n');
    expect(text).toContain('    decay      = vector(low_rank = 16, normalizer = 16, bias = true)\n');
    expect(text).toContain('    short_conv = 4\n');
    expect(text).toContain('    output     = rmsnorm(eps = 1e-6) * swish(gate)\n');
    expect(text).toContain('x = x + swiglu(rmsnorm(x), hidden = 5632)'); // 256 * ceil(int(2048 * 4 * 2/3) / 256)
    expect(text).toContain('  head = untied\n');
    expect(text).toMatch(/# Not imported \(they do not change the computation\): model_type, architectures, attn_mode,\n# fuse_norm, torch_dtype\.\n/);
  });

  it("fla's GatedMLP width rule and intermediate_size", () => {
    expect(flaMlpWidth(2048, 4, null)).toBe(5632);
    expect(flaMlpWidth(1024, 4, null)).toBe(2816); // int(2730.67) = 2730 -> 2816
    expect(flaMlpWidth(64, 2, null)).toBe(256);
    expect(flaMlpWidth(2048, null, null)).toBe(5632); // hidden_ratio None -> 4
    expect(flaMlpWidth(2048, 4, 6000)).toBe(6000);
    expect(spec({ ...CONFIGS.delta_net, intermediate_size: 192 })).toContain('hidden = 192');
  });

  it('DeltaNet, Gated DeltaNet, RetNet, LinearAttention and LLaMA map their fields', () => {
    const dn = spec({ ...CONFIGS.delta_net, use_gate: true, allow_neg_eigval: true, conv_size: 3 });
    expect(dn).toContain('mixer attn = deltanet {');
    expect(dn).toMatch(/short_conv = 3\n\s+beta\s+= sigmoid\(scale = 2\)\n\s+output\s+= rmsnorm\(eps = 1e-5\) \* swish\(gate\)/);
    const gdn = spec(CONFIGS.gated_deltanet);
    expect(gdn).toMatch(/mixer attn = gated_delta \{\n\s+head_dim\s+= 16\n\s+value_dim\s+= 32\n/);
    expect(gdn).toContain('head = tied');
    expect(gdn).toContain('hidden = 96');
    const ret = spec({ ...CONFIGS.retnet, use_output_gate: false });
    expect(ret).toMatch(/mixer attn = retnet \{[\s\S]*rope\s+= true\n\s+output\s+= rmsnorm\(eps = 1e-6\)\n/);
    expect(ret).toContain("use_short_conv and conv_size are not passed to fla's MultiScaleRetention");
    const la = spec(CONFIGS.linear_attn);
    expect(la).toMatch(/feature\s+= elu1\n\s+normalize\s+= true\n\s+eps\s+= 1e-10\n\s+output\s+= rmsnorm\(eps = 1e-6\)/);
    const llama = spec({ ...CONFIGS.llama, head_dim: 32, num_attention_heads: 4 });
    expect(llama).toMatch(/mixer attn = attention \{\n\s+kv_heads\s+= 2\n\s+head_dim\s+= 32\n\s+rope_theta = 10000\n\s+max_len\s+= 64\n/);
    expect(llama).toContain('norm_eps = 1e-5');
  });

  it('a field Loom cannot honour is an error at its position, all of them at once', () => {
    const text = refused({ ...CONFIGS.gla, clamp_min: -5, num_kv_heads: 2, hidden_act: 'powlu', attn: { layers: [1], num_heads: 3 } });
    expect(text).toMatch(/config\.json\(\d+,3\): error LOOM6010: config field 'clamp_min' = -5: clamping the log-gates is not supported\n/);
    expect(text).toMatch(/error LOOM6010: config field 'num_kv_heads' = 2: grouped key\/value heads \(num_kv_heads != num_heads = 4\) are not supported by Loom's linear mixers/);
    expect(text).toMatch(/error LOOM6010: config field 'hidden_act' = "powlu": Loom's MLP and output gates are SwiGLU \/ swish/);
    expect(text).toMatch(/error LOOM6010: config field 'attn.num_heads' = 3: hidden_size = 64 is not divisible by it/);
    expect(text).toMatch(/\n\s+\d+ \|\s+"clamp_min": -5,\n\s+\|\s+\^{11}\n/);
  });

  it('non-default values of fields Loom cannot honour, per kind', () => {
    expect(refused({ ...CONFIGS.delta_net, qk_norm: 'sum' })).toContain("config field 'qk_norm' = \"sum\": Loom normalises q and k with L2");
    expect(refused({ ...CONFIGS.delta_net, use_short_conv: false })).toContain("config field 'use_short_conv' = false: without the short convolution fla applies silu to v");
    expect(refused({ ...CONFIGS.gated_deltanet, num_v_heads: 8 })).toContain("config field 'num_v_heads' = 8: more value heads than key heads");
    expect(refused({ ...CONFIGS.linear_attn, feature_map: 'elementwise_product' })).toContain("config field 'feature_map' = \"elementwise_product\": Loom imports the feature maps 'elu'");
    const { feature_map: _, ...noMap } = CONFIGS.linear_attn;
    expect(refused(noMap)).toContain("config field 'feature_map' = \"elementwise_product\" (the default):");
    expect(refused({ ...CONFIGS.retnet, elementwise_affine: false })).toContain("config field 'elementwise_affine' = false: Loom's output norm always has a learned gain");
    expect(refused({ ...CONFIGS.llama, rope_scaling: { type: 'linear', factor: 2 } })).toContain("config field 'rope_scaling' = {\"type\":\"linear\",\"factor\":2}: RoPE scaling");
    expect(refused({ ...CONFIGS.gla, expand_k: 0.3 })).toContain("config field 'expand_k' = 0.3: int(hidden_size * expand_k) = 19 is not a positive multiple of num_heads = 4");
  });

  it("older fla configs' field names and switches", () => {
    const { num_heads: h, norm_eps: e, ...rest } = CONFIGS.gla;
    const old = spec({ ...rest, num_attention_heads: h, rms_norm_eps: e, share_conv_kernel: true, chunk_size: 64 });
    const body = (t: string) => t.slice(t.indexOf('model '));
    expect(body(old)).toBe(body(spec(CONFIGS.gla)));
    expect(old).toMatch(/# Not imported[^.]*share_conv_kernel, chunk_size/);
    expect(refused({ ...CONFIGS.delta_net, share_conv_kernel: true })).toContain("config field 'share_conv_kernel' = true: a switch of older fla versions that Loom does not implement");
  });

  it('an unknown field is refused, with the nearest known name', () => {
    expect(refused({ ...CONFIGS.gla, use_short_cnv: true })).toContain("error LOOM6010: config field 'use_short_cnv' is not known to loom import, so it cannot tell whether it changes the computation (did you mean 'use_short_conv'?)");
  });

  it('the kind comes from model_type or architectures; others are named', () => {
    const { model_type: _, ...byArch } = CONFIGS.gla;
    expect(spec(byArch)).toContain('mixer attn = gla {');
    expect(refused({ model_type: 'rwkv7' })).toContain("config.json: model_type 'rwkv7' is not one loom import reads; expected one of gla, delta_net, gated_deltanet, retnet, linear_attn, transformer, llama, mamba, mamba2, samba");
    expect(refused({ model_type: 'gla_x' })).toMatch(/did you mean 'gla'\?/);
    expect(() => importConfig('[1]', 'c.json')).toThrow(/expected a JSON object/);
    expect(() => importConfig('{', 'c.json')).toThrow(/c\.json: not JSON/);
  });
});
