/** `docs/syntax-diagrams.html` is generated from the parser; the committed copy must be current. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loomParser } from '../../grammar/parser.ts';
import { DIAGRAMS_PATH, syntaxDiagramsHtml } from '../../scripts/gen-diagrams.ts';

describe('syntax diagrams', () => {
  const html = syntaxDiagramsHtml();

  it('draw every rule of the grammar', () => {
    const rules = Object.keys(loomParser.getGAstProductions());
    expect(rules).toEqual(expect.arrayContaining(['file', 'modelDecl', 'mixerDecl', 'scheduleEntry', 'expr', 'primary']));
    for (const rule of rules) expect(html, rule).toContain(`"name": "${rule}"`);
  });

  it('are committed up to date (regenerate: node bin/run-ts.js scripts/gen-diagrams.ts)', () => {
    expect(readFileSync(DIAGRAMS_PATH, 'utf8') === html).toBe(true);
  });
});
