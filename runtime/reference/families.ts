/**
 * Float64 definitions of the `family` graph ops (compiler/mixers/family-op.ts), by family name.
 * Each gets the node (attrs and output shape), its input values in the node's input order and the
 * graph's dims.
 */
import type { Node } from '../../compiler/ir/graph.ts';
import { fnetRef } from './fnet.ts';
import { moeRef } from './moe.ts';
import { diagAttentionCachedRef, diagAttentionRef, linformerRef, softplusAttentionCachedRef, softplusAttentionRef } from './row-attention.ts';
import { softRef } from './soft.ts';
import { monarchRef } from './monarch.ts';

type FamilyNode = Node & { op: 'family' };
/** The node's value, or its value and its final states (for nodes that carry state, `n.states`). */
export type FamilyValue = Float64Array | { out: Float64Array; finals: Record<string, Float64Array> };
type FamilyRef = (n: FamilyNode, inputs: readonly Float64Array[], inputShapes: readonly (readonly number[])[]) => FamilyValue;

export const FAMILY_REFS: Readonly<Record<string, FamilyRef>> = {
  fnet: (n, [x]) => {
    const [B, T, D] = n.type.shape;
    return fnetRef(x, B, T, D);
  },
  moe: (n, [x, logits, gate, up, down]) => {
    const [B, T, D] = n.type.shape;
    const { experts: E, topK: K, hidden: N } = n.attrs as { experts: number; topK: number; hidden: number };
    return moeRef({ x, logits, gate, up, down, M: B * T, D, E, K, N });
  },
  softplus_attention: (n, [q, k, v, pos, kc, vc]) => {
    const a = n.attrs as { heads: number; headDim: number; scale: number; causal: boolean; lengthScale: number; cacheSlots?: number };
    const [B, T] = n.type.shape;
    if (a.cacheSlots) return softplusAttentionCachedRef({ q, k, v, B, T, H: a.heads, D: a.headDim, scale: a.scale, lengthScale: a.lengthScale || null }, { pos, kc, vc, slots: a.cacheSlots, ring: false });
    return softplusAttentionRef({ q, k, v, B, T, H: a.heads, D: a.headDim, scale: a.scale, causal: a.causal, lengthScale: a.lengthScale || null });
  },
  diag_attention: (n, [q, k, v, pos, kc, vc]) => {
    const a = n.attrs as { heads: number; headDim: number; scale: number; causal: boolean; block: number; cacheSlots?: number };
    const [B, T] = n.type.shape;
    if (a.cacheSlots) return diagAttentionCachedRef({ q, k, v, B, T, H: a.heads, D: a.headDim, scale: a.scale, block: a.block }, { pos, kc, vc, slots: a.cacheSlots, ring: true });
    return diagAttentionRef({ q, k, v, B, T, H: a.heads, D: a.headDim, scale: a.scale, causal: a.causal, block: a.block });
  },
  soft: (n, [q, k, v]) => {
    const a = n.attrs as { heads: number; headDim: number; landmarks: number; iterations: number; scale: number };
    const [B, T] = n.type.shape;
    return softRef({ q, k, v, B, T, H: a.heads, D: a.headDim, landmarks: a.landmarks, iterations: a.iterations, scale: a.scale });
  },
  monarch: (n, [x, l, r]) => {
    const [B, T, C] = n.type.shape;
    // Along D (monarch_mlp): each token's row of C = b^2 channels is one vector.
    if (n.attrs.axis === 'D') return monarchRef(x, l, r, B * T, C, 1, n.attrs.blocks as number);
    return monarchRef(x, l, r, B, T, C, n.attrs.blocks as number);
  },
  linformer: (n, [q, k, v, e, f]) => {
    const a = n.attrs as { heads: number; headDim: number; scale: number; proj: number; maxLen: number };
    const [B, T] = n.type.shape;
    return linformerRef({ q, k, v, e, f, B, T, H: a.heads, D: a.headDim, scale: a.scale, P: a.proj, maxLen: a.maxLen });
  },
};

export function familyRef(n: FamilyNode, inputs: readonly Float64Array[], inputShapes: readonly (readonly number[])[]): FamilyValue {
  const ref = FAMILY_REFS[n.family];
  if (!ref) throw new Error(`interpretGraph: no float64 reference for family '${n.family}' (node ${n.label})`);
  return ref(n, inputs, inputShapes);
}
