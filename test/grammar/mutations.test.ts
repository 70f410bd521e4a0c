import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { Span } from '../../grammar/ast.ts';
import { parse } from '../../grammar/index.ts';
import { renderDiagnostics } from '../../grammar/render.ts';
import { Rng } from '../../runtime/random.ts';

const here = dirname(fileURLToPath(import.meta.url));
const original = readFileSync(join(here, 'fixtures', 'linear-transformer.loom'), 'utf8');

/** Characters worth inserting: the grammar's own, some it rejects, line breaks and odd code units. */
const ALPHABET = [...'{}()[],=+-*/.#"\\@$`~!x_09eE ', '\n', '\r', '\t', '\u0000', '\u00e9', '\ud83d', 'round', 'then', 'model', '..'];

function mutate(rng: Rng, text: string): string {
  let out = text;
  const edits = 1 + rng.int(3);
  for (let e = 0; e < edits; e++) {
    const at = rng.int(out.length + 1);
    const piece = ALPHABET[rng.int(ALPHABET.length)];
    const kind = rng.int(3);
    if (kind === 0) out = out.slice(0, at) + out.slice(at + 1 + rng.int(4));
    else if (kind === 1) out = out.slice(0, at) + piece + out.slice(at);
    else out = out.slice(0, at) + piece + out.slice(at + 1);
  }
  return out;
}

/** Line and column counted independently of the grammar's own line table. */
function position(text: string, offset: number): { line: number; col: number } {
  const before = text.slice(0, offset);
  const breaks = [...before.matchAll(/\r\n|\r|\n/g)];
  const last = breaks[breaks.length - 1];
  return { line: breaks.length + 1, col: offset - (last ? last.index + last[0].length : 0) + 1 };
}

function checkSpan(text: string, span: Span | undefined, what: string): void {
  expect(span, `${what} has a span`).toBeDefined();
  if (!span) return;
  expect(span.start, what).toBeGreaterThanOrEqual(0);
  expect(span.end, what).toBeGreaterThanOrEqual(span.start);
  expect(span.end, what).toBeLessThanOrEqual(text.length);
  expect({ line: span.line, col: span.col }, what).toEqual(position(text, span.start));
}

/** Every `span` in the AST. */
function astSpans(node: unknown, out: Span[] = []): Span[] {
  if (Array.isArray(node)) node.forEach((n) => astSpans(n, out));
  else if (node && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (k === 'span') out.push(v as Span);
      else astSpans(v, out);
    }
  }
  return out;
}

describe('500 random mutations of the linear transformer spec', () => {
  it('never throw, and every diagnostic and AST node has a span inside the text', () => {
    const rng = Rng.forName(7, 'grammar-mutations');
    let withErrors = 0;
    for (let i = 0; i < 500; i++) {
      const text = mutate(rng, original);
      const { file, diagnostics } = parse(text, 'mutant.loom');
      if (diagnostics.length > 0) withErrors++;
      for (const d of diagnostics) {
        expect(d.file).toBe('mutant.loom');
        expect(d.code).toBeGreaterThanOrEqual(1001);
        expect(d.code).toBeLessThan(2000);
        checkSpan(text, d.span, `mutant ${i}: ${d.message}`);
      }
      for (const span of astSpans(file)) checkSpan(text, span, `mutant ${i}: AST node`);
      expect(() => renderDiagnostics(diagnostics, { 'mutant.loom': text })).not.toThrow();
    }
    // The mutations must actually break things for this test to mean anything.
    expect(withErrors).toBeGreaterThan(200);
  });
});
