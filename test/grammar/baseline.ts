/**
 * Baseline files (TypeScript's `tests/baselines/reference` style): the test renders its output
 * and compares it with the committed file; `UPDATE_BASELINES=1 npx vitest run test/grammar`
 * rewrites the files instead.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { expect } from 'vitest';

export const updating = process.env['UPDATE_BASELINES'] === '1';

export function expectBaseline(path: string, actual: string): void {
  if (updating) {
    writeFileSync(path, actual);
    return;
  }
  if (!existsSync(path)) throw new Error(`missing baseline ${path}: run UPDATE_BASELINES=1 npx vitest run on its test file`);
  expect(actual, `${path} differs from the output (UPDATE_BASELINES=1 rewrites it)`).toBe(readFileSync(path, 'utf8'));
}
