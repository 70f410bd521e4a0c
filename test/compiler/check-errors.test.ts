/**
 * Checker diagnostics as baselines: each `errors/<case>.loom` renders to the committed
 * `<case>.errors.txt`. `UPDATE_BASELINES=1 npx vitest run test/compiler` rewrites them.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkSource } from '../../compiler/pipeline.ts';
import { renderDiagnostics } from '../../grammar/render.ts';
import { expectBaseline } from '../grammar/baseline.ts';

const dir = join(import.meta.dirname, 'errors');
const cases = readdirSync(dir).filter((f) => f.endsWith('.loom')).sort();

describe('checker error baselines', () => {
  it('has cases', () => expect(cases.length).toBeGreaterThan(5));
  for (const file of cases) {
    it(file, () => {
      const path = `test/compiler/errors/${file}`;
      const text = readFileSync(join(dir, file), 'utf8');
      const { spec, diagnostics } = checkSource(text, path);
      expect(spec).toBeUndefined();
      expect(diagnostics.length).toBeGreaterThan(0);
      for (const d of diagnostics) {
        expect(d.span, `${d.message} has a span`).toBeDefined();
        expect(d.code).toBeGreaterThanOrEqual(2000);
      }
      const rendered = renderDiagnostics(diagnostics, new Map([[path, text]]));
      const baseline = join(dir, file.replace(/\.loom$/, '.errors.txt'));
      expectBaseline(baseline, rendered); // a missing baseline fails; UPDATE_BASELINES=1 writes it
    });
  }
});
