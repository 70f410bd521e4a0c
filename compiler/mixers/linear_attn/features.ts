/**
 * Learned and expanding feature maps of the linear recurrence (docs/mixers.md): the `feature` knob's
 * `taylor` (Based), `rebased`, `hedgehog` and `t2r` stages, checked here and lowered to one
 * `feature_map` node per q and k (FeatureMapKind in ir/graph.ts).
 *
 *   feature = taylor                      phi(x) = [1, x / d^1/4, x (x) x / (sqrt2 sqrt d)]   K' = 1 + d + d(d+1)/2
 *   feature = rebased                     gamma * LayerNorm(x) + beta, then x (x) x / sqrt d  K' = d(d+1)/2
 *   feature = hedgehog                    softmax([x W + b, -(x W + b)]), W init identity     K' = 2d
 *   feature = t2r | t2r(features = F)     relu(x W + b)                                       K' = F (default d)
 *
 * d is the q/k width per head (`feature_dim`, default head_dim). Quadratic maps keep the symmetric
 * half of x (x) x. Pointwise stages may come before the map (on d) or after it (on K'), composed
 * with `then`; one chain holds at most one of these maps.
 */
import type { Expr } from '../../../grammar/ast.ts';
import { suggest } from '../../../grammar/suggest.ts';
import { describeExpr, evalDim, evalWord, nameOf, type Ctx } from '../../check/eval.ts';
import type { FeatureStage, LearnedFeatureSpec, LinearAttnMixer } from '../../check/spec.ts';
import type { GraphBuilder } from '../../ir/builder.ts';
import { featureMapWeightShapes, featureMapWidth, type FeatureMapKind, type WeightInit } from '../../ir/graph.ts';
import { MAX_FEATURE_MAP_INPUT } from '../../codegen/kernels/feature-map.ts';

/** A learned or expanding map as written (sizes resolved later from feature_dim). */
export type LearnedMapWord = { kind: 'taylor' | 'rebased' | 'hedgehog' } | { kind: 't2r'; features: number | null };

export const LEARNED_MAPS = ['taylor', 'rebased', 'hedgehog', 't2r'] as const;
const POINTWISE: readonly FeatureStage[] = ['identity', 'elu1', 'relu', 'silu', 'l2'];

/** LayerNorm eps of the ReBased map (fla's layer_norm default). */
export const REBASED_LN_EPS = 1e-5;

export interface FeatureChain {
  /** Pointwise stages on the d-wide projections (identity dropped). */
  pre: FeatureStage[];
  map: LearnedMapWord | null;
  /** Pointwise stages on the K'-wide features. */
  post: FeatureStage[];
}

function checkLearned(e: Expr, env: ReadonlyMap<string, number>, ctx: Ctx): LearnedMapWord | undefined {
  if (e.kind === 'Name') return e.name === 't2r' ? { kind: 't2r', features: null } : ({ kind: e.name } as LearnedMapWord);
  if (e.kind !== 'Call') return undefined;
  if (e.callee.name !== 't2r') {
    ctx.error('bad-arity', { name: e.callee.name, expected: 0, found: e.args.length }, e.span);
    return undefined;
  }
  let features: number | null = null;
  for (const a of e.args) {
    if (a.kind !== 'NamedArg') ctx.error('wrong-type', { what: 't2r', expected: 'named arguments (t2r(features = F))', found: describeExpr(a) }, a.span);
    else if (a.name.name !== 'features') ctx.error('unknown-argument', { callee: 't2r', name: a.name.name }, a.name.span, suggest(a.name.name, ['features']));
    else features = evalDim(a.value, env, ctx, 't2r features') ?? null;
  }
  return { kind: 't2r', features };
}

/**
 * `feature = silu then l2`, `feature = taylor`, `feature = t2r(features = 32) then l2`: the stages
 * split around the one learned/expanding map, or undefined with diagnostics.
 */
export function checkFeatureChain(e: Expr, env: ReadonlyMap<string, number>, ctx: Ctx): FeatureChain | undefined {
  const stages = e.kind === 'Then' ? e.stages : [e];
  const chain: FeatureChain = { pre: [], map: null, post: [] };
  let ok = true;
  for (const s of stages) {
    const word = s.kind === 'Call' ? s.callee.name : nameOf(s);
    if (word !== undefined && (LEARNED_MAPS as readonly string[]).includes(word)) {
      const map = checkLearned(s, env, ctx);
      if (chain.map) {
        ctx.error('bad-block', { message: `feature: at most one of ${LEARNED_MAPS.join(', ')} per chain; got ${chain.map.kind} then ${word}` }, s.span);
        ok = false;
      } else if (map) chain.map = map;
      else ok = false;
      continue;
    }
    const w = evalWord(s, [...POINTWISE, ...LEARNED_MAPS], ctx, 'feature');
    if (w === undefined) ok = false;
    else if (w !== 'identity') (chain.map ? chain.post : chain.pre).push(w as FeatureStage);
  }
  return ok ? chain : undefined;
}

/** The IR map for a chain's word on heads of d (c = d^-1/2 for the quadratic maps), or an error. */
export function resolveLearnedMap(word: LearnedMapWord, d: number, ctx: Ctx, span: Expr['span']): FeatureMapKind | undefined {
  if (d > MAX_FEATURE_MAP_INPUT) {
    ctx.error('too-large', { what: `feature_dim (the q/k width per head, for feature = ${word.kind})`, value: d, max: MAX_FEATURE_MAP_INPUT }, span);
    return undefined;
  }
  const c = 1 / Math.sqrt(d);
  switch (word.kind) {
    case 'taylor':
      return { kind: 'taylor', scale: c };
    case 'rebased':
      return { kind: 'rebased', scale: c, norm: { eps: REBASED_LN_EPS } };
    case 'hedgehog':
      return { kind: 'hedgehog' };
    case 't2r':
      return { kind: 't2r', features: word.features ?? d };
  }
}

/** The spec's learned-map part, and K' (the recurrence's key dim). */
export function learnedFeatureSpec(map: FeatureMapKind, d: number, post: FeatureStage[]): { spec: LearnedFeatureSpec; keyDim: number } {
  return { spec: { map, inputDim: d, post }, keyDim: featureMapWidth(map, d) };
}

/** Seeded init of each weight: LayerNorm gamma 1, beta 0; Hedgehog W = I, b = 0; T2R W ~ N(0, 1/d), b = 0. */
function weightInits(map: FeatureMapKind, d: number): WeightInit[] {
  switch (map.kind) {
    case 'taylor':
      return [];
    case 'rebased':
      return [{ kind: 'ones' }, { kind: 'zeros' }];
    case 'hedgehog':
      return [{ kind: 'eye' }, { kind: 'zeros' }];
    case 't2r':
      return [{ kind: 'normal', std: 1 / Math.sqrt(d) }, { kind: 'zeros' }];
  }
}

/**
 * Weight names: ReBased shares gamma, beta between q and k (`<prefix>.feature_map.gamma|beta`, as
 * fla's one RebasedFeatureMap); Hedgehog and T2R have their own per q and k
 * (`<prefix>.feature_map_q.weight|bias`), W stored `[H, d, K']` (y = x W, fla's Linear transposed).
 */
function weightNames(map: FeatureMapKind, prefix: string, which: string): string[] {
  if (map.kind === 'rebased') return [`${prefix}.feature_map.gamma`, `${prefix}.feature_map.beta`];
  return [`${prefix}.feature_map_${which}.weight`, `${prefix}.feature_map_${which}.bias`];
}

/** phi(x) for q or k (`which`): x `[B, T, H*d]` -> `[B, T, H*K']`, with the map's weights declared. */
export function lowerFeatureMap(g: GraphBuilder, m: LinearAttnMixer, x: number, layer: number, which: 'q' | 'k'): number {
  const fm = m.featureMap!;
  const H = m.knobs.heads;
  const d = fm.inputDim;
  const prefix = `layers.${layer}.${m.name}`;
  const names = weightNames(fm.map, prefix, which);
  const inits = weightInits(fm.map, d);
  const weights = featureMapWeightShapes(fm.map, H, d).map((shape, i) => g.weight(names[i], shape, inits[i], layer));
  const { B, T } = g.dims;
  const type = { shape: [B, T, H * featureMapWidth(fm.map, d)], dtype: 'f32' as const };
  return g.add({ op: 'feature_map', x, map: fm.map, weights, group: d }, type, `L${layer}.${m.name}.${which}_${fm.map.kind}`, layer);
}
