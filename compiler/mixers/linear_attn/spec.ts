/**
 * Knobs and presets of the linear-attention family (MIXERS.md §1, decay none, additive update).
 * A preset is only a named set of knob values; every knob can be overridden in the spec.
 */
import type { Assign, Span } from '../../../grammar/ast.ts';
import { suggest } from '../../../grammar/suggest.ts';
import { evalDim, evalNumber, evalWord, type Ctx } from '../../check/eval.ts';
import type { LinearAttnMixer } from '../../check/spec.ts';
import type { FeatureMap } from '../../ir/graph.ts';

const FEATURES: readonly FeatureMap[] = ['identity', 'elu1'];
const BOOLS = ['true', 'false'] as const;

/** Knob values a preset sets before the user's overrides. */
interface PresetDefaults {
  feature: FeatureMap;
  normalize: boolean;
}

export const LINEAR_ATTN_PRESETS: Record<string, PresetDefaults> = {
  /** Katharopoulos et al. 2020, "Transformers are RNNs": elu(x)+1 features, normalized. */
  linear_attn: { feature: 'elu1', normalize: true },
  /** The bare recurrence: identity features, no normaliser; knobs choose the rest. */
  linear_recurrence: { feature: 'identity', normalize: false },
};

export const LINEAR_ATTN_KNOBS = ['heads', 'head_dim', 'value_dim', 'feature', 'normalize', 'scale', 'eps', 'decay', 'update'] as const;

/**
 * Resolves a mixer declaration of this family. `env` holds the model's parameters; knobs may
 * refer to them and to earlier knobs (`value_dim = head_dim * 2`).
 */
export function checkLinearAttn(
  name: string,
  preset: string,
  knobs: readonly Assign[],
  env: ReadonlyMap<string, number>,
  dim: number,
  span: Span,
  ctx: Ctx,
): LinearAttnMixer | undefined {
  const defaults = LINEAR_ATTN_PRESETS[preset];
  const local = new Map(env);
  const given = new Map<string, Assign>();
  const before = ctx.diagnostics.length;
  for (const k of knobs) {
    if (!(LINEAR_ATTN_KNOBS as readonly string[]).includes(k.name.name)) {
      ctx.error('unknown-knob', { mixer: name, name: k.name.name }, k.name.span, suggest(k.name.name, LINEAR_ATTN_KNOBS));
    } else if (given.has(k.name.name)) {
      ctx.error('duplicate-name', { name: k.name.name }, k.name.span);
    } else given.set(k.name.name, k);
  }
  const num = (knob: string, fallback: () => number | undefined, dimension: boolean): number | undefined => {
    const a = given.get(knob);
    const v = a ? (dimension ? evalDim : evalNumber)(a.value, local, ctx, `${name}.${knob}`) : fallback();
    if (v !== undefined) local.set(knob, v);
    return v;
  };
  const heads = num('heads', () => env.get('heads'), true);
  if (heads === undefined && !given.has('heads')) ctx.error('missing-param', { name: 'heads' }, span);
  const headDim = num(
    'head_dim',
    () => {
      if (heads === undefined) return undefined;
      if (dim % heads !== 0) {
        ctx.error('not-divisible', { what: `dim (for ${name}'s default head_dim = dim / heads)`, value: dim, by: 'heads', divisor: heads }, given.get('heads')?.value.span ?? span);
        return undefined;
      }
      return dim / heads;
    },
    true,
  );
  const valueDim = num('value_dim', () => headDim, true);
  const feature = given.has('feature') ? evalWord(given.get('feature')!.value, FEATURES, ctx, 'feature') : defaults.feature;
  const normalizeWord = given.has('normalize') ? evalWord(given.get('normalize')!.value, BOOLS, ctx, 'normalize') : undefined;
  const normalize = normalizeWord === undefined ? defaults.normalize : normalizeWord === 'true';
  const scale = num('scale', () => (headDim === undefined ? undefined : 1 / Math.sqrt(headDim)), false);
  const eps = num('eps', () => 1e-6, false);
  if (given.has('decay')) evalWord(given.get('decay')!.value, ['none'] as const, ctx, 'decay');
  if (given.has('update')) evalWord(given.get('update')!.value, ['additive'] as const, ctx, 'update');
  if (ctx.diagnostics.length > before || heads === undefined || headDim === undefined || valueDim === undefined) return undefined;
  if (feature === undefined || scale === undefined || eps === undefined) return undefined;
  return {
    family: 'linear_attn',
    name,
    preset,
    knobs: { heads, keyDim: headDim, valueDim, feature, normalize, scale, eps, decay: { kind: 'none' }, update: 'additive' },
    span,
  };
}
