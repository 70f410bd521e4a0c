/**
 * Warnings: likely mistakes in a spec that checks (LOOM2101 a mixer no layer uses, LOOM2102 a
 * parameter nothing reads, LOOM3101 a pattern entry no layer reaches). Run only on a spec without
 * errors, so an error's cascade (a misspelt call leaves its mixer unused) is never reported twice.
 * Pure: AST and checked spec in, diagnostics out.
 */
import type { Expr, LoomFile, MixerDecl, ModelDecl, NamedArg } from '../../grammar/ast.ts';
import { diag, type Diagnostic } from '../../grammar/diagnostics.ts';
import type { ModelSpec } from './spec.ts';

/** Model parameters the compiler reads itself (docs/language.md's table): used without a mention. */
const BUILTIN_PARAMS = new Set(['vocab', 'dim', 'layers', 'heads', 'norm_eps', 'head']);

/** Every name an expression mentions: names and callees. */
function mentions(e: Expr | NamedArg, out: Set<string>): Set<string> {
  switch (e.kind) {
    case 'Name':
      out.add(e.name);
      break;
    case 'NamedArg':
      mentions(e.value, out);
      break;
    case 'Call':
      out.add(e.callee.name);
      for (const a of e.args) mentions(a, out);
      break;
    case 'Binary':
      mentions(e.left, out);
      mentions(e.right, out);
      break;
    case 'Unary':
      mentions(e.operand, out);
      break;
    case 'Then':
      for (const s of e.stages) mentions(s, out);
      break;
    case 'List':
      for (const i of e.items) mentions(i, out);
      break;
  }
  return out;
}

export function lintModel(file: LoomFile, model: ModelDecl, spec: ModelSpec): Diagnostic[] {
  const where = (span: Expr['span']) => ({ file: file.path, span });
  const out: Diagnostic[] = [];
  const block = model.items.find((i) => i.kind === 'Block');
  const pattern = block?.pattern?.items ?? [];
  // Entries past the layer count: layer i takes entry i mod length, so entry j >= layers is never taken.
  pattern.forEach((item, j) => {
    if (j < spec.layers || item.kind !== 'Name') return;
    out.push(diag('unreached-pattern-entry', { index: j, name: item.name, layers: spec.layers, length: pattern.length }, where(item.span)));
  });
  const used = new Set<string>();
  for (const s of block?.statements ?? []) mentions(s.value, used);
  for (const item of pattern) mentions(item, used);
  const mixers = model.items.filter((i): i is MixerDecl => i.kind === 'Mixer');
  for (const m of mixers) if (!used.has(m.name.name)) out.push(diag('unused-mixer', { name: m.name.name }, where(m.name.span)));
  // A parameter is read by a later parameter, a knob, a block argument or the schedule section.
  for (const item of model.items) {
    if (item.kind === 'Assign') mentions(item.value, used);
    if (item.kind === 'Mixer') for (const k of item.knobs) mentions(k.value, used);
  }
  for (const e of file.schedules.flatMap((s) => s.entries)) {
    mentions(e.value, used);
    if (e.range) [e.range.first, e.range.last].forEach((x) => mentions(x, used));
  }
  for (const item of model.items) {
    if (item.kind !== 'Assign' || BUILTIN_PARAMS.has(item.name.name) || used.has(item.name.name)) continue;
    out.push(diag('unused-param', { name: item.name.name }, where(item.name.span)));
  }
  return out.sort((a, b) => a.span!.start - b.span!.start); // source order
}
