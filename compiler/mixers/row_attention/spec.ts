/**
 * Knobs and lowering of the cache-free attention variants (docs/mixers.md):
 *
 *   softplus_attention { causal = true, length_scale = T_train }   softplus weights, l1-normalised
 *   diag_attention { block_size = w, causal = true }                   softmax inside blocks of w tokens
 *   linformer { k = 64, max_len = 512 }                             softmax(scale Q (E K)^T) (F V), non-causal
 *
 * Common knobs: heads (the model's), head_dim (dim / heads), scale (head_dim^-1/2, on q . k).
 * Each lowers to q, k, v projections, one `family` node, and the output projection; weights
 * `layers.<i>.<mixer>.{q,k,v,o}.weight` (Linformer also `.e.weight`, `.f.weight` `[k, max_len]`).
 */
import type { Assign, Span } from '../../../grammar/ast.ts';
import type { Ctx } from '../../check/eval.ts';
import type { MixerSpec, StatelessFamily, StatelessMixer } from '../../check/spec.ts';
import type { GraphBuilder } from '../../ir/builder.ts';
import { addFamilyNode, checkKnobs, type KnobDecl } from '../stateless.ts';

const COMMON: KnobDecl[] = [
  { name: 'heads', kind: 'dim', fallback: (k) => k.get('heads') },
  {
    name: 'head_dim',
    kind: 'dim',
    fallback: (k, dim) => (k.has('heads') && dim % k.get('heads')! === 0 ? dim / k.get('heads')! : undefined),
    missing: (k, dim) => (k.has('heads') ? `dim = ${dim} is not divisible by heads = ${k.get('heads')}; set head_dim` : 'set heads (here or in the model)'),
  },
  { name: 'scale', kind: 'number', fallback: (k) => (k.has('head_dim') ? 1 / Math.sqrt(k.get('head_dim')!) : undefined) },
];

export const ROW_ATTENTION_KNOBS: Record<string, KnobDecl[]> = {
  softplus_attention: [
    ...COMMON,
    { name: 'causal', kind: 'bool', fallback: () => true },
    { name: 'length_scale', kind: 'number', fallback: () => 0 },
    { name: 'max_len', kind: 'dim', fallback: () => 2048 },
  ],
  diag_attention: [...COMMON, { name: 'block_size', kind: 'dim', missing: () => 'needs block_size = w, the length of the blocks attention stays inside' }, { name: 'causal', kind: 'bool', fallback: () => true }],
  linformer: [...COMMON, { name: 'k', kind: 'dim', fallback: () => 64 }, { name: 'max_len', kind: 'dim', fallback: () => 512 }],
};

export const ROW_ATTENTION_PRESETS = Object.keys(ROW_ATTENTION_KNOBS);

export function checkRowAttention(name: string, preset: string, knobs: readonly Assign[], env: ReadonlyMap<string, number>, dim: number, span: Span, ctx: Ctx): StatelessMixer | undefined {
  const m = checkKnobs(preset as StatelessFamily, name, preset, knobs, env, dim, span, ctx, ROW_ATTENTION_KNOBS[preset]);
  if (!m) return undefined;
  const ls = m.knobs.length_scale;
  if (typeof ls === 'number' && ls !== 0 && !(ls > 1)) {
    const at = knobs.find((k) => k.name.name === 'length_scale')!;
    ctx.error('bad-block', { message: `mixer '${name}': length_scale = ${ls} must be the training length T_train > 1 (log(T) / log(T_train) scales the scores)` }, at.value.span);
    return undefined;
  }
  return m;
}

/** The node attrs: plain numbers and flags. */
export function rowAttentionAttrs(m: StatelessMixer): Record<string, number | boolean> {
  const k = m.knobs as Record<string, number | boolean>;
  const base = { heads: k.heads, headDim: k.head_dim, scale: k.scale };
  switch (m.family) {
    case 'softplus_attention':
      // A causal mixer keeps every earlier key: a cache of max_len positions (LOOM5010 past it).
      return { ...base, causal: k.causal, lengthScale: k.length_scale, ...(k.causal ? { cacheSlots: k.max_len, maxPositions: k.max_len } : {}) };
    case 'diag_attention':
      // Causal: the current block's earlier keys, in a ring of block_size slots (no length limit).
      return { ...base, block: k.block_size, causal: k.causal, ...(k.causal ? { cacheSlots: k.block_size } : {}) };
    default:
      return { ...base, proj: k.k, maxLen: k.max_len };
  }
}

export function lowerRowAttention(g: GraphBuilder, m: MixerSpec, x: number, layer: number, dim: number): number {
  const s = m as StatelessMixer;
  const attrs = rowAttentionAttrs(s);
  const width = (attrs.heads as number) * (attrs.headDim as number);
  const { B, T } = g.dims;
  const prefix = `layers.${layer}.${s.name}`;
  const label = `L${layer}.${s.name}`;
  const weight = (part: string, shape: number[], std: number) => g.weight(`${prefix}.${part}.weight`, shape, { kind: 'normal', std }, layer);
  const proj = (input: number, part: string, from: number, to: number) =>
    g.add({ op: 'matmul', x: input, w: weight(part, [from, to], 1 / Math.sqrt(from)), transposeW: false }, { shape: [B, T, to], dtype: 'f32' }, `${label}.${part}`, layer);
  const inputs = [proj(x, 'q', dim, width), proj(x, 'k', dim, width), proj(x, 'v', dim, width)];
  if (s.family === 'linformer') {
    const [P, maxLen] = [attrs.proj as number, attrs.maxLen as number];
    inputs.push(weight('e', [P, maxLen], 1 / Math.sqrt(maxLen)), weight('f', [P, maxLen], 1 / Math.sqrt(maxLen)));
  }
  const slots = attrs.cacheSlots as number | undefined;
  if (!slots) return proj(addFamilyNode(g, s, inputs, attrs, width, layer), 'o', width, dim);
  // Causal: absolute positions and a KV cache carried between calls, so decode continues exactly.
  const H = attrs.heads as number;
  const D = attrs.headDim as number;
  const cacheType = { shape: [B, H, slots, D], dtype: 'f32' as const };
  const kc0 = g.add({ op: 'state_in', name: `${label}.k_cache` }, cacheType, `${label}.k_cache0`, layer);
  const vc0 = g.add({ op: 'state_in', name: `${label}.v_cache` }, cacheType, `${label}.v_cache0`, layer);
  inputs.push(g.position(), kc0, vc0);
  const o = g.add({ op: 'family', family: s.family, inputs, attrs, states: ['k_cache', 'v_cache'] }, { shape: [B, T, width], dtype: 'f32' }, label, layer);
  for (const which of ['k_cache', 'v_cache']) g.output(`${label}.${which}`, g.add({ op: 'state_out', mixer: o, which, name: `${label}.${which}` }, cacheType, `${label}.${which}`, layer));
  return proj(o, 'o', width, dim);
}
