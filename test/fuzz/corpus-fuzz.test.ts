/**
 * Mutation corpus: every `models/*.loom` file, mutated byte by byte and token by token on a fixed
 * seed, goes through the whole compiler (parse, check, lower, fuse, plan, assemble). Each input
 * must give a compiled program or coded diagnostics located inside the text, within a bounded
 * time; never another exception. Prints the count of each outcome per model.
 * `LOOM_FUZZ_RUNS=N` scales the number of mutants (default 300: 30 byte and 30 token mutants of
 * each model). Also: a 50,000-line file and deep nesting in every place the grammar nests.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compileSource } from '../../compiler/pipeline.ts';
import { loomLexer } from '../../grammar/lexer.ts';
import { Rng } from '../../runtime/random.ts';

const RUNS = Number(process.env.LOOM_FUZZ_RUNS ?? 300);
const PER_KIND = Math.max(1, Math.round(RUNS / 10));
const SEED = 20261129;
/**
 * Bound on one input's compile time: a hang or exponential backtracking detector. A spec takes
 * milliseconds; compiling is linear in the layers (a mutant with layers = 2048, the cap being
 * 4096, took 10 s on the shared 2-core machine), so a compiled input gets PER_LAYER_MS per layer.
 */
const MAX_MS = 5000;
const PER_LAYER_MS = 10;
/** The 50,000-line files: about 2.5 s alone on the 2-core machine, linear in the lines. */
const LONG_FILE_MS = 30_000;

const MODELS = readdirSync('models').filter((f) => f.endsWith('.loom')).sort();
const texts = new Map(MODELS.map((f) => [f, readFileSync(`models/${f}`, 'utf8')]));

/** Byte-level pieces: the grammar's punctuation, digits, odd code units, keywords, huge numbers. */
const BYTES = [...'{}()[],=+-*/.#"\\@$`~!x_09eE ', '\n', '\r', '\t', '\u0000', '\u00e9', '\ud83d', '\ufeff', '1e99', '4294967296', '..', 'round', 'then'];

function byteMutant(rng: Rng, text: string): string {
  let out = text;
  for (let e = 1 + rng.int(3); e > 0; e--) {
    const at = rng.int(out.length + 1);
    const piece = BYTES[rng.int(BYTES.length)];
    const kind = rng.int(4);
    if (kind === 0) out = out.slice(0, at) + out.slice(at + 1 + rng.int(8));
    else if (kind === 1) out = out.slice(0, at) + piece + out.slice(at);
    else if (kind === 2) out = out.slice(0, at) + piece + out.slice(at + 1);
    else out = out.slice(0, at) + String.fromCharCode(rng.int(128)) + out.slice(at + 1); // a random ASCII byte
  }
  return out;
}

/** Every token image of every model by token type: replacements keep the kind of token. */
const VOCAB = new Map<string, string[]>();
for (const t of texts.values()) {
  for (const k of loomLexer.tokenize(t).tokens) {
    const list = VOCAB.get(k.tokenType.name) ?? [];
    if (!list.includes(k.image)) list.push(k.image);
    VOCAB.set(k.tokenType.name, list);
  }
}

/**
 * One or two token edits: delete, duplicate, swap with the next, or (most often, so that many
 * mutants get past the parser into the checker) replace by a token of the same kind.
 */
function tokenMutant(rng: Rng, text: string): string {
  let out = text;
  for (let e = 1 + rng.int(2); e > 0; e--) {
    const tokens = loomLexer.tokenize(out).tokens;
    if (tokens.length < 2) break;
    const i = rng.int(tokens.length - 1);
    const [a, b] = [tokens[i], tokens[i + 1]];
    const [as, ae, bs, be] = [a.startOffset, a.startOffset + a.image.length, b.startOffset, b.startOffset + b.image.length];
    const kind = rng.int(6);
    const same = VOCAB.get(a.tokenType.name) ?? [a.image];
    if (kind === 0) out = out.slice(0, as) + out.slice(ae);
    else if (kind === 1) out = out.slice(0, ae) + ' ' + a.image + out.slice(ae);
    else if (kind === 2) out = out.slice(0, as) + b.image + out.slice(ae, bs) + a.image + out.slice(be);
    else out = out.slice(0, as) + same[rng.int(same.length)] + out.slice(ae);
  }
  return out;
}

/** Compiles one input and checks the contract; returns the outcome's name. */
function outcome(text: string, seq: number, what: string, maxMs = MAX_MS): string {
  const t0 = performance.now();
  let r: ReturnType<typeof compileSource>;
  try {
    r = compileSource(text, 'mutant.loom', { batch: 1, seq });
  } catch (e) {
    throw new Error(`${what}: compileSource threw ${(e as Error).stack}\n--- input ---\n${text}`);
  }
  const budget = maxMs + (r.ok ? PER_LAYER_MS * r.compiled.spec.layers : 0);
  expect(performance.now() - t0, `${what}: compile time`).toBeLessThan(budget);
  if (r.ok) return 'compiled';
  expect(r.diagnostics.length, what).toBeGreaterThan(0);
  for (const d of r.diagnostics) {
    expect(d.code, `${what}: ${d.message}`).toBeGreaterThanOrEqual(1000);
    expect(d.code, `${what}: ${d.message}`).toBeLessThan(7000);
    if (d.span) expect(d.span.end, `${what}: ${d.message}`).toBeLessThanOrEqual(text.length);
  }
  return `LOOM${r.diagnostics[0].code}`;
}

function summary(counts: Map<string, number>): string {
  return [...counts].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => `${k} ${v}`).join(', ');
}

describe(`mutation corpus of models/*.loom (${PER_KIND} byte + ${PER_KIND} token mutants each, seed ${SEED})`, () => {
  it.each(MODELS)('%s', (file) => {
    const text = texts.get(file)!;
    expect(outcome(text, 16, `${file} unmutated`)).toBe('compiled');
    const lines: string[] = [];
    for (const [kind, mutate] of [['byte', byteMutant], ['token', tokenMutant]] as const) {
      const rng = Rng.forName(SEED, `${kind}:${file}`);
      const counts = new Map<string, number>();
      for (let i = 0; i < PER_KIND; i++) {
        const seq = 1 + rng.int(70);
        const o = outcome(mutate(rng, text), seq, `${file} ${kind} mutant ${i}`);
        counts.set(o, (counts.get(o) ?? 0) + 1);
      }
      // The mutations must both break specs and leave some compiling, or they test nothing.
      expect(counts.get('compiled') ?? 0, `${kind} mutants of ${file} that compile`).toBeGreaterThan(0);
      expect(counts.get('compiled') ?? 0, `${kind} mutants of ${file} that compile`).toBeLessThan(PER_KIND);
      lines.push(`${kind} ${PER_KIND}: ${summary(counts)}`);
    }
    process.stdout.write(`corpus ${file}: ${lines.join('; ')}\n`);
  });
});

describe('very long files and deep nesting', () => {
  const head = 'model m {\n  vocab = 16\n  dim = 8\n  heads = 2\n  layers = 1\n';
  const tail = '  block {\n    x = x + silu(x)\n  }\n}\n';

  it('a 50,000-line file compiles in bounded time', () => {
    const params = Array.from({ length: 50_000 }, (_, i) => `  p${i} = ${i % 7} + dim`).join('\n');
    expect(outcome(`${head}${params}\n${tail}`, 4, '50k lines', LONG_FILE_MS)).toBe('compiled');
  });

  it('20,000 lines of errors give diagnostics in bounded time', () => {
    const junk = Array.from({ length: 20_000 }, (_, i) => `  p${i} = = ${i} )`).join('\n');
    expect(outcome(`${head}${junk}\n${tail}`, 4, '20k bad lines', LONG_FILE_MS)).toBe('LOOM1002');
  });

  it('deep nesting of parentheses, calls and blocks is refused with LOOM1006, not a stack overflow', () => {
    const deep = 20_000;
    const cases = {
      parameter: `${head}  p = ${'('.repeat(deep)}1${')'.repeat(deep)}\n${tail}`,
      calls: `${head}  block {\n    x = ${'silu('.repeat(deep)}x${')'.repeat(deep)}\n  }\n}\n`,
      'block expression': `${head}  block {\n    x = x + ${'(x * '.repeat(deep)}x${')'.repeat(deep)}\n  }\n}\n`,
      'mixer knob': `${head}  mixer a = linear_attn {\n    head_dim = ${'('.repeat(deep)}4${')'.repeat(deep)}\n  }\n${tail}`,
      braces: `${head}${'{'.repeat(deep)}${'}'.repeat(deep)}\n${tail}`,
      schedule: `${head}${tail}schedule {\n  default = ${'chunkwise('.repeat(deep)}64${')'.repeat(deep)}\n}\n`,
    };
    for (const [what, text] of Object.entries(cases)) {
      const o = outcome(text, 4, what);
      expect(o, what).toMatch(/^LOOM1/);
    }
  });
});
