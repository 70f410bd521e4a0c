/**
 * Knobs and presets of softmax attention (docs/mixers.md):
 *
 *   heads, kv_heads (grouped-query attention; divides heads; default heads), head_dim (default
 *   dim / heads), value_dim (default head_dim), causal = true | false, window = w (sliding window:
 *   key j is seen from query i when i - j < w), rope = true | false | selective (Selective RoPE:
 *   the angles advance by a learned step softplus(x W + b) per token and kv head), rope_theta (default 10000),
 *   max_len (KV-cache capacity of global causal attention, default 4096), scale (default
 *   head_dim^-1/2), qkv_bias = true | false (learned biases on the q, k, v projections), qk_norm =
 *   none | rmsnorm | rmsnorm(eps = e) (RMSNorm of q and k per head before RoPE, default eps 1e-5).
 *
 * Presets: `attention` (causal, global, RoPE) and `swa` (causal sliding window, default window
 * 512, RoPE). A sliding window's cache is a ring of `window` slots, so its decode memory is constant.
 * `liger` (Lan et al. 2025): one layer mixing 0.5 * sliding-window attention (default window 64)
 * and 0.5 * gated linear attention over the same q, k, v: features softmax(q), softmax(k) per head,
 * per-key log-gates logsigmoid(k) / 16 built from the key projection, scale 1; kv_heads = heads.
 */
import type { Assign, Expr, Span } from '../../../grammar/ast.ts';
import { suggest } from '../../../grammar/suggest.ts';
import { describeExpr, evalDim, evalNumber, evalWord, type Ctx } from '../../check/eval.ts';
import type { AttentionMixer } from '../../check/spec.ts';

interface Preset {
  paper: string;
  causal: boolean;
  window: number | null;
  liger?: boolean;
}

export const ATTENTION_PRESETS: Record<string, Preset> = {
  attention: { paper: 'Vaswani et al. 2017, Attention Is All You Need (LLaMA-style: RoPE, GQA)', causal: true, window: null },
  swa: { paper: 'sliding-window attention (Beltagy et al. 2020, Longformer; Mistral 2023)', causal: true, window: 512 },
  liger: { paper: 'Lan et al. 2025, Liger: Linearizing Large Language Models to Gated Recurrent Structures', causal: true, window: 64, liger: true },
};

export const ATTENTION_KNOBS = ['heads', 'kv_heads', 'head_dim', 'value_dim', 'causal', 'window', 'rope', 'rope_theta', 'max_len', 'scale', 'qkv_bias', 'qk_norm'] as const;

export const DEFAULT_MAX_LEN = 4096;
const BOOLS = ['true', 'false'] as const;

/** `none`, `rmsnorm` or `rmsnorm(eps = e)` -> null or the norm's eps (default 1e-5, fla's RMSNorm). */
function qkNorm(e: Expr, env: ReadonlyMap<string, number>, ctx: Ctx, name: string): { eps: number } | null | undefined {
  if (e.kind === 'Name') {
    const w = evalWord(e, ['none', 'rmsnorm'] as const, ctx, `${name}.qk_norm`);
    return w === undefined ? undefined : w === 'rmsnorm' ? { eps: 1e-5 } : null;
  }
  const arg = e.kind === 'Call' && e.callee.name === 'rmsnorm' && e.args.length === 1 ? e.args[0] : undefined;
  if (arg?.kind !== 'NamedArg' || arg.name.name !== 'eps') return ctx.error('wrong-type', { what: `${name}.qk_norm`, expected: 'none, rmsnorm or rmsnorm(eps = e)', found: describeExpr(e) }, e.span), undefined;
  const eps = evalNumber(arg.value, env, ctx, `${name}.qk_norm eps`);
  if (eps !== undefined && !(eps > 0)) return ctx.error('not-positive', { what: `${name}.qk_norm eps`, value: eps }, arg.value.span), undefined;
  return eps === undefined ? undefined : { eps };
}

export function checkAttention(name: string, preset: string, knobs: readonly Assign[], env: ReadonlyMap<string, number>, dim: number, span: Span, ctx: Ctx): AttentionMixer | undefined {
  const p = ATTENTION_PRESETS[preset];
  const local = new Map(env);
  const given = new Map<string, Assign>();
  const before = ctx.diagnostics.length;
  for (const k of knobs) {
    if (!(ATTENTION_KNOBS as readonly string[]).includes(k.name.name)) ctx.error('unknown-knob', { mixer: name, name: k.name.name }, k.name.span, suggest(k.name.name, ATTENTION_KNOBS));
    else if (given.has(k.name.name)) ctx.error('duplicate-name', { name: k.name.name }, k.name.span);
    else given.set(k.name.name, k);
  }
  const at = (knob: string) => given.get(knob)?.value.span ?? span;
  const num = (knob: string, fallback: () => number | undefined, dimension: boolean): number | undefined => {
    const a = given.get(knob)?.value;
    const v = a ? (dimension ? evalDim : evalNumber)(a, local, ctx, `${name}.${knob}`) : fallback();
    if (v !== undefined) local.set(knob, v);
    return v;
  };
  const bool = (knob: string, fallback: boolean) => {
    const a = given.get(knob)?.value;
    return a ? evalWord(a, BOOLS, ctx, `${name}.${knob}`) === 'true' : fallback;
  };
  const heads = num('heads', () => env.get('heads'), true);
  if (heads === undefined && !given.has('heads')) ctx.error('missing-param', { name: 'heads' }, span);
  const kvHeads = num('kv_heads', () => heads, true);
  const headDim = num('head_dim', () => {
    if (heads === undefined) return undefined;
    if (dim % heads === 0) return dim / heads;
    ctx.error('not-divisible', { what: `dim (for ${name}'s default head_dim = dim / heads)`, value: dim, by: 'heads', divisor: heads }, at('heads'));
    return undefined;
  }, true);
  const valueDim = num('value_dim', () => headDim, true);
  const causal = bool('causal', p.causal);
  const window = given.has('window') ? num('window', () => undefined, true) : p.window;
  const ropeWord = given.get('rope') ? evalWord(given.get('rope')!.value, ['true', 'false', 'selective'] as const, ctx, `${name}.rope`) : 'true';
  const rope = ropeWord !== 'false';
  const theta = num('rope_theta', () => 10000, false);
  const maxLen = num('max_len', () => DEFAULT_MAX_LEN, true);
  const scale = num('scale', () => (headDim === undefined ? undefined : 1 / Math.sqrt(headDim)), false);
  const qkvBias = bool('qkv_bias', false);
  const norm = given.has('qk_norm') ? qkNorm(given.get('qk_norm')!.value, local, ctx, name) : null;
  if (heads !== undefined && kvHeads !== undefined && heads % kvHeads !== 0) ctx.error('not-divisible', { what: `${name}.heads`, value: heads, by: 'kv_heads', divisor: kvHeads }, at('kv_heads'));
  if (rope && headDim !== undefined && headDim % 2 !== 0) ctx.error('bad-block', { message: `mixer '${name}': RoPE rotates pairs of features, so head_dim = ${headDim} must be even (or set rope = false)` }, at('head_dim'));
  if (theta !== undefined && !(theta > 1)) ctx.error('not-positive', { what: `${name}.rope_theta - 1`, value: theta - 1 }, at('rope_theta'));
  if (p.liger && !causal) ctx.error('bad-block', { message: `mixer '${name}': liger is causal (its gated linear branch is a forward recurrence)` }, at('causal'));
  if (p.liger && heads !== undefined && kvHeads !== undefined && kvHeads !== heads) ctx.error('bad-block', { message: `mixer '${name}': liger's gated linear branch needs kv_heads = heads (${heads}), got ${kvHeads}` }, at('kv_heads'));
  if (!causal && given.has('max_len')) ctx.error('bad-block', { message: `mixer '${name}': max_len sizes the KV cache of causal attention; bidirectional attention keeps none` }, at('max_len'));
  if (ctx.diagnostics.length > before) return undefined;
  if (heads === undefined || kvHeads === undefined || headDim === undefined || valueDim === undefined || window === undefined) return undefined;
  if (theta === undefined || maxLen === undefined || scale === undefined) return undefined;
  return {
    family: 'attention',
    name,
    preset,
    knobs: { heads, kvHeads, headDim, valueDim, causal, window, scale, maxLen },
    rope: rope ? { theta, ...(ropeWord === 'selective' ? { selective: true } : {}) } : null,
    liger: p.liger ? { normalizer: 16 } : null,
    ...(qkvBias ? { qkvBias } : {}),
    ...(norm ? { qkNorm: norm } : {}),
    span,
  };
}
