/** The example models of models/ by kind, for suites that run every one of a kind. */
import { readdirSync, readFileSync } from 'node:fs';
import { nonCausalMixer } from '../../compiler/mixers/family-op.ts';
import { compileSource } from '../../compiler/pipeline.ts';

/** Paths (`models/x.loom`, sorted) of the models that compile and have a decode (no non-causal mixer). */
export function causalModels(): string[] {
  return readdirSync('models')
    .filter((f) => f.endsWith('.loom'))
    .sort()
    .map((f) => `models/${f}`)
    .filter((path) => {
      const r = compileSource(readFileSync(path, 'utf8'), path, { batch: 1, seq: 4 });
      return r.ok && !nonCausalMixer(r.compiled.spec);
    });
}
