/**
 * Knobs and presets of the gated linear recurrence (docs/mixers.md). A preset is only a named set
 * of knob values; every knob can be overridden in the spec:
 *
 *   feature   = identity | elu1 | relu | silu | l2, composed with `then` (`silu then l2`), and at
 *               most one learned/expanding map: taylor | rebased | hedgehog | t2r(features = F)
 *               (features.ts; q and k are then `feature_dim` wide per head, the recurrence K')
 *   decay     = none | fixed | scalar | scalar(gate = softplus) | vector(low_rank = 16)
 *               (`normalizer = 16` divides logsigmoid gates; `low_rank = r` factors the projection)
 *   update    = additive | delta;   beta = sigmoid | sigmoid(scale = 2)   (delta only)
 *   normalize = true | false;       output = none | rmsnorm | rmsnorm * swish(gate)
 *               (`rmsnorm(eps = 1e-6)`: the output norm's epsilon, default 1e-5)
 *   decay gates: `bias = true` adds a learned bias to the logsigmoid gate logits (fla's GLA)
 *   rope = true | false, rope_theta (default 10000): rotary embedding of q and k (fla's RetNet)
 *   heads, head_dim, value_dim, feature_dim (q/k width per head, default head_dim),
 *   scale (default feature_dim^-1/2; 1 with a learned map, which scales itself), eps
 */
import type { Assign, Expr, Span } from '../../../grammar/ast.ts';
import { suggest } from '../../../grammar/suggest.ts';
import { describeExpr, evalDim, evalNumber, evalWord, nameOf, type Ctx } from '../../check/eval.ts';
import type { FeatureStage, GateSpec, LinearAttnMixer, OutputSpec } from '../../check/spec.ts';
import type { Decay, UpdateRule } from '../../ir/graph.ts';
import { checkFeatureChain, learnedFeatureSpec, resolveLearnedMap, type FeatureChain, type LearnedMapWord } from './features.ts';
import { retnetLogDecay } from './ops.ts';

interface PresetDefaults {
  /** Citation shown in docs. */
  paper: string;
  features: FeatureStage[];
  normalize: boolean;
  decay: 'none' | 'fixed' | 'scalar' | 'vector';
  gate?: GateSpec;
  update: UpdateRule;
  output: OutputSpec;
  /** A learned/expanding feature map after `features`. */
  map?: LearnedMapWord;
  /** Default q/k width per head (else head_dim). */
  featureDim?: number;
  /** Default eps of the normalizer (else 1e-6). */
  eps?: number;
  /** Cottention's learned length normalisation of the output. */
  lengthNorm?: boolean;
  /** cosFormer re-weighting with this maximum length (default none). */
  reweight?: { maxLen: number };
  /** Scan direction (default forward). */
  direction?: 'forward' | 'reverse' | 'bidirectional';
  /** The preset's own q scale (else 1 with a learned map, head_dim^-1/2 otherwise). */
  scale?: number;
}

const NO_OUTPUT: OutputSpec = { norm: false, gate: false };
const NORM_GATE: OutputSpec = { norm: true, gate: true };
const LOGSIG = (lowRank: number | null): GateSpec => ({ kind: 'logsigmoid', lowRank, normalizer: 16 });

export const LINEAR_ATTN_PRESETS: Record<string, PresetDefaults> = {
  linear_attn: { paper: 'Katharopoulos et al. 2020, Transformers are RNNs', features: ['elu1'], normalize: true, decay: 'none', update: 'additive', output: NO_OUTPUT },
  linear_recurrence: { paper: '(the bare recurrence)', features: [], normalize: false, decay: 'none', update: 'additive', output: NO_OUTPUT },
  retnet: { paper: 'Sun et al. 2023, Retentive Network', features: [], normalize: false, decay: 'fixed', update: 'additive', output: NORM_GATE },
  simple_gla: { paper: 'Yang et al. 2024 (GLA) with a scalar gate; Mamba2-like', features: [], normalize: false, decay: 'scalar', gate: LOGSIG(null), update: 'additive', output: NORM_GATE },
  mamba2: { paper: 'Dao and Gu 2024, Transformers are SSMs (Mamba2); short_conv = 4 adds its convolution', features: [], normalize: false, decay: 'scalar', gate: { kind: 'softplus' }, update: 'additive', output: NORM_GATE },
  gla: { paper: 'Yang et al. 2024, Gated Linear Attention', features: [], normalize: false, decay: 'vector', gate: LOGSIG(16), update: 'additive', output: NORM_GATE },
  deltanet: { paper: 'Schlag et al. 2021; Yang et al. 2024, Parallelizing Linear Transformers with the Delta Rule', features: ['silu', 'l2'], normalize: false, decay: 'none', update: 'delta', output: { norm: true, gate: false } },
  gated_delta: { paper: 'Yang et al. 2025, Gated Delta Networks', features: ['silu', 'l2'], normalize: false, decay: 'scalar', gate: { kind: 'softplus' }, update: 'delta', output: NORM_GATE },
  lion: { paper: 'Afzal et al. 2025, LION: linear attention as a bidirectional RNN (LION-LIT; decay = fixed gives LION-D, scalar LION-S)', features: ['elu1'], normalize: true, decay: 'none', update: 'additive', output: NO_OUTPUT, direction: 'bidirectional' },
  cosformer: { paper: 'Qin et al. 2022, cosFormer: Rethinking Softmax in Attention', features: ['relu'], normalize: true, decay: 'none', update: 'additive', output: NO_OUTPUT, reweight: { maxLen: 4096 }, scale: 1 },
  cottention: { paper: 'Mongaras et al. 2024, Cottention: Linear Transformers With Cosine Attention', features: ['l2'], normalize: false, decay: 'none', update: 'additive', output: NO_OUTPUT, lengthNorm: true, scale: 1 },
  transnormer: { paper: 'Qin et al. 2022, The Devil in Linear Transformer', features: ['elu1'], normalize: false, decay: 'none', update: 'additive', output: { norm: true, gate: false } },
  based: { paper: 'Arora et al. 2024, Simple linear attention language models balance the recall-throughput tradeoff (Based)', features: [], map: { kind: 'taylor' }, featureDim: 16, normalize: true, decay: 'none', update: 'additive', output: NO_OUTPUT },
  rebased: { paper: 'Aksenov et al. 2024, Linear Transformers with Learnable Kernel Functions are Better In-Context Models (ReBased)', features: [], map: { kind: 'rebased' }, featureDim: 16, eps: 1e-5, normalize: true, decay: 'none', update: 'additive', output: NO_OUTPUT },
  hedgehog: { paper: 'Zhang et al. 2024, The Hedgehog & the Porcupine: Expressive Linear Attentions with Softmax Mimicry', features: [], map: { kind: 'hedgehog' }, normalize: true, decay: 'none', update: 'additive', output: NO_OUTPUT },
};

export const LINEAR_ATTN_KNOBS = ['heads', 'head_dim', 'value_dim', 'feature', 'normalize', 'scale', 'eps', 'decay', 'update', 'beta', 'output', 'short_conv', 'feature_dim', 'length_norm', 'direction', 'reweight', 'rope', 'rope_theta'] as const;

/** Widest short convolution accepted (the kernels loop over the taps; typical widths are 2 to 4). */
export const MAX_SHORT_CONV = 64;

const BOOLS = ['true', 'false'] as const;

/** Named arguments of `word(a = 1, b = 2)`, or the bare word. */
function callParts(e: Expr, ctx: Ctx, what: string, allowed: readonly string[]): { word?: string; args: Map<string, Expr> } {
  const args = new Map<string, Expr>();
  if (e.kind === 'Name') return { word: e.name, args };
  if (e.kind !== 'Call') {
    ctx.error('wrong-type', { what, expected: 'a word or word(arg = value)', found: describeExpr(e) }, e.span);
    return { args };
  }
  for (const a of e.args) {
    if (a.kind !== 'NamedArg') ctx.error('wrong-type', { what, expected: 'named arguments', found: describeExpr(a) }, a.span);
    else if (!allowed.includes(a.name.name)) ctx.error('unknown-argument', { callee: e.callee.name, name: a.name.name }, a.name.span, suggest(a.name.name, allowed));
    else args.set(a.name.name, a.value);
  }
  return { word: e.callee.name, args };
}

function checkDecay(e: Expr, env: ReadonlyMap<string, number>, ctx: Ctx, fallbackGate: GateSpec | undefined): { kind: PresetDefaults['decay']; gate?: GateSpec } | undefined {
  const { word, args } = callParts(e, ctx, 'decay', ['gate', 'low_rank', 'normalizer', 'bias']);
  if (word === undefined) return undefined;
  const kind = evalWord({ kind: 'Name', name: word, span: e.span }, ['none', 'fixed', 'scalar', 'vector'] as const, ctx, 'decay');
  if (kind === undefined) return undefined;
  if (kind === 'none' || kind === 'fixed') {
    if (args.size) ctx.error('bad-arity', { name: kind, expected: 0, found: args.size }, e.span);
    return { kind };
  }
  // A preset's softplus gate is per head; a vector decay written over such a preset gets the per-key logsigmoid gate.
  const presetGate = kind === 'vector' && fallbackGate?.kind === 'softplus' ? 'logsigmoid' : fallbackGate?.kind;
  const gateWord = args.get('gate') ? evalWord(args.get('gate')!, ['logsigmoid', 'softplus'] as const, ctx, 'gate') : presetGate ?? 'logsigmoid';
  if (gateWord === undefined) return undefined;
  if (gateWord === 'softplus') {
    if (args.has('bias')) return ctx.error('bad-block', { message: 'bias applies to logsigmoid gates (a softplus gate has its dt_bias)' }, args.get('bias')!.span), undefined;
    if (kind === 'vector') return ctx.error('unknown-value', { value: 'softplus', what: 'a vector decay gate (expected logsigmoid)' }, e.span), undefined;
    return { kind, gate: { kind: 'softplus' } };
  }
  const preset: { lowRank: number | null; normalizer: number; bias?: boolean } = fallbackGate?.kind === 'logsigmoid' ? fallbackGate : { lowRank: null, normalizer: 16 };
  const lowRank = args.get('low_rank') ? evalDim(args.get('low_rank')!, env, ctx, 'low_rank') : preset.lowRank;
  const normalizer = args.get('normalizer') ? evalNumber(args.get('normalizer')!, env, ctx, 'normalizer') : preset.normalizer;
  const biasWord = args.get('bias') ? evalWord(args.get('bias')!, BOOLS, ctx, 'bias') : preset.bias ? 'true' : 'false';
  if (lowRank === undefined || normalizer === undefined || biasWord === undefined) return undefined;
  return { kind, gate: { kind: 'logsigmoid', lowRank, normalizer, ...(biasWord === 'true' ? { bias: true } : {}) } };
}

/** `rmsnorm` or `rmsnorm(eps = N)`: the output norm's epsilon (undefined: the default), or null when `e` is no norm. */
function outputNorm(e: Expr, env: ReadonlyMap<string, number>, ctx: Ctx): { eps?: number } | null {
  if (nameOf(e) === 'rmsnorm') return {};
  if (e.kind !== 'Call' || e.callee.name !== 'rmsnorm') return null;
  const { args } = callParts(e, ctx, 'rmsnorm', ['eps']);
  const eps = args.get('eps') ? evalNumber(args.get('eps')!, env, ctx, 'rmsnorm eps') : undefined;
  if (eps !== undefined && !(eps > 0)) ctx.error('not-positive', { what: 'rmsnorm eps', value: eps }, args.get('eps')!.span);
  return eps === undefined ? {} : { eps };
}

function checkOutput(e: Expr, env: ReadonlyMap<string, number>, ctx: Ctx): OutputSpec | undefined {
  if (nameOf(e) === 'none') return NO_OUTPUT;
  const alone = outputNorm(e, env, ctx);
  if (alone) return { norm: true, gate: false, ...alone };
  if (e.kind === 'Binary' && e.op === '*' && e.right.kind === 'Call' && e.right.callee.name === 'swish') {
    const norm = outputNorm(e.left, env, ctx);
    const a = e.right.args;
    if (norm && a.length === 1 && a[0].kind === 'Name' && a[0].name === 'gate') return { ...NORM_GATE, ...norm };
  }
  ctx.error('unknown-value', { value: nameOf(e) ?? describeExpr(e), what: 'output (expected none, rmsnorm, or rmsnorm * swish(gate))' }, e.span);
  return undefined;
}

function checkBeta(e: Expr, env: ReadonlyMap<string, number>, ctx: Ctx): number | undefined {
  const { word, args } = callParts(e, ctx, 'beta', ['scale']);
  if (word === undefined || evalWord({ kind: 'Name', name: word, span: e.span }, ['sigmoid'] as const, ctx, 'beta') === undefined) return undefined;
  const scale = args.get('scale') ? evalNumber(args.get('scale')!, env, ctx, 'beta scale') : 1;
  if (scale !== undefined && scale !== 1 && scale !== 2) return ctx.error('unknown-value', { value: String(scale), what: 'beta scale (expected 1, or 2 for negative eigenvalues)' }, e.span), undefined;
  return scale;
}

/** `reweight = none | cos | cos(max_len = N)`: cosFormer's position re-weighting (N >= the longest sequence). */
function checkReweight(e: Expr, env: ReadonlyMap<string, number>, ctx: Ctx): { maxLen: number } | null | undefined {
  const { word, args } = callParts(e, ctx, 'reweight', ['max_len']);
  if (word === undefined) return undefined;
  const kind = evalWord({ kind: 'Name', name: word, span: e.span }, ['none', 'cos'] as const, ctx, 'reweight');
  if (kind === undefined) return undefined;
  if (kind === 'none') return null;
  const maxLen = args.get('max_len') ? evalDim(args.get('max_len')!, env, ctx, 'max_len') : 4096;
  return maxLen === undefined ? undefined : { maxLen };
}

/** `short_conv = w` (2 <= w <= MAX_SHORT_CONV) or `short_conv = none`. */
function checkShortConv(e: Expr, env: ReadonlyMap<string, number>, ctx: Ctx): number | null | undefined {
  if (nameOf(e) === 'none') return null;
  const w = evalDim(e, env, ctx, 'short_conv');
  if (w === undefined) return undefined;
  if (w < 2 || w > MAX_SHORT_CONV) return ctx.error('unknown-value', { value: String(w), what: `short_conv width (expected 2 to ${MAX_SHORT_CONV}, or none)` }, e.span), undefined;
  return w;
}

/**
 * Resolves a mixer declaration of this family. `env` holds the model's parameters; knobs may
 * refer to them and to earlier knobs (`value_dim = head_dim * 2`).
 */
export function checkLinearAttn(name: string, preset: string, knobs: readonly Assign[], env: ReadonlyMap<string, number>, dim: number, span: Span, ctx: Ctx): LinearAttnMixer | undefined {
  const p = LINEAR_ATTN_PRESETS[preset];
  const local = new Map(env);
  const given = new Map<string, Assign>();
  const before = ctx.diagnostics.length;
  for (const k of knobs) {
    if (!(LINEAR_ATTN_KNOBS as readonly string[]).includes(k.name.name)) {
      ctx.error('unknown-knob', { mixer: name, name: k.name.name }, k.name.span, suggest(k.name.name, LINEAR_ATTN_KNOBS));
    } else if (given.has(k.name.name)) ctx.error('duplicate-name', { name: k.name.name }, k.name.span);
    else given.set(k.name.name, k);
  }
  const value = (knob: string) => given.get(knob)?.value;
  const num = (knob: string, fallback: () => number | undefined, dimension: boolean): number | undefined => {
    const a = value(knob);
    const v = a ? (dimension ? evalDim : evalNumber)(a, local, ctx, `${name}.${knob}`) : fallback();
    if (v !== undefined) local.set(knob, v);
    return v;
  };
  const heads = num('heads', () => env.get('heads'), true);
  if (heads === undefined && !given.has('heads')) ctx.error('missing-param', { name: 'heads' }, span);
  const headDim = num(
    'head_dim',
    () => {
      if (heads === undefined) return undefined;
      if (dim % heads === 0) return dim / heads;
      ctx.error('not-divisible', { what: `dim (for ${name}'s default head_dim = dim / heads)`, value: dim, by: 'heads', divisor: heads }, value('heads')?.span ?? span);
      return undefined;
    },
    true,
  );
  const valueDim = num('value_dim', () => headDim, true);
  const featureDim = num('feature_dim', () => p.featureDim ?? headDim, true);
  const chain: FeatureChain | undefined = value('feature') ? checkFeatureChain(value('feature')!, local, ctx) : { pre: p.features, map: p.map ?? null, post: [] };
  const features = chain?.pre;
  const learnedMap = chain?.map && featureDim !== undefined ? resolveLearnedMap(chain.map, featureDim, ctx, value('feature')?.span ?? value('feature_dim')?.span ?? span) : undefined;
  const learned = learnedMap && featureDim !== undefined && chain ? learnedFeatureSpec(learnedMap, featureDim, chain.post) : null;
  const normalizeWord = value('normalize') ? evalWord(value('normalize')!, BOOLS, ctx, 'normalize') : undefined;
  const normalize = normalizeWord === undefined ? p.normalize : normalizeWord === 'true';
  const scale = num('scale', () => (p.scale !== undefined ? p.scale : chain?.map ? 1 : featureDim === undefined ? undefined : 1 / Math.sqrt(featureDim)), false);
  const eps = num('eps', () => p.eps ?? 1e-6, false);
  const decay = value('decay') ? checkDecay(value('decay')!, local, ctx, p.gate) : { kind: p.decay, gate: p.gate };
  const update = value('update') ? evalWord(value('update')!, ['additive', 'delta'] as const, ctx, 'update') : p.update;
  const betaScale = value('beta') ? checkBeta(value('beta')!, local, ctx) : 1;
  const output = value('output') ? checkOutput(value('output')!, local, ctx) : p.output;
  const ropeWord = value('rope') ? evalWord(value('rope')!, BOOLS, ctx, 'rope') : undefined;
  const ropeTheta = num('rope_theta', () => 10000, false);
  const shortConv = value('short_conv') ? checkShortConv(value('short_conv')!, local, ctx) : null;
  const lengthNormWord = value('length_norm') ? evalWord(value('length_norm')!, ['none', 'learned'] as const, ctx, 'length_norm') : undefined;
  const lengthNorm = lengthNormWord === undefined ? (p.lengthNorm ?? false) : lengthNormWord === 'learned';
  const reweight = value('reweight') ? checkReweight(value('reweight')!, local, ctx) : (p.reweight ?? null);
  const direction = value('direction') ? evalWord(value('direction')!, ['forward', 'reverse', 'bidirectional'] as const, ctx, 'direction') : (p.direction ?? 'forward');
  if (direction === 'bidirectional' && update === 'delta') ctx.error('bad-block', { message: `mixer '${name}': direction = bidirectional (LION) is defined for the additive update only` }, value('direction')?.span ?? span);
  if (direction !== 'forward' && lengthNorm) ctx.error('bad-block', { message: `mixer '${name}': length_norm needs direction = forward` }, value('direction')?.span ?? span);
  if (update === 'delta' && normalize) ctx.error('bad-block', { message: `mixer '${name}': normalize is not defined for the delta rule` }, value('normalize')?.span ?? span);
  if (ropeWord === 'true') {
    const why = learned ? 'a learned or widening feature map' : reweight ? 'the cos re-weighting' : featureDim !== undefined && featureDim % 2 !== 0 ? `an odd key width (${featureDim})` : null;
    if (why) ctx.error('bad-block', { message: `mixer '${name}': rope rotates pairs of key features; it cannot follow ${why}` }, value('rope')!.span);
  }
  if (value('rope_theta') && ropeWord !== 'true') ctx.error('bad-block', { message: `mixer '${name}': rope_theta needs rope = true` }, value('rope_theta')!.span);
  if (ropeTheta !== undefined && !(ropeTheta > 1)) ctx.error('not-positive', { what: `${name}.rope_theta - 1`, value: ropeTheta - 1 }, value('rope_theta')?.span ?? span);
  if (value('beta') && update !== 'delta') ctx.error('bad-block', { message: `mixer '${name}': beta is only used by update = delta` }, value('beta')!.span);
  if (ctx.diagnostics.length > before) return undefined;
  if (heads === undefined || featureDim === undefined || valueDim === undefined || features === undefined || scale === undefined) return undefined;
  if (eps === undefined || decay === undefined || update === undefined || betaScale === undefined || output === undefined || shortConv === undefined || reweight === undefined) return undefined;
  const kernelDecay: Decay = decay.kind === 'fixed' ? { kind: 'fixed', logDecay: retnetLogDecay(heads) } : { kind: decay.kind };
  // elu1 alone runs inside the mixer kernels; any other feature map is applied to q and k first.
  const fused = features.length === 1 && features[0] === 'elu1' && !learned;
  return {
    family: 'linear_attn',
    name,
    preset,
    knobs: { heads, keyDim: (learned?.keyDim ?? featureDim) * (reweight ? 2 : 1), valueDim, feature: fused ? 'elu1' : 'identity', normalize, scale, eps, decay: kernelDecay, update },
    features: fused ? [] : features,
    featureMap: learned?.spec ?? null,
    gate: decay.kind === 'scalar' || decay.kind === 'vector' ? decay.gate! : null,
    beta: update === 'delta' ? { scale: betaScale } : null,
    output,
    shortConv,
    lengthNorm,
    direction: direction ?? 'forward',
    reweight,
    ...(ropeWord === 'true' && ropeTheta !== undefined ? { rope: { theta: ropeTheta } } : {}),
    span,
  };
}
