/**
 * Writes `docs/syntax-diagrams.html`: railroad diagrams of every rule of the Loom grammar, drawn
 * by chevrotain from the parser's serialized productions (the page loads chevrotain's diagram
 * scripts from unpkg when opened). `--check` writes nothing and exits 1 when the committed file
 * is out of date, as `test/docs/diagrams.test.ts` also checks.
 *
 *   node bin/run-ts.js scripts/gen-diagrams.ts [--check]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createSyntaxDiagramsCode } from 'chevrotain';
import { loomParser } from '../grammar/parser.ts';

export const DIAGRAMS_PATH = 'docs/syntax-diagrams.html';

/** The HTML page of the grammar's syntax diagrams. */
export function syntaxDiagramsHtml(): string {
  return createSyntaxDiagramsCode(loomParser.getSerializedGastProductions());
}

function main(args: string[]): number {
  const html = syntaxDiagramsHtml();
  if (args.includes('--check')) {
    let current = '';
    try {
      current = readFileSync(DIAGRAMS_PATH, 'utf8');
    } catch {
      // A missing file is out of date.
    }
    if (current === html) return 0;
    process.stderr.write(`${DIAGRAMS_PATH} is out of date: run node bin/run-ts.js scripts/gen-diagrams.ts\n`);
    return 1;
  }
  writeFileSync(DIAGRAMS_PATH, html);
  process.stdout.write(`wrote ${DIAGRAMS_PATH}\n`);
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) process.exitCode = main(process.argv.slice(2));
