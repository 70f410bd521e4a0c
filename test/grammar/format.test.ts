/**
 * The canonical formatter: each construct's canonical form, comments in every position, minimal
 * parentheses (checked against the parser on random trees), idempotence and AST equivalence on
 * every spec of the repository, and refusal of files with syntax errors.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Assign, BinaryOp, Expr, LoomFile } from '../../grammar/ast.ts';
import { format, formatExpr } from '../../grammar/format.ts';
import { parse } from '../../grammar/index.ts';

/** The AST without spans: what formatting must preserve. */
function shape(file: LoomFile): unknown {
  return JSON.parse(JSON.stringify({ ...file, comments: [] }, (k, v: unknown) => (k === 'span' ? undefined : v)));
}

function fmt(text: string): string {
  const r = format(text, 'test.loom');
  expect(r.diagnostics).toEqual([]);
  if (r.text === undefined) throw new Error('no text');
  return r.text;
}

/** Formats, then checks idempotence, AST equivalence and that every comment survives in order. */
function canonical(text: string): string {
  const out = fmt(text);
  expect(fmt(out)).toBe(out);
  const before = parse(text, 'x.loom').file;
  const after = parse(out, 'x.loom').file;
  expect(shape(after)).toEqual(shape(before));
  expect(after.comments.map((c) => c.text.trimEnd())).toEqual(before.comments.map((c) => c.text.trimEnd()));
  return out;
}

/** A model holding one parameter `x = <source>`, formatted; returns the printed expression. */
function exprOf(source: string): string {
  const out = canonical(`model m { x = ${source} }`);
  return out.split('\n')[1].replace(/^ {2}x = /, '');
}

const specFiles = (dir: string) =>
  readdirSync(dir)
    .filter((f) => f.endsWith('.loom'))
    .map((f) => join(dir, f));

describe('canonical form of each construct', () => {
  it('prints models, parameters, mixers, blocks and schedules one item per line, aligning =', () => {
    const src = 'model m{vocab=256 dim = 64  layers=2 mixer a=linear_attn{head_dim=16 normalize=false}' +
      ' block{x=x+a(rmsnorm(x)) x = x + swiglu(rmsnorm(x),hidden=dim*4)} head=tied}' +
      ' schedule{default=auto layers[0..1]=parallel layers[1]=chunkwise(16)}';
    expect(canonical(src)).toBe(
      [
        'model m {',
        '  vocab  = 256',
        '  dim    = 64',
        '  layers = 2',
        '  mixer a = linear_attn {',
        '    head_dim  = 16',
        '    normalize = false',
        '  }',
        '  block {',
        '    x = x + a(rmsnorm(x))',
        '    x = x + swiglu(rmsnorm(x), hidden = dim * 4)',
        '  }',
        '  head = tied',
        '}',
        '',
        'schedule {',
        '  default      = auto',
        '  layers[0..1] = parallel',
        '  layers[1]    = chunkwise(16)',
        '}',
        '',
      ].join('\n'),
    );
  });

  it('keeps imports (escapes included) and puts one blank line between declarations', () => {
    const src = 'import   "a.loom"\nimport "b\\"q\\\\.loom"\n\n\nimport "c.loom" model m {} schedule {}';
    expect(canonical(src)).toBe('import "a.loom"\nimport "b\\"q\\\\.loom"\n\nimport "c.loom"\n\nmodel m {}\n\nschedule {}\n');
  });

  it('prints empty bodies as {} and a mixer without knobs without braces', () => {
    expect(canonical('model m {\n  mixer a = linear_attn { }\n  block {\n  }\n}\n')).toBe(
      'model m {\n  mixer a = linear_attn\n  block {}\n}\n',
    );
  });

  it('keeps one blank line where the source had one or more, none after { or before }', () => {
    const src = 'model m {\n\n  vocab = 1\n\n\n\n  dim = 2\n  layers = 3\n\n}\n';
    expect(canonical(src)).toBe('model m {\n  vocab = 1\n\n  dim    = 2\n  layers = 3\n}\n');
  });

  it('keeps numbers exactly as written', () => {
    expect(exprOf('1e-6 + 0.50 + 2.5E+3 + 007')).toBe('1e-6 + 0.50 + 2.5E+3 + 007');
  });

  it('spaces calls, named arguments, lists and then', () => {
    expect(exprOf('f( x ,hidden=3 , eps = 1e-5 )')).toBe('f(x, hidden = 3, eps = 1e-5)');
    expect(exprOf('[ a,b , [ 1 ] ]')).toBe('[a, b, [1]]');
    expect(exprOf('[]')).toBe('[]');
    expect(exprOf('g()')).toBe('g()');
    expect(exprOf('elu1   then l2 then  silu')).toBe('elu1 then l2 then silu');
    expect(exprOf('dim*8/3 round 64')).toBe('dim * 8 / 3 round 64');
  });
});

describe('parentheses', () => {
  const cases: [string, string][] = [
    ['(a + b) * c', '(a + b) * c'],
    ['(a * b) + c', 'a * b + c'],
    ['((a))', 'a'],
    ['a - (b - c)', 'a - (b - c)'],
    ['(a - b) - c', 'a - b - c'],
    ['a + (b + c)', 'a + (b + c)'],
    ['a / (b * c)', 'a / (b * c)'],
    ['a round (b round c)', 'a round (b round c)'],
    ['(a round b) * c', 'a round b * c'],
    ['a * (b round c)', 'a * (b round c)'],
    ['-(a * b)', '-(a * b)'],
    ['(-a) * b', '-a * b'],
    ['- (-a)', '--a'],
    ['-(1)', '-1'],
    ['(a then b) then c', '(a then b) then c'],
    ['a then (b then c)', 'a then (b then c)'],
    ['(a + b) then c', 'a + b then c'],
    ['a + (b then c)', 'a + (b then c)'],
    ['f((a then b), (x))', 'f(a then b, x)'],
    ['[(a + b) * 2]', '[(a + b) * 2]'],
  ];
  it.each(cases)('%s prints as %s', (source, expected) => {
    expect(exprOf(source)).toBe(expected);
  });

  it('round-trips random expression trees through the parser with the same tree', () => {
    let seed = 12345;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const ops: BinaryOp[] = ['+', '-', '*', '/', 'round'];
    const leaf = (): Expr => ({ kind: 'Name', name: 'abcd'[rand(4)], span: SPAN });
    const gen = (depth: number): Expr => {
      if (depth === 0) return leaf();
      const k = rand(10);
      if (k < 6) return { kind: 'Binary', op: ops[rand(5)], left: gen(depth - 1), right: gen(depth - 1), span: SPAN };
      if (k < 7) return { kind: 'Unary', op: '-', operand: gen(depth - 1), span: SPAN };
      if (k < 8) return { kind: 'Then', stages: [gen(depth - 1), gen(depth - 1)], span: SPAN };
      if (k < 9) return { kind: 'Call', callee: { kind: 'Ident', name: 'f', span: SPAN }, args: [gen(depth - 1)], span: SPAN };
      return leaf();
    };
    for (let i = 0; i < 300; i++) {
      const tree = gen(4);
      const text = formatExpr(tree);
      expect(treeOf(text)).toEqual(bareTree(tree));
      // No redundant parentheses: dropping any grouping pair breaks the parse or changes the tree.
      for (const [open, close] of groupingParens(text)) {
        const dropped = text.slice(0, open) + text.slice(open + 1, close) + text.slice(close + 1);
        expect(treeOf(dropped), `${text} without the pair at ${open}`).not.toEqual(bareTree(tree));
      }
    }
  });
});

const SPAN = { start: 0, end: 0, line: 1, col: 1 };

const bareTree = (e: Expr): unknown => JSON.parse(JSON.stringify(e, (k, v: unknown) => (k === 'span' ? undefined : v)));

/** The tree of an expression's text, or undefined when it does not parse. */
function treeOf(text: string): unknown {
  const parsed = parse(`model m { x = ${text} }`, 't.loom');
  return parsed.diagnostics.length ? undefined : bareTree((parsed.file.models[0].items[0] as Assign).value);
}

/** Offsets of each pair of parentheses that groups (is not a call's). */
function groupingParens(text: string): [number, number][] {
  const pairs: [number, number][] = [];
  const stack: { at: number; call: boolean }[] = [];
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '(') stack.push({ at: i, call: /\w/.test(text[i - 1] ?? '') });
    if (text[i] === ')') {
      const open = stack.pop();
      if (open && !open.call) pairs.push([open.at, i]);
    }
  }
  return pairs;
}

describe('comments', () => {
  it('keeps trailing, own-line, end-of-body and end-of-file comments in place', () => {
    const src = [
      '  # file header   ',
      'model m {   # after brace',
      '  # before vocab',
      '  vocab = 256 # bytes',
      '  dim = 64    # width',
      '',
      '  mixer a = linear_attn {',
      '    head_dim = 16',
      '    # end of knobs',
      '  }   # after mixer',
      '  block {',
      '    x = x',
      '# end of block, badly indented',
      '  }',
      '  # end of model',
      '}',
      '# end of file',
    ].join('\n');
    expect(canonical(src)).toBe(
      [
        '# file header',
        'model m {  # after brace',
        '  # before vocab',
        '  vocab = 256  # bytes',
        '  dim   = 64   # width',
        '',
        '  mixer a = linear_attn {',
        '    head_dim = 16',
        '    # end of knobs',
        '  }  # after mixer',
        '  block {',
        '    x = x',
        '    # end of block, badly indented',
        '  }',
        '  # end of model',
        '}',
        '',
        '# end of file',
        '',
      ].join('\n'),
    );
  });

  it('keeps braces that hold only a comment, and moves comments inside a statement before it', () => {
    const src = 'model m {\n  mixer a = linear_attn {\n    # todo\n  }\n  x = a +  # half\n    b\n  y = f(\n    # arg\n    1)\n}\n';
    expect(canonical(src)).toBe(
      'model m {\n  mixer a = linear_attn {\n    # todo\n  }\n  # half\n  x = a + b\n  # arg\n  y = f(1)\n}\n',
    );
  });

  it('does not take a { inside a comment for the opening brace', () => {
    const src = 'model m # not { this\n{\n  vocab = 1\n}\n';
    expect(canonical(src)).toBe('# not { this\nmodel m {\n  vocab = 1\n}\n');
  });

  it('formats a file of comments only, and an empty file', () => {
    expect(canonical('#a\n\n\n  #b\n')).toBe('#a\n\n#b\n');
    expect(canonical('')).toBe('');
    expect(canonical('\n\n')).toBe('');
  });
});

describe('whole files', () => {
  const files = [...specFiles('models'), ...specFiles('test/grammar/fixtures'), ...specFiles('test/compiler/errors')];
  const parsable = files.filter((f) => parse(readFileSync(f, 'utf8'), f).diagnostics.length === 0);

  it('finds the specs of the repository', () => {
    expect(parsable.length).toBeGreaterThanOrEqual(10);
  });

  it.each(parsable)('%s: idempotent, same AST, comments kept', (file) => {
    canonical(readFileSync(file, 'utf8'));
  });

  it('leaves CRLF files in canonical LF form with the same AST', () => {
    const src = readFileSync('models/linear-transformer.loom', 'utf8');
    expect(canonical(src.replace(/\n/g, '\r\n'))).toBe(fmt(src));
  });

  it.each(specFiles('test/grammar/errors'))('%s: has syntax errors, so it is not formatted', (file) => {
    const r = format(readFileSync(file, 'utf8'), file);
    expect(r.text).toBeUndefined();
    expect(r.diagnostics.length).toBeGreaterThan(0);
    expect(r.diagnostics.every((d) => d.code >= 1000 && d.code < 2000)).toBe(true);
  });
});
