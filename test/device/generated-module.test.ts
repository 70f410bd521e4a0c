/**
 * The generated TypeScript module of every model, used as a user would: compiled with
 * `--emit ts` into test/.tmp/, imported dynamically, created with seeded weights. Its forward
 * pass, and prefill over n tokens (n not a multiple of T) followed by k steps, must match the
 * float64 reference of one forward pass over all the tokens.
 */
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../cli/main.ts';
import { compileSource } from '../../compiler/pipeline.ts';
import { Rng } from '../../runtime/random.ts';
import { interpretGraph } from '../../runtime/reference/interpret.ts';
import { seededWeights } from '../../runtime/weights.ts';
import { expectClose } from '../helpers/compare.ts';
import { gpu } from './gpu.ts';

/**
 * Tolerance of a whole model through the generated module: 1.1e-6 measured, so 1e-5; ReBased 1e-3,
 * its quadratic features cancelling for nearly orthogonal q and k (4.7e-6 here; README "Accuracy").
 */
const tolerance = (file: string) => (file === 'rebased.loom' ? 1e-3 : 1e-5);

const MODELS = readdirSync('models').filter((f) => f.endsWith('.loom')).sort();
const [B, T, N, K] = [2, 8, 19, 3]; // prefill 19 = 2 windows of 8 + 3 steps, then 3 more steps
const ROOT = join('test', '.tmp', `generated-${process.pid}`);

afterAll(() => rmSync(ROOT, { recursive: true, force: true }));

interface GeneratedModel {
  forward(tokens: Int32Array): Promise<{ logits: Float32Array; states: Record<string, Float32Array> }>;
  prefill(tokens: Int32Array): Promise<Float32Array>;
  step(tokens: Int32Array): Promise<Float32Array>;
  destroy(): void;
}

/** The reference over [B, n] tokens: logits [B, n, vocab] and final states. */
function reference(path: string, n: number, weights: ReadonlyMap<string, Float32Array>, tokens: Int32Array) {
  const r = compileSource(readFileSync(path, 'utf8'), path, { batch: B, seq: n });
  if (!r.ok) throw new Error(r.diagnostics.map((d) => d.message).join('\n'));
  return interpretGraph(r.compiled.graph, weights, tokens).outputs;
}

describe.each(MODELS)('models/%s', (file) => {
  it(`B${B}-T${T}: forward matches the reference; prefill(${N}) + ${K} steps matches one forward over ${N + K}`, { timeout: 300_000 }, async () => {
    const path = join('models', file);
    const dir = join(ROOT, basename(file, '.loom'));
    let log = '';
    const io = { out: (t: string) => (log += t), err: (t: string) => (log += t) };
    const code = await main(['compile', path, '-o', dir, '--batch', String(B), '--seq', String(T), '--emit', 'ts', '--runtime-import', '../../../../runtime/index.ts'], io);
    expect(code, log).toBe(0);
    const mod = (await import(pathToFileURL(join(process.cwd(), dir, 'model.ts')).href)) as Record<string, unknown>;
    const Class = Object.values(mod).find((v) => typeof v === 'function') as unknown as { create(g: unknown, w: Record<string, Float32Array>): Promise<GeneratedModel> };
    const dims = mod.DIMS as { B: number; T: number; vocab: number };
    expect(dims).toMatchObject({ B, T });
    const shapes = mod.WEIGHT_SHAPES as Record<string, readonly number[]>;
    const decls = Object.entries(shapes).map(([name]) => name);
    const compiled = compileSource(readFileSync(path, 'utf8'), path, { batch: B, seq: T });
    if (!compiled.ok) throw new Error('spec does not compile');
    expect(decls).toEqual(compiled.compiled.graph.weights.map((w) => w.name));
    const weights = seededWeights(compiled.compiled.graph.weights, 3);
    const model = await Class.create(await gpu(), Object.fromEntries(weights));
    try {
      const rng = Rng.forName(7, file);
      const all = Int32Array.from({ length: B * (N + K) }, () => rng.int(dims.vocab));
      const row = (b: number, from: number, to: number) => all.subarray(b * (N + K) + from, b * (N + K) + to);
      const cols = (from: number, to: number) => Int32Array.from(Array.from({ length: B }, (_, b) => [...row(b, from, to)]).flat());
      const V = dims.vocab;
      // forward: the first T tokens of each row.
      const first = cols(0, T);
      const out = await model.forward(first);
      const refT = reference(path, T, weights, first);
      expectClose('forward logits', out.logits, refT.logits, tolerance(file));
      for (const [name, v] of Object.entries(out.states)) expectClose(`forward ${name}`, v, refT[name], tolerance(file));
      const noDecode = (JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { noDecode?: string }).noDecode;
      if (noDecode) {
        // A non-causal mixer: one window of T is a forward pass; anything that continues refuses.
        expect(noDecode).toMatch(/^mixer '\w+' \(\w+\) is not causal: decode is not defined$/);
        await expect(model.prefill(cols(0, N))).rejects.toThrow(`LOOM4020`);
        expectClose('prefill(T) logits', await model.prefill(first), refT.logits, tolerance(file));
        await expect(model.prefill(first)).rejects.toThrow(`${noDecode}; prefill cannot continue a sequence`);
        await expect(model.step(cols(N, N + 1))).rejects.toThrow(`${noDecode}; there is no step program`);
        return;
      }
      // prefill N tokens, then K steps, against one forward over N + K.
      const ref = reference(path, N + K, weights, all).logits;
      const pre = await model.prefill(cols(0, N));
      const refPre = Float64Array.from({ length: B * N * V }, (_, i) => ref[Math.floor(i / (N * V)) * (N + K) * V + (i % (N * V))]);
      expectClose(`prefill(${N}) logits`, pre, refPre, tolerance(file));
      for (let k = 0; k < K; k++) {
        const logits = await model.step(cols(N + k, N + k + 1));
        const refStep = Float64Array.from({ length: B * V }, (_, i) => ref[(Math.floor(i / V) * (N + K) + N + k) * V + (i % V)]);
        expectClose(`step ${k} logits`, logits, refStep, tolerance(file));
      }
    } finally {
      model.destroy();
    }
  });
});
