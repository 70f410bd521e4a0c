import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from '../../grammar/index.ts';
import { renderDiagnostics } from '../../grammar/render.ts';
import { expectBaseline } from './baseline.ts';

const here = dirname(fileURLToPath(import.meta.url));
const cases = readdirSync(join(here, 'errors'))
  .filter((f) => f.endsWith('.loom'))
  .map((f) => f.slice(0, -'.loom'.length))
  .sort();

function render(name: string, text: string): string {
  const path = `errors/${name}.loom`;
  return renderDiagnostics(parse(text, path).diagnostics, { [path]: text });
}

describe('error baselines', () => {
  it('has the cases the grammar promises', () => {
    for (const c of ['missing-equals', 'missing-brace', 'unexpected-character', 'bad-token-in-expression',
      'unclosed-paren', 'schedule-range', 'two-errors']) {
      expect(cases).toContain(c);
    }
  });

  it.each(cases)('%s', (name) => {
    const text = readFileSync(join(here, 'errors', `${name}.loom`), 'utf8');
    const rendered = render(name, text);
    expect(rendered, 'every error case reports something').not.toBe('');
    expectBaseline(join(here, 'errors', `${name}.errors.txt`), rendered);
  });

  it('reports both errors of a file with two', () => {
    const text = readFileSync(join(here, 'errors', 'two-errors.loom'), 'utf8');
    const { diagnostics, file } = parse(text, 'two-errors.loom');
    expect(diagnostics.map((d) => [d.code, d.span?.line])).toEqual([[1002, 3], [1002, 7]]);
    // What survived recovery is still in the AST.
    const items = file.models[0].items;
    expect(items.map((i) => (i.kind === 'Assign' ? i.name.name : i.kind))).toEqual(['dim', 'Block']);
  });
});

describe('nesting guard', () => {
  const nested = (open: string, close: string, n: number) => `model m {\n  a = 1\n  x = ${open.repeat(n)}1${close.repeat(n)}\n  b = 2\n}\n`;

  it('parses 100 nested parentheses', () => {
    const r = parse(nested('(', ')', 100), 'deep.loom');
    expect(r.diagnostics).toEqual([]);
    expect(r.file.models[0].items.map((i) => (i.kind === 'Assign' ? i.name.name : ''))).toEqual(['a', 'x', 'b']);
  });

  it.each([
    ['parentheses', '(', ')', 5000, ['a', 'b']],
    ['calls', 'f(', ')', 5000, ['a', 'b']],
    ['lists', '[', ']', 5000, ['a', 'b']],
    ['prefix minuses', '-', '', 100_000, ['a', 'b']],
    // The cut runs to the end of the file: `b` and the closing brace go with it.
    ['unclosed calls', 'f(', '', 5000, ['a']],
  ])('reports LOOM1006 once for %s, without overflowing the stack', (_, open, close, n, kept) => {
    const text = nested(open, close, n);
    const r = parse(text, 'deep.loom');
    expect(r.diagnostics.map((d) => d.code)).toEqual([1006]);
    const d = r.diagnostics[0];
    expect(d.message).toBe('expression nested more than 100 levels deep');
    expect(d.span?.line).toBe(3);
    expect(text.slice(d.span?.start, d.span?.end).startsWith(open.slice(-1))).toBe(true);
    // The statement around it is left out; its neighbours are kept.
    const names = r.file.models[0].items.map((i) => (i.kind === 'Assign' ? i.name.name : ''));
    expect(names).toEqual(kept);
  });

  it('refuses an operator chain deeper than the AST may hold', () => {
    const text = `model m {\n  x = ${Array.from({ length: 1500 }, () => 'a').join(' + ')}\n  y = 1\n}\n`;
    const r = parse(text, 'chain.loom');
    expect(r.diagnostics.map((d) => [d.code, d.message])).toEqual([[1006, 'expression nested more than 1000 levels deep']]);
    expect(r.file.models[0].items.map((i) => (i.kind === 'Assign' ? i.name.name : ''))).toEqual(['y']);
  });
});

describe('error reporting', () => {
  it('reports two errors a few tokens apart', () => {
    const r = parse('model m { vocab 12 dim 3 }', 't.loom');
    expect(r.diagnostics.map((d) => [d.message, d.span?.col])).toEqual([
      ["expected '=' but found number '12'", 17],
      ["expected '=' but found number '3'", 24],
    ]);
  });

  it('reports a bad character once, not the parse error its gap causes', () => {
    const r = parse('model m {\n  head = t@ied\n}\n', 't.loom');
    expect(r.diagnostics.map((d) => d.code)).toEqual([1001]);
  });

  it('does not report missing names or models (the checker does)', () => {
    expect(parse('', 't.loom').diagnostics).toEqual([]);
    expect(parse('schedule { decode = recurrent }', 't.loom').diagnostics).toEqual([]);
  });

  it('never throws and keeps what parsed in a partial file', () => {
    const r = parse('model m {\n  dim = 64\n  heads = ', 't.loom');
    expect(r.diagnostics.map((d) => d.message)).toEqual(['expected an expression but found end of file']);
    expect(r.file.models[0].items.map((i) => (i.kind === 'Assign' ? i.name.name : ''))).toEqual(['dim']);
    expect(r.file.models[0].span).toMatchObject({ start: 0, line: 1, col: 1 });
  });
});
