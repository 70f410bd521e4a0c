/**
 * Mamba (the selective SSM, S6; Gu and Dao 2023) as a member of the gated linear recurrence
 * (MIXERS.md §1.3). Knobs:
 *
 *   d_state    = N, the state size per channel (default 16)
 *   expand     = E, the inner width is E * dim channels (default 2)
 *   dt_rank    = R, the rank of the dt projection (default ceil(dim / 16))
 *   short_conv = w, the causal convolution on the inner channels (default 4; `none` to drop it)
 */
import type { Assign, Span } from '../../../grammar/ast.ts';
import { suggest } from '../../../grammar/suggest.ts';
import { evalDim, nameOf, type Ctx } from '../../check/eval.ts';
import type { MambaMixer } from '../../check/spec.ts';
import { MAX_SHORT_CONV } from '../linear_attn/spec.ts';

export const MAMBA_PRESETS: Record<string, { paper: string }> = {
  mamba: { paper: 'Gu and Dao 2023, Mamba: Linear-Time Sequence Modeling with Selective State Spaces' },
};

export const MAMBA_KNOBS = ['d_state', 'expand', 'dt_rank', 'short_conv'] as const;

export function checkMamba(name: string, preset: string, knobs: readonly Assign[], env: ReadonlyMap<string, number>, dim: number, span: Span, ctx: Ctx): MambaMixer | undefined {
  const local = new Map(env);
  const given = new Map<string, Assign>();
  const before = ctx.diagnostics.length;
  for (const k of knobs) {
    if (!(MAMBA_KNOBS as readonly string[]).includes(k.name.name)) ctx.error('unknown-knob', { mixer: name, name: k.name.name }, k.name.span, suggest(k.name.name, MAMBA_KNOBS));
    else if (given.has(k.name.name)) ctx.error('duplicate-name', { name: k.name.name }, k.name.span);
    else given.set(k.name.name, k);
  }
  const dimKnob = (knob: string, fallback: number): number | undefined => {
    const a = given.get(knob)?.value;
    const v = a ? evalDim(a, local, ctx, `${name}.${knob}`) : fallback;
    if (v !== undefined) local.set(knob, v);
    return v;
  };
  const dState = dimKnob('d_state', 16);
  const expand = dimKnob('expand', 2);
  const dtRank = dimKnob('dt_rank', Math.ceil(dim / 16));
  let shortConv: number | null | undefined = 4;
  const conv = given.get('short_conv')?.value;
  if (conv && nameOf(conv) === 'none') shortConv = null;
  else if (conv) {
    shortConv = evalDim(conv, local, ctx, `${name}.short_conv`);
    if (shortConv !== undefined && (shortConv < 2 || shortConv > MAX_SHORT_CONV)) {
      ctx.error('unknown-value', { value: String(shortConv), what: `short_conv width (expected 2 to ${MAX_SHORT_CONV}, or none)` }, conv.span);
      shortConv = undefined;
    }
  }
  if (ctx.diagnostics.length > before || dState === undefined || expand === undefined || dtRank === undefined || shortConv === undefined) return undefined;
  return { family: 'mamba', name, preset, knobs: { dState, inner: expand * dim, dtRank, shortConv }, span };
}
