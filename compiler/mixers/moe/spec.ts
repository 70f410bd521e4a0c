/**
 * `moe(e, experts = E, top_k = k, hidden = N)`: a mixture of E SwiGLU experts over the channels
 * of each token (a feed-forward, so causal), with a softmax router renormalised over the k
 * chosen experts. Checked here; `lower.ts` adds its nodes.
 */
import type { Expr, Span } from '../../../grammar/ast.ts';
import { evalDim, type Ctx } from '../../check/eval.ts';

export const MOE_ARGS = ['experts', 'top_k', 'hidden'] as const;

/** Largest E: the router keeps the E logits of a token in registers. */
export const MAX_EXPERTS = 256;

export interface MoeArgs {
  experts: number;
  topK: number;
  hidden: number;
}

/**
 * The named arguments of a `moe(...)` call: `experts` is required, `top_k` defaults to 1 (Switch
 * routing, as the Sparse Mixer), `hidden` to SwiGLU's `dim * 8 / 3` rounded up to 64.
 */
export function checkMoeArgs(named: (key: string) => Expr | undefined, params: ReadonlyMap<string, number>, dim: number, span: Span, ctx: Ctx): MoeArgs | undefined {
  const e = named('experts');
  if (!e) return ctx.error('bad-block', { message: "moe(...) needs 'experts = E', the number of experts" }, span), undefined;
  const experts = evalDim(e, params, ctx, 'moe experts');
  const k = named('top_k');
  const topK = k ? evalDim(k, params, ctx, 'moe top_k') : 1;
  const h = named('hidden');
  const hidden = h ? evalDim(h, params, ctx, 'moe hidden') : Math.ceil((dim * 8) / 3 / 64) * 64;
  if (experts === undefined || topK === undefined || hidden === undefined) return undefined;
  if (experts > MAX_EXPERTS) return ctx.error('too-large', { what: 'moe experts', value: experts, max: MAX_EXPERTS }, e.span), undefined;
  if (topK > experts) return ctx.error('bad-block', { message: `moe top_k = ${topK} chooses more experts than there are (experts = ${experts})` }, k!.span), undefined;
  return { experts, topK, hidden };
}
