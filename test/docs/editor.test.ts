/**
 * The VS Code extension in `editors/vscode/`: its manifest, its language configuration, and its
 * TextMate grammar: valid JSON, every regex compiles as a JavaScript regex, and on the specs of
 * the repository it gives every token the scope its lexer category calls for (checked by
 * tokenizing each line the way TextMate does: the earliest match wins, ties go to the first rule).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tokenMatcher } from 'chevrotain';
import type { TokenType } from 'chevrotain';
import { ALL_PRESETS } from '../../compiler/mixers/registry.ts';
import { lex } from '../../grammar/lexer.ts';
import { LineIndex } from '../../grammar/spans.ts';
import * as T from '../../grammar/tokens.ts';

const DIR = 'editors/vscode';
const read = (path: string): unknown => JSON.parse(readFileSync(join(DIR, path), 'utf8'));

interface Rule {
  name?: string;
  match?: string;
  begin?: string;
  end?: string;
  include?: string;
  patterns?: Rule[];
  captures?: Record<string, { name: string }>;
}

const grammar = read('syntaxes/loom.tmLanguage.json') as { scopeName: string; patterns: Rule[]; repository: Record<string, Rule> };

/** The leaf rules of a pattern list in order, includes resolved. */
function leaves(patterns: Rule[]): Rule[] {
  return patterns.flatMap((p) => {
    if (p.include) {
      const target = grammar.repository[p.include.replace(/^#/, '')];
      if (!target) throw new Error(`unknown include ${p.include}`);
      return leaves([target]);
    }
    return p.patterns && !p.begin ? leaves(p.patterns) : [p];
  });
}

const RULES = leaves(grammar.patterns);

/** The earliest match of any rule at or after `at` (ties: the first rule), as TextMate picks. */
function earliest(rules: Rule[], line: string, at: number): { rule: Rule; m: RegExpExecArray } | undefined {
  let best: { rule: Rule; m: RegExpExecArray } | undefined;
  for (const rule of rules) {
    const re = new RegExp(rule.match ?? rule.begin ?? '', 'gd');
    re.lastIndex = at;
    const m = re.exec(line);
    if (m && (!best || m.index < best.m.index)) best = { rule, m };
  }
  return best;
}

/**
 * Scopes `line` from `at` with `rules` into `out`. Inside a begin/end region (`end` given) it stops
 * at the first match of `end` that no inner rule starts before, and returns where that match ends.
 */
function scan(rules: Rule[], line: string, at: number, out: (string | undefined)[], end?: string): number {
  while (at < line.length || (end !== undefined && at === line.length)) {
    const close: Rule[] = end === undefined ? [] : [{ match: end }];
    const found = earliest([...close, ...rules], line, at);
    if (!found) return line.length;
    const { rule, m } = found;
    if (rule === close[0]) return m.index + m[0].length;
    let stop = m.index + Math.max(m[0].length, 1);
    const inner = new Array<string | undefined>(line.length);
    if (rule.begin && rule.end) stop = scan(leaves(rule.patterns ?? []), line, m.index + m[0].length, inner, rule.end);
    out.fill(rule.name, m.index, stop);
    for (const [group, capture] of Object.entries(rule.captures ?? {})) {
      const range = m.indices?.[Number(group)];
      if (range) out.fill(capture.name, range[0], range[1]);
    }
    inner.forEach((scope, i) => {
      if (scope !== undefined) out[i] = scope;
    });
    at = stop;
  }
  return line.length;
}

/** Scope of each character of one line (undefined where no rule matched). */
function scopes(line: string): (string | undefined)[] {
  const out: (string | undefined)[] = new Array(line.length).fill(undefined);
  scan(RULES, line, 0, out);
  return out;
}

/** The scope prefix each lexer category must get. */
const EXPECTED: [TokenType, string][] = [
  [T.ValidNumber, 'constant.numeric'],
  [T.ValidString, 'string.quoted'],
  [T.Plus, 'keyword.operator'],
  [T.Minus, 'keyword.operator'],
  [T.Star, 'keyword.operator'],
  [T.Slash, 'keyword.operator'],
  [T.Equals, 'keyword.operator'],
  [T.DotDot, 'keyword.operator'],
  [T.LBrace, 'punctuation'],
  [T.RBrace, 'punctuation'],
  [T.Comma, 'punctuation'],
];

describe('the VS Code extension', () => {
  it('declares the loom language, its extension, configuration and grammar', () => {
    const pkg = read('package.json') as {
      engines: { vscode: string };
      contributes: { languages: { id: string; extensions: string[]; configuration: string }[]; grammars: { language: string; scopeName: string; path: string }[] };
    };
    expect(pkg.engines.vscode).toBeTruthy();
    expect(pkg.contributes.languages).toEqual([expect.objectContaining({ id: 'loom', extensions: ['.loom'] })]);
    const [g] = pkg.contributes.grammars;
    expect(g).toEqual({ language: 'loom', scopeName: grammar.scopeName, path: './syntaxes/loom.tmLanguage.json' });
    const config = read(pkg.contributes.languages[0].configuration) as { comments: { lineComment: string }; brackets: string[][] };
    expect(config.comments.lineComment).toBe('#');
    expect(config.brackets).toEqual(expect.arrayContaining([['{', '}'], ['[', ']'], ['(', ')']]));
  });

  it('has only regexes that compile as JavaScript, and resolvable includes', () => {
    const all = (rules: Rule[]): Rule[] => rules.flatMap((r) => [r, ...all(r.patterns ?? [])]);
    const every = [...all(grammar.patterns), ...all(Object.values(grammar.repository))];
    const sources = every.flatMap((r) => [r.match, r.begin, r.end].filter((s): s is string => s !== undefined));
    expect(sources.length).toBeGreaterThan(15);
    for (const s of sources) expect(() => new RegExp(s, 'd'), s).not.toThrow();
    expect(RULES.length).toBeGreaterThan(15);
  });

  it('highlights every keyword of grammar/tokens.ts as a keyword', () => {
    const keywords = T.allTokens.filter(T.isKeyword).map((t) => (t.PATTERN as RegExp).source);
    expect(keywords).toEqual(expect.arrayContaining(['model', 'mixer', 'block', 'schedule', 'import', 'then', 'round', 'pattern']));
    for (const word of keywords) expect(scopes(word).every((s) => s?.startsWith('keyword')), word).toBe(true);
  });

  it('highlights every mixer preset and schedule as a support constant', () => {
    for (const preset of ALL_PRESETS) {
      const scope = new Array(preset.length).fill('support.constant.preset.loom');
      expect(scopes(`mixer a = ${preset} {`).slice(-preset.length - 2, -2), `${preset} (regenerate with: node bin/run-ts.js scripts/gen-editor-presets.ts)`).toEqual(scope);
      expect(scopes(preset), preset).toEqual(scope);
    }
    for (const s of ['auto', 'parallel', 'chunkwise', 'recurrent']) expect(scopes(`default = ${s}`).at(-1)).toBe('support.constant.schedule.loom');
  });

  it('scopes a spec line by line: names before =, numbers, comments, strings, calls', () => {
    const line = '  hidden_dim = dim * 8 / 3 round 64  # the "mlp" width';
    const s = scopes(line);
    const at = (text: string) => s[line.indexOf(text)];
    expect(at('hidden_dim')).toBe('variable.other.definition.loom');
    expect(at('64')).toBe('constant.numeric.loom');
    expect(at('round')).toBe('keyword.operator.word.loom');
    expect(at('"mlp"')).toBe('comment.line.number-sign.loom');
    expect(scopes('import "a\\"b.loom"').slice(7)).toEqual(new Array(11).fill('string.quoted.double.loom').map((v, i) => (i === 2 || i === 3 ? 'constant.character.escape.loom' : v)));
    expect(scopes('x = rmsnorm(x, eps = 1e-6)')[4]).toBe('support.function.loom');
  });

  const specs = ['models', 'test/grammar/fixtures'].flatMap((d) =>
    readdirSync(d)
      .filter((f) => f.endsWith('.loom'))
      .map((f) => join(d, f)),
  );
  it.each(specs)('%s: every token gets the scope of its lexer category', (file) => {
    const text = readFileSync(file, 'utf8');
    const lines = new LineIndex(text);
    const { tokens, comments } = lex(lines, file);
    const lineScopes = text.split('\n').map(scopes);
    const scopeAt = (offset: number) => {
      const { line, col } = lines.position(offset);
      return lineScopes[line - 1][col - 1] ?? '(none)';
    };
    for (const c of comments) expect(scopeAt(c.startOffset)).toMatch(/^comment\./);
    for (const t of tokens) {
      const what = `${t.image} at ${lines.position(t.startOffset).line}:${lines.position(t.startOffset).col}`;
      if (T.isKeyword(t.tokenType)) expect(scopeAt(t.startOffset), what).toMatch(/^keyword\./);
      const expected = EXPECTED.find(([type]) => tokenMatcher(t, type));
      if (expected) expect(scopeAt(t.startOffset).startsWith(expected[1]), `${what}: ${scopeAt(t.startOffset)}`).toBe(true);
      if (ALL_PRESETS.includes(t.image)) expect(scopeAt(t.startOffset), what).toBe('support.constant.preset.loom');
    }
  });
});
