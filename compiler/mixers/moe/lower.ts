/**
 * Lowers `moe(x, experts = E, top_k = k, hidden = N)` for x `[B, T, D]`:
 *   logits = x W_router                 [B, T, E]   (a matmul node)
 *   y      = moe(x, logits; W_gate, W_up, W_down)   (one `family` node, see index.ts)
 * Weights `layers.<i>.moe<j>.router.weight [D, E]`, `.gate.weight [E, D, N]`,
 * `.up.weight [E, D, N]`, `.down.weight [E, N, D]`.
 */
import type { GraphBuilder } from '../../ir/builder.ts';
import type { MoeArgs } from './spec.ts';

export function lowerMoe(g: GraphBuilder, x: number, a: MoeArgs, dim: number, layer: number, j: number): number {
  const { B, T } = g.dims;
  const prefix = `layers.${layer}.moe${j}`;
  const label = `L${layer}.moe${j}`;
  const { experts: E, topK, hidden: N } = a;
  const w = (name: string, shape: number[], fanIn: number) => g.weight(`${prefix}.${name}.weight`, shape, { kind: 'normal', std: 1 / Math.sqrt(fanIn) }, layer);
  const router = w('router', [dim, E], dim);
  const logits = g.add({ op: 'matmul', x, w: router, transposeW: false }, { shape: [B, T, E], dtype: 'f32' }, `${label}.router`, layer);
  const inputs = [x, logits, w('gate', [E, dim, N], dim), w('up', [E, dim, N], dim), w('down', [E, N, dim], N)];
  return g.add({ op: 'family', family: 'moe', inputs, attrs: { experts: E, topK, hidden: N } }, { shape: [B, T, dim], dtype: 'f32' }, label, layer);
}
