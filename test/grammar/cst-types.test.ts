import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'vitest';
import { cstTypesSource } from '../../grammar/cst-dts.ts';
import { expectBaseline } from './baseline.ts';

const here = dirname(fileURLToPath(import.meta.url));

describe('grammar/cst-types.ts', () => {
  it('matches the CST types generated from the parser', () => {
    expectBaseline(join(here, '../../grammar/cst-types.ts'), cstTypesSource());
  });
});
