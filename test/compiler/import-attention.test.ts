/**
 * `loom import` of fla's softmax attention: the `attn` field of the hybrid model types (a dict or
 * a list of dicts; softmax Attention in the listed layers, a `block pattern` of two mixers) and
 * the `transformer` model type. Mapped fields, refused values at their JSON position (LOOM6010).
 */
import { describe, expect, it } from 'vitest';
import { importConfig } from '../../compiler/import/config.ts';
import { jsonSpan } from '../../compiler/import/fla-hybrid.ts';
import { checkSource } from '../../compiler/pipeline.ts';
import { LoomError } from '../../grammar/diagnostics.ts';
import { renderDiagnostics } from '../../grammar/render.ts';
import { CONFIGS, HYBRID_CONFIGS } from '../helpers/fla-checkpoint.ts';

function spec(config: Record<string, unknown>): string {
  const text = importConfig(JSON.stringify(config, null, 2), 'config.json', 'm.loom').text;
  expect(checkSource(text, 'm.loom').diagnostics.map((d) => d.message)).toEqual([]);
  return text;
}

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

const attnOf = (kind: string) => ({ ...CONFIGS[kind], num_hidden_layers: 4, attn: { layers: [1, 3], num_heads: 2 } });

describe('loom import: fla hybrid attention (attn)', () => {
  it.each(['gla', 'delta_net', 'gated_deltanet', 'retnet', 'linear_attn'])('%s with attn: a block pattern of the own mixer and attention', (kind) => {
    const text = spec(attnOf(kind));
    const own = text.match(/mixer (\w+) = (\w+) \{/)![1];
    expect(text).toContain(`block pattern [${own}, attn, ${own}, attn] {\n    x = x + mixer(rmsnorm(x))\n`);
    expect(text).toMatch(/mixer attn = attention \{\n\s+heads\s+= 2\n\s+rope_theta = 10000\n\s+max_len\s+= 2048\n\s+\}/);
    expect(text).toContain('# Layers 1, 3: fla\'s hybrid Attention: RoPE (half-split pairs), scale head_dim^-1/2, a KV cache of max_position_embeddings = 2048 positions');
  });

  it('maps num_kv_heads, qkv_bias, rope_theta and max_position_embeddings; max_position_embeddings is read, not ignored', () => {
    const text = spec({ ...HYBRID_CONFIGS.gla, attn_mode: 'chunk' });
    expect(text).toContain('mixer gla = gla {');
    expect(text).toMatch(/mixer attn = attention \{\n\s+heads\s+= 4\n\s+kv_heads\s+= 2\n\s+rope_theta = 500000\n\s+max_len\s+= 64\n\s+qkv_bias\s+= true\n\s+\}/);
    expect(text).toContain('block pattern [gla, attn, gla, attn]');
    expect(text).toMatch(/# Not imported \(they do not change the computation\): model_type, attn_mode\.\n/);
  });

  it('a list of specs gives one attention mixer each; a window has a ring cache and no max_len', () => {
    const text = spec(HYBRID_CONFIGS.gated_deltanet);
    expect(text).toMatch(/mixer attn0 = attention \{\n\s+heads\s+= 2\n\s+window\s+= 8\n\s+rope_theta = 10000\n\s+\}/);
    expect(text).toMatch(/mixer attn1 = attention \{\n\s+heads\s+= 4\n\s+kv_heads\s+= 1\n\s+rope_theta = 10000\n\s+max_len\s+= 64\n\s+\}/);
    expect(text).toContain('block pattern [gated_delta, attn0, attn1] {');
    expect(text).toContain('a ring KV cache of window_size = 8 slots');
    // Only windowed attention: max_position_embeddings changes nothing.
    const windowed = spec({ ...HYBRID_CONFIGS.gla, attn: { layers: [1], num_heads: 4, window_size: 16 } });
    expect(windowed).toMatch(/# Not imported[^.]*max_position_embeddings/);
    expect(refused({ ...HYBRID_CONFIGS.gla, max_position_embeddings: 0 }).match(/LOOM6010/g)).toHaveLength(1);
  });

  it('a pattern as long as the model (24 layers), and attention in every layer (no pattern)', () => {
    const long = spec({ ...CONFIGS.gla, num_hidden_layers: 24, attn: { layers: [5, 11, 17, 23], num_heads: 4 } });
    const pattern = long.match(/block pattern \[([^\]]*)\]/)![1].split(', ');
    expect(pattern).toHaveLength(24);
    expect(pattern.map((m, i) => (m === 'attn' ? i : -1)).filter((i) => i >= 0)).toEqual([5, 11, 17, 23]);
    const all = spec({ ...CONFIGS.retnet, attn: { layers: [0, 1], num_heads: 4 } });
    expect(all).not.toContain('pattern');
    expect(all).not.toContain('= retnet');
    expect(all).toContain('x = x + attn(rmsnorm(x))');
  });

  it("attn.qk_norm is noted as changing nothing (fla's hybrid blocks do not pass it)", () => {
    expect(spec({ ...attnOf('gla'), attn: { layers: [1], num_heads: 2, qk_norm: true } })).toContain("# attn.qk_norm is not passed to fla's Attention by the hybrid blocks, so it changes nothing.");
  });

  it('refuses what fla or Loom cannot honour, at the key inside attn', () => {
    const config = { ...CONFIGS.gla, num_hidden_layers: 4, num_heads: 4, attn: { layers: [1, 4, 1], num_heads: 3, num_kv_heads: 2, window_size: 0, rope_theta: 1, sink: 4 } };
    const text = refused(config);
    const json = JSON.stringify(config, null, 2);
    const lineOf = (key: string) => json.slice(0, json.indexOf(`"${key}"`, json.indexOf('"attn"'))).split('\n').length;
    expect(text).toContain(`config.json(${lineOf('layers')},5): error LOOM6010: config field 'attn.layers' = [1,4,1]: layer 4 is not an index in [0, 4)`);
    expect(text).toContain("config field 'attn.layers' = [1,4,1]: layer 1 is listed twice");
    // The nested num_heads, not the model's (which comes first in the text).
    expect(text).toContain(`config.json(${lineOf('num_heads')},5): error LOOM6010: config field 'attn.num_heads' = 3: hidden_size = 64 is not divisible by it`);
    expect(text).toContain("config field 'attn.num_kv_heads' = 2: must divide num_heads = 3");
    expect(text).toContain("config field 'attn.window_size' = 0: expected a positive integer");
    expect(text).toContain("config field 'attn.rope_theta' = 1: Loom's RoPE needs a base above 1");
    expect(text).toContain(`config.json(${lineOf('sink')},5): error LOOM6010: config field 'attn.sink' = 4: not a field of fla's hybrid attention`);
  });

  it('refuses list entries at their element, and malformed attn values', () => {
    const config = { ...CONFIGS.gated_deltanet, num_hidden_layers: 3, attn: [{ layers: [1], num_heads: 4 }, { layers: [1, 2], qkv_bias: 'yes' }, 7] };
    const text = refused(config);
    const json = JSON.stringify(config, null, 2);
    const second = json.slice(0, json.indexOf('{', json.indexOf('"num_heads"', json.indexOf('"attn"')))).split('\n').length; // attn[1]'s line
    expect(text).toContain(`config.json(${second},5): error LOOM6010: config field 'attn[1].num_heads': required`);
    expect(text).toContain("config field 'attn[1].layers' = [1,2]: layer 1 is listed twice");
    expect(text).toContain("config field 'attn[1].qkv_bias' = \"yes\": expected true or false");
    expect(text).toContain("config field 'attn[2]' = 7: expected a dict with layers and num_heads");
    expect(refused({ ...CONFIGS.gla, attn: [] })).toContain("config field 'attn' = []: expected null, a dict or a non-empty list of dicts");
    expect(refused({ ...CONFIGS.gla, attn: { num_heads: 4 } })).toContain("config field 'attn.layers': required: a list of layer indices");
    expect(refused({ ...CONFIGS.gla, attn: { layers: [0], num_heads: 64 } })).toContain("config field 'attn.num_heads' = 64: head_dim = 1 is odd");
  });

  it('jsonSpan finds a key or list element by path, past strings and nested values', () => {
    const text = '{"a": "x\\"}", "b": [1, {"c": {"b": 2}}, [3]], "c": 4}';
    expect(jsonSpan(text, ['b'])).toMatchObject({ start: text.indexOf('"b"'), end: text.indexOf('"b"') + 3, line: 1 });
    expect(jsonSpan(text, ['b', 1, 'c', 'b'])!.start).toBe(text.lastIndexOf('"b"'));
    expect(jsonSpan(text, ['b', 2])!.start).toBe(text.indexOf('[3]'));
    expect(jsonSpan(text, ['c'])!.start).toBe(text.lastIndexOf('"c"'));
    expect(jsonSpan(text, ['b', 3])).toBeUndefined();
  });
});

describe('loom import: fla transformer', () => {
  it('maps every TransformerConfig field', () => {
    const text = spec(CONFIGS.transformer);
    expect(text).toContain('(fla TransformerConfig, Attention layers)');
    expect(text).toMatch(/mixer attn = attention \{\n\s+kv_heads\s+= 2\n\s+rope_theta = 50000\n\s+max_len\s+= 64\n\s+qkv_bias\s+= true\n\s+qk_norm\s+= rmsnorm\(eps = 1e-5\)\n\s+\}/);
    expect(text).toContain('  heads    = 4\n');
    expect(text).toContain('x = x + swiglu(rmsnorm(x), hidden = 128)');
    expect(text).toMatch(/# Not imported \(they do not change the computation\): model_type, fuse_norm\.\n/);
    const swa = spec({ ...CONFIGS.transformer, window_size: 16, qk_norm: false, qkv_bias: false, num_kv_heads: null, elementwise_affine: false, hidden_ratio: 2, intermediate_size: null });
    expect(swa).toMatch(/mixer attn = attention \{\n\s+window\s+= 16\n\s+rope_theta = 50000\n\s+\}/);
    expect(swa).toContain('hidden = 256'); // 256 * ceil(int(64 * 2 * 2/3) / 256)
    expect(swa).toMatch(/# Not imported[^.]*elementwise_affine/);
    expect(spec({ ...CONFIGS.transformer, attention_bias: true })).toMatch(/# Not imported[^.]*attention_bias/); // older configs: never read
  });

  it('refuses what it cannot honour, and attn (not a TransformerConfig field)', () => {
    const text = refused({ ...CONFIGS.transformer, num_heads: 6, rope_theta: null, attnres_block_size: 2, attn: { layers: [0], num_heads: 4 } });
    expect(text).toContain("config field 'num_heads' = 6: hidden_size = 64 is not divisible by it");
    expect(text).toContain("config field 'rope_theta' = null: expected a number (fla's RotaryEmbedding needs a base)");
    expect(text).toContain("config field 'attnres_block_size' = 2: attention residuals (AttnRes) are not supported");
    expect(text).toContain("config field 'attn' is not known to loom import");
    expect(refused({ ...CONFIGS.transformer, num_kv_heads: 3 })).toContain("config field 'num_kv_heads' = 3: must divide num_heads = 4");
    expect(refused({ ...CONFIGS.transformer, window_size: 0 })).toContain("config field 'window_size' = 0: expected a positive integer");
  });
});
