/**
 * Spec fuzzing: for any input the front end and the compiler return a result or located
 * diagnostics with codes, never another exception, never a hang. Fixed seed in CI;
 * `LOOM_FUZZ_RUNS=N` runs longer. Prints the count of each outcome.
 */
import { readdirSync, readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileSource } from '../../compiler/pipeline.ts';
import { ALL_PRESETS } from '../../compiler/mixers/registry.ts';
import { LINEAR_ATTN_KNOBS } from '../../compiler/mixers/linear_attn/spec.ts';

const RUNS = Number(process.env.LOOM_FUZZ_RUNS ?? 300);
const SEED = 20261128;
const models = readdirSync('models').filter((f) => f.endsWith('.loom')).map((f) => readFileSync(`models/${f}`, 'utf8'));

const outcomes = new Map<string, number>();
function count(kind: string): void {
  outcomes.set(kind, (outcomes.get(kind) ?? 0) + 1);
}

/** Compiles and checks the contract: ok, or diagnostics that are coded and located inside the text. */
function checkContract(text: string, seq: number): void {
  const t0 = performance.now();
  const r = compileSource(text, 'fuzz.loom', { batch: 1, seq });
  expect(performance.now() - t0, 'compile time').toBeLessThan(5000);
  if (r.ok) return count('compiled');
  expect(r.diagnostics.length).toBeGreaterThan(0);
  for (const d of r.diagnostics) {
    expect(d.code).toBeGreaterThanOrEqual(1000);
    expect(d.code).toBeLessThan(7000);
    if (d.span) {
      expect(d.span.start).toBeGreaterThanOrEqual(0);
      expect(d.span.end).toBeLessThanOrEqual(text.length);
    }
  }
  count(`LOOM${Math.floor(r.diagnostics[0].code / 1000)}xxx`);
}

const word = fc.constantFrom(...ALL_PRESETS, ...LINEAR_ATTN_KNOBS, 'x', 'dim', 'heads', 'vocab', 'layers', 'rmsnorm', 'swiglu', 'silu', 'elu1', 'tied', 'true', 'l2', 'then', 'round', 'scalar', 'vector', 'fixed', 'delta', 'auto', 'chunkwise', 'recurrent', 'parallel', 'gated_detla', 'q');
const number = fc.oneof(fc.integer({ min: -3, max: 600 }), fc.constantFrom(0, 1e9, 2 ** 53, 1e-300, 1e308, 0.5, 65536, 1e6));
const expr: fc.Arbitrary<string> = fc.letrec((tie) => ({
  e: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    number.map(String),
    word,
    fc.tuple(tie('e'), fc.constantFrom('+', '-', '*', '/', 'round', 'then'), tie('e')).map(([a, op, b]) => `${a} ${op} ${b}`),
    fc.tuple(word, fc.array(tie('e'), { maxLength: 3 })).map(([f, args]) => `${f}(${args.join(', ')})`),
    fc.tuple(word, tie('e')).map(([k, v]) => `${k}(hidden = ${v})`),
  ),
})).e as fc.Arbitrary<string>;

const assign = fc.tuple(word, expr).map(([k, v]) => `  ${k} = ${v}`);
const spec = fc
  .record({
    params: fc.array(assign, { maxLength: 6 }),
    mixers: fc.array(fc.tuple(word, word, fc.array(assign, { maxLength: 4 })), { maxLength: 2 }),
    block: fc.array(fc.tuple(word, expr), { maxLength: 3 }),
    schedule: fc.array(fc.tuple(fc.constantFrom('default', 'prefill', 'decode', 'layers[0..1]', 'layers[3]'), expr), { maxLength: 3 }),
    base: fc.constantFrom('  vocab = 256\n  dim = 64\n  heads = 4\n  layers = 2\n', ''),
  })
  .map(({ params, mixers, block, schedule, base }) =>
    [
      'model fuzz {',
      base + params.join('\n'),
      ...mixers.map(([n, p, knobs]) => `  mixer ${n} = ${p} {\n${knobs.join('\n')}\n  }`),
      `  block {\n${block.map(([t, e]) => `    ${t} = ${e}`).join('\n')}\n  }`,
      '}',
      `schedule {\n${schedule.map(([t, e]) => `  ${t} = ${e}`).join('\n')}\n}`,
    ].join('\n'),
  );

/** A model file with a few characters inserted, deleted or replaced. */
const mutant = fc
  .tuple(fc.nat(models.length - 1), fc.array(fc.tuple(fc.nat(), fc.nat(3), fc.constantFrom('', '0', '9', '(', ')', '{', '}', '=', '*', '-', '#', '\n', 'x', '1e9', '..', ',')), { maxLength: 4 }))
  .map(([m, edits]) => {
    let s = models[m];
    for (const [at, del, ins] of edits) {
      const i = at % (s.length + 1);
      s = s.slice(0, i) + ins + s.slice(i + del);
    }
    return s;
  });

describe('spec fuzzing', () => {
  it(`grammar-shaped specs (${RUNS} runs, seed ${SEED})`, () => {
    fc.assert(fc.property(spec, fc.integer({ min: 1, max: 70 }), (text, seq) => checkContract(text, seq)), { numRuns: RUNS, seed: SEED });
  });
  it(`mutated models (${RUNS} runs, seed ${SEED})`, () => {
    fc.assert(fc.property(mutant, fc.integer({ min: 1, max: 70 }), (text, seq) => checkContract(text, seq)), { numRuns: RUNS, seed: SEED });
    const summary = [...outcomes].sort().map(([k, v]) => `${k}: ${v}`).join(', ');
    process.stdout.write(`spec fuzzing: ${2 * RUNS} inputs; ${summary}\n`);
    expect(outcomes.get('compiled') ?? 0, 'some mutants must still compile').toBeGreaterThan(0);
  });
  it('deeply nested expressions and very long files give diagnostics, not a crash', () => {
    checkContract(`model m {\n  dim = ${'('.repeat(5000)}1${')'.repeat(5000)}\n}`, 4);
    checkContract(`model m {\n  dim = ${Array.from({ length: 20000 }, () => '1').join(' + ')}\n}`, 4);
    checkContract(`model m {\n${Array.from({ length: 20000 }, (_, i) => `  p${i} = ${i}`).join('\n')}\n}`, 4);
  });
});
