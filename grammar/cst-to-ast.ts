/**
 * CST to AST: a chevrotain CST visitor that builds the nodes of `ast.ts` with their spans.
 *
 * Recovery leaves broken pieces in the CST (nodes flagged `recoveredNode`, tokens
 * `isInsertedInRecovery`). A statement (assignment, knob, block statement, schedule entry) that
 * contains one is left out of the AST; its syntax error is already reported. A declaration keeps
 * its intact statements when only its closing brace is missing, so a partial file still gives
 * what was parsed. A parenthesized expression's span includes its parentheses.
 */
import { tokenMatcher } from 'chevrotain';
import type { CstNode, IToken } from 'chevrotain';
import type * as A from './ast.ts';
import type * as C from './cst-types.ts';
import { diag } from './diagnostics.ts';
import type { Diagnostic } from './diagnostics.ts';
import { ExprBuilder, MAX_AST_DEPTH, token, usable } from './cst-to-ast-expr.ts';
import { joinSpans } from './spans.ts';
import type { LineIndex } from './spans.ts';
import { ValidString } from './tokens.ts';

export interface BuildContext {
  file: string;
  lines: LineIndex;
  comments: IToken[];
  /** Offsets where the nesting guard cut tokens out: statements over them are left out. */
  cuts: number[];
  diagnostics: Diagnostic[];
}

/** Builds the AST of one file; the statements it leaves out are in `ctx.diagnostics` already. */
export function cstToAst(cst: C.FileCstNode, ctx: BuildContext): A.LoomFile {
  return new AstBuilder(ctx).file(cst.children);
}

class AstBuilder extends ExprBuilder implements C.LoomCstVisitor<void, unknown> {
  constructor(private readonly ctx: BuildContext) {
    super(ctx.lines);
    this.validateVisitor();
  }

  file(c: C.FileCstChildren): A.LoomFile {
    const pick = <N extends CstNode, R>(nodes: N[] | undefined, build: (n: N) => R | undefined): R[] =>
      (nodes ?? []).filter(buildable).flatMap((n) => build(n) ?? []);
    return {
      kind: 'File',
      path: this.ctx.file,
      models: pick(c.modelDecl, (n) => this.modelDecl(n.children)),
      schedules: pick(c.scheduleDecl, (n) => this.scheduleDecl(n.children)),
      comments: this.ctx.comments.map((t) => ({ text: t.image, span: this.tokenSpan(t) })),
      imports: pick(c.importDecl, (n) => this.importDecl(n.children)),
      span: this.ctx.lines.span(0, this.ctx.lines.text.length),
    };
  }

  importDecl(c: C.ImportDeclCstChildren): A.ImportDecl | undefined {
    const keyword = token(c.Import);
    const str = token(c.StringLit);
    if (!keyword || !str) return undefined;
    const raw = str.image.slice(1, tokenMatcher(str, ValidString) ? -1 : undefined);
    const path = raw.replace(/\\(.)/g, '$1');
    return { kind: 'Import', path, span: joinSpans(this.tokenSpan(keyword), this.tokenSpan(str)) };
  }

  modelDecl(c: C.ModelDeclCstChildren): A.ModelDecl | undefined {
    const keyword = token(c.Model);
    const name = this.ident(c.Identifier);
    if (!keyword || !name) return undefined;
    const items = (c.modelItem ?? []).filter(buildable).flatMap((n) => this.modelItem(n.children) ?? []);
    const span = this.declSpan(keyword, [name.span, ...items.map((i) => i.span)], c.RBrace);
    return { kind: 'Model', name, items, span };
  }

  modelItem(c: C.ModelItemCstChildren): A.ModelItem | undefined {
    const mixer = c.mixerDecl?.[0];
    const block = c.blockDecl?.[0];
    if (mixer) return this.mixerDecl(mixer.children);
    if (block) return this.blockDecl(block.children);
    return usable(c.assign).map((n) => this.assign(n.children))[0];
  }

  mixerDecl(c: C.MixerDeclCstChildren): A.MixerDecl | undefined {
    const keyword = token(c.Mixer);
    const name = this.ident(c.Identifier);
    const preset = this.ident(c.Identifier, 1);
    if (!keyword || !name || !preset || !token(c.Equals)) return undefined;
    const knobs = this.statements(c.assign);
    const tail = c.LBrace ? c.RBrace : [];
    const span = this.declSpan(keyword, [preset.span, ...knobs.map((k) => k.span)], tail);
    return { kind: 'Mixer', name, preset, knobs, span };
  }

  blockDecl(c: C.BlockDeclCstChildren): A.BlockDecl | undefined {
    const keyword = token(c.Block);
    if (!keyword || !token(c.LBrace)) return undefined;
    const pattern = c.list ? this.list(c.list[0].children) : undefined;
    if (c.Pattern && pattern?.kind !== 'List') return undefined;
    const statements = this.statements(c.assign);
    const span = this.declSpan(keyword, statements.map((s) => s.span), c.RBrace);
    return pattern?.kind === 'List' ? { kind: 'Block', pattern, statements, span } : { kind: 'Block', statements, span };
  }

  assign(c: C.AssignCstChildren): A.Assign | undefined {
    const name = this.ident(c.Identifier);
    const value = this.exprOf(c.expr?.[0]);
    if (!name || !token(c.Equals) || !value) return undefined;
    const assign: A.Assign = { kind: 'Assign', name, value, span: joinSpans(name.span, value.span) };
    return this.checked(assign, [value]);
  }

  scheduleDecl(c: C.ScheduleDeclCstChildren): A.ScheduleDecl | undefined {
    const keyword = token(c.Schedule);
    if (!keyword || !token(c.LBrace)) return undefined;
    const entries = usable(c.scheduleEntry).flatMap((n) => this.scheduleEntry(n.children) ?? []);
    const span = this.declSpan(keyword, entries.map((e) => e.span), c.RBrace);
    return { kind: 'Schedule', entries, span };
  }

  scheduleEntry(c: C.ScheduleEntryCstChildren): A.ScheduleEntry | undefined {
    const target = this.ident(c.Identifier);
    const exprs = c.expr ?? [];
    const value = this.exprOf(exprs[exprs.length - 1]);
    if (!target || !token(c.Equals) || !value) return undefined;
    const entry: A.ScheduleEntry = { kind: 'ScheduleEntry', target, value, span: joinSpans(target.span, value.span) };
    if (!c.LBracket) return this.checked(entry, [value]);
    const open = token(c.LBracket);
    const close = token(c.RBracket);
    const first = this.exprOf(exprs[0]);
    const last = c.DotDot ? this.exprOf(exprs[1]) : first;
    const expected = c.DotDot ? 3 : 2;
    if (!open || !close || !first || !last || exprs.length !== expected || (c.DotDot && !token(c.DotDot))) {
      return undefined;
    }
    entry.range = { first, last, span: joinSpans(this.tokenSpan(open), this.tokenSpan(close)) };
    return this.checked(entry, [first, last, value]);
  }

  /** The intact assignments of a `{ ... }` body. */
  private statements(nodes: C.AssignCstNode[] | undefined): A.Assign[] {
    return usable(nodes).flatMap((n) => this.assign(n.children) ?? []);
  }

  /** A statement, unless the nesting guard cut tokens inside it or an expression is too deep. */
  private checked<S extends { span: A.Span }>(statement: S, exprs: A.Expr[]): S | undefined {
    const { start, end } = statement.span;
    if (this.ctx.cuts.some((offset) => offset > start && offset <= end)) return undefined;
    const deep = exprs.find((e) => this.depthOf(e) > MAX_AST_DEPTH);
    if (!deep) return statement;
    const where = { file: this.ctx.file, span: deep.span };
    this.ctx.diagnostics.push(diag('too-deep', { max: MAX_AST_DEPTH }, where));
    return undefined;
  }

  /** From the keyword to the closing brace, or to the last piece parsed when it is missing. */
  private declSpan(keyword: IToken, parts: A.Span[], close: IToken[] | undefined): A.Span {
    const end = token(close);
    const last = end ? this.tokenSpan(end) : parts.reduce((a, b) => (b.end > a.end ? b : a), this.tokenSpan(keyword));
    return joinSpans(this.tokenSpan(keyword), last);
  }

  private ident(tokens: IToken[] | undefined, index = 0): A.Ident | undefined {
    const t = token(tokens, index);
    return t && { kind: 'Ident', name: t.image, span: this.tokenSpan(t) };
  }
}

/**
 * Whether to build a node flagged by recovery: declarations yes (their intact statements are
 * kept), anything else no.
 */
function buildable(node: CstNode): boolean {
  return !node.recoveredNode || ['modelItem', 'modelDecl', 'mixerDecl', 'blockDecl', 'scheduleDecl'].includes(node.name);
}
