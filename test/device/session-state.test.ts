/**
 * Sessions with carried state through the public Model API: prefill (chunkwise windows of T, then
 * of powers of two) followed by `step` against the float64 reference over the whole sequence, for
 * every causal model in models/; state files (bitwise continuation, refusal of another model's
 * file); forks; batched prefill of sequences of different lengths; generation (greedy against the
 * reference, seeded sampling through `loom generate`). B <= 2 and T = 16 keep the programs (and
 * lavapipe's pipeline compiles) small.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../cli/main.ts';
import { compileInMemory } from '../../cli/open-model.ts';
import { compileSource, type Compiled } from '../../compiler/pipeline.ts';
import { deviceProfile } from '../../runtime/gpu.ts';
import { encodeBytes, generate } from '../../runtime/generate.ts';
import { Model } from '../../runtime/model.ts';
import { Rng } from '../../runtime/random.ts';
import { interpretGraph } from '../../runtime/reference/interpret.ts';
import { seededWeights } from '../../runtime/weights.ts';
import { expectClose } from '../helpers/compare.ts';
import { causalModels } from '../helpers/models.ts';
import { gpu } from './gpu.ts';

/**
 * Tolerance of a whole model's logits over a prefill and steps: 1e-5, as the model tests (whole
 * models measure 2e-7 to 1.5e-6); ReBased 1e-3, its quadratic features cancelling for nearly
 * orthogonal q and k (README "Accuracy").
 */
const tol = (path: string) => (path.endsWith('/rebased.loom') ? 1e-3 : 1e-5);

const T = 16;
const tmp = mkdtempSync(join(tmpdir(), 'loom-state-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function ids(seed: number, n: number, vocab: number): Int32Array {
  const rng = Rng.forName(seed, 'session-state');
  return Int32Array.from({ length: n }, () => rng.int(vocab));
}

/** A model at [B, T] with the prefill windows forced to chunkwise(16) when its mixers offer it. */
async function open(path: string, batch: number, seed = 3): Promise<{ model: Model; weights: Map<string, Float32Array> }> {
  const text = readFileSync(path, 'utf8');
  const device = deviceProfile(await gpu());
  let compiled;
  try {
    compiled = compileInMemory(text, path, { batch, seq: T, schedule: { kind: 'chunkwise', chunk: 16 }, device });
  } catch {
    compiled = compileInMemory(text, path, { batch, seq: T, device }); // a mixer without chunkwise: the spec's prefill plan
  }
  const weights = seededWeights(compiled.pair.forward.graph.weights, seed);
  return { model: await Model.create(await gpu(), compiled.artifacts, weights), weights };
}

/** The float64 reference of one sequence (B = 1) of any length: logits [n, vocab]. */
function reference(path: string, weights: ReadonlyMap<string, Float32Array>, tokens: Int32Array): Float64Array | Float32Array {
  const r = compileSource(readFileSync(path, 'utf8'), path, { batch: 1, seq: tokens.length, schedule: { kind: 'recurrent' } });
  const c: Compiled = r.ok ? r.compiled : (() => { throw new Error(r.diagnostics.map((d) => d.message).join('\n')); })();
  return interpretGraph(c.graph, weights, tokens).outputs.logits as Float64Array;
}

const causal = causalModels();

describe('prefill then step equals a forward over the whole sequence', () => {
  it('covers the recurrence presets and a hybrid with attention layers', () => {
    expect(causal).toContain('models/gated-deltanet.loom');
    expect(causal).toContain('models/gated-deltanet-hybrid.loom');
    expect(causal.length).toBeGreaterThan(10);
  });

  it.each(causal)('%s: 19 tokens of prefill (windows of 16, 2 and 1), then 3 steps', { timeout: 120_000 }, async (path) => {
    const { model, weights } = await open(path, 1);
    try {
      const vocab = model.dims.vocab;
      const seq = ids(1, 22, vocab);
      const ref = reference(path, weights, seq);
      const got = new Float32Array(22 * vocab);
      got.set(await model.prefill(seq.subarray(0, 19)));
      for (let t = 19; t < 22; t++) got.set(await model.step(seq.subarray(t, t + 1)), t * vocab);
      expectClose(`${path} prefill + step`, got, ref, tol(path));
    } finally {
      model.destroy();
    }
  });
});

describe('state files and forks', () => {
  const HYBRID = 'models/gated-deltanet-hybrid.loom'; // conv tails, matrix states, KV caches, pos

  it('a restored state continues bitwise like the original; another model\'s file is refused naming both', { timeout: 120_000 }, async () => {
    const { model } = await open(HYBRID, 1);
    const other = await open('models/linear-transformer.loom', 1);
    try {
      const vocab = model.dims.vocab;
      const seq = ids(2, 24, vocab);
      await model.prefill(seq.subarray(0, 20));
      const file = join(tmp, 'hybrid.safetensors');
      await model.saveState(file);
      const before = await model.readState();
      const first: Float32Array[] = [];
      for (let t = 20; t < 24; t++) first.push(await model.step(seq.subarray(t, t + 1)));
      model.reset();
      model.loadState(file);
      expect(await model.readState()).toEqual(before);
      for (let t = 20; t < 24; t++) expect(await model.step(seq.subarray(t, t + 1)), `step ${t}`).toEqual(first[t - 20]);

      const otherFile = join(tmp, 'lt.safetensors');
      await other.model.saveState(otherFile);
      expect(() => model.loadState(otherFile)).toThrow(/LOOM5011.*model 'linear_transformer' \(layout [0-9a-f]{16}\) cannot be loaded into model 'gated_deltanet_hybrid' \(layout [0-9a-f]{16}\)/s);
      expect(() => model.loadState(join(tmp, 'missing.safetensors'))).toThrow(/missing\.safetensors/);
    } finally {
      model.destroy();
      other.model.destroy();
    }
  });

  it('two forks from one prompt are independent and each equals a fresh run', { timeout: 120_000 }, async () => {
    const { model } = await open(HYBRID, 1);
    try {
      const vocab = model.dims.vocab;
      const prompt = ids(3, 18, vocab);
      const [a, b] = [ids(4, 5, vocab), ids(5, 5, vocab)];
      const fresh = async (cont: Int32Array) => {
        model.reset();
        await model.prefill(prompt);
        const out: Float32Array[] = [];
        for (const t of cont) out.push(await model.step(Int32Array.of(t)));
        return out;
      };
      const [wantA, wantB] = [await fresh(a), await fresh(b)];
      model.reset();
      const progress: string[] = [];
      await model.prefill(prompt, { onProgress: (done, total) => progress.push(`${done}/${total}`) });
      expect(progress).toEqual(['1/2', '2/2']); // a window of 16, then one of 2
      const carried = await model.readState();
      await model.forward(ids(6, T, vocab)); // a window from zero state: the carried state is untouched
      expect(await model.readState()).toEqual(carried);
      expect(() => model.writeState({ ...carried, 'L0.gdn.S': new Float32Array(3) })).toThrow(/LOOM5004.*'L0\.gdn\.S' needs \[1, 2, 32, 32\] = 2048 values, got 3/);
      const fa = await model.fork();
      const fb = await model.fork();
      const [gotA, gotB]: Float32Array[][] = [[], []];
      for (let i = 0; i < 5; i++) {
        gotA.push(await fa.step(a.subarray(i, i + 1)));
        gotB.push(await fb.step(b.subarray(i, i + 1)));
      }
      expect(gotA).toEqual(wantA);
      expect(gotB).toEqual(wantB);
      fa.destroy(); // the programs stay with the other users
      expect(await model.step(a.subarray(0, 1))).toEqual(wantA[0]); // the original is still at the prompt's end
      fb.destroy();
    } finally {
      model.destroy();
    }
  });
});

describe('batched decode of sequences of different lengths', () => {
  it.each(['models/gated-deltanet-hybrid.loom', 'models/deltanet-swa.loom'])('%s: each sequence as if alone', { timeout: 120_000 }, async (path) => {
    const { model, weights } = await open(path, 2);
    try {
      const vocab = model.dims.vocab;
      const prompts = [ids(6, 19, vocab), ids(7, 5, vocab)];
      const next = [ids(8, 2, vocab), ids(9, 2, vocab)];
      const got = (await model.prefillSequences(prompts)).map((l, b) => {
        const all = new Float32Array((prompts[b].length + 2) * vocab);
        all.set(l);
        return all;
      });
      for (let i = 0; i < 2; i++) {
        const logits = await model.step(Int32Array.of(next[0][i], next[1][i]));
        for (let b = 0; b < 2; b++) got[b].set(logits.subarray(b * vocab, (b + 1) * vocab), (prompts[b].length + i) * vocab);
      }
      for (let b = 0; b < 2; b++) {
        const seq = new Int32Array([...prompts[b], ...next[b]]);
        expectClose(`${path} sequence ${b}`, got[b], reference(path, weights, seq), tol(path));
      }
    } finally {
      model.destroy();
    }
  });
});

describe('generation', () => {
  const GDN = 'models/gated-deltanet.loom';

  it('greedy tokens through step equal the argmax of repeated full forwards (float64 reference)', { timeout: 120_000 }, async () => {
    const { model, weights } = await open(GDN, 1);
    try {
      const prompt = encodeBytes('Loom decodes greedily: ', model.dims.vocab);
      const r = await generate(model, prompt, { maxTokens: 6, temperature: 0, topK: 0, topP: 1, seed: 0 });
      expect(r.tokens).toHaveLength(6);
      for (let i = 0; i < r.tokens.length; i++) {
        const seq = new Int32Array([...prompt, ...r.tokens.slice(0, i)]);
        const ref = reference(GDN, weights, seq);
        const last = ref.subarray((seq.length - 1) * model.dims.vocab, seq.length * model.dims.vocab);
        let best = 0;
        for (let v = 1; v < 256; v++) if (last[v] > last[best]) best = v;
        expect(r.tokens[i], `token ${i}`).toBe(best);
      }
    } finally {
      model.destroy();
    }
  });

  it('loom generate: seeded sampling is reproducible, top-k 1 is greedy, statistics go to stderr', { timeout: 120_000 }, async () => {
    const gen = async (...flags: string[]) => {
      let out = '';
      let err = '';
      const code = await main(['generate', GDN, '--seq', '16', '--prompt', 'Once upon a time', '--max-tokens', '12', ...flags], { out: (t) => (out += t), err: (t) => (err += t) });
      expect(code, err).toBe(0);
      return { out, err };
    };
    const a = await gen('--temperature', '4', '--seed', '1');
    expect((await gen('--temperature', '4', '--seed', '1')).out).toBe(a.out);
    expect((await gen('--temperature', '4', '--seed', '2')).out).not.toBe(a.out);
    const greedy = await gen('--temperature', '0');
    expect((await gen('--temperature', '1.5', '--top-k', '1', '--seed', '9')).out).toBe(greedy.out);
    expect(a.err).toMatch(/prompt +16 tokens \(bytes\)\nprefill +16 tokens in [\d.]+ ms, [\d.]+ tokens\/s \(windows of 16, T=16 \[/);
    expect(a.err).toMatch(/decode +11 steps in [\d.]+ ms, [\d.]+ tokens\/s/);
    expect(a.out).not.toMatch(/prefill|tokens\/s/);
  });

  it('loom generate stops when a KV cache is full, and says so', { timeout: 120_000 }, async () => {
    const spec = join(tmp, 'tiny-hybrid.loom');
    writeFileSync(spec, `model tiny_hybrid {
  vocab = 256
  dim = 32
  heads = 2
  layers = 2
  mixer gdn = gated_delta { head_dim = 16 }
  mixer attn = attention { heads = 2 kv_heads = 2 max_len = 24 }
  block pattern [gdn, attn] {
    x = x + mixer(rmsnorm(x))
  }
}
`);
    let err = '';
    const code = await main(['generate', spec, '--seq', '16', '--prompt', 'abcdefghijklmnopqrst', '--max-tokens', '10', '--temperature', '0'], { out: () => undefined, err: (t) => (err += t) });
    expect(code, err).toBe(0);
    // 20 prompt positions + 4 tokens fed back = 24 = max_len; the 5th token comes from the last logits.
    expect(err).toMatch(/decode +4 steps[^]*stopped +after 5 of 10 tokens: the KV cache holds max_len = 24 positions/);
  });

  it('loom generate refuses a non-causal model and a vocabulary too small for bytes', async () => {
    const run = async (spec: string) => {
      let err = '';
      const code = await main(['generate', spec, '--seq', '16', '--prompt', 'x'], { out: () => undefined, err: (t) => (err += t) });
      return { code, err };
    };
    const fnet = await run('models/fnet.loom');
    expect(fnet.code).toBe(1);
    expect(fnet.err).toMatch(/LOOM4020.*not causal.*generate needs a causal model/);
    const small = join(tmp, 'small.loom');
    writeFileSync(small, readFileSync('models/linear-transformer.loom', 'utf8').replace(/vocab\s*=\s*256/, 'vocab = 100'));
    const tiny = await run(small);
    expect(tiny.code).toBe(1);
    expect(tiny.err).toMatch(/LOOM5004.*at least 256 tokens; model '\w+' has vocab = 100/);
  });
});
