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

/**
 * Extra inputs a matmul epilogue may read: x, w, the output and these must fit WebGPU's guaranteed
 * minimum of 8 storage buffers per stage, so fusion never produces a kernel a device refuses.
 */
export const MAX_EPILOGUE_INPUTS = 5;

const same = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((x, i) => x === b[i]);

/**
 * A matmul whose only reader is an elementwise node takes that node's expression as its epilogue
 * (`x + o W`, `logsigmoid(x W) / 16`): one kernel and no intermediate buffer. Legal when the
 * product is not broadcast by the consumer (same shape) and the inputs fit MAX_EPILOGUE_INPUTS.
 * An existing epilogue composes.
 */
export const fuseMatmulEpilogue: Rule = {
  name: 'fuse-matmul-epilogue',
  rewrite(n, ctx) {
    if (n.op !== 'elementwise') return undefined;
    for (const [slot, input] of n.inputs.entries()) {
      const p = ctx.node(input);
      if (p.op !== 'matmul' || ctx.uses(input) !== 1 || !same(p.type.shape, n.type.shape)) continue;
      const inputs: number[] = [];
      const indexOf = (id: number) => {
        const at = inputs.indexOf(id);
        if (at >= 0) return at + 1;
        inputs.push(id);
        return inputs.length;
      };
      const inner = p.epilogue ? p.epilogue.inputs.map(indexOf) : [];
      const outer = n.inputs.map((id, i) => (i === slot ? 0 : indexOf(id)));
      if (inputs.length > MAX_EPILOGUE_INPUTS) continue;
      const product: EwExpr = p.epilogue ? substitute(p.epilogue.expr, (i) => ({ kind: 'in', index: i === 0 ? 0 : inner[i - 1] })) : { kind: 'in', index: 0 };
      const expr = substitute(n.expr, (i) => (i === slot ? product : { kind: 'in', index: outer[i] }));
      return { op: 'matmul', x: p.x, w: p.w, transposeW: p.transposeW, epilogue: { expr, inputs } } satisfies NodeOp;
    }
    return undefined;
  },
};

export const FUSION_RULES: readonly Rule[] = [fuseElementwiseChain, fuseMatmulEpilogue];

export function fuse(g: Graph): Graph {
  return rewriteGraph(g, FUSION_RULES);
}
