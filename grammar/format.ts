/**
 * The canonical formatter behind `loom fmt`: a file is printed from its AST, and its comments
 * (kept by the lexer, with spans) are put back around the printed lines.
 *
 * The canonical form, which `docs/language.md` ("Formatting") documents for users:
 * - two spaces of indentation per level, one item (parameter, mixer, knob, statement, schedule
 *   entry) per line, no line wrapping; a body with nothing in it prints as `{}` and a mixer with
 *   no knobs without braces;
 * - `name = value` with single spaces, except that the `=` of consecutive assignments at the same
 *   level (no blank line, comment line or other item between) is aligned one space after the
 *   longest left side: a schedule entry's left side includes its `[a..b]`;
 * - expressions: single spaces around binary operators and `then`, `f(x, hidden = 3)`,
 *   `[a, b]`, `layers[0..3]`, unary `-` attached; parentheses only where precedence needs them
 *   (`then` < `+ -` < `* / round` < unary `-`; operators are left-associative, so a right
 *   operand of the same precedence keeps its parentheses); numbers exactly as written;
 * - one blank line after each top-level declaration (consecutive imports stay together unless
 *   separated by a blank line); inside a body, a blank line between two items is kept (several
 *   collapse into one), but never right after `{` or right before `}`;
 * - comments stay in order: a trailing comment stays on its line (trailing comments of
 *   consecutive lines are aligned two spaces after the longest of those lines), an own-line
 *   comment stays before the item it precedes, at that item's indentation, and a comment at the
 *   end of a body stays there, indented as the body. A comment inside a statement that the
 *   formatter puts on one line moves to its own line just before it.
 *
 * A file with syntax errors is not formatted: its diagnostics are returned instead.
 */
import type * as A from './ast.ts';
import { LoomInternalError } from './diagnostics.ts';
import type { Diagnostic } from './diagnostics.ts';
import { parse } from './index.ts';
import { LineIndex } from './spans.ts';

const INDENT = '  ';
/** Spaces between the longest code line of a run and its trailing comments. */
const COMMENT_GAP = 2;

// Binding strength of each expression form; a child weaker than its slot needs parentheses.
const THEN = 1;
const ADDITIVE = 2;
const UNARY = 4;
const PRIMARY = 5;
const BINARY_PREC: Record<A.BinaryOp, number> = { '+': ADDITIVE, '-': ADDITIVE, '*': 3, '/': 3, round: 3 };

export interface FormatResult {
  /** The formatted text; undefined when the file has syntax errors. */
  text?: string;
  diagnostics: Diagnostic[];
}

/** Formats a `.loom` file; never changes what it parses to (checked: a violation is a bug). */
export function format(text: string, path: string): FormatResult {
  const parsed = parse(text, path);
  if (parsed.diagnostics.length > 0) return { diagnostics: parsed.diagnostics };
  const lines = new Layout(text).file(parsed.file);
  const out = render(lines, parsed.file.comments, new LineIndex(text));
  verify(parsed.file, out, path);
  return { text: out, diagnostics: [] };
}

/** An expression in canonical form, with the fewest parentheses that keep its tree. */
export function formatExpr(e: A.Expr): string {
  return expr(e, THEN);
}

function expr(e: A.Expr, need: number): string {
  const [text, prec] = bare(e);
  return prec < need ? `(${text})` : text;
}

/** An expression's text without outer parentheses, and its binding strength. */
function bare(e: A.Expr): [string, number] {
  switch (e.kind) {
    case 'Number':
      return [e.text, PRIMARY];
    case 'Name':
      return [e.name, PRIMARY];
    case 'Call':
      return [`${e.callee.name}(${e.args.map(arg).join(', ')})`, PRIMARY];
    case 'List':
      return [`[${e.items.map(formatExpr).join(', ')}]`, PRIMARY];
    case 'Unary':
      return [`-${expr(e.operand, UNARY)}`, UNARY];
    case 'Binary': {
      const p = BINARY_PREC[e.op];
      return [`${expr(e.left, p)} ${e.op} ${expr(e.right, p + 1)}`, p];
    }
    case 'Then':
      return [e.stages.map((s) => expr(s, ADDITIVE)).join(' then '), THEN];
  }
}

function arg(a: A.Expr | A.NamedArg): string {
  return a.kind === 'NamedArg' ? `${a.name.name} = ${formatExpr(a.value)}` : formatExpr(a);
}

/** One printed line of code, with the source range it came from. */
interface Line {
  depth: number;
  /** The line's text; for an assignment, `lhs` and `rhs` instead (the `=` is aligned later). */
  text: string;
  lhs?: string;
  rhs?: string;
  /** `open` ends with `{`, `close` is `}`: no blank line after the one or before the other. */
  role: 'open' | 'close' | 'item';
  /** Offset of its first token, and just past its last. */
  start: number;
  end: number;
  /** Last line of a top-level declaration that must be followed by a blank line. */
  blankAfter?: boolean;
}

type TopDecl = A.ImportDecl | A.ModelDecl | A.ScheduleDecl;

/** The code lines of a file, in source order. */
class Layout {
  private readonly lines: Line[] = [];
  private comments: A.Comment[] = [];

  constructor(private readonly text: string) {}

  file(f: A.LoomFile): Line[] {
    this.comments = f.comments;
    const decls: TopDecl[] = [...(f.imports ?? []), ...f.models, ...f.schedules];
    decls.sort((a, b) => a.span.start - b.span.start);
    decls.forEach((d, i) => {
      if (d.kind === 'Import') this.item(0, `import ${quote(d.path)}`, d.span);
      else if (d.kind === 'Model') this.braced(0, `model ${d.name.name}`, d.span, d.name.span.end, () => this.modelItems(d.items));
      else this.braced(0, 'schedule', d.span, d.span.start, () => this.scheduleEntries(d.entries));
      const next = decls[i + 1];
      this.lines[this.lines.length - 1].blankAfter = !(d.kind === 'Import' && next?.kind === 'Import');
    });
    return this.lines;
  }

  private modelItems(items: A.ModelItem[]): boolean {
    for (const it of items) {
      if (it.kind === 'Assign') this.assign(1, it);
      else if (it.kind === 'Block') {
        const head = it.pattern ? `block pattern ${formatExpr(it.pattern)}` : 'block';
        this.braced(1, head, it.span, it.pattern?.span.end ?? it.span.start, () => this.assigns(2, it.statements));
      }
      else this.mixer(it);
    }
    return items.length === 0;
  }

  private mixer(m: A.MixerDecl): void {
    const head = `mixer ${m.name.name} = ${m.preset.name}`;
    const braces = this.text[m.span.end - 1] === '}';
    if (!braces || (m.knobs.length === 0 && !this.commentsIn(m.preset.span.end, m.span.end))) {
      this.item(1, head, m.span);
      return;
    }
    this.braced(1, head, m.span, m.preset.span.end, () => this.assigns(2, m.knobs));
  }

  private assigns(depth: number, list: A.Assign[]): boolean {
    for (const a of list) this.assign(depth, a);
    return list.length === 0;
  }

  private assign(depth: number, a: A.Assign): void {
    const { start, end } = a.span;
    this.lines.push({ depth, text: '', lhs: a.name.name, rhs: formatExpr(a.value), role: 'item', start, end });
  }

  private scheduleEntries(entries: A.ScheduleEntry[]): boolean {
    for (const e of entries) {
      const r = e.range;
      const range = !r ? '' : r.first === r.last ? `[${formatExpr(r.first)}]` : `[${formatExpr(r.first)}..${formatExpr(r.last)}]`;
      const { start, end } = e.span;
      this.lines.push({ depth: 1, text: '', lhs: e.target.name + range, rhs: formatExpr(e.value), role: 'item', start, end });
    }
    return entries.length === 0;
  }

  private item(depth: number, text: string, span: A.Span): void {
    this.lines.push({ depth, text, role: 'item', start: span.start, end: span.end });
  }

  /**
   * `head { ... }` spanning `span` (which ends at `}`), whose `{` is the first token after offset
   * `from`; `body` emits the items and says whether there were none.
   */
  private braced(depth: number, head: string, span: A.Span, from: number, body: () => boolean): void {
    const open = this.braceAfter(from);
    const close = span.end - 1;
    const first = this.lines.length;
    this.lines.push({ depth, text: `${head} {`, role: 'open', start: span.start, end: open + 1 });
    const empty = body();
    if (empty && !this.commentsIn(open, close)) {
      this.lines.splice(first, 1, { depth, text: `${head} {}`, role: 'item', start: span.start, end: span.end });
      return;
    }
    this.lines.push({ depth, text: '}', role: 'close', start: close, end: close + 1 });
  }

  /** Offset of the first `{` at or after `from` that is not inside a comment. */
  private braceAfter(from: number): number {
    let at = from;
    for (const c of this.comments) {
      if (c.span.end <= at) continue;
      const brace = this.text.indexOf('{', at);
      if (brace < c.span.start) return brace;
      at = c.span.end;
    }
    return this.text.indexOf('{', at);
  }

  private commentsIn(start: number, end: number): boolean {
    return this.comments.some((c) => c.span.start > start && c.span.start < end);
  }
}

function quote(path: string): string {
  return `"${path.replace(/[\\"]/g, '\\$&')}"`;
}

/** A line of output: code, or a comment on a line of its own. */
interface Entry {
  depth: number;
  line?: Line;
  comment?: string;
  /** Source lines (1-based) of its first and last token. */
  first: number;
  last: number;
  trailing?: string;
  blankBefore?: boolean;
  text?: string;
}

/** Puts the comments back among the code lines, in source order. */
function attach(lines: Line[], comments: A.Comment[], index: LineIndex): Entry[] {
  const lineOf = (offset: number) => index.position(offset).line;
  const entries: Entry[] = lines.map((l) => ({ depth: l.depth, line: l, first: lineOf(l.start), last: lineOf(l.end - 1) }));
  const before = new Map<number, Entry[]>();
  const tail: Entry[] = [];
  let at = -1;
  for (const c of comments) {
    while (at + 1 < lines.length && lines[at + 1].start <= c.span.start) at++;
    const own = index.text.slice(c.span.start - c.span.col + 1, c.span.start).trim() === '';
    const host = entries[at];
    const text = c.text.trimEnd();
    if (host && !own && c.span.start >= lines[at].end && host.last === c.span.line) {
      host.trailing = text;
      continue;
    }
    // Inside the host's range: before it; else before the next line, or at the end of the file.
    const target = host && c.span.start < lines[at].end ? at : at + 1;
    const next = entries[target];
    const depth = !next ? 0 : next.line?.role === 'close' ? next.depth + 1 : next.depth;
    // A comment moved out of a statement counts as being on the statement's first line.
    const line = target === at ? entries[at].first : c.span.line;
    const entry: Entry = { depth, comment: text, first: line, last: line };
    if (next) before.set(target, [...(before.get(target) ?? []), entry]);
    else tail.push(entry);
  }
  return [...entries.flatMap((e, i) => [...(before.get(i) ?? []), e]), ...tail];
}

/** The formatted text of the code lines and comments. */
function render(lines: Line[], comments: A.Comment[], index: LineIndex): string {
  const entries = attach(lines, comments, index);
  entries.forEach((e, i) => {
    const prev = entries[i - 1];
    if (!prev) return;
    if (prev.line?.blankAfter) e.blankBefore = true;
    else if (prev.line?.role === 'open' || e.line?.role === 'close') e.blankBefore = false;
    else e.blankBefore = e.first - prev.last > 1;
  });
  alignAssignments(entries);
  alignComments(entries);
  const out = entries.flatMap((e) => (e.blankBefore ? ['', e.text ?? ''] : [e.text ?? '']));
  return out.length ? `${out.join('\n')}\n` : '';
}

/** Runs of consecutive entries that `member` accepts, broken by blank lines. */
function runs(entries: Entry[], member: (e: Entry, run: Entry[]) => boolean): Entry[][] {
  const out: Entry[][] = [];
  let run: Entry[] = [];
  for (const e of entries) {
    if (run.length && (e.blankBefore || !member(e, run))) {
      out.push(run);
      run = [];
    }
    if (member(e, run)) run.push(e);
  }
  if (run.length) out.push(run);
  return out;
}

function alignAssignments(entries: Entry[]): void {
  for (const e of entries) e.text = INDENT.repeat(e.depth) + (e.comment ?? e.line?.text ?? '');
  const assignment = (e: Entry, run: Entry[]) => e.line?.lhs !== undefined && (!run.length || run[0].depth === e.depth);
  for (const run of runs(entries, assignment)) {
    const width = Math.max(...run.map((e) => e.line?.lhs?.length ?? 0));
    for (const e of run) e.text = `${INDENT.repeat(e.depth)}${e.line?.lhs?.padEnd(width)} = ${e.line?.rhs}`;
  }
}

function alignComments(entries: Entry[]): void {
  for (const run of runs(entries, (e) => e.trailing !== undefined)) {
    const column = Math.max(...run.map((e) => e.text?.length ?? 0)) + COMMENT_GAP;
    for (const e of run) e.text = `${e.text?.padEnd(column)}${e.trailing}`;
  }
}

/** The formatted text must parse to the same AST (spans aside) and keep every comment in order. */
function verify(before: A.LoomFile, text: string, path: string): void {
  const after = parse(text, path);
  const same = syntaxKey(before) === syntaxKey(after.file);
  if (after.diagnostics.length === 0 && same) return;
  throw new LoomInternalError('format', `formatting ${path} changed its meaning or its comments`, text);
}

/** The AST as JSON without spans, comments reduced to their trimmed text. */
export function syntaxKey(file: A.LoomFile): string {
  const comments = file.comments.map((c) => c.text.trimEnd());
  return JSON.stringify({ ...file, comments }, (key, value: unknown) => (key === 'span' ? undefined : value));
}
