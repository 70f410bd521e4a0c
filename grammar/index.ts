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
  // The parser trips over the gap a cut region or a bad character leaves: that is reported already.
  const badChars = lexed.diagnostics.flatMap((d) => (d.code === 1001 && d.span ? [d.span.end] : []));
  const gaps = [...guarded.excisions.map((c) => c.resumeOffset), ...badChars];
  diagnostics.push(...syntaxDiagnostics(errors, gaps, lines, path, guarded.tokens));

  const cuts = guarded.excisions.map((c) => c.resumeOffset);
  const file = cstToAst(cst, { file: path, lines, comments: lexed.comments, cuts, diagnostics });
  return { file, diagnostics: sortByPosition(diagnostics) };
}

/**
 * LOOM1002 for each parser error, except one at a gap (`gaps`: offsets where tokens are missing
 * for a reason already reported), and the cascade a recovery causes at the very next token
 * (TypeScript likewise reports one error per spot).
 */
function syntaxDiagnostics(
  errors: IRecognitionException[],
  gaps: number[],
  lines: LineIndex,
  path: string,
  tokens: IToken[],
): Diagnostic[] {
  // Positions are token indices; the end of the file is `tokens.length`.
  const indexAfter = (offset: number) => {
    let lo = 0;
    let hi = tokens.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (tokens[mid].startOffset < offset) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  const holes = new Set(gaps.map(indexAfter));
  let lastIndex = -Infinity;
  const out: Diagnostic[] = [];
  for (const e of errors) {
    const atEnd = e.token.tokenType === EOF || !Number.isFinite(e.token.startOffset);
    const index = atEnd ? tokens.length : indexAfter(e.token.startOffset);
    if (holes.has(index) || index - lastIndex <= 1) continue;
    lastIndex = index;
    const span = atEnd ? endSpan(lines, tokens) : lines.span(e.token.startOffset, e.token.startOffset + e.token.image.length);
    out.push(diag('unexpected-token', { ...decodeParserMessage(e.message) }, { file: path, span }));
  }
  return out;
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
