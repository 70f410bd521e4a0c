/**
 * The lexer: text to tokens plus the comments group, and the lexical diagnostics (LOOM1001
 * unexpected character, LOOM1003 unterminated string, LOOM1004 malformed number).
 */
import { Lexer, tokenMatcher } from 'chevrotain';
import type { IToken } from 'chevrotain';
import { diag } from './diagnostics.ts';
import type { Diagnostic } from './diagnostics.ts';
import type { LineIndex } from './spans.ts';
import { allTokens, MalformedNumber, UnterminatedString } from './tokens.ts';

/** One lexer for every file (chevrotain lexers are stateless between calls). */
export const loomLexer = new Lexer(allTokens, {
  positionTracking: 'onlyOffset',
  ensureOptimizations: true,
});

export interface LexResult {
  tokens: IToken[];
  comments: IToken[];
  diagnostics: Diagnostic[];
}

/** Tokenizes `lines.text`; never throws. */
export function lex(lines: LineIndex, file: string): LexResult {
  const result = loomLexer.tokenize(lines.text);
  const diagnostics: Diagnostic[] = result.errors.map((e) => {
    const span = lines.span(e.offset, e.offset + Math.max(1, e.length));
    return diag('unexpected-character', { char: showChar(lines.text, e.offset) }, { file, span });
  });
  for (const t of result.tokens) {
    const span = lines.span(t.startOffset, t.startOffset + t.image.length);
    if (tokenMatcher(t, MalformedNumber)) diagnostics.push(diag('bad-number', { text: t.image }, { file, span }));
    if (tokenMatcher(t, UnterminatedString)) diagnostics.push(diag('unterminated-string', {}, { file, span }));
  }
  return { tokens: result.tokens, comments: result.groups['comments'] ?? [], diagnostics };
}

/** The character at `offset` as a message shows it: itself if printable, else `\u{..}`. */
function showChar(text: string, offset: number): string {
  const code = text.codePointAt(offset);
  if (code === undefined) return '';
  const ch = String.fromCodePoint(code);
  return /^[\p{L}\p{N}\p{P}\p{S}]$/u.test(ch) ? ch : `\\u{${code.toString(16)}}`;
}
