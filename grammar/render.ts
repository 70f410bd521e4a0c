/**
 * Diagnostics to text, in the format of TypeScript's error baselines:
 *
 * ```
 * models/x.loom(3,9): error LOOM1002: expected '=' but found number '12'
 *    3 |   vocab 12
 *      |         ^^
 *   note: ...
 * ```
 *
 * Sorted by file, line and column; diagnostics about no file come first. After the first
 * `MAX_RENDERED` (errors before warnings), the rest are counted, not shown (`too many errors (N
 * more)`): a file that is not a spec at all (`loom run README.md`) gives thousands, and the first
 * few say what is wrong.
 */
import type { Span } from './ast.ts';
import { codeLabel } from './diagnostics.ts';
import type { Diagnostic } from './diagnostics.ts';
import { LINE_BREAK } from './spans.ts';

export type Sources = Map<string, string> | Record<string, string>;

/** Width of the line-number gutter (wider when a line number needs it). */
const GUTTER = 4;

/** How many diagnostics are shown before the rest are only counted. */
export const MAX_RENDERED = 20;

export function renderDiagnostics(diags: Diagnostic[], sources: Sources, max = MAX_RENDERED): string {
  const lookup = (file: string) => (sources instanceof Map ? sources.get(file) : Object.hasOwn(sources, file) ? sources[file] : undefined);
  const sorted = sortDiagnostics(diags);
  // Errors before warnings when not all fit; those shown stay in source order.
  const kept = new Set([...sorted.filter((d) => d.severity === 'error'), ...sorted.filter((d) => d.severity !== 'error')].slice(0, max));
  const rest = sorted.filter((d) => !kept.has(d));
  const blocks = sorted.filter((d) => kept.has(d)).map((d) => {
    const text = d.file === undefined ? undefined : lookup(d.file);
    const out = [`${header(d)}${d.severity} ${codeLabel(d.code)}: ${d.message}`];
    if (d.span && text !== undefined) out.push(...frame(text, d.span));
    for (const note of d.notes) {
      out.push(`  note: ${note.message}`);
      if (note.span && text !== undefined) out.push(...frame(text, note.span));
    }
    return out.join('\n');
  });
  if (rest.length) blocks.push(`too many ${rest.some((d) => d.severity === 'error') ? 'errors' : 'warnings'} (${rest.length} more)`);
  return blocks.length ? `${blocks.join('\n')}\n` : '';
}

/** `path:line:col` (`path` alone without a span; empty without a file). */
export function formatLocation(d: Diagnostic): string {
  if (d.file === undefined) return '';
  return d.span ? `${d.file}:${d.span.line}:${d.span.col}` : d.file;
}

/** By file (no file first), then line, then column; stable otherwise. */
export function sortDiagnostics(diags: Diagnostic[]): Diagnostic[] {
  const key = (d: Diagnostic) => [d.file === undefined ? 0 : 1, d.span?.line ?? 0, d.span?.col ?? 0] as const;
  return diags
    .map((d, i) => ({ d, i }))
    .sort((a, b) => {
      const [fa, la, ca] = key(a.d);
      const [fb, lb, cb] = key(b.d);
      const byFile = fa - fb || (a.d.file ?? '').localeCompare(b.d.file ?? '', 'en');
      return byFile || la - lb || ca - cb || a.i - b.i;
    })
    .map(({ d }) => d);
}

function header(d: Diagnostic): string {
  if (d.file === undefined) return '';
  return d.span ? `${d.file}(${d.span.line},${d.span.col}): ` : `${d.file}: `;
}

/** The span's first source line with a gutter, and carets under the span (clamped to the line). */
function frame(text: string, span: Span): string[] {
  const lines = text.split(LINE_BREAK);
  const source = lines[span.line - 1];
  if (source === undefined) return [];
  const width = Math.max(GUTTER, String(span.line).length);
  const startCol = Math.min(Math.max(span.col, 1), source.length + 1);
  const length = Math.min(span.end - span.start, source.length + 1 - startCol);
  // Keep tabs in the indentation so the carets line up under the source.
  const indent = source.slice(0, startCol - 1).replace(/[^\t]/g, ' ');
  return [
    `${String(span.line).padStart(width)} | ${source}`.trimEnd(),
    `${' '.repeat(width)} | ${indent}${'^'.repeat(Math.max(1, length))}`,
  ];
}
