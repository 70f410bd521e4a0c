/**
 * Generates `cst-types.ts`, the typed CST the visitor in `cst-to-ast.ts` reads, from the parser's
 * grammar (chevrotain's `generateCstDts`). The committed file is checked against this output by
 * `test/grammar/cst-types.test.ts`; `UPDATE_BASELINES=1 npx vitest run test/grammar` rewrites it.
 */
import { generateCstDts } from 'chevrotain';
import { loomParser } from './parser.ts';

export function cstTypesSource(): string {
  const body = generateCstDts(loomParser.getGAstProductions(), {
    includeVisitorInterface: true,
    visitorInterfaceName: 'LoomCstVisitor',
  });
  const header = [
    '/**',
    ' * The CST of the Loom grammar. GENERATED from `parser.ts` by `cst-dts.ts`: do not edit;',
    ' * regenerate with `UPDATE_BASELINES=1 npx vitest run test/grammar`.',
    ' */',
    '/* eslint-disable */',
  ].join('\n');
  return `${header}\n${body.trim()}\n`;
}
