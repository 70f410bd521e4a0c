/**
 * Mamba (the selective SSM, S6; Gu and Dao 2023) as a member of the gated linear recurrence
 * (docs/mixers.md). Knobs:
 *
 *   d_state    = N, the state size per channel (default 16)
 *   expand     = E, the inner width is E * dim channels (default 2)
 *   dt_rank    = R, the rank of the dt projection (default ceil(dim / 16))
 *   short_conv = w, the causal convolution on the inner channels (default 4; `none` to drop it)
 *   conv_bias  = true | false, a learned bias on the convolution before its silu (default false;
 *                Mamba's reference code and fla's `use_conv_bias` have one)
 *
 * `ssd` is Mamba2's layer (Dao and Gu 2024, the SSD of mamba_ssm and fla's Mamba2, one group):
 * heads of head_dim P channels sharing a scalar decay, with these knobs and d_state (default 128),
 * expand, short_conv, conv_bias, and eps (the gated RMSNorm's epsilon, default 1e-5); no dt_rank.
 */
import type { Assign, Span } from '../../../grammar/ast.ts';
import { suggest } from '../../../grammar/suggest.ts';
import { evalDim, evalNumber, evalWord, nameOf, type Ctx } from '../../check/eval.ts';
import type { MambaMixer } from '../../check/spec.ts';
import { MAX_SHORT_CONV } from '../linear_attn/spec.ts';

export const MAMBA_PRESETS: Record<string, { paper: string }> = {
  mamba: { paper: 'Gu and Dao 2023, Mamba: Linear-Time Sequence Modeling with Selective State Spaces' },
  ssd: { paper: "Dao and Gu 2024, Transformers are SSMs (Mamba2's SSD layer, as mamba_ssm and fla compute it)" },
};

export const MAMBA_KNOBS = ['d_state', 'expand', 'dt_rank', 'short_conv', 'conv_bias', 'head_dim', 'eps'] as const;
/** Knobs of one preset only. */
const ONLY: Record<string, string> = { dt_rank: 'mamba', head_dim: 'ssd', eps: 'ssd' };

export function checkMamba(name: string, preset: string, knobs: readonly Assign[], env: ReadonlyMap<string, number>, dim: number, span: Span, ctx: Ctx): MambaMixer | undefined {
  const local = new Map(env);
  const given = new Map<string, Assign>();
  const before = ctx.diagnostics.length;
  for (const k of knobs) {
    if (!(MAMBA_KNOBS as readonly string[]).includes(k.name.name)) ctx.error('unknown-knob', { mixer: name, name: k.name.name }, k.name.span, suggest(k.name.name, MAMBA_KNOBS));
    else if (given.has(k.name.name)) ctx.error('duplicate-name', { name: k.name.name }, k.name.span);
    else if ((ONLY[k.name.name] ?? preset) !== preset) ctx.error('bad-block', { message: `mixer '${name}': ${k.name.name} is a knob of ${ONLY[k.name.name]}, not ${preset}` }, k.name.span);
    else given.set(k.name.name, k);
  }
  const dimKnob = (knob: string, fallback: number): number | undefined => {
    const a = given.get(knob)?.value;
    const v = a ? evalDim(a, local, ctx, `${name}.${knob}`) : fallback;
    if (v !== undefined) local.set(knob, v);
    return v;
  };
  const ssd = preset === 'ssd';
  const dState = dimKnob('d_state', ssd ? 128 : 16);
  const expand = dimKnob('expand', 2);
  const dtRank = ssd ? 0 : dimKnob('dt_rank', Math.ceil(dim / 16));
  const headDim = ssd ? dimKnob('head_dim', 64) : undefined;
  const epsKnob = given.get('eps')?.value;
  const eps = epsKnob ? evalNumber(epsKnob, local, ctx, `${name}.eps`) : 1e-5;
  if (eps !== undefined && !(eps > 0)) ctx.error('not-positive', { what: `${name}.eps`, value: eps }, epsKnob!.span);
  if (ssd && expand !== undefined && headDim !== undefined && (expand * dim) % headDim !== 0) {
    ctx.error('not-divisible', { what: `the inner width (expand * dim) of ${name}`, value: expand * dim, by: 'head_dim', divisor: headDim }, given.get('head_dim')?.span ?? span);
  }
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
  const biasKnob = given.get('conv_bias')?.value;
  const convBias = biasKnob ? evalWord(biasKnob, ['true', 'false'] as const, ctx, 'conv_bias') : 'false';
  if (biasKnob && shortConv === null) ctx.error('bad-block', { message: `mixer '${name}': conv_bias needs a convolution (short_conv = none has none)` }, biasKnob.span);
  if (ssd && shortConv === null) ctx.error('bad-block', { message: `mixer '${name}': ssd convolves x, B and C; short_conv = none is not defined for it` }, given.get('short_conv')!.span);
  if (ctx.diagnostics.length > before || dState === undefined || expand === undefined || dtRank === undefined || shortConv === undefined || convBias === undefined || eps === undefined) return undefined;
  const extra = { ...(convBias === 'true' ? { convBias: true } : {}), ...(ssd ? { headDim, eps } : {}) };
  return { family: 'mamba', name, preset, knobs: { dState, inner: expand * dim, dtRank, shortConv, ...extra }, span };
}
