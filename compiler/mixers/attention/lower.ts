/**
 * Lowers a softmax-attention mixer (x is the layer input `[B, T, D]`):
 *   q = x Wq, k = x Wk, v = x Wv                 ([B,T,H*Dh], [B,T,Hkv*Dh], [B,T,Hkv*Dv])
 *   (+ bq, bk, bv with qkv_bias; q, k = rmsnorm per head with qk_norm, gains `q_norm`, `k_norm` [Dh])
 *   q, k = rope(q, pos), rope(k, pos)            (when rope; absolute positions pos[b] + t)
 *   o = attention(q, k, v; pos, k_cache, v_cache)
 *   y = o Wo                                     ([B,T,H*Dv] -> [B,T,D])
 * Causal attention carries its KV cache as states `L<i>.<mixer>.k_cache`, `.v_cache`
 * `[B, Hkv, W, Dh|Dv]` and reads positions from the state `pos` (GraphBuilder.position).
 * Weights: `layers.<i>.<mixer>.{q,k,v,o}.weight`, `{q,k,v}.bias`, `{q,k}_norm.weight`.
 *
 * Liger (`liger` set; Lan et al. 2025) adds, over the same q, k, v (before RoPE), a gated linear
 * attention with the per-key log-gates built from the key projection and softmax feature maps:
 *   g = logsigmoid(k) / 16,  o_lin = linear_attn(softmax(q), softmax(k), v, g; scale 1)
 * (state `L<i>.<mixer>.S`), and outputs y = (0.5 o + 0.5 o_lin) Wo.
 */
import type { GraphBuilder } from '../../ir/builder.ts';
import { cacheSlots } from '../../ir/graph.ts';
import type { AttentionMixer } from '../../check/spec.ts';

/** Liger's gated linear branch over the raw projections q, k `[B,T,H*D]`, v `[B,T,H*Dv]`. */
function lowerLigerLinear(g: GraphBuilder, m: AttentionMixer, q: number, k: number, v: number, label: string, layer: number): number {
  const { B, T } = g.dims;
  const kn = m.knobs;
  const H = kn.heads;
  const act = (width: number) => ({ shape: [B, T, width], dtype: 'f32' as const });
  const softmax = (x: number, which: string) => g.add({ op: 'softmax', x, group: kn.headDim }, act(H * kn.headDim), `${label}.${which}_softmax`, layer);
  const logsig = { kind: 'fn', fn: 'mul', args: [{ kind: 'fn', fn: 'logsigmoid', args: [{ kind: 'in', index: 0 }] }, { kind: 'const', value: 1 / m.liger!.normalizer }] } as const;
  const gate = g.add({ op: 'elementwise', expr: logsig, inputs: [k] }, act(H * kn.headDim), `${label}.g`, layer);
  const s0 = g.add({ op: 'state_in', name: `${label}.S` }, { shape: [B, H, kn.headDim, kn.valueDim], dtype: 'f32' }, `${label}.S0`, layer);
  const knobs = { heads: H, keyDim: kn.headDim, valueDim: kn.valueDim, feature: 'identity', normalize: false, scale: 1, eps: 1e-6, decay: { kind: 'vector' }, update: 'additive' } as const;
  const o = g.add({ op: 'linear_attn', q: softmax(q, 'q'), k: softmax(k, 'k'), v, s0, z0: null, g: gate, beta: null, knobs }, act(H * kn.valueDim), `${label}.gla`, layer);
  const S = g.add({ op: 'state_out', mixer: o, which: 'S', name: `${label}.S` }, g.node(s0).type, `${label}.S`, layer);
  g.output(`${label}.S`, S);
  return o;
}

/**
 * Selective RoPE (docs/mixers.md): per token and kv head a step delta = softplus(x W + b) (weights
 * `rope_dt.weight` `[D, Hkv]`, `rope_dt_bias` `[Hkv]`); the angles of pair i advance by
 * delta * theta^(-2i/D) and are carried as state `L<i>.<mixer>.rope_angles` `[B, 1, Hkv*Dh/2]`
 * (in turns). With delta = 1 it is ordinary RoPE, one position per token.
 */
function selectiveAngles(g: GraphBuilder, m: AttentionMixer, x: number, label: string, layer: number, dim: number): number {
  const { B, T } = g.dims;
  const kn = m.knobs;
  const H = kn.kvHeads;
  const w = g.weight(`layers.${layer}.${m.name}.rope_dt.weight`, [dim, H], { kind: 'normal', std: 0.1 / Math.sqrt(dim) }, layer);
  const bias = g.weight(`layers.${layer}.${m.name}.rope_dt_bias`, [H], { kind: 'normal', std: 0.5 }, layer);
  const step = g.add({ op: 'matmul', x, w, transposeW: false }, { shape: [B, T, H], dtype: 'f32' }, `${label}.rope_dt`, layer);
  const softplus = { kind: 'fn', fn: 'softplus', args: [{ kind: 'fn', fn: 'add', args: [{ kind: 'in', index: 0 }, { kind: 'in', index: 1 }] }] } as const;
  const delta = g.add({ op: 'elementwise', expr: softplus, inputs: [step, bias] }, { shape: [B, T, H], dtype: 'f32' }, `${label}.rope_delta`, layer);
  const name = `${label}.rope_angles`;
  const stateType = { shape: [B, 1, (H * kn.headDim) / 2], dtype: 'f32' as const };
  const s0 = g.add({ op: 'state_in', name }, stateType, `${name}0`, layer);
  const angles = g.add({ op: 'angle_scan', x: delta, s0, group: kn.headDim, theta: m.rope!.theta }, { shape: [B, T, (H * kn.headDim) / 2], dtype: 'f32' }, `${label}.rope_scan`, layer);
  g.output(name, g.add({ op: 'conv_tail', x: angles, tail: s0 }, stateType, name, layer));
  return angles;
}

export function lowerAttention(g: GraphBuilder, m: AttentionMixer, x: number, layer: number, dim: number): number {
  const { B, T } = g.dims;
  const kn = m.knobs;
  const label = `L${layer}.${m.name}`;
  const act = (width: number) => ({ shape: [B, T, width], dtype: 'f32' as const });
  const proj = (input: number, name: string, from: number, to: number) => {
    const w = g.weight(`layers.${layer}.${m.name}.${name}.weight`, [from, to], { kind: 'normal', std: 1 / Math.sqrt(from) }, layer);
    return g.add({ op: 'matmul', x: input, w, transposeW: false }, act(to), `${label}.${name}`, layer);
  };
  const pos = kn.causal ? g.position() : null;
  const angles = m.rope?.selective ? selectiveAngles(g, m, x, label, layer, dim) : null;
  const rope = (y: number, which: string) =>
    angles !== null
      ? g.add({ op: 'rotate', x: y, angles, group: kn.headDim }, g.node(y).type, `${label}.${which}_rope`, layer)
      : m.rope
        ? g.add({ op: 'rope', x: y, pos, group: kn.headDim, theta: m.rope.theta }, g.node(y).type, `${label}.${which}_rope`, layer)
        : y;
  const biased = (name: string, width: number) => {
    const y = proj(x, name, dim, width);
    if (!m.qkvBias) return y;
    const b = g.weight(`layers.${layer}.${m.name}.${name}.bias`, [width], { kind: 'zeros' }, layer);
    const add = { kind: 'fn', fn: 'add', args: [{ kind: 'in', index: 0 }, { kind: 'in', index: 1 }] } as const;
    return g.add({ op: 'elementwise', expr: add, inputs: [y, b] }, act(width), `${label}.${name}_bias`, layer);
  };
  const normed = (y: number, name: string) => {
    if (!m.qkNorm) return y;
    const w = g.weight(`layers.${layer}.${m.name}.${name}_norm.weight`, [kn.headDim], { kind: 'ones' }, layer);
    return g.add({ op: 'rmsnorm', x: y, weight: w, eps: m.qkNorm.eps, group: kn.headDim }, g.node(y).type, `${label}.${name}_norm`, layer);
  };
  const qp = normed(biased('q', kn.heads * kn.headDim), 'q');
  const kp = normed(biased('k', kn.kvHeads * kn.headDim), 'k');
  const v = biased('v', kn.kvHeads * kn.valueDim);
  const q = rope(qp, 'q');
  const k = rope(kp, 'k');
  let kc0: number | null = null;
  let vc0: number | null = null;
  if (kn.causal) {
    const W = cacheSlots(kn);
    kc0 = g.add({ op: 'state_in', name: `${label}.k_cache` }, { shape: [B, kn.kvHeads, W, kn.headDim], dtype: 'f32' }, `${label}.k_cache0`, layer);
    vc0 = g.add({ op: 'state_in', name: `${label}.v_cache` }, { shape: [B, kn.kvHeads, W, kn.valueDim], dtype: 'f32' }, `${label}.v_cache0`, layer);
  }
  let o = g.add({ op: 'attention', q, k, v, kc0, vc0, pos, knobs: kn }, act(kn.heads * kn.valueDim), label, layer);
  const attn = o;
  if (kc0 !== null && vc0 !== null) {
    for (const [which, from] of [['k_cache', kc0], ['v_cache', vc0]] as const) {
      const s = g.add({ op: 'state_out', mixer: attn, which, name: `${label}.${which}` }, g.node(from).type, `${label}.${which}`, layer);
      g.output(`${label}.${which}`, s);
    }
  }
  if (m.liger) {
    const half = { kind: 'fn', fn: 'mul', args: [{ kind: 'fn', fn: 'add', args: [{ kind: 'in', index: 0 }, { kind: 'in', index: 1 }] }, { kind: 'const', value: 0.5 }] } as const;
    o = g.add({ op: 'elementwise', expr: half, inputs: [o, lowerLigerLinear(g, m, qp, kp, v, label, layer)] }, act(kn.heads * kn.valueDim), `${label}.mix`, layer);
  }
  return proj(o, 'o', kn.heads * kn.valueDim, dim);
}
