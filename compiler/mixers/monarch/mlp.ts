/**
 * `monarch_mlp(e, expand = r)`: M2's MLP, its dense matrices replaced by Monarch matrices along
 * the channels (Fu et al. 2023). With D = b^2 the width of e and M_* D x D Monarch matrices:
 *
 *   h_j = silu(M_gate,j e) * (M_up,j e)       j = 0 .. r-1   (the r * D hidden units, SwiGLU-gated)
 *   y   = sum_j M_down,j h_j
 *
 * O(r D sqrt(D)) per token instead of O(r D^2). Each M is a `family` node of `monarch` along D;
 * weights `layers.<i>.mmlp<k>.{gate,up,down}<j>.{l,r}.weight` `[b, b, b]`.
 */
import type { Expr, Span } from '../../../grammar/ast.ts';
import { evalDim, type Ctx } from '../../check/eval.ts';
import type { GraphBuilder } from '../../ir/builder.ts';
import type { EwExpr } from '../../ir/graph.ts';

export const MONARCH_MLP_ARGS = ['expand'] as const;

/** `expand` (default 4), and the width must be a perfect square. */
export function checkMonarchMlp(named: (key: string) => Expr | undefined, params: ReadonlyMap<string, number>, width: number, span: Span, ctx: Ctx): { expand: number } | undefined {
  const e = named('expand');
  const expand = e ? evalDim(e, params, ctx, 'monarch_mlp expand') : 4;
  if (expand === undefined) return undefined;
  const b = Math.round(Math.sqrt(width));
  if (b * b !== width) {
    ctx.error('bad-block', { message: `monarch_mlp needs a width that is a perfect square b^2 (b blocks of b x b), got [B, T, ${width}]` }, span);
    return undefined;
  }
  return { expand };
}

const IN0: EwExpr = { kind: 'in', index: 0 };
const IN1: EwExpr = { kind: 'in', index: 1 };

export function lowerMonarchMlp(g: GraphBuilder, x: number, expand: number, width: number, layer: number, k: number): number {
  const { B, T } = g.dims;
  const b = Math.round(Math.sqrt(width));
  const prefix = `layers.${layer}.mmlp${k}`;
  const label = `L${layer}.mmlp${k}`;
  const act = { shape: [B, T, width], dtype: 'f32' as const };
  const monarch = (input: number, name: string) => {
    const w = (part: string) => g.weight(`${prefix}.${name}.${part}.weight`, [b, b, b], { kind: 'normal', std: 1 / Math.sqrt(b) }, layer);
    return g.add({ op: 'family', family: 'monarch', inputs: [input, w('l'), w('r')], attrs: { blocks: b, axis: 'D' } }, act, `${label}.${name}`, layer);
  };
  let y: number | null = null;
  for (let j = 0; j < expand; j++) {
    const gate = monarch(x, `gate${j}`);
    const up = monarch(x, `up${j}`);
    const h = g.add({ op: 'elementwise', expr: { kind: 'fn', fn: 'mul', args: [{ kind: 'fn', fn: 'silu', args: [IN0] }, IN1] }, inputs: [gate, up] }, act, `${label}.act${j}`, layer);
    const down = monarch(h, `down${j}`);
    y = y === null ? down : g.add({ op: 'elementwise', expr: { kind: 'fn', fn: 'add', args: [IN0, IN1] }, inputs: [y, down] }, act, `${label}.sum${j}`, layer);
  }
  return y!;
}
