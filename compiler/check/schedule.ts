/** Checks the `schedule { ... }` section. */
import type { Expr, ScheduleDecl } from '../../grammar/ast.ts';
import { suggest } from '../../grammar/suggest.ts';
import { evalDim, evalNumber, type Ctx } from './eval.ts';
import type { ScheduleChoice, ScheduleSpec } from './spec.ts';

const SCHEDULES = ['auto', 'parallel', 'chunkwise', 'recurrent'] as const;
const TARGETS = ['default', 'prefill', 'decode', 'layers'] as const;

/** Parses `auto`, `parallel`, `recurrent`, `chunkwise`, `chunkwise(64)` (also used by the CLI). */
export function scheduleChoice(e: Expr, env: ReadonlyMap<string, number>, ctx: Ctx): ScheduleChoice | undefined {
  const bad = (found: string, suggestion?: string) => {
    ctx.error('bad-schedule', { value: found, expected: 'auto, parallel, chunkwise, chunkwise(C), recurrent' }, e.span, suggestion);
    return undefined;
  };
  if (e.kind === 'Name') {
    if (!(SCHEDULES as readonly string[]).includes(e.name)) return bad(e.name, suggest(e.name, SCHEDULES));
    return { kind: e.name as ScheduleChoice['kind'] } as ScheduleChoice;
  }
  if (e.kind === 'Call' && e.callee.name === 'chunkwise') {
    if (e.args.length !== 1 || e.args[0].kind === 'NamedArg') {
      ctx.error('bad-arity', { name: 'chunkwise', expected: 1, found: e.args.length }, e.span);
      return undefined;
    }
    const chunk = evalDim(e.args[0], env, ctx, 'chunk size');
    return chunk === undefined ? undefined : { kind: 'chunkwise', chunk };
  }
  return bad(e.kind === 'Call' ? `${e.callee.name}(...)` : e.kind.toLowerCase());
}

export function checkSchedule(decls: readonly ScheduleDecl[], layers: number, env: ReadonlyMap<string, number>, ctx: Ctx): ScheduleSpec {
  const spec: ScheduleSpec = { default: { kind: 'auto' }, layers: [] };
  for (const entry of decls.flatMap((d) => d.entries)) {
    const target = entry.target.name;
    if (!(TARGETS as readonly string[]).includes(target)) {
      ctx.error('unknown-schedule-target', { name: target }, entry.target.span, suggest(target, TARGETS));
      continue;
    }
    const choice = scheduleChoice(entry.value, env, ctx);
    if (!choice) continue;
    if (target === 'layers') {
      if (!entry.range) {
        ctx.error('wrong-type', { what: 'layers', expected: 'a range like layers[0..3]', found: 'no range' }, entry.target.span);
        continue;
      }
      const first = evalNumber(entry.range.first, env, ctx, 'layer');
      const last = evalNumber(entry.range.last, env, ctx, 'layer');
      if (first === undefined || last === undefined) continue;
      const outOfRange = [first, last].find((l) => !Number.isInteger(l) || l < 0 || l >= layers);
      if (outOfRange !== undefined) {
        ctx.error('layer-out-of-range', { layer: outOfRange, layers, last: layers - 1 }, entry.range.span);
        continue;
      }
      if (last < first) {
        ctx.error('layer-out-of-range', { layer: `${first}..${last}`, layers, last: layers - 1 }, entry.range.span);
        continue;
      }
      spec.layers.push({ first, last, choice, span: entry.span });
    } else {
      if (entry.range) ctx.error('wrong-type', { what: target, expected: 'no layer range', found: 'a range' }, entry.range.span);
      spec[target as 'default' | 'prefill' | 'decode'] = choice;
      spec.spans = { ...spec.spans, [target]: entry.span };
    }
  }
  return spec;
}
