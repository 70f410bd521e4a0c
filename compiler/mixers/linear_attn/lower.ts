/**
 * Lowers a linear-attention mixer to graph nodes:
 *   q = x Wq, k = x Wk, v = x Wv  ([B,T,D] -> [B,T,H*K], [B,T,H*V]);
 *   o = linear_attn(q, k, v; S0, z0);   y = o Wo  ([B,T,H*V] -> [B,T,D]).
 * The carried state enters as `state_in` nodes and leaves as `state_out` graph outputs, named
 * `L<i>.<mixer>.S` and `L<i>.<mixer>.z`.
 */
import type { GraphBuilder } from '../../ir/builder.ts';
import type { LinearAttnMixer } from '../../check/spec.ts';

export function lowerLinearAttn(g: GraphBuilder, m: LinearAttnMixer, x: number, layer: number, dim: number): number {
  const { B, T } = g.dims;
  const { heads: H, keyDim: K, valueDim: V, normalize } = m.knobs;
  const prefix = `layers.${layer}.${m.name}`;
  const label = `L${layer}.${m.name}`;
  const proj = (name: string, width: number): number => {
    const w = g.weight(`${prefix}.${name}.weight`, [dim, width], { kind: 'normal', std: 1 / Math.sqrt(dim) }, layer);
    return g.add({ op: 'matmul', x, w, transposeW: false }, { shape: [B, T, width], dtype: 'f32' }, `${label}.${name}`, layer);
  };
  const q = proj('q', H * K);
  const k = proj('k', H * K);
  const v = proj('v', H * V);
  const s0 = g.add({ op: 'state_in', name: `${label}.S` }, { shape: [B, H, K, V], dtype: 'f32' }, `${label}.S0`, layer);
  const z0 = normalize ? g.add({ op: 'state_in', name: `${label}.z` }, { shape: [B, H, K], dtype: 'f32' }, `${label}.z0`, layer) : null;
  const o = g.add({ op: 'linear_attn', q, k, v, s0, z0, g: null, beta: null, knobs: m.knobs }, { shape: [B, T, H * V], dtype: 'f32' }, label, layer);
  const S = g.add({ op: 'state_out', mixer: o, which: 'S', name: `${label}.S` }, { shape: [B, H, K, V], dtype: 'f32' }, `${label}.S`, layer);
  g.output(`${label}.S`, S);
  if (normalize) {
    const z = g.add({ op: 'state_out', mixer: o, which: 'z', name: `${label}.z` }, { shape: [B, H, K], dtype: 'f32' }, `${label}.z`, layer);
    g.output(`${label}.z`, z);
  }
  const wo = g.weight(`${prefix}.o.weight`, [H * V, dim], { kind: 'normal', std: 1 / Math.sqrt(H * V) }, layer);
  return g.add({ op: 'matmul', x: o, w: wo, transposeW: false }, { shape: [B, T, dim], dtype: 'f32' }, `${label}.out`, layer);
}
