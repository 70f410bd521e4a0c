/**
 * Fusion rules. Legality is decided by pure predicates; the engine in rewrite.ts applies them.
 */
import type { EwExpr, NodeOp } from '../ir/graph.ts';
import { rewriteGraph, type Rule } from './rewrite.ts';
import type { Graph } from '../ir/graph.ts';

/** Most inputs a fused elementwise kernel may read (one binding each, plus the output). */
export const MAX_EW_INPUTS = 6;

/** Replaces `$i` leaves of `e` through `f`. */
function substitute(e: EwExpr, f: (index: number) => EwExpr): EwExpr {
  if (e.kind === 'in') return f(e.index);
  if (e.kind === 'const') return e;
  return { ...e, args: e.args.map((a) => substitute(a, f)) };
}

/**
 * An elementwise node absorbs an elementwise producer that nobody else reads:
 * `mul(silu($0), $1)` instead of two kernels and an intermediate buffer.
 */
export const fuseElementwiseChain: Rule = {
  name: 'fuse-elementwise-chain',
  rewrite(n, ctx) {
    if (n.op !== 'elementwise') return undefined;
    for (const [slot, input] of n.inputs.entries()) {
      const p = ctx.node(input);
      if (p.op !== 'elementwise' || ctx.uses(input) !== 1) continue;
      // The producer's inputs take its slot, in order; inputs already read are shared.
      const inputs: number[] = [];
      const indexOf = (id: number) => {
        const at = inputs.indexOf(id);
        if (at >= 0) return at;
        inputs.push(id);
        return inputs.length - 1;
      };
      const ours = n.inputs.map((id, i) => (i === slot ? p.inputs.map(indexOf) : indexOf(id)));
      if (inputs.length > MAX_EW_INPUTS) continue;
      const inlined = substitute(p.expr, (i) => ({ kind: 'in', index: (ours[slot] as number[])[i] }));
      const expr = substitute(n.expr, (i) => (i === slot ? inlined : { kind: 'in', index: ours[i] as number }));
      return { op: 'elementwise', expr, inputs } satisfies NodeOp;
    }
    return undefined;
  },
};

export const FUSION_RULES: readonly Rule[] = [fuseElementwiseChain];

export function fuse(g: Graph): Graph {
  return rewriteGraph(g, FUSION_RULES);
}
