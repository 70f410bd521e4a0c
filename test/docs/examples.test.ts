/**
 * Every ```loom block of docs/*.md and README.md is a complete example: it compiles with no
 * diagnostics, or, marked ```loom error, it produces diagnostics, and when a ```text block
 * follows it, exactly that rendering (file name `spec.loom`). Examples are written in the
 * canonical form of `loom fmt`, and formatting is idempotent on them and on every model.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ALL_PRESETS } from '../../compiler/mixers/registry.ts';
import { LINEAR_ATTN_KNOBS } from '../../compiler/mixers/linear_attn/spec.ts';
import { compileSource } from '../../compiler/pipeline.ts';
import { codeLabel, DIAGNOSTICS } from '../../grammar/diagnostics.ts';
import { format } from '../../grammar/format.ts';
import { renderDiagnostics } from '../../grammar/render.ts';

interface Example {
  where: string;
  source: string;
  error: boolean;
  /** The rendered diagnostics shown right after an error example, if any. */
  rendered?: string;
}

const FENCE = /^```([^\n]*)\n([\s\S]*?)^```[ \t]*$/gm;

/** The ```loom blocks of a markdown file, with the ```text block right after each, if any. */
function examples(path: string): Example[] {
  const text = readFileSync(path, 'utf8');
  const blocks = [...text.matchAll(FENCE)].map((m) => ({ info: m[1].trim(), body: m[2], start: m.index, end: m.index + m[0].length }));
  return blocks.flatMap((b, i) => {
    const [lang, ...flags] = b.info.split(/\s+/);
    if (lang !== 'loom') return [];
    const next = blocks[i + 1];
    const adjacent = next && next.info === 'text' && text.slice(b.end, next.start).trim() === '';
    const line = text.slice(0, b.start).split('\n').length;
    return [{ where: `${path}:${line}`, source: b.body, error: flags.includes('error'), rendered: adjacent ? next.body : undefined }];
  });
}

const docs = [...readdirSync('docs').filter((f) => f.endsWith('.md')).map((f) => join('docs', f)), 'README.md'];
const all = docs.flatMap(examples);

describe('examples in the docs', () => {
  it('finds the examples of the language reference, error examples with their rendering', () => {
    const reference = all.filter((e) => e.where.startsWith('docs/language.md'));
    expect(reference.length).toBeGreaterThanOrEqual(10);
    expect(reference.filter((e) => e.error && e.rendered).length).toBeGreaterThanOrEqual(5);
  });

  it.each(all.map((e) => [e.where, e] as const))('%s', (_where, e) => {
    const result = compileSource(e.source, 'spec.loom', { batch: 1, seq: 16 });
    if (e.error) {
      expect(result.diagnostics.length).toBeGreaterThan(0);
      if (e.rendered !== undefined) expect(renderDiagnostics(result.diagnostics, { 'spec.loom': e.source })).toBe(e.rendered);
    } else {
      expect(renderDiagnostics(result.diagnostics, { 'spec.loom': e.source })).toBe('');
      expect(result.ok).toBe(true);
    }
    const formatted = format(e.source, 'spec.loom');
    if (formatted.text === undefined) {
      expect(e.error).toBe(true);
      return;
    }
    expect(format(formatted.text, 'spec.loom').text).toBe(formatted.text);
    expect(formatted.text, 'examples are written in canonical form').toBe(e.source);
  });

  it('documents every mixer preset and knob', () => {
    const reference = readFileSync('docs/language.md', 'utf8');
    for (const name of [...ALL_PRESETS, ...LINEAR_ATTN_KNOBS]) expect(reference, name).toContain(`| \`${name}\` |`);
  });

  it('documents every diagnostic code of the catalog', () => {
    const reference = readFileSync('docs/language.md', 'utf8');
    for (const entry of Object.values(DIAGNOSTICS)) expect(reference, codeLabel(entry.code)).toContain(`| ${codeLabel(entry.code)} |`);
  });
});

describe('formatting the models', () => {
  it.each(readdirSync('models').filter((f) => f.endsWith('.loom')))('models/%s is formatted idempotently', (f) => {
    const once = format(readFileSync(join('models', f), 'utf8'), f);
    expect(once.diagnostics).toEqual([]);
    expect(format(once.text ?? '', f).text).toBe(once.text);
  });
});
