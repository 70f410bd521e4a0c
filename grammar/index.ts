/**
 * The grammar's one entry point: `.loom` text to a `LoomFile` AST plus syntax diagnostics.
 *
 * Never throws. Lexical errors are LOOM1001/1003/1004, syntax errors LOOM1002 ("expected X but
 * found Y", every one of the file thanks to recovery), over-deep nesting LOOM1006. Names are not
 * resolved here: unknown names are the checker's to report.
 */
import { EOF } from 'chevrotain';
import type { IRecognitionException, IToken } from 'chevrotain';
import type { LoomFile, Span } from './ast.ts';
import type { FileCstNode } from './cst-types.ts';
import { cstToAst } from './cst-to-ast.ts';
import { guardNesting, MAX_NESTING } from './depth.ts';
import { diag } from './diagnostics.ts';
import type { Diagnostic } from './diagnostics.ts';
import { lex } from './lexer.ts';
import { decodeParserMessage } from './parser-messages.ts';
import { loomParser } from './parser.ts';
import { LineIndex } from './spans.ts';

/** Tokens after a reported problem within which a parser error counts as its cascade. */
const CASCADE = 1;

export interface ParseResult {
  file: LoomFile;
  diagnostics: Diagnostic[];
}

export function parse(text: string, path: string): ParseResult {
  const lines = new LineIndex(text);
  const lexed = lex(lines, path);
  const diagnostics = [...lexed.diagnostics];
  const guarded = guardNesting(lexed.tokens, text.length);
  for (const cut of guarded.excisions) {
    const span = lines.span(cut.first.startOffset, cut.last.startOffset + cut.last.image.length);
    diagnostics.push(diag('too-deep', { max: MAX_NESTING }, { file: path, span }));
  }

  loomParser.input = guarded.tokens;
  const cst = loomParser.file() as FileCstNode;
  const errors = loomParser.errors;
  loomParser.input = [];
  // The parser trips over the gap a cut region or a bad character leaves, and over an unterminated
  // string: those are reported already.
  const lexical = lexed.diagnostics.flatMap((d) => {
    if (!d.span) return [];
    return d.code === 1001 ? [d.span.end] : d.code === 1003 ? [d.span.start] : [];
  });
  const gaps = [...guarded.excisions.map((c) => c.resumeOffset), ...lexical];
  diagnostics.push(...syntaxDiagnostics(errors, gaps, lines, path, guarded.tokens));

  const cuts = guarded.excisions.map((c) => c.resumeOffset);
  const file = cstToAst(cst, { file: path, lines, comments: lexed.comments, cuts, diagnostics });
  return { file, diagnostics: sortByPosition(diagnostics) };
}

/**
 * LOOM1002 for each parser error, except the cascade right after a reported problem: an error
 * within `CASCADE` tokens after another parser error or after a gap (`gaps`: offsets where tokens
 * are missing or broken for a reason already reported) is dropped. Recovery guesses; its second
 * guess at the same spot is rarely news.
 */
function syntaxDiagnostics(
  errors: IRecognitionException[],
  gaps: number[],
  lines: LineIndex,
  path: string,
  tokens: IToken[],
): Diagnostic[] {
  // Positions are token indices; the end of the file is `tokens.length`.
  const indexAfter = (offset: number) => firstAtOrAbove(tokens.length, (i) => tokens[i].startOffset >= offset);
  const holes = gaps.map(indexAfter).sort((a, b) => a - b);
  const afterHole = (index: number) => {
    const next = firstAtOrAbove(holes.length, (i) => holes[i] > index);
    return next > 0 && index - holes[next - 1] <= CASCADE;
  };
  let lastIndex = -Infinity;
  const out: Diagnostic[] = [];
  for (const e of errors) {
    const atEnd = e.token.tokenType === EOF || !Number.isFinite(e.token.startOffset);
    const index = atEnd ? tokens.length : indexAfter(e.token.startOffset);
    const cascade = index - lastIndex <= CASCADE || afterHole(index);
    lastIndex = index;
    if (cascade) continue;
    const span = atEnd ? endSpan(lines, tokens) : lines.span(e.token.startOffset, e.token.startOffset + e.token.image.length);
    out.push(diag('unexpected-token', { ...decodeParserMessage(e.message) }, { file: path, span }));
  }
  return out;
}

/** The least i in [0, n) with `above(i)` (which must be monotone), or n. */
function firstAtOrAbove(n: number, above: (i: number) => boolean): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (above(mid)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** At the end of the file: the empty span just after the last token. */
function endSpan(lines: LineIndex, tokens: IToken[]): Span {
  const last = tokens[tokens.length - 1];
  const end = last ? last.startOffset + last.image.length : 0;
  return lines.span(end, end);
}

/** Diagnostics in source order (stable for equal positions). */
function sortByPosition(diagnostics: Diagnostic[]): Diagnostic[] {
  return diagnostics
    .map((d, i) => ({ d, i }))
    .sort((a, b) => (a.d.span?.start ?? 0) - (b.d.span?.start ?? 0) || a.i - b.i)
    .map(({ d }) => d);
}
