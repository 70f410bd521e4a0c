import { describe, expect, it } from 'vitest';
import type { Span } from '../../grammar/ast.ts';
import { diag } from '../../grammar/diagnostics.ts';
import type { Diagnostic } from '../../grammar/diagnostics.ts';
import { formatLocation, renderDiagnostics } from '../../grammar/render.ts';
import { LineIndex } from '../../grammar/spans.ts';

const source = 'model m {\n  vocab 12\n  mixer a = gated_detla\n}\n';
const lines = new LineIndex(source);
const at = (needle: string, length = needle.length): Span => lines.span(source.indexOf(needle), source.indexOf(needle) + length);

describe('renderDiagnostics', () => {
  it('writes the header, the source line and carets under the span', () => {
    const d = diag('unexpected-token', { expected: "'='", found: "number '12'" }, { file: 'x.loom', span: at('12') });
    expect(renderDiagnostics([d], { 'x.loom': source })).toBe(
      [
        "x.loom(2,9): error LOOM1002: expected '=' but found number '12'",
        '   2 |   vocab 12',
        '     |         ^^',
        '',
      ].join('\n'),
    );
  });

  it('renders notes with their own frames, and suggestions in the message', () => {
    const d = diag('unknown-preset', { name: 'gated_detla' }, { file: 'x.loom', span: at('gated_detla') }, {
      suggestion: 'gated_delta',
      notes: [{ message: 'the model starts here', span: at('model') }, { message: 'presets are listed by `loom presets`' }],
    });
    expect(renderDiagnostics([d], new Map([['x.loom', source]]))).toBe(
      [
        "x.loom(3,13): error LOOM2002: unknown mixer preset 'gated_detla', did you mean 'gated_delta'?",
        '   3 |   mixer a = gated_detla',
        '     |             ^^^^^^^^^^^',
        '  note: the model starts here',
        '   1 | model m {',
        '     | ^^^^^',
        '  note: presets are listed by `loom presets`',
        '',
      ].join('\n'),
    );
  });

  it('clamps carets to the line and always draws at least one', () => {
    // A span running over the end of its line, and an empty span at the end of the file.
    const long = diag('unexpected-token', { expected: 'x', found: 'y' }, { file: 'x.loom', span: lines.span(source.indexOf('vocab'), source.length) });
    const empty = diag('unexpected-token', { expected: "'}'", found: 'end of file' }, { file: 'x.loom', span: lines.span(source.length, source.length) });
    const out = renderDiagnostics([long, empty], { 'x.loom': source }).split('\n');
    expect(out.slice(1, 3)).toEqual(['   2 |   vocab 12', '     |   ^^^^^^^^']);
    expect(out.slice(3, 6)).toEqual(["x.loom(5,1): error LOOM1002: expected '}' but found end of file", '   5 |', '     | ^']);
  });

  it('puts carets after the last character for a span at the end of a line', () => {
    const end = source.indexOf('12') + 2;
    const d = diag('unexpected-token', { expected: "'='", found: 'x' }, { file: 'x.loom', span: lines.span(end, end) });
    expect(renderDiagnostics([d], { 'x.loom': source }).split('\n')[2]).toBe('     |           ^');
  });

  it('keeps tabs so carets line up', () => {
    const text = '\tx = @\n';
    const d = diag('unexpected-character', { char: '@' }, { file: 't.loom', span: new LineIndex(text).span(5, 6) });
    expect(renderDiagnostics([d], { 't.loom': text }).split('\n').slice(1, 3)).toEqual(['   1 | \tx = @', '     | \t    ^']);
  });

  it('sorts by file, line and column; diagnostics about no file come first', () => {
    const mk = (file: string | undefined, line: number, col: number): Diagnostic =>
      diag('bad-option', { message: `${file}:${line}:${col}` }, { file, span: file ? { start: 0, end: 0, line, col } : undefined });
    const out = renderDiagnostics([mk('b.loom', 1, 1), mk('a.loom', 3, 2), mk(undefined, 0, 0), mk('a.loom', 3, 1), mk('a.loom', 1, 9)], {});
    expect(out.split('\n').filter((l) => l.length > 0)).toEqual([
      'error LOOM6001: undefined:0:0',
      'a.loom(1,9): error LOOM6001: a.loom:1:9',
      'a.loom(3,1): error LOOM6001: a.loom:3:1',
      'a.loom(3,2): error LOOM6001: a.loom:3:2',
      'b.loom(1,1): error LOOM6001: b.loom:1:1',
    ]);
  });

  it('renders a diagnostic without a span as its header, and an empty list as nothing', () => {
    const d = diag('file-error', { message: 'cannot read x.loom' }, { file: 'x.loom' });
    expect(renderDiagnostics([d], { 'x.loom': source })).toBe('x.loom: error LOOM6003: cannot read x.loom\n');
    expect(renderDiagnostics([], {})).toBe('');
  });

  it('widens the gutter for long files', () => {
    const text = `${'\n'.repeat(12344)}x = @\n`;
    const d = diag('unexpected-character', { char: '@' }, { file: 'big.loom', span: new LineIndex(text).span(text.length - 2, text.length - 1) });
    expect(renderDiagnostics([d], { 'big.loom': text }).split('\n').slice(1, 3)).toEqual(['12345 | x = @', '      |     ^']);
  });
});

describe('formatLocation', () => {
  it('is path:line:col', () => {
    const d = diag('unknown-name', { name: 'q' }, { file: 'models/x.loom', span: { start: 10, end: 11, line: 3, col: 14 } });
    expect(formatLocation(d)).toBe('models/x.loom:3:14');
    expect(formatLocation(diag('unknown-name', { name: 'q' }, { file: 'models/x.loom' }))).toBe('models/x.loom');
    expect(formatLocation(diag('no-adapter', { message: 'none' }))).toBe('');
  });
});
