/**
 * `mixer f = fnet {}`: no knobs, no parameters. Lowers to one `family` node
 * `y = Re(F_T(F_D(x)))` over the mixer's input x `[B, T, dim]`.
 */
import type { Assign, Span } from '../../../grammar/ast.ts';
import type { Ctx } from '../../check/eval.ts';
import type { MixerSpec, StatelessMixer } from '../../check/spec.ts';
import type { GraphBuilder } from '../../ir/builder.ts';
import { addFamilyNode, checkKnobs } from '../stateless.ts';

export const FNET_PRESETS = ['fnet'] as const;

export function checkFnet(name: string, preset: string, knobs: readonly Assign[], env: ReadonlyMap<string, number>, dim: number, span: Span, ctx: Ctx): StatelessMixer | undefined {
  return checkKnobs('fnet', name, preset, knobs, env, dim, span, ctx, []);
}

export function lowerFnet(g: GraphBuilder, m: MixerSpec, x: number, layer: number, dim: number): number {
  if (m.family !== 'fnet') throw new Error(`not an fnet mixer: ${m.family}`);
  return addFamilyNode(g, m, [x], {}, dim, layer);
}
