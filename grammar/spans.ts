/**
 * Offsets to spans: a table of line starts built once per file, so every span (from a token, a
 * lexer error or the end of the file) gets its 1-based line and column the same way.
 */
import type { Span } from './ast.ts';

/** Line breaks as the lexer and the renderer both count them: `\r\n`, `\n` or a lone `\r`. */
export const LINE_BREAK = /\r\n|\r|\n/g;

export class LineIndex {
  /** Offset of the first character of each line. */
  private readonly starts: number[] = [0];

  constructor(readonly text: string) {
    for (const m of text.matchAll(LINE_BREAK)) this.starts.push(m.index + m[0].length);
  }

  /** 1-based line and column of an offset (clamped to the text). */
  position(offset: number): { line: number; col: number } {
    const at = Math.max(0, Math.min(offset, this.text.length));
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid] <= at) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, col: at - this.starts[lo] + 1 };
  }

  /** The span `[start, end)`, with the line and column of `start`. */
  span(start: number, end: number): Span {
    const s = Math.max(0, Math.min(start, this.text.length));
    const e = Math.max(s, Math.min(end, this.text.length));
    return { start: s, end: e, ...this.position(s) };
  }
}

/** The span from the start of `first` to the end of `last`. */
export function joinSpans(first: Span, last: Span): Span {
  return { start: first.start, end: Math.max(first.end, last.end), line: first.line, col: first.col };
}
