/**
 * A file that is not a spec (`loom run README.md`) gives thousands of syntax errors; the rendering
 * shows the first MAX_RENDERED and counts the rest.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Span } from '../../grammar/ast.ts';
import { diag } from '../../grammar/diagnostics.ts';
import { parse } from '../../grammar/index.ts';
import { MAX_RENDERED, renderDiagnostics } from '../../grammar/render.ts';

const headers = (text: string) => text.split('\n').filter((l) => / (error|warning) LOOM\d{4}: /.test(l));

describe('too many errors', () => {
  it('README.md as a spec: the first errors in source order, then "too many errors (N more)"', () => {
    const text = readFileSync('README.md', 'utf8');
    const { diagnostics } = parse(text, 'README.md');
    expect(diagnostics.length).toBeGreaterThan(MAX_RENDERED * 10);
    const out = renderDiagnostics(diagnostics, { 'README.md': text });
    expect(headers(out)).toHaveLength(MAX_RENDERED);
    expect(out.endsWith(`\ntoo many errors (${diagnostics.length - MAX_RENDERED} more)\n`)).toBe(true);
    // The lines shown are the first ones of the file.
    const lines = headers(out).map((l) => Number(/^README\.md\((\d+),/.exec(l)![1]));
    expect(lines).toEqual([...lines].sort((a, b) => a - b));
    expect(lines[0]).toBe(Math.min(...diagnostics.map((d) => d.span!.line)));
  });

  it('exactly MAX_RENDERED are all shown; errors are kept before warnings; the limit is a parameter', () => {
    const span = (line: number): Span => ({ start: 0, end: 1, line, col: 1 });
    const errors = Array.from({ length: MAX_RENDERED }, (_, i) => diag('unknown-name', { name: `e${i}` }, { file: 'x.loom', span: span(100 + i) }));
    expect(renderDiagnostics(errors, {})).not.toContain('too many');
    const warning = diag('unused-param', { name: 'w' }, { file: 'x.loom', span: span(1) });
    const out = renderDiagnostics([warning, ...errors], {});
    expect(headers(out)).toHaveLength(MAX_RENDERED);
    expect(out).not.toContain("'w'");
    expect(out.endsWith('too many warnings (1 more)\n')).toBe(true);
    const three = renderDiagnostics([warning, ...errors], {}, 3);
    expect(headers(three).map((l) => /'(\w+)'/.exec(l)![1])).toEqual(['e0', 'e1', 'e2']);
    expect(three.endsWith(`too many errors (${MAX_RENDERED - 2} more)\n`)).toBe(true);
  });
});
