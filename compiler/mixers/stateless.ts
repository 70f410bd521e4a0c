/**
 * Shared front end of the stateless mixer families (FNet, softplus attention, ...): knob tables
 * checked into plain-data attrs, and the lowering helpers their rooms use. A family declares its
 * knobs as data; `checkKnobs` reports unknown, duplicate and ill-typed ones with located
 * diagnostics and fills the defaults.
 */
import type { Assign, Span } from '../../grammar/ast.ts';
import { suggest } from '../../grammar/suggest.ts';
import { evalDim, evalNumber, evalWord, type Ctx } from '../check/eval.ts';
import type { StatelessFamily, StatelessMixer } from '../check/spec.ts';
import type { GraphBuilder } from '../ir/builder.ts';
import type { FamilyAttrs } from '../ir/graph.ts';

/**
 * One knob: an integer size (`dim`), a number, or a boolean (`true | false`). `fallback` computes
 * the default from the knobs resolved so far and the model parameters; undefined = required.
 */
export interface KnobDecl {
  name: string;
  kind: 'dim' | 'number' | 'bool';
  fallback?: (known: ReadonlyMap<string, number>, dim: number) => number | boolean | undefined;
  /** What to tell the user when there is no value and no default (else "must set"). */
  missing?: (known: ReadonlyMap<string, number>, dim: number) => string;
}

/** The knobs of `mixer NAME = PRESET { ... }` against a table, or undefined after diagnostics. */
export function checkKnobs(
  family: StatelessFamily,
  name: string,
  preset: string,
  knobs: readonly Assign[],
  env: ReadonlyMap<string, number>,
  dim: number,
  span: Span,
  ctx: Ctx,
  table: readonly KnobDecl[],
): StatelessMixer | undefined {
  const before = ctx.diagnostics.length;
  const given = new Map<string, Assign>();
  const names = table.map((k) => k.name);
  for (const k of knobs) {
    if (!names.includes(k.name.name)) ctx.error('unknown-knob', { mixer: name, name: k.name.name }, k.name.span, suggest(k.name.name, names));
    else if (given.has(k.name.name)) ctx.error('duplicate-name', { name: k.name.name }, k.name.span);
    else given.set(k.name.name, k);
  }
  const local = new Map(env);
  const attrs: Record<string, number | boolean> = {};
  const valuesStart = ctx.diagnostics.length;
  for (const k of table) {
    const a = given.get(k.name);
    let v: number | boolean | undefined;
    if (a) {
      const what = `${name}.${k.name}`;
      v = k.kind === 'bool' ? evalWord(a.value, ['true', 'false'] as const, ctx, what) === 'true' : (k.kind === 'dim' ? evalDim : evalNumber)(a.value, local, ctx, what);
    } else {
      v = k.fallback?.(local, dim);
      // A default computed from a knob that already failed is not reported again.
      if (v === undefined && k.fallback && ctx.diagnostics.length > valuesStart) continue;
      if (v === undefined && k.missing) ctx.error('bad-block', { message: `mixer '${name}': ${k.missing(local, dim)}` }, span);
      else if (v === undefined) ctx.error('missing-param', { name: `${name}.${k.name}` }, span);
    }
    if (v === undefined) continue;
    attrs[k.name] = v;
    if (typeof v === 'number') local.set(k.name, v);
  }
  if (ctx.diagnostics.length > before) return undefined;
  return { family, name, preset, knobs: attrs, span };
}

/** The one `family` node of a stateless mixer in a layer: `[B, T, width]`, labelled `L<i>.<name>`. */
export function addFamilyNode(g: GraphBuilder, m: StatelessMixer, inputs: number[], attrs: FamilyAttrs, width: number, layer: number): number {
  const { B, T } = g.dims;
  return g.add({ op: 'family', family: m.family, inputs, attrs }, { shape: [B, T, width], dtype: 'f32' }, `L${layer}.${m.name}`, layer);
}
