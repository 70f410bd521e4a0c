/**
 * Float64 definitions of the `family` graph ops (compiler/mixers/family-op.ts), by family name.
 * Each gets the node (attrs and output shape), its input values in the node's input order and the
 * graph's dims.
 */
import type { Node } from '../../compiler/ir/graph.ts';
import { fnetRef } from './fnet.ts';
import { moeRef } from './moe.ts';

type FamilyNode = Node & { op: 'family' };
type FamilyRef = (n: FamilyNode, inputs: readonly Float64Array[], inputShapes: readonly (readonly number[])[]) => Float64Array;

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
};

export function familyRef(n: FamilyNode, inputs: readonly Float64Array[], inputShapes: readonly (readonly number[])[]): Float64Array {
  const ref = FAMILY_REFS[n.family];
  if (!ref) throw new Error(`interpretGraph: no float64 reference for family '${n.family}' (node ${n.label})`);
  return ref(n, inputs, inputShapes);
}
