/**
 * flash-linear-attention configs (fla/models/<kind>/configuration_*.py) -> a Draft spec. The
 * defaults below are those of fla's config classes; the layer-level facts no config field states
 * (GLA's gate normaliser 16 and low rank 16 with a bias on the gate's second projection, the
 * output norm's eps = norm_eps, GatedMLP's width rule, RetNet's RoPE and per-head decay
 * 1 - 2^(-5-h), LinearAttention's normaliser eps 1e-10) are written into the spec explicitly.
 *
 * Every fla model is pre-norm: `x + attn(attn_norm(x))`, then `x + mlp(mlp_norm(x))` with a
 * SwiGLU GatedMLP, a final RMSNorm and an LM head, all norms with eps = norm_eps. The `transformer`
 * model type and the `attn` field (softmax attention in listed layers) are read in fla-hybrid.ts.
 */
import { Fields, flaMlpWidth, numText, type Draft, type JsonValue } from './fields.ts';
import { hybridMixers, transformerKnobs } from './fla-hybrid.ts';

const COMMON: Record<string, JsonValue> = {
  hidden_size: 2048,
  num_hidden_layers: 24,
  hidden_ratio: 4,
  intermediate_size: null,
  hidden_act: 'swish',
  norm_eps: 1e-6,
  attn: null,
  attnres_block_size: null,
  tie_word_embeddings: false,
  vocab_size: 32000,
  max_position_embeddings: 2048,
};

const DEFAULTS: Record<string, Record<string, JsonValue>> = {
  gla: { ...COMMON, expand_k: 0.5, expand_v: 1, num_heads: 4, num_kv_heads: null, feature_map: null, use_short_conv: false, conv_size: 4, use_output_gate: true, clamp_min: null, elementwise_affine: true, use_gk: true, use_gv: false },
  delta_net: { ...COMMON, expand_k: 1, expand_v: 1, use_gate: false, use_short_conv: true, allow_neg_eigval: false, conv_size: 4, use_beta: true, use_output_norm: true, num_heads: 16, qk_norm: 'l2', qk_activation: 'silu' },
  gated_deltanet: { ...COMMON, num_hidden_layers: 21, expand_v: 2, use_gate: true, use_short_conv: true, allow_neg_eigval: false, conv_size: 4, head_dim: 256, num_heads: 6, num_v_heads: null },
  retnet: { ...COMMON, hidden_ratio: 2, expand_k: 1, expand_v: 2, num_heads: 8, num_kv_heads: null, feature_map: null, use_short_conv: false, conv_size: 4, use_output_gate: true, elementwise_affine: true },
  linear_attn: { ...COMMON, expand_k: 1, expand_v: 1, num_heads: 4, num_kv_heads: null, feature_map: 'elementwise_product', tie_feature_map_qk: false, norm_q: false, norm_k: false, norm_feature_map: false, elementwise_affine: true },
  // TransformerConfig has no `attn` field: every layer is Attention.
  transformer: { ...Object.fromEntries(Object.entries(COMMON).filter(([k]) => k !== 'attn')), num_heads: 32, num_kv_heads: null, qkv_bias: false, qk_norm: false, window_size: null, rope_theta: 10000, elementwise_affine: true },
};

const SOURCES: Record<string, string> = {
  gla: 'fla GLAConfig, GatedLinearAttention layers',
  delta_net: 'fla DeltaNetConfig, DeltaNet layers',
  gated_deltanet: 'fla GatedDeltaNetConfig, GatedDeltaNet layers',
  retnet: 'fla RetNetConfig, MultiScaleRetention layers',
  linear_attn: 'fla LinearAttentionConfig, LinearAttention layers',
  transformer: 'fla TransformerConfig, Attention layers',
};

/**
 * Fields of every fla config that choose kernels or training behaviour only. max_position_embeddings
 * sizes the KV cache of attention layers (read there); the linear layers do not use it.
 */
const FLA_IGNORED = ['attn_mode', 'fuse_norm', 'fuse_swiglu', 'fuse_cross_entropy', 'fuse_linear_cross_entropy', 'use_l2warp', 'max_position_embeddings'];

/** Knobs a translator adds to the mixer, in order. */
type Knobs = [string, string][];
/** The draft without its mixers. */
type Base = Omit<Draft, 'mixers' | 'pattern' | 'heads'> & { heads: number };

/** `int(hidden * expand)` split over `heads`, or a refusal naming the expand field. */
function perHead(f: Fields, hidden: number, heads: number, expand: string): number {
  const width = Math.trunc(hidden * f.num(expand));
  if (width % heads !== 0 || width === 0) {
    f.refuse(expand, `int(hidden_size * ${expand}) = ${width} is not a positive multiple of num_heads = ${heads}`);
    return 1;
  }
  return width / heads;
}

/** The block-level fields shared by the fla configs; returns the draft without its mixers. */
function common(f: Fields, kind: string): Base {
  f.ignore(...FLA_IGNORED);
  const dim = f.num('hidden_size', true);
  const ratio = f.get('hidden_ratio');
  const intermediate = f.get('intermediate_size');
  if (ratio !== null && (typeof ratio !== 'number' || !(ratio > 0))) f.refuse('hidden_ratio', 'expected a positive number or null');
  if (intermediate !== null && (typeof intermediate !== 'number' || !Number.isInteger(intermediate) || intermediate <= 0)) f.refuse('intermediate_size', 'expected a positive integer or null');
  const mlpHidden = flaMlpWidth(dim, typeof ratio === 'number' ? ratio : null, typeof intermediate === 'number' ? intermediate : null);
  f.require('hidden_act', (v) => v === 'swish', "Loom's MLP and output gates are SwiGLU / swish (fla's GatedMLP takes 'swish' or 'powlu')");
  f.require('attnres_block_size', (v) => v === null, 'attention residuals (AttnRes) are not supported');
  const notes = [];
  if (intermediate === null) notes.push(`MLP width: fla's GatedMLP rule 256 * ceil(int(${dim} * ${ratio ?? 4} * 2/3) / 256) = ${mlpHidden}.`);
  return {
    source: SOURCES[kind],
    vocab: f.num('vocab_size', true),
    dim,
    layers: f.num('num_hidden_layers', true),
    heads: f.num('num_heads', true),
    normEps: f.num('norm_eps'),
    tied: f.bool('tie_word_embeddings'),
    mlpHidden,
    notes,
  };
}

/** `num_kv_heads`: null or equal to num_heads (grouped heads of the linear layers are not supported). */
function noKvGroups(f: Fields, field: string, heads: number): void {
  f.require(field, (v) => v === null || v === heads, `grouped key/value heads (${field} != num_heads = ${heads}) are not supported by Loom's linear mixers`);
}

/** Norm without a learned gain: Loom's norms always have one. */
function affine(f: Fields): void {
  f.require('elementwise_affine', (v) => v === true, "Loom's output norm always has a learned gain (fla's elementwise_affine = false has none)");
}

/** fla's ACT2FN feature maps Loom has as pointwise stages. */
function featureStage(f: Fields, field: string): string | null {
  const v = f.word(field);
  if (v === null) return null;
  if (v === 'relu') return 'relu';
  if (v === 'silu' || v === 'swish') return 'silu';
  f.refuse(field, "Loom applies the feature maps relu and silu/swish here (or null); others are not supported");
  return null;
}

function gla(f: Fields, d: Base): Knobs {
  const k: Knobs = [];
  const H = d.heads;
  k.push(['head_dim', String(perHead(f, d.dim, H, 'expand_k'))], ['value_dim', String(perHead(f, d.dim, H, 'expand_v'))]);
  noKvGroups(f, 'num_kv_heads', H);
  const feature = featureStage(f, 'feature_map');
  const conv = f.bool('use_short_conv');
  if (feature === 'silu' && conv) f.refuse('feature_map', 'silu after the silu of the short convolution is not supported');
  if (feature) k.push(['feature', feature]);
  k.push(['decay', 'vector(low_rank = 16, normalizer = 16, bias = true)']);
  if (conv) k.push(['short_conv', String(f.num('conv_size', true))]);
  else f.ignore('conv_size');
  affine(f);
  k.push(['output', f.bool('use_output_gate') ? `rmsnorm(eps = ${numText(d.normEps)}) * swish(gate)` : `rmsnorm(eps = ${numText(d.normEps)})`]);
  f.require('clamp_min', (v) => v === null, 'clamping the log-gates is not supported');
  f.require('use_gk', (v) => v === true, "fla's GatedLinearAttention always uses per-key gates");
  f.require('use_gv', (v) => v === false, "fla's GatedLinearAttention has no value gates");
  d.notes.push("GLA gates: logsigmoid(x W1 W2 + b) / 16 with rank 16 (fla's gate_logit_normalizer and gate_low_rank_dim); output norm eps = norm_eps.");
  return k;
}

function deltaNet(f: Fields, d: Base): Knobs {
  const k: Knobs = [];
  k.push(['head_dim', String(perHead(f, d.dim, d.heads, 'expand_k'))], ['value_dim', String(perHead(f, d.dim, d.heads, 'expand_v'))]);
  if (f.bool('use_short_conv')) k.push(['short_conv', String(f.num('conv_size', true))]);
  else f.refuse('use_short_conv', "without the short convolution fla applies silu to v, which Loom's deltanet does not");
  f.require('qk_activation', (v) => v === 'silu', "with the short convolution Loom applies silu to q and k (fla's 'silu')");
  f.require('qk_norm', (v) => v === 'l2', "Loom normalises q and k with L2 (fla's 'l2'); 'sum' is not supported");
  f.require('use_beta', (v) => v === true, 'beta = sigmoid(x W_b) is always used by Loom');
  f.require('use_output_norm', (v) => v === true, "fla's DeltaNet layer always applies its output norm; a config saying otherwise is ambiguous");
  if (f.bool('allow_neg_eigval')) k.push(['beta', 'sigmoid(scale = 2)']);
  k.push(['output', f.bool('use_gate') ? `rmsnorm(eps = ${numText(d.normEps)}) * swish(gate)` : `rmsnorm(eps = ${numText(d.normEps)})`]);
  d.notes.push('DeltaNet: silu short convolutions on q, k, v, then L2-normalised q and k; output norm eps = norm_eps.');
  return k;
}

function gatedDeltaNet(f: Fields, d: Base): Knobs {
  const k: Knobs = [];
  const headDim = f.num('head_dim', true);
  const expand = f.num('expand_v');
  const valueDim = headDim * expand;
  if (!Number.isInteger(valueDim)) f.refuse('expand_v', `head_dim * expand_v = ${valueDim} is not an integer`);
  k.push(['head_dim', String(headDim)], ['value_dim', String(Math.round(valueDim))]);
  f.require('num_v_heads', (v) => v === null || v === d.heads, `more value heads than key heads (num_v_heads != num_heads = ${d.heads}) are not supported`);
  if (f.bool('use_short_conv')) k.push(['short_conv', String(f.num('conv_size', true))]);
  else f.refuse('use_short_conv', "without the short convolution fla applies silu to v, which Loom's gated_delta does not");
  if (f.bool('allow_neg_eigval')) k.push(['beta', 'sigmoid(scale = 2)']);
  k.push(['output', f.bool('use_gate') ? `rmsnorm(eps = ${numText(d.normEps)}) * swish(gate)` : `rmsnorm(eps = ${numText(d.normEps)})`]);
  d.notes.push('Gated DeltaNet: g = -exp(A_log) * softplus(x W_a + dt_bias), beta = sigmoid(x W_b); output norm eps = norm_eps.');
  return k;
}

function retnet(f: Fields, d: Base): Knobs {
  const k: Knobs = [];
  const K = perHead(f, d.dim, d.heads, 'expand_k');
  k.push(['head_dim', String(K)], ['value_dim', String(perHead(f, d.dim, d.heads, 'expand_v'))]);
  noKvGroups(f, 'num_kv_heads', d.heads);
  const feature = featureStage(f, 'feature_map');
  if (feature) k.push(['feature', feature]);
  k.push(['rope', 'true']);
  affine(f);
  k.push(['output', f.bool('use_output_gate') ? `rmsnorm(eps = ${numText(d.normEps)}) * swish(gate)` : `rmsnorm(eps = ${numText(d.normEps)})`]);
  // RetNetBlock does not pass these to MultiScaleRetention: they do not change the computation.
  f.ignore('use_short_conv', 'conv_size');
  d.notes.push('RetNet: RoPE (theta 10000, half-split) on q and k, decay 1 - 2^(-5-h) per head; output norm eps = norm_eps.');
  d.notes.push("use_short_conv and conv_size are not passed to fla's MultiScaleRetention, so they change nothing.");
  return k;
}

function linearAttn(f: Fields, d: Base): Knobs {
  const k: Knobs = [];
  const K = perHead(f, d.dim, d.heads, 'expand_k');
  k.push(['head_dim', String(K)], ['value_dim', String(perHead(f, d.dim, d.heads, 'expand_v'))]);
  noKvGroups(f, 'num_kv_heads', d.heads);
  const map = f.word('feature_map');
  const feature = map === 'elu' ? 'elu1' : map === 'relu' || map === 'identity' || map === 'hedgehog' || map === 't2r' ? map : null;
  if (feature === null) f.refuse('feature_map', "Loom imports the feature maps 'elu' (elu + 1), 'relu', 'identity', 'hedgehog' and 't2r'; fla's elementwise_product (Hadamard) and dpfp are not supported");
  k.push(['feature', feature ?? 'identity']);
  // fla scales q by the feature width^-1/2: 2 head_dim for Hedgehog; Loom's learned maps default to 1.
  if (map === 'hedgehog' || map === 't2r') k.push(['scale', String((map === 'hedgehog' ? 2 * K : K) ** -0.5)]);
  // Ties the learned maps' weights (runtime/fla-weights.ts reads a tied checkpoint's one module for both); the others have none.
  f.ignore('tie_feature_map_qk');
  f.require('norm_q', (v) => v === false, 'sum-normalising q is not supported');
  f.require('norm_k', (v) => v === false, 'sum-normalising k is not supported');
  const normalize = f.bool('norm_feature_map');
  k.push(['normalize', String(normalize)]);
  if (normalize) k.push(['eps', '1e-10']);
  affine(f);
  k.push(['output', `rmsnorm(eps = ${numText(d.normEps)})`]);
  d.notes.push("LinearAttention: output RMSNorm with eps = norm_eps; fla's normaliser adds 1e-10.");
  return k;
}

const MIXERS: Record<string, { preset: string; knobs: (f: Fields, d: Base) => Knobs }> = {
  gla: { preset: 'gla', knobs: gla },
  delta_net: { preset: 'deltanet', knobs: deltaNet },
  gated_deltanet: { preset: 'gated_delta', knobs: gatedDeltaNet },
  retnet: { preset: 'retnet', knobs: retnet },
  linear_attn: { preset: 'linear_attn', knobs: linearAttn },
  transformer: { preset: 'attention', knobs: transformerKnobs },
};

/** Older fla configs' names for today's fields. */
const ALIASES: [string, string][] = [
  ['num_attention_heads', 'num_heads'],
  ['num_key_value_heads', 'num_kv_heads'],
  ['rms_norm_eps', 'norm_eps'],
];

/** Switches of older fla configs, accepted at the value that changes nothing. */
function olderSwitches(f: Fields): void {
  for (const name of ['share_conv_kernel', 'norm_first', 'use_rope', 'use_elu']) {
    if (!f.has(name)) continue;
    // share_conv_kernel = true convolved x before the projections, which matters only with short convs.
    const harmless = name === 'share_conv_kernel' ? f.config[name] === false || f.config.use_short_conv !== true : f.config[name] === false;
    if (!harmless) f.refuse(name, 'a switch of older fla versions that Loom does not implement');
    else f.ignore(name);
  }
  f.ignore('chunk_size'); // older fla: the kernels' chunk size
}

export function translateFla(kind: string, raw: Record<string, JsonValue>, file: string, text: string): { fields: Fields; draft: Draft } {
  const config = { ...raw };
  for (const [old, now] of ALIASES) if (Object.hasOwn(config, old) && !Object.hasOwn(config, now)) config[now] = config[old];
  const f = new Fields(file, text, config, DEFAULTS[kind]);
  for (const [old, now] of ALIASES) {
    if (!Object.hasOwn(raw, old)) continue;
    if (Object.hasOwn(raw, now)) f.refuse(old, `an older name of '${now}', which the config also sets`);
    else f.get(old); // read through its new name
  }
  olderSwitches(f);
  const base = common(f, kind);
  const m = MIXERS[kind];
  const own = { name: m.preset, preset: m.preset, knobs: m.knobs(f, base) };
  const mixers = hybridMixers(f, base, own);
  f.checkUnknown();
  return { fields: f, draft: { ...base, ...mixers } };
}
