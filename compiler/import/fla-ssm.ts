/**
 * State-space configs for `loom import`: fla's (and Hugging Face transformers') Mamba and Mamba2,
 * and fla's Samba, read from fla/models/{mamba,mamba2,samba}/configuration_*.py and the layers
 * they build (fla/layers/{mamba,mamba2}.py).
 *
 * Mamba and Mamba2 blocks have no MLP: `x = x + mixer(norm(x))`, a final `norm_f`, an LM head.
 * Mamba maps to Loom's `mamba` preset (S6; `conv_bias` for the convolution's bias), Mamba2 to
 * `ssd` (one group of B and C, its gated RMSNorm over all inner channels). Samba alternates Mamba
 * layers with fla's sliding-window Attention (its `attn` field, read by fla-hybrid.ts) and has a
 * SwiGLU GatedMLP in every layer. Transformers' configs of the same model types name some fields
 * differently (`layer_norm_epsilon`, `time_step_rank`, `time_step_limit`, `rms_norm`); both are read.
 */
import { Fields, flaMlpWidth, type Draft, type JsonValue, type MixerDraft } from './fields.ts';
import { hybridMixers } from './fla-hybrid.ts';

/** Both spellings of a field: fla's, then transformers'. */
const BOTH: [string, string][] = [
  ['norm_eps', 'layer_norm_epsilon'],
  ['dt_rank', 'time_step_rank'],
  ['dt_limit', 'time_step_limit'],
  ['rmsnorm', 'rms_norm'],
];

const SSM_COMMON: Record<string, JsonValue> = {
  vocab_size: 32000, hidden_size: 2048, num_hidden_layers: 48, norm_eps: 1e-5, layer_norm_epsilon: 1e-5, expand: 2, conv_kernel: 4,
  use_bias: false, use_conv_bias: true, hidden_act: 'silu', tie_word_embeddings: false, intermediate_size: null,
};

const DEFAULTS: Record<string, Record<string, JsonValue>> = {
  mamba: { ...SSM_COMMON, state_size: 16, dt_rank: 'auto', time_step_rank: 'auto' },
  mamba2: { ...SSM_COMMON, state_size: 128, head_dim: 64, num_heads: null, n_groups: 1, D_has_hdim: false, rmsnorm: true, rms_norm: true, norm_before_gate: false, dt_limit: [0, Infinity], time_step_limit: [0, Infinity] },
  samba: { ...SSM_COMMON, hidden_size: 2304, num_hidden_layers: 18, state_size: 16, hidden_act: 'swish', time_step_rank: 'auto', hidden_ratio: 4, attn: null, attnres_block_size: null, max_position_embeddings: 2048 },
};

/** Fields that set initial values, training switches, kernels or precision only. */
const IGNORED = [
  'dt_scale', 'dt_min', 'dt_max', 'dt_init_scheme', 'dt_init_floor', 'time_step_scale', 'time_step_min', 'time_step_max', 'time_step_init_scheme', 'time_step_floor',
  'A_init_range', 'conv_init', 'rescale_prenorm_residual', 'residual_in_fp32', 'chunk_size', 'use_mambapy', 'fuse_norm', 'fuse_swiglu',
  'fuse_cross_entropy', 'fuse_linear_cross_entropy', 'use_l2warp', 'attn_mode', 'n_layer',
  // Sizes position caches only; Samba's global attention layers read it for their KV cache (fla-hybrid.ts).
  'max_position_embeddings',
];

const SOURCES: Record<string, string> = {
  mamba: 'MambaConfig (fla or transformers), Mamba layers',
  mamba2: 'Mamba2Config (fla or transformers), Mamba2 layers',
  samba: 'fla SambaConfig, Mamba and Attention layers',
};

export const SSM_KINDS = Object.keys(DEFAULTS);

/** The spelling of `field` this config uses (transformers' when only that one is present). */
function spelling(f: Fields, field: string): string {
  const other = BOTH.find(([a]) => a === field)?.[1];
  return other && !f.has(field) && f.has(other) ? other : field;
}

/** `int(expand * hidden)` as Loom's integer `expand`, checked against a saved intermediate_size. */
function inner(f: Fields, dim: number, samba: boolean): { expand: number; inner: number } {
  const expand = f.num('expand');
  const width = Math.trunc(expand * dim);
  if (!Number.isInteger(expand)) f.refuse('expand', `Loom's inner width is an integer multiple of hidden_size; expand = ${expand} is not an integer`);
  const saved = f.get('intermediate_size');
  // Samba's intermediate_size is the Mamba layers' width too (its MLP's width comes from hidden_ratio).
  if (saved !== null && saved !== width) f.refuse('intermediate_size', `expected int(expand * hidden_size) = ${width}${samba ? " (Samba's Mamba width)" : ''}`);
  return { expand: Math.round(expand), inner: width };
}

function convKernel(f: Fields): number {
  const w = f.num('conv_kernel', true);
  if (w < 2 || w > 64) f.refuse('conv_kernel', "Loom's short convolutions are 2 to 64 taps wide");
  return w;
}

/** S6 (fla/layers/mamba.py): in_proj -> x, z; conv + silu; x_proj -> dt (rank R), B, C; D skip; silu(z) gate. */
function mambaKnobs(f: Fields, dim: number, samba: boolean): [string, string][] {
  const { expand } = inner(f, dim, samba);
  const rankField = spelling(f, samba ? 'time_step_rank' : 'dt_rank');
  const rank = f.get(rankField);
  const dtRank = rank === 'auto' ? Math.ceil(dim / 16) : f.num(rankField, true);
  const k: [string, string][] = [['d_state', String(f.num('state_size', true))], ['expand', String(expand)], ['dt_rank', String(dtRank)], ['short_conv', String(convKernel(f))]];
  f.require('use_bias', (v) => v === false, "Loom's Mamba projections (in_proj, out_proj) have no bias");
  // Samba builds its Mamba layers with the layer's defaults: conv bias on, silu.
  if (samba) f.ignore('use_conv_bias');
  if (samba || f.bool('use_conv_bias')) k.push(['conv_bias', 'true']);
  if (!samba) f.require('hidden_act', (v) => v === 'silu' || v === 'swish', "Loom's Mamba applies silu after its convolution and to its gate");
  return k;
}

/** SSD (fla/layers/mamba2.py): in_proj -> z, [x, B, C], dt; conv over [x, B, C]; gated RMSNorm; no MLP. */
function mamba2Knobs(f: Fields, dim: number, notes: string[]): [string, string][] {
  const { expand, inner: Di } = inner(f, dim, false);
  const P = f.num('head_dim', true);
  if (Di % P !== 0) f.refuse('head_dim', `int(expand * hidden_size) = ${Di} is not divisible by it`);
  const heads = f.get('num_heads');
  if (heads !== null && heads !== 0 && heads !== Di / P) f.refuse('num_heads', `expected int(expand * hidden_size) / head_dim = ${Di / P}`);
  f.require('n_groups', (v) => v === 1, 'Loom\'s ssd shares one B and C among all heads; grouped B and C (n_groups > 1) are not supported');
  f.require('use_bias', (v) => v === false, "Loom's ssd projections (in_proj, out_proj) have no bias");
  f.require('hidden_act', (v) => v === 'silu' || v === 'swish', "Loom's ssd applies silu after its convolution and to its gate");
  f.require(spelling(f, 'rmsnorm'), (v) => v === true, "Loom's ssd always applies the gated RMSNorm (rmsnorm = false gates without it)");
  f.require('norm_before_gate', (v) => v === false, "Loom's ssd gates before its norm (norm(y * silu(z))), as fla's and mamba_ssm's default");
  const limit = spelling(f, 'dt_limit');
  f.require(limit, (v) => Array.isArray(v) && v.length === 2 && v[0] === 0 && v[1] === Infinity, 'clamping dt is not supported; only [0.0, Infinity] (no clamp: softplus is positive) is');
  f.ignore('D_has_hdim'); // D [H] or [inner]: both load (a per-head D repeats over its channels)
  f.ignore('time_step_rank'); // transformers' Mamba2 keeps it, but dt comes from in_proj directly
  const k: [string, string][] = [['d_state', String(f.num('state_size', true))], ['expand', String(expand)], ['head_dim', String(P)], ['short_conv', String(convKernel(f))]];
  if (f.bool('use_conv_bias')) k.push(['conv_bias', 'true']);
  notes.push(`SSD: ${Di / P} heads of ${P} channels, one group of B and C, gated RMSNorm over all ${Di} channels with eps = the config's norm epsilon.`);
  return k;
}

/** SambaConfig's default `attn`: sliding-window Attention in the odd layers below 18 (of num_hidden_layers). */
function sambaAttn(layers: JsonValue | undefined): JsonValue {
  const n = typeof layers === 'number' ? layers : 18;
  return { layers: [1, 3, 5, 7, 9, 11, 13, 15, 17].filter((l) => l < n), num_heads: 18, num_kv_heads: 18, qkv_bias: false, window_size: 2048, rope_theta: 10000 };
}

export function translateSsm(kind: string, config: Record<string, JsonValue>, file: string, text: string): { fields: Fields; draft: Draft } {
  const f = new Fields(file, text, config, kind === 'samba' ? { ...DEFAULTS.samba, attn: sambaAttn(config.num_hidden_layers) } : DEFAULTS[kind]);
  f.ignore(...IGNORED);
  // A config saved by transformers leaves tie_word_embeddings out when true (its default); fla's saves it.
  const hf = kind === 'mamba' && ['layer_norm_epsilon', 'time_step_rank', 'use_mambapy'].some((n) => f.has(n));
  for (const [a, b] of BOTH) if (f.has(a) && f.has(b)) f.refuse(b, `transformers' name of '${a}', which the config also sets`);
  const dim = f.num('hidden_size', true);
  const layers = f.num('num_hidden_layers', true);
  const eps = f.num(spelling(f, 'norm_eps'));
  const tied = hf && !f.has('tie_word_embeddings') ? true : f.bool('tie_word_embeddings');
  const notes: string[] = [];
  if (hf && !f.has('tie_word_embeddings')) notes.push("A transformers config leaves out tie_word_embeddings when true: the head is tied.");
  const base = { source: SOURCES[kind], vocab: f.num('vocab_size', true), dim, layers, heads: null, normEps: eps, tied, notes };
  if (kind !== 'samba') {
    const knobs = kind === 'mamba' ? mambaKnobs(f, dim, false) : mamba2Knobs(f, dim, notes);
    f.checkUnknown();
    return { fields: f, draft: { ...base, mixers: [{ name: 'ssm', preset: kind === 'mamba' ? 'mamba' : 'ssd', knobs }], mlpHidden: null } };
  }
  f.require('hidden_act', (v) => v === 'swish', "Loom's MLP is SwiGLU (swish); Samba passes hidden_act to its GatedMLP only");
  f.require('attnres_block_size', (v) => v === null, 'attention residuals (AttnRes) are not supported');
  const ratio = f.get('hidden_ratio');
  if (ratio !== null && (typeof ratio !== 'number' || !(ratio > 0))) f.refuse('hidden_ratio', 'expected a positive number or null');
  const mlpHidden = flaMlpWidth(dim, typeof ratio === 'number' ? ratio : null, null);
  const own: MixerDraft = { name: 'ssm', preset: 'mamba', knobs: mambaKnobs(f, dim, true) };
  notes.push(`Mamba layers: fla's Mamba defaults (conv bias, silu); MLP width: fla's GatedMLP rule 256 * ceil(int(${dim} * ${ratio ?? 4} * 2/3) / 256) = ${mlpHidden}.`);
  const { mixers, pattern } = hybridMixers(f, { dim, layers, notes }, own);
  f.checkUnknown();
  // Without attention layers hybridMixers names the one mixer `attn`; a Mamba mixer keeps `ssm`.
  const named = pattern ? mixers : mixers.map((m) => (m.preset === 'mamba' ? { ...m, name: 'ssm' } : m));
  return { fields: f, draft: { ...base, mixers: named, ...(pattern ? { pattern } : {}), mlpHidden } };
}
