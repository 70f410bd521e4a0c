import { describe, expect, it } from 'vitest';
import { lex } from '../../grammar/lexer.ts';
import { LineIndex } from '../../grammar/spans.ts';

const tokens = (text: string) => lex(new LineIndex(text), 't.loom').tokens.map((t) => `${t.tokenType.name}:${t.image}`);
const codes = (text: string) => lex(new LineIndex(text), 't.loom').diagnostics.map((d) => [d.code, d.message]);

describe('lexer', () => {
  it('reads integers, decimals and exponents', () => {
    expect(tokens('12 0.5 1e-6 2.5E+3 7e2')).toEqual(['ValidNumber:12', 'ValidNumber:0.5', 'ValidNumber:1e-6', 'ValidNumber:2.5E+3', 'ValidNumber:7e2']);
    expect(codes('12 0.5 1e-6')).toEqual([]);
  });

  it('splits a range into number, `..`, number', () => {
    expect(tokens('0..11')).toEqual(['ValidNumber:0', 'DotDot:..', 'ValidNumber:11']);
  });

  it('reports a number run into letters as one malformed number', () => {
    expect(tokens('12abc 1e 1.5e')).toEqual(['MalformedNumber:12abc', 'MalformedNumber:1e', 'MalformedNumber:1.5e']);
    expect(codes('12abc')).toEqual([[1004, "malformed number '12abc'"]]);
  });

  it('keeps keywords apart from longer identifiers', () => {
    expect(tokens('model models then thenx round rounded import pattern')).toEqual([
      'Model:model', 'Identifier:models', 'Then:then', 'Identifier:thenx', 'Round:round', 'Identifier:rounded', 'Import:import', 'Pattern:pattern',
    ]);
  });

  it('puts comments in their own group with the text as written', () => {
    const r = lex(new LineIndex('a = 1 # one\n# two\n'), 't.loom');
    expect(r.tokens.map((t) => t.image)).toEqual(['a', '=', '1']);
    expect(r.comments.map((t) => [t.image, t.startOffset])).toEqual([['# one', 6], ['# two', 12]]);
  });

  it('reads strings with escapes, and reports an unterminated one', () => {
    expect(tokens('"a\\"b" "c')).toEqual(['ValidString:"a\\"b"', 'UnterminatedString:"c']);
    expect(codes('"a\n"')).toEqual([[1003, 'unterminated string'], [1003, 'unterminated string']]);
  });

  it('reports unexpected characters with their position, readably', () => {
    const r = lex(new LineIndex('a\n  @@ $ \u0001'), 't.loom');
    expect(r.diagnostics.map((d) => [d.message, d.span?.line, d.span?.col, d.span && d.span.end - d.span.start])).toEqual([
      ["unexpected character '@'", 2, 3, 2],
      ["unexpected character '$'", 2, 6, 1],
      ["unexpected character '\\u{1}'", 2, 8, 1],
    ]);
  });
});
