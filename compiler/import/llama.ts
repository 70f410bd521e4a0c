/**
 * Hugging Face `LlamaForCausalLM` configs -> a Draft spec: pre-norm blocks of softmax attention
 * (RoPE with HF's half-split rotate_half pairing, grouped-query heads, scale head_dim^-1/2) and a
 * SwiGLU MLP of width intermediate_size, RMSNorm with eps = rms_norm_eps everywhere.
 */
import { Fields, numText, type Draft, type JsonValue } from './fields.ts';

const DEFAULTS: Record<string, JsonValue> = {
  vocab_size: 32000,
  hidden_size: 4096,
  intermediate_size: 11008,
  num_hidden_layers: 32,
  num_attention_heads: 32,
  num_key_value_heads: null,
  head_dim: null,
  hidden_act: 'silu',
  max_position_embeddings: 2048,
  rms_norm_eps: 1e-6,
  tie_word_embeddings: false,
  rope_theta: 10000,
  rope_scaling: null,
  attention_bias: false,
  mlp_bias: false,
  attention_dropout: 0,
  pretraining_tp: 1,
};

export function translateLlama(config: Record<string, JsonValue>, file: string, text: string): { fields: Fields; draft: Draft } {
  const f = new Fields(file, text, config, DEFAULTS);
  // Dropout is off at inference; pretraining_tp only splits the same matmuls.
  f.ignore('attention_dropout', 'pretraining_tp');
  const dim = f.num('hidden_size', true);
  const heads = f.num('num_attention_heads', true);
  const kvRaw = f.get('num_key_value_heads');
  const kvHeads = kvRaw === null ? heads : f.num('num_key_value_heads', true);
  if (heads % kvHeads !== 0) f.refuse('num_key_value_heads', `must divide num_attention_heads = ${heads}`);
  const hdRaw = f.get('head_dim');
  const headDim = hdRaw === null ? dim / heads : f.num('head_dim', true);
  if (!Number.isInteger(headDim)) f.refuse('num_attention_heads', `hidden_size = ${dim} is not divisible by it and the config has no head_dim`);
  f.require('hidden_act', (v) => v === 'silu', "Loom's MLP is SwiGLU (silu)");
  f.require('rope_scaling', (v) => v === null, 'RoPE scaling (linear, dynamic, yarn, llama3) is not supported');
  f.require('attention_bias', (v) => v === false, "Loom's attention projections have no bias");
  f.require('mlp_bias', (v) => v === false, "Loom's MLP projections have no bias");
  const knobs: [string, string][] = [];
  if (kvHeads !== heads) knobs.push(['kv_heads', String(kvHeads)]);
  if (hdRaw !== null) knobs.push(['head_dim', String(headDim)]);
  knobs.push(['rope_theta', numText(f.num('rope_theta'))]);
  knobs.push(['max_len', String(f.num('max_position_embeddings', true))]);
  const draft: Draft = {
    source: 'Hugging Face LlamaForCausalLM',
    vocab: f.num('vocab_size', true),
    dim,
    layers: f.num('num_hidden_layers', true),
    heads,
    normEps: f.num('rms_norm_eps'),
    tied: f.bool('tie_word_embeddings'),
    mixers: [{ name: 'attn', preset: 'attention', knobs }],
    mlpHidden: f.num('intermediate_size', true),
    notes: ['Attention: RoPE on q and k (half-split pairs, as HF rotate_half), KV cache of max_position_embeddings positions.'],
  };
  f.checkUnknown();
  return { fields: f, draft };
}
