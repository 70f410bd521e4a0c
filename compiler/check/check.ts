/**
 * check(ast) -> ModelSpec: resolves names, evaluates every dimension, fills defaults and rejects
 * inconsistent shapes, each with a located diagnostic.
 */
import type { Assign, LoomFile, MixerDecl, ModelDecl } from '../../grammar/ast.ts';
import { hasErrors, type Diagnostic } from '../../grammar/diagnostics.ts';
import { suggest } from '../../grammar/suggest.ts';
import { ALL_PRESETS, familyOfPreset } from '../mixers/registry.ts';
import { checkBlock } from './block.ts';
import { Ctx, evalDim, evalNumber, evalWord } from './eval.ts';
import { lintModel } from './lint.ts';
import { checkSchedule } from './schedule.ts';
import type { MixerSpec, ModelSpec } from './spec.ts';
import type { ListLit } from '../../grammar/ast.ts';
import { describeExpr } from './eval.ts';
import { PATTERN_SLOT } from './spec.ts';

const REQUIRED = ['vocab', 'dim', 'layers'] as const;
/** Compile time and memory grow linearly with layers; no published model comes near this. */
export const MAX_LAYERS = 4096;
/** Model-level assignments whose value is a word, not a number. */
const WORD_PARAMS = { head: ['tied', 'untied'] } as const;

export interface CheckResult {
  spec?: ModelSpec;
  diagnostics: Diagnostic[];
}

export function check(file: LoomFile): CheckResult {
  const ctx = new Ctx(file.path);
  if (file.models.length === 0) {
    ctx.error('missing-model', {}, file.span);
    return { diagnostics: ctx.diagnostics };
  }
  if (file.models.length > 1) ctx.error('multiple-models', { count: file.models.length }, file.models[1].name.span);
  const spec = checkModel(file, file.models[0], ctx);
  if (hasErrors(ctx.diagnostics) || !spec) return { diagnostics: ctx.diagnostics };
  return { spec, diagnostics: lintModel(file, file.models[0], spec) }; // warnings only
}

function checkModel(file: LoomFile, model: ModelDecl, ctx: Ctx): ModelSpec | undefined {
  const params = new Map<string, number>();
  const seen = new Set<string>();
  let head: 'tied' | 'untied' = 'tied';
  const assigns = model.items.filter((i): i is Assign => i.kind === 'Assign');
  for (const a of assigns) {
    const name = a.name.name;
    if (seen.has(name)) {
      ctx.error('duplicate-name', { name }, a.name.span);
      continue;
    }
    seen.add(name);
    if (name === 'head') {
      head = evalWord(a.value, WORD_PARAMS.head, ctx, 'head') ?? head;
      continue;
    }
    const integer = (REQUIRED as readonly string[]).includes(name) || name === 'heads';
    const v = integer ? evalDim(a.value, params, ctx, name) : evalNumber(a.value, params, ctx, name);
    if (v !== undefined) params.set(name, v);
  }
  for (const name of REQUIRED) {
    if (!seen.has(name)) ctx.error('missing-param', { name }, model.name.span);
  }
  const dim = params.get('dim');
  const vocab = params.get('vocab');
  let layers = params.get('layers');
  if (layers !== undefined && layers > MAX_LAYERS) {
    const a = assigns.find((x) => x.name.name === 'layers')!;
    ctx.error('too-large', { what: 'layers', value: layers, max: MAX_LAYERS }, a.value.span);
    layers = undefined;
  }
  const normEps = params.get('norm_eps') ?? 1e-5;
  if (dim === undefined || vocab === undefined || layers === undefined) return undefined;

  // No prototype: a mixer named '__proto__' or 'constructor' is a plain entry.
  const mixers: Record<string, MixerSpec> = Object.create(null);
  const declared = new Set<string>();
  for (const m of model.items.filter((i): i is MixerDecl => i.kind === 'Mixer')) {
    if (declared.has(m.name.name) || params.has(m.name.name)) {
      ctx.error('duplicate-name', { name: m.name.name }, m.name.span);
      continue;
    }
    declared.add(m.name.name);
    const checked = checkMixer(m, params, dim, ctx);
    if (checked) mixers[m.name.name] = checked;
  }
  const blocks = model.items.filter((i) => i.kind === 'Block');
  if (blocks.length === 0) {
    ctx.error('missing-block', {}, model.name.span);
    return undefined;
  }
  if (blocks.length > 1) ctx.error('duplicate-name', { name: 'block' }, blocks[1].span);
  const pattern = blocks[0].pattern ? checkPattern(blocks[0].pattern, mixers, declared, ctx) : undefined;
  const block = checkBlock(blocks[0].statements, { ctx, params, mixers, declared, dim, normEps, patterned: blocks[0].pattern !== undefined });
  if (pattern && !JSON.stringify(block).includes(`"mixer":"${PATTERN_SLOT}"`) && ctx.diagnostics.length === 0) {
    ctx.error('bad-block', { message: `the block has a pattern but never calls mixer(...), the layer's mixer from it` }, blocks[0].pattern!.span);
  }
  const schedule = checkSchedule(file.schedules, layers, params, ctx);
  return {
    file: file.path,
    name: model.name.name,
    vocab,
    dim,
    layers,
    head,
    normEps,
    params: Object.fromEntries(params),
    mixers,
    block,
    ...(pattern ? { pattern } : {}),
    schedule,
    knobSpans: Object.fromEntries(model.items.flatMap((m) => (m.kind === 'Mixer' ? [[m.name.name, Object.fromEntries(m.knobs.map((k) => [k.name.name, k.value.span]))]] : []))),
  };
}

/** `pattern [a, b, ...]`: declared mixer names, at least one. */
function checkPattern(list: ListLit, mixers: Readonly<Record<string, MixerSpec>>, declared: ReadonlySet<string>, ctx: Ctx): string[] | undefined {
  if (list.items.length === 0) return ctx.error('bad-block', { message: 'a layer pattern needs at least one mixer: block pattern [a, b, ...]' }, list.span), undefined;
  const names: string[] = [];
  for (const item of list.items) {
    if (item.kind !== 'Name') ctx.error('wrong-type', { what: 'a layer pattern', expected: 'mixer names', found: describeExpr(item) }, item.span);
    else if (!declared.has(item.name)) ctx.error('unknown-name', { name: item.name }, item.span, suggest(item.name, Object.keys(mixers)));
    else names.push(item.name);
  }
  return names.length === list.items.length && names.every((n) => mixers[n]) ? names : undefined;
}

function checkMixer(m: MixerDecl, params: ReadonlyMap<string, number>, dim: number, ctx: Ctx): MixerSpec | undefined {
  const family = familyOfPreset(m.preset.name);
  if (!family) {
    ctx.error('unknown-preset', { name: m.preset.name }, m.preset.span, suggest(m.preset.name, ALL_PRESETS));
    return undefined;
  }
  return family.check(m.name.name, m.preset.name, m.knobs, params, dim, m.name.span, ctx);
}
