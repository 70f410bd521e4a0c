/**
 * Lowers a softmax-attention mixer (x is the layer input `[B, T, D]`):
 *   q = x Wq, k = x Wk, v = x Wv                 ([B,T,H*Dh], [B,T,Hkv*Dh], [B,T,Hkv*Dv])
 *   q, k = rope(q, pos), rope(k, pos)            (when rope; absolute positions pos[b] + t)
 *   o = attention(q, k, v; pos, k_cache, v_cache)
 *   y = o Wo                                     ([B,T,H*Dv] -> [B,T,D])
 * Causal attention carries its KV cache as states `L<i>.<mixer>.k_cache`, `.v_cache`
 * `[B, Hkv, W, Dh|Dv]` and reads positions from the state `pos` (GraphBuilder.position).
 * Weights: `layers.<i>.<mixer>.{q,k,v,o}.weight`.
 */
import type { GraphBuilder } from '../../ir/builder.ts';
import { cacheSlots } from '../../ir/graph.ts';
import type { AttentionMixer } from '../../check/spec.ts';

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
  const rope = (y: number, which: string) =>
    m.rope ? g.add({ op: 'rope', x: y, pos, group: kn.headDim, theta: m.rope.theta }, g.node(y).type, `${label}.${which}_rope`, layer) : y;
  const q = rope(proj(x, 'q', dim, kn.heads * kn.headDim), 'q');
  const k = rope(proj(x, 'k', dim, kn.kvHeads * kn.headDim), 'k');
  const v = proj(x, 'v', dim, kn.kvHeads * kn.valueDim);
  let kc0: number | null = null;
  let vc0: number | null = null;
  if (kn.causal) {
    const W = cacheSlots(kn);
    kc0 = g.add({ op: 'state_in', name: `${label}.k_cache` }, { shape: [B, kn.kvHeads, W, kn.headDim], dtype: 'f32' }, `${label}.k_cache0`, layer);
    vc0 = g.add({ op: 'state_in', name: `${label}.v_cache` }, { shape: [B, kn.kvHeads, W, kn.valueDim], dtype: 'f32' }, `${label}.v_cache0`, layer);
  }
  const o = g.add({ op: 'attention', q, k, v, kc0, vc0, pos, knobs: kn }, act(kn.heads * kn.valueDim), label, layer);
  if (kc0 !== null && vc0 !== null) {
    for (const [which, from] of [['k_cache', kc0], ['v_cache', vc0]] as const) {
      const s = g.add({ op: 'state_out', mixer: o, which, name: `${label}.${which}` }, g.node(from).type, `${label}.${which}`, layer);
      g.output(`${label}.${which}`, s);
    }
  }
  return proj(o, 'o', kn.heads * kn.valueDim, dim);
}
