/**
 * Synthetic checkpoints in flash-linear-attention's (and HF LLaMA's) parameter names and torch
 * layouts, for the import and loading tests. The tensor lists are written here by hand from fla's
 * module definitions (fla/layers/*.py, fla/modules/mlp.py, the modeling files), independently of
 * Loom's mapping (runtime/fla-weights.ts), so a mapping mistake shows up as a failing test.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rng } from '../../runtime/random.ts';

/** A torch tensor: shape and row-major values. */
export interface TorchTensor {
  shape: number[];
  data: Float32Array;
}

export type Checkpoint = Map<string, TorchTensor>;

/** Small configs of the seven kinds (hidden 64, 2 layers, vocab 256). */
export const CONFIGS: Record<string, Record<string, unknown>> = {
  gla: { model_type: 'gla', architectures: ['GLAForCausalLM'], hidden_size: 64, expand_k: 0.5, expand_v: 1, num_heads: 4, num_hidden_layers: 2, vocab_size: 256, hidden_ratio: 4, intermediate_size: null, use_short_conv: false, use_output_gate: true, norm_eps: 1e-6, tie_word_embeddings: false, attn_mode: 'chunk', fuse_norm: true, torch_dtype: 'bfloat16' },
  delta_net: { model_type: 'delta_net', hidden_size: 64, expand_k: 1, expand_v: 1, num_heads: 4, num_hidden_layers: 2, vocab_size: 256, use_gate: false, use_short_conv: true, conv_size: 4, qk_activation: 'silu', qk_norm: 'l2', norm_eps: 1e-5, hidden_ratio: 4, tie_word_embeddings: false },
  gated_deltanet: { model_type: 'gated_deltanet', hidden_size: 64, head_dim: 16, num_heads: 4, expand_v: 2, num_hidden_layers: 2, vocab_size: 256, use_gate: true, use_short_conv: true, conv_size: 4, allow_neg_eigval: true, norm_eps: 1e-6, intermediate_size: 96, tie_word_embeddings: true },
  retnet: { model_type: 'retnet', hidden_size: 64, expand_k: 1, expand_v: 2, num_heads: 4, num_hidden_layers: 2, vocab_size: 256, hidden_ratio: 2, use_output_gate: true, norm_eps: 1e-6, use_short_conv: false },
  linear_attn: { model_type: 'linear_attn', hidden_size: 64, expand_k: 1, expand_v: 1, num_heads: 4, num_hidden_layers: 2, vocab_size: 256, feature_map: 'elu', norm_feature_map: true, norm_eps: 1e-6, hidden_ratio: 4 },
  llama: { model_type: 'llama', architectures: ['LlamaForCausalLM'], hidden_size: 64, intermediate_size: 128, num_attention_heads: 4, num_key_value_heads: 2, num_hidden_layers: 2, vocab_size: 256, rms_norm_eps: 1e-5, rope_theta: 10000, max_position_embeddings: 64, tie_word_embeddings: false, hidden_act: 'silu' },
  transformer: { model_type: 'transformer', hidden_size: 64, num_heads: 4, num_kv_heads: 2, qkv_bias: true, qk_norm: true, rope_theta: 50000, max_position_embeddings: 64, num_hidden_layers: 2, vocab_size: 256, intermediate_size: 128, norm_eps: 1e-6, fuse_norm: true },
};

/**
 * fla hybrid models (the `attn` field: softmax Attention in the listed layers), small (hidden 32,
 * vocab 64): GLA with global grouped-query attention with q/k/v biases in layers 1 and 3, and
 * Gated DeltaNet with a list of two specs (a sliding window of 8 in layer 1, one kv head in layer 2).
 */
export const HYBRID_CONFIGS: Record<string, Record<string, unknown>> = {
  gla: { model_type: 'gla', hidden_size: 32, expand_k: 0.5, expand_v: 1, num_heads: 2, num_hidden_layers: 4, vocab_size: 64, intermediate_size: 64, norm_eps: 1e-6, max_position_embeddings: 64, attn: { layers: [1, 3], num_heads: 4, num_kv_heads: 2, qkv_bias: true, rope_theta: 500000 } },
  gated_deltanet: { model_type: 'gated_deltanet', hidden_size: 32, head_dim: 8, num_heads: 4, expand_v: 1, use_gate: true, use_short_conv: true, conv_size: 4, num_hidden_layers: 3, vocab_size: 64, intermediate_size: 64, norm_eps: 1e-5, max_position_embeddings: 64, tie_word_embeddings: true, attn: [{ layers: [1], num_heads: 2, window_size: 8 }, { layers: [2], num_heads: 4, num_kv_heads: 1 }] },
};

/**
 * Small configs of fla's state-space models and LinearAttention's learned maps (hidden 32, 2
 * layers, vocab 64), tested on their own (test/runtime/fla-ssm.test.ts): Mamba in fla's
 * spellings, Mamba2 in transformers', Samba with a sliding-window Attention layer.
 */
export const SSM_CONFIGS: Record<string, Record<string, unknown>> = {
  mamba: { model_type: 'mamba', hidden_size: 32, state_size: 8, num_hidden_layers: 2, vocab_size: 64, expand: 2, conv_kernel: 4, use_conv_bias: true, dt_rank: 'auto', norm_eps: 1e-5, residual_in_fp32: true, tie_word_embeddings: false, dt_min: 0.001, dt_init_scheme: 'random', rescale_prenorm_residual: false },
  mamba2: { model_type: 'mamba2', architectures: ['Mamba2ForCausalLM'], hidden_size: 32, state_size: 8, head_dim: 16, num_heads: 4, num_hidden_layers: 2, vocab_size: 64, expand: 2, n_groups: 1, conv_kernel: 4, use_conv_bias: true, layer_norm_epsilon: 1e-5, rms_norm: true, chunk_size: 16, time_step_limit: [0, Infinity], tie_word_embeddings: false, residual_in_fp32: true },
  samba: { model_type: 'samba', hidden_size: 32, state_size: 8, num_hidden_layers: 2, vocab_size: 64, expand: 2, conv_kernel: 4, hidden_ratio: 4, norm_eps: 1e-5, max_position_embeddings: 64, attn: { layers: [1], num_heads: 4, num_kv_heads: 2, qkv_bias: false, window_size: 8, rope_theta: 10000 }, tie_word_embeddings: true },
  linear_attn_hedgehog: { model_type: 'linear_attn', hidden_size: 32, expand_k: 1, expand_v: 1, num_heads: 2, num_hidden_layers: 2, vocab_size: 64, feature_map: 'hedgehog', norm_feature_map: true, norm_eps: 1e-6, hidden_ratio: 2 },
  linear_attn_t2r: { model_type: 'linear_attn', hidden_size: 32, expand_k: 1, expand_v: 1, num_heads: 2, num_hidden_layers: 2, vocab_size: 64, feature_map: 't2r', tie_feature_map_qk: true, norm_feature_map: false, norm_eps: 1e-6, hidden_ratio: 2 },
};

/** GatedMLP's width rule (hidden_ratio, no intermediate_size). */
const mlpWidth = (D: number, ratio: number) => 256 * Math.ceil(Math.trunc((D * ratio * 2) / 3) / 256);

/** The tensors of an SSM_CONFIGS kind (fla/layers/{mamba,mamba2}.py, feature_map.py, GatedMLP, Attention). */
function ssmTensors(kind: string): [string, number[], 'linear' | 'norm' | 'small'][] {
  const c = SSM_CONFIGS[kind] as Record<string, number>;
  const [D, V] = [c.hidden_size, c.vocab_size];
  const out: [string, number[], 'linear' | 'norm' | 'small'][] = [];
  const lin = (name: string, o: number, n: number) => out.push([`${name}.weight`, [o, n], 'linear']);
  const root = kind.startsWith('linear_attn') ? 'model' : 'backbone';
  out.push([`${root}.embeddings.weight`, [V, D], 'small']);
  for (let i = 0; i < c.num_hidden_layers; i++) {
    const L = `${root}.layers.${i}`;
    const mlp = () => {
      const I = mlpWidth(D, c.hidden_ratio);
      out.push([`${L}.mlp_norm.weight`, [D], 'norm']), lin(`${L}.mlp.gate_proj`, I, D), lin(`${L}.mlp.up_proj`, I, D), lin(`${L}.mlp.down_proj`, D, I);
    };
    if (root === 'model') {
      const [A, K] = [`${L}.attn`, D / c.num_heads];
      out.push([`${L}.attn_norm.weight`, [D], 'norm']);
      lin(`${A}.q_proj`, D, D), lin(`${A}.k_proj`, D, D), lin(`${A}.v_proj`, D, D), lin(`${A}.o_proj`, D, D);
      out.push([`${A}.norm.weight`, [K], 'norm']);
      // Hedgehog: Linear(K, K) with bias for q and for k; T2R (tied here): one Linear(K, K) without bias.
      for (const which of kind === 'linear_attn_t2r' ? ['q'] : ['q', 'k']) {
        lin(`${A}.feature_map_${which}.layer`, K, K);
        if (kind === 'linear_attn_hedgehog') out.push([`${A}.feature_map_${which}.layer.bias`, [K], 'small']);
      }
      mlp();
      continue;
    }
    const M = `${L}.mixer`;
    const [Di, N, W] = [c.expand * D, c.state_size, c.conv_kernel];
    out.push([`${L}.${kind === 'samba' ? 'mixer_norm' : 'norm'}.weight`, [D], 'norm']);
    const a = c.attn as unknown as { layers: number[]; num_heads: number; num_kv_heads: number } | undefined;
    if (a && a.layers.includes(i)) {
      const hd = D / a.num_heads;
      lin(`${M}.q_proj`, a.num_heads * hd, D), lin(`${M}.k_proj`, a.num_kv_heads * hd, D), lin(`${M}.v_proj`, a.num_kv_heads * hd, D), lin(`${M}.o_proj`, D, a.num_heads * hd);
    } else if (kind === 'mamba2') {
      const H = Di / c.head_dim;
      lin(`${M}.in_proj`, 2 * Di + 2 * N + H, D);
      out.push([`${M}.conv1d.weight`, [Di + 2 * N, 1, W], 'small'], [`${M}.conv1d.bias`, [Di + 2 * N], 'small']);
      out.push([`${M}.dt_bias`, [H], 'small'], [`${M}.A_log`, [H], 'small'], [`${M}.D`, [H], 'small'], [`${M}.norm.weight`, [Di], 'norm']);
      lin(`${M}.out_proj`, D, Di);
    } else {
      const R = Math.ceil(D / 16);
      lin(`${M}.in_proj`, 2 * Di, D);
      out.push([`${M}.conv1d.weight`, [Di, 1, W], 'small'], [`${M}.conv1d.bias`, [Di], 'small']);
      lin(`${M}.x_proj`, R + 2 * N, Di), lin(`${M}.dt_proj`, Di, R);
      out.push([`${M}.dt_proj.bias`, [Di], 'small'], [`${M}.A_log`, [Di, N], 'small'], [`${M}.D`, [Di], 'small']);
      lin(`${M}.out_proj`, D, Di);
    }
    if (kind === 'samba') mlp();
  }
  out.push([root === 'model' ? 'model.norm.weight' : 'backbone.norm_f.weight', [D], 'norm']);
  if (!c.tie_word_embeddings) out.push(['lm_head.weight', [V, D], 'linear']);
  return out;
}

/** fla's GatedMLP width for the configs above. */
const MLP: Record<string, number> = { gla: 256, delta_net: 256, gated_deltanet: 96, retnet: 256, linear_attn: 256, llama: 128, transformer: 128 };

/** The Attention settings for layer i of a hybrid config (`attn`: a dict or a list), if it lists i. */
function attnSpec(c: Record<string, unknown>, i: number): Record<string, number> | undefined {
  const a = c.attn as Record<string, number> | Record<string, number>[] | undefined;
  return a ? (Array.isArray(a) ? a : [a]).find((s) => (s.layers as unknown as number[]).includes(i)) : undefined;
}

/** (name, torch shape, kind of values) of every tensor a checkpoint of `kind` holds, per fla/HF. */
export function tensorList(kind: string, config = CONFIGS[kind]): [string, number[], 'linear' | 'norm' | 'small'][] {
  if (Object.hasOwn(SSM_CONFIGS, kind)) return ssmTensors(kind);
  const c = config as Record<string, number>;
  const D = c.hidden_size;
  const V = c.vocab_size;
  const out: [string, number[], 'linear' | 'norm' | 'small'][] = [];
  const llama = kind === 'llama';
  out.push([llama ? 'model.embed_tokens.weight' : 'model.embeddings.weight', [V, D], 'small']);
  for (let i = 0; i < c.num_hidden_layers; i++) {
    const L = `model.layers.${i}`;
    const lin = (name: string, o: number, n: number) => out.push([`${name}.weight`, [o, n], 'linear']);
    out.push([`${L}.${llama ? 'input_layernorm' : 'attn_norm'}.weight`, [D], 'norm']);
    out.push([`${L}.${llama ? 'post_attention_layernorm' : 'mlp_norm'}.weight`, [D], 'norm']);
    const I = c.intermediate_size ?? MLP[kind];
    lin(`${L}.mlp.gate_proj`, I, D);
    lin(`${L}.mlp.up_proj`, I, D);
    lin(`${L}.mlp.down_proj`, D, I);
    const A = `${L}.attn`;
    const sa = kind === 'transformer' ? c : attnSpec(config, i);
    if (sa) {
      // fla/layers/attn.py: q, k, v (bias with qkv_bias), o without bias, q_norm/k_norm of head_dim with qk_norm.
      const hd = Math.floor(D / sa.num_heads);
      const kvw = (sa.num_kv_heads ?? sa.num_heads) * hd;
      lin(`${A}.q_proj`, D, D), lin(`${A}.k_proj`, kvw, D), lin(`${A}.v_proj`, kvw, D), lin(`${A}.o_proj`, D, D);
      if (sa.qkv_bias) out.push([`${A}.q_proj.bias`, [D], 'small'], [`${A}.k_proj.bias`, [kvw], 'small'], [`${A}.v_proj.bias`, [kvw], 'small']);
      if (sa.qk_norm) out.push([`${A}.q_norm.weight`, [hd], 'norm'], [`${A}.k_norm.weight`, [hd], 'norm']);
    } else if (kind === 'gla') {
      const K = D * c.expand_k;
      const Vv = D * c.expand_v;
      lin(`${A}.q_proj`, K, D), lin(`${A}.k_proj`, K, D), lin(`${A}.v_proj`, Vv, D), lin(`${A}.g_proj`, Vv, D);
      lin(`${A}.gk_proj.0`, 16, D), lin(`${A}.gk_proj.1`, K, 16);
      out.push([`${A}.gk_proj.1.bias`, [K], 'small']);
      lin(`${A}.o_proj`, D, Vv);
      out.push([`${A}.g_norm_swish_gate.weight`, [Vv / c.num_heads], 'norm']);
    } else if (kind === 'delta_net' || kind === 'gated_deltanet') {
      const K = kind === 'delta_net' ? D * c.expand_k : c.head_dim * c.num_heads;
      const Vv = kind === 'delta_net' ? D * c.expand_v : c.head_dim * c.expand_v * c.num_heads;
      const H = c.num_heads;
      lin(`${A}.q_proj`, K, D), lin(`${A}.k_proj`, K, D), lin(`${A}.v_proj`, Vv, D), lin(`${A}.b_proj`, H, D);
      if (kind === 'gated_deltanet') {
        lin(`${A}.a_proj`, H, D);
        out.push([`${A}.A_log`, [H], 'small'], [`${A}.dt_bias`, [H], 'small']);
      }
      out.push([`${A}.q_conv1d.weight`, [K, 1, 4], 'small'], [`${A}.k_conv1d.weight`, [K, 1, 4], 'small'], [`${A}.v_conv1d.weight`, [Vv, 1, 4], 'small']);
      if (c.use_gate) lin(`${A}.g_proj`, Vv, D);
      out.push([`${A}.o_norm.weight`, [Vv / H], 'norm']);
      lin(`${A}.o_proj`, D, Vv);
    } else if (kind === 'retnet') {
      const K = D * c.expand_k;
      const Vv = D * c.expand_v;
      lin(`${A}.q_proj`, K, D), lin(`${A}.k_proj`, K, D), lin(`${A}.v_proj`, Vv, D), lin(`${A}.g_proj`, Vv, D), lin(`${A}.o_proj`, D, Vv);
      out.push([`${A}.g_norm_swish_gate.weight`, [Vv / c.num_heads], 'norm']);
    } else if (kind === 'linear_attn') {
      const K = D * c.expand_k;
      const Vv = D * c.expand_v;
      lin(`${A}.q_proj`, K, D), lin(`${A}.k_proj`, K, D), lin(`${A}.v_proj`, Vv, D), lin(`${A}.o_proj`, D, Vv);
      out.push([`${A}.norm.weight`, [Vv / c.num_heads], 'norm']);
    } else {
      const S = `${L}.self_attn`;
      const hd = D / c.num_attention_heads;
      lin(`${S}.q_proj`, c.num_attention_heads * hd, D), lin(`${S}.k_proj`, c.num_key_value_heads * hd, D);
      lin(`${S}.v_proj`, c.num_key_value_heads * hd, D), lin(`${S}.o_proj`, D, c.num_attention_heads * hd);
    }
  }
  out.push(['model.norm.weight', [D], 'norm']);
  if (!c.tie_word_embeddings) out.push(['lm_head.weight', [V, D], 'linear']);
  return out;
}

/** bf16 rounding (round to nearest even) of every value, so a BF16 file holds them exactly. */
export function toBf16Values(x: Float32Array): Float32Array {
  const u = new Uint32Array(Float32Array.from(x).buffer);
  for (let i = 0; i < u.length; i++) u[i] = ((u[i] + 0x7fff + ((u[i] >>> 16) & 1)) >>> 16) << 16;
  return new Float32Array(u.buffer);
}

/** Random tensors for `kind`: Linear weights ~ N(0, 1/in), norm gains ~ 1 + N(0, 0.1), others N(0, 0.5). */
export function synthesize(kind: string, seed: number, bf16 = false, config = CONFIGS[kind]): Checkpoint {
  const ck: Checkpoint = new Map();
  for (const [name, shape, what] of tensorList(kind, config)) {
    const n = shape.reduce((a, b) => a * b, 1);
    const rng = Rng.forName(seed, name);
    let data = what === 'linear' ? rng.normals(n, 1 / Math.sqrt(shape[1])) : rng.normals(n, what === 'norm' ? 0.1 : 0.5);
    if (what === 'norm') data = data.map((v) => 1 + v);
    ck.set(name, { shape, data: bf16 ? toBf16Values(data) : data });
  }
  return ck;
}

/** Writes a safetensors file of F32 or BF16 tensors (little-endian), tensors in the map's order. */
export function writeCheckpoint(path: string, ck: Checkpoint, dtype: 'F32' | 'BF16' = 'F32'): void {
  const width = dtype === 'F32' ? 4 : 2;
  const header: Record<string, unknown> = {};
  let offset = 0;
  for (const [name, t] of ck) {
    header[name] = { dtype, shape: t.shape, data_offsets: [offset, offset + t.data.length * width] };
    offset += t.data.length * width;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const head = Buffer.alloc(8);
  head.writeBigUInt64LE(BigInt(json.length));
  const body = Buffer.alloc(offset);
  let at = 0;
  for (const t of ck.values()) {
    for (const v of t.data) {
      if (dtype === 'F32') body.writeFloatLE(v, at);
      else body.writeUInt16LE(new Uint32Array(Float32Array.of(v).buffer)[0] >>> 16, at);
      at += width;
    }
  }
  writeFileSync(path, Buffer.concat([head, Buffer.from(json), body]));
}

/** Two shards and `model.safetensors.index.json` in `dir`; returns the index path. */
export function writeSharded(dir: string, ck: Checkpoint): string {
  mkdirSync(dir, { recursive: true });
  const names = [...ck.keys()];
  const half = Math.ceil(names.length / 2);
  const shards = [names.slice(0, half), names.slice(half)];
  const weightMap: Record<string, string> = {};
  shards.forEach((part, i) => {
    const file = `model-0000${i + 1}-of-00002.safetensors`;
    writeCheckpoint(join(dir, file), new Map(part.map((n) => [n, ck.get(n)!])));
    for (const n of part) weightMap[n] = file;
  });
  const index = join(dir, 'model.safetensors.index.json');
  writeFileSync(index, JSON.stringify({ metadata: { total_size: 0 }, weight_map: weightMap }));
  return index;
}
