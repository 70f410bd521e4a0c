import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { Assign, Expr, LoomFile, MixerDecl, Span } from '../../grammar/ast.ts';
import { parse } from '../../grammar/index.ts';
import { sexpr } from './sexpr.ts';

const here = dirname(fileURLToPath(import.meta.url));
const fixture = (name: string) => readFileSync(join(here, 'fixtures', name), 'utf8');

/** Parses text that must be free of errors. */
function ok(text: string, path = 'test.loom'): LoomFile {
  const r = parse(text, path);
  expect(r.diagnostics).toEqual([]);
  return r.file;
}

/** The expression of `x = <expr>` inside a model. */
function expr(source: string): Expr {
  const item = ok(`model m {\n  x = ${source}\n}\n`).models[0].items[0] as Assign;
  return item.value;
}

const text = (source: string, span: Span) => source.slice(span.start, span.end);

describe('the first model (linear transformer)', () => {
  const source = fixture('linear-transformer.loom');
  const file = ok(source, 'models/linear-transformer.loom');
  const model = file.models[0];

  it('has one model and one schedule', () => {
    expect(file.kind).toBe('File');
    expect(file.path).toBe('models/linear-transformer.loom');
    expect(file.models).toHaveLength(1);
    expect(file.schedules).toHaveLength(1);
    expect(file.imports).toEqual([]);
    expect(model.name.name).toBe('linear_transformer');
    expect(file.span).toEqual({ start: 0, end: source.length, line: 1, col: 1 });
  });

  it('keeps the comment with its span', () => {
    expect(file.comments).toEqual([{ text: '# Katharopoulos et al. 2020', span: { start: 0, end: 27, line: 1, col: 1 } }]);
  });

  it('builds the model items in order', () => {
    const items = model.items.map((i) => (i.kind === 'Assign' ? `${i.name.name}=${sexpr(i.value)}` : i.kind));
    expect(items).toEqual(['vocab=256', 'dim=128', 'heads=4', 'layers=2', 'Mixer', 'Block', 'head=tied']);
  });

  it('builds the mixer with its knobs', () => {
    const mixer = model.items[4] as MixerDecl;
    expect(mixer.name.name).toBe('attn');
    expect(mixer.preset.name).toBe('linear_attn');
    expect(mixer.knobs.map((k) => `${k.name.name}=${sexpr(k.value)}`)).toEqual([
      'head_dim=(/ dim heads)',
      'feature=elu1',
      'normalize=true',
    ]);
    expect(mixer.span).toEqual({ start: source.indexOf('mixer attn'), end: source.indexOf('}\n  block') + 1, line: 7, col: 3 });
  });

  it('builds the block statements', () => {
    const block = model.items[5];
    if (block.kind !== 'Block') throw new Error('expected the block');
    expect(block.statements.map((s) => `${s.name.name} = ${sexpr(s.value)}`)).toEqual([
      'x = (+ x (call attn (call rmsnorm x)))',
      'x = (+ x (call swiglu (call rmsnorm x) hidden=(round (/ (* dim 8) 3) 64)))',
    ]);
    expect(text(source, block.span)).toMatch(/^block \{[^]*\n {2}\}$/);
  });

  it('gives precise spans', () => {
    const second = (model.items[5] as { statements: Assign[] }).statements[1];
    expect(second.span).toEqual({ start: source.indexOf('x = x + swiglu'), end: source.indexOf('64)\n') + 3, line: 14, col: 5 });
    expect(text(source, second.span)).toBe('x = x + swiglu(rmsnorm(x), hidden = dim * 8 / 3 round 64)');
    const call = (second.value as { right: Expr }).right;
    if (call.kind !== 'Call') throw new Error('expected a call');
    expect(call.callee.span).toEqual({ start: source.indexOf('swiglu'), end: source.indexOf('swiglu') + 6, line: 14, col: 13 });
    const hidden = call.args[1];
    expect(hidden.kind).toBe('NamedArg');
    expect(text(source, hidden.span)).toBe('hidden = dim * 8 / 3 round 64');
    expect(hidden.span.col).toBe(32);
    const vocab = model.items[0] as Assign;
    expect(vocab.value).toEqual({ kind: 'Number', value: 256, text: '256', span: { start: 66, end: 69, line: 3, col: 12 } });
  });

  it('builds the schedule, with a layer range', () => {
    const entries = file.schedules[0].entries;
    expect(entries.map((e) => `${e.target.name}${e.range ? `[${sexpr(e.range.first)}..${sexpr(e.range.last)}]` : ''}=${sexpr(e.value)}`)).toEqual([
      'default=auto',
      'prefill=(call chunkwise 64)',
      'decode=recurrent',
      'layers[0..1]=parallel',
    ]);
    const range = entries[3].range;
    expect(range && text(source, range.span)).toBe('[0..1]');
    expect(entries[3].span.line).toBe(22);
    expect(text(source, file.schedules[0].span)).toMatch(/^schedule \{[^]*\}$/);
  });
});

describe('the examples of docs/language.md', () => {
  it('parses the gated deltanet example', () => {
    const file = ok(fixture('gated-deltanet.loom'));
    expect(file.models[0].name.name).toBe('gated_deltanet_small');
    expect(file.comments.map((c) => c.text)).toContain('# LM head shares the embedding');
    const mixer = file.models[0].items.find((i) => i.kind === 'Mixer') as MixerDecl;
    expect(sexpr(mixer.knobs[3].value)).toBe('(* rmsnorm (call swish gate))');
    expect(file.schedules[0].entries.map((e) => e.target.name)).toEqual(['default', 'prefill', 'decode']);
  });

  it('parses the custom mixer example (inside a model)', () => {
    const file = ok(`model m {\n${fixture('my-mixer.loom')}}\n`);
    const mixer = file.models[0].items[0] as MixerDecl;
    expect(mixer.knobs.map((k) => sexpr(k.value))).toEqual(['(then elu1 l2)', '(call scalar low_rank=16)', 'delta', 'false']);
  });
});

describe('expressions', () => {
  it.each([
    ['a + b * c round 4', '(+ a (round (* b c) 4))'],
    ['a * b round 4 + c', '(+ (round (* a b) 4) c)'],
    ['a - b - c', '(- (- a b) c)'],
    ['a / b / c', '(/ (/ a b) c)'],
    ['(a - b) - c', '(- (- a b) c)'],
    ['a - (b - c)', '(- a (- b c))'],
    ['-3', '(neg 3)'],
    ['- - 3', '(neg (neg 3))'],
    ['a - -3', '(- a (neg 3))'],
    ['-a * b', '(* (neg a) b)'],
    ['1e-6', '1e-6'],
    ['2.5E+3 * 0.5', '(* 2.5E+3 0.5)'],
    ['silu then l2', '(then silu l2)'],
    ['elu1 then l2 then a + 1', '(then elu1 l2 (+ a 1))'],
    ['f()', '(call f)'],
    ['f(a, b = 2, c)', '(call f a b=2 c)'],
    ['[gdn, gdn, swa]', '[gdn gdn swa]'],
    ['[]', '[]'],
    ['[a + 1, f(x)]', '[(+ a 1) (call f x)]'],
    ['rounded round 8', '(round rounded 8)'],
  ])('%s', (source, expected) => {
    expect(sexpr(expr(source))).toBe(expected);
  });

  it('does not take `=` for an operator inside a named argument', () => {
    const r = parse('model m { x = f(a = b = c) }', 't.loom');
    expect(r.diagnostics[0]).toMatchObject({ code: 1002, message: "expected ',' or ')' but found '='", span: { col: 23 } });
  });

  it('keeps numbers as written and their values', () => {
    expect(expr('1e-6')).toMatchObject({ kind: 'Number', value: 1e-6, text: '1e-6' });
    expect(expr('0.5')).toMatchObject({ kind: 'Number', value: 0.5, text: '0.5' });
    expect(expr('-3')).toMatchObject({ kind: 'Unary', op: '-', operand: { kind: 'Number', value: 3 } });
  });

  it('includes parentheses in spans', () => {
    const e = expr('(a + b) * c');
    expect(e.span).toMatchObject({ line: 2, col: 7 });
    expect(e.span.end - e.span.start).toBe('(a + b) * c'.length);
    if (e.kind !== 'Binary') throw new Error('expected a binary');
    expect(e.left).toMatchObject({ kind: 'Binary', op: '+', span: { col: 7 } });
    expect(e.left.span.end - e.left.span.start).toBe('(a + b)'.length);
  });
});

describe('files', () => {
  it('parses an empty file', () => {
    const file = ok('');
    expect(file).toEqual({
      kind: 'File', path: 'test.loom', models: [], schedules: [], comments: [], imports: [],
      span: { start: 0, end: 0, line: 1, col: 1 },
    });
  });

  it('parses imports', () => {
    const file = ok('import "shared/presets.loom"\nimport "a\\"b.loom"\nimport "c\\\\"\nmodel m { }\n');
    expect(file.imports?.map((i) => i.path)).toEqual(['shared/presets.loom', 'a"b.loom', 'c\\']);
    expect(file.imports?.[1].span).toEqual({ start: 29, end: 47, line: 2, col: 1 });
  });

  it('keeps keywords apart from identifiers that start with them', () => {
    const file = ok('model models { modeler = 1 blocks = 2 thenx = 3 }');
    expect(file.models[0].name.name).toBe('models');
    expect(file.models[0].items.map((i) => (i as Assign).name.name)).toEqual(['modeler', 'blocks', 'thenx']);
  });

  it('counts lines over CRLF and CR line breaks', () => {
    const file = ok('model m {\r\n  a = 1\r  b = 2\n}');
    const items = file.models[0].items as Assign[];
    expect(items.map((i) => [i.span.line, i.span.col])).toEqual([[2, 3], [3, 3]]);
  });

  it('does not report unknown names (that is the checker)', () => {
    ok('model m { mixer a = gated_detla { nonsense = whatever(1) } }');
  });
});
