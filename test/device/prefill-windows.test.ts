/**
 * Prefill in windows of powers of two: a prompt of n tokens runs as windows of T and then one
 * window per binary digit of the rest (the window programs compiled at T = w on first use), in
 * at most ceil(log2 n) + 1 calls for n <= 2T + 5 here. Its logits and final state must equal those
 * of the step-by-step path, and the logits of the prompt and of two more steps the float64
 * reference over the whole sequence: linear attention, a chunkwise delta rule with a short
 * convolution at widths below its chunk, a hybrid with KV caches and positions, a sliding-window
 * ring cache; a prefill that returns only the last position's logits (the calls before the last
 * skip the LM head) leaves the same state and gives the same last row. Batched prompts of different lengths, and artifact directories (window programs from
 * the spec the manifest names, or windows of T and steps when it cannot be read or has changed).
 *
 * Tolerances: 1e-4 relative rms (the suite's, compare.ts) between paths that differ only in f32
 * summation order (rounding 6e-8 per operation over reductions of at most a few hundred terms per
 * layer, a few layers deep: errors around 1e-6) and against the float64 reference.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../cli/main.ts';
import { compileInMemory } from '../../cli/open-model.ts';
import type { ScheduleChoice } from '../../compiler/check/spec.ts';
import { compileSource } from '../../compiler/pipeline.ts';
import { loadArtifacts } from '../../runtime/artifacts.ts';
import { deviceProfile } from '../../runtime/gpu.ts';
import { Model, prefillWidths, sequenceCalls } from '../../runtime/model.ts';
import { Rng } from '../../runtime/random.ts';
import { interpretGraph } from '../../runtime/reference/interpret.ts';
import { seededWeights } from '../../runtime/weights.ts';
import { expectClose } from '../helpers/compare.ts';
import { gpu } from './gpu.ts';

const T = 16;
const LENGTHS = [1, 5, T - 1, T + 3, 2 * T + 5];
const tmp = mkdtempSync(join(tmpdir(), 'loom-windows-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function ids(seed: number, n: number): Int32Array {
  const rng = Rng.forName(seed, 'prefill-windows');
  return Int32Array.from({ length: n }, () => rng.int(256));
}

async function open(path: string, batch: number, schedule?: ScheduleChoice) {
  const { pair, artifacts } = compileInMemory(readFileSync(path, 'utf8'), path, { batch, seq: T, device: deviceProfile(await gpu()), ...(schedule ? { schedule } : {}) });
  const weights = seededWeights(pair.forward.graph.weights, 5);
  return { model: await Model.create(await gpu(), artifacts, weights), weights };
}

/** The float64 reference of one sequence: logits [n, vocab] and the final states. */
function reference(path: string, weights: ReadonlyMap<string, Float32Array>, tokens: Int32Array) {
  const r = compileSource(readFileSync(path, 'utf8'), path, { batch: 1, seq: tokens.length, schedule: { kind: 'recurrent' } });
  if (!r.ok) throw new Error(r.diagnostics.map((d) => d.message).join('\n'));
  return interpretGraph(r.compiled.graph, weights, tokens).outputs;
}

/** Calls of a prefill through onProgress: each (done, total) with done counting up to total. */
async function counted(run: (o: { onProgress: (done: number, total: number) => void }) => Promise<unknown>): Promise<number> {
  const seen: string[] = [];
  await run({ onProgress: (done, total) => seen.push(`${done}/${total}`) });
  expect(seen).toEqual(seen.map((_, i) => `${i + 1}/${seen.length}`));
  return seen.length;
}

const MODELS: [string, ScheduleChoice | undefined][] = [
  ['models/linear-transformer.loom', undefined], // linear attention, planned per width
  ['models/gated-deltanet.loom', { kind: 'chunkwise', chunk: 64 }], // short conv tails; every window below the chunk
  ['models/gated-deltanet-hybrid.loom', undefined], // the spec's chunkwise(16); KV caches and pos
  ['models/deltanet-swa.loom', undefined], // a ring cache of 16 slots
];

describe('prefill in windows of powers of two', () => {
  it.each(MODELS)('%s: prompts of 1, 5, T-1, T+3, 2T+5 tokens equal the step-by-step path and the reference', { timeout: 300_000 }, async (path, schedule) => {
    const { model, weights } = await open(path, 1, schedule);
    try {
      const V = model.dims.vocab;
      for (const n of LENGTHS) {
        const seq = ids(n, n + 2);
        const prompt = seq.subarray(0, n);
        model.reset();
        const got = new Float32Array((n + 2) * V);
        const calls = await counted(async (o) => got.set(await model.prefill(prompt, o)));
        expect(calls, `n = ${n}`).toBe(prefillWidths(n, T, true).length);
        expect(calls, `n = ${n}`).toBeLessThanOrEqual(Math.ceil(Math.log2(n)) + 1);
        const windowed = await model.readState();
        for (let t = n; t < n + 2; t++) got.set(await model.step(seq.subarray(t, t + 1)), t * V);

        model.reset();
        const stepped = new Float32Array(n * V);
        for (let t = 0; t < n; t++) stepped.set(await model.step(seq.subarray(t, t + 1)), t * V);
        expectClose(`${path} n=${n} logits: windows against steps`, got.subarray(0, n * V), stepped);
        const steppedState = await model.readState();
        const ref = reference(path, weights, prompt);
        for (const [name, v] of Object.entries(windowed)) {
          expectClose(`${path} n=${n} ${name}: windows against steps`, v, steppedState[name]);
          expectClose(`${path} n=${n} ${name}: windows against the reference`, v, ref[name]);
        }
        expectClose(`${path} n=${n} prefill and 2 steps against the reference`, got, reference(path, weights, seq).logits);

        // Only the last position's logits: the calls before the last skip the LM head, the state is the same.
        model.reset();
        const last = await model.prefill(prompt, { logits: 'last' });
        expect(last.length).toBe(V);
        expectClose(`${path} n=${n} logits 'last' against the full prefill's last row`, last, got.subarray((n - 1) * V, n * V));
        const lastState = await model.readState();
        for (const [name, v] of Object.entries(windowed)) expectClose(`${path} n=${n} ${name}: logits 'last' against all`, lastState[name], v);
      }
    } finally {
      model.destroy();
    }
  });

  it('batched prompts of 2T+5 and 5 tokens share their windows and each equals the reference', { timeout: 300_000 }, async () => {
    const path = 'models/gated-deltanet-hybrid.loom';
    const { model, weights } = await open(path, 2);
    try {
      const prompts = [ids(1, 2 * T + 5), ids(2, 5)];
      let logits: Float32Array[] = [];
      const calls = await counted(async (o) => (logits = await model.prefillSequences(prompts, o)));
      expect(sequenceCalls([2 * T + 5, 5], T, true).map((c) => c.width)).toEqual([16, 16, 4, 1]);
      expect(calls).toBe(4);
      const next = [ids(3, 1), ids(4, 1)];
      const after = await model.step(Int32Array.of(next[0][0], next[1][0]));
      for (let b = 0; b < 2; b++) {
        const V = model.dims.vocab;
        const all = new Float32Array([...logits[b], ...after.subarray(b * V, (b + 1) * V)]);
        expectClose(`${path} sequence ${b}`, all, reference(path, weights, new Int32Array([...prompts[b], ...next[b]])).logits);
      }
    } finally {
      model.destroy();
    }
  });
});

describe('window programs of an artifact directory', () => {
  const SPEC = 'models/linear-transformer.loom';
  const text = readFileSync(SPEC, 'utf8');
  const spec = join(tmp, 'lt.loom');
  const dir = join(tmp, 'lt');

  /** Calls and logits of a prefill of 15 tokens through the directory's Model. */
  async function prefill15(weights: ReadonlyMap<string, Float32Array>): Promise<{ calls: number; logits: Float32Array }> {
    const model = await Model.create(await gpu(), loadArtifacts(dir), weights);
    try {
      let logits: Float32Array = new Float32Array();
      const calls = await counted(async (o) => (logits = await model.prefill(ids(15, 15), o)));
      expect(model.windowWidths(15)).toHaveLength(calls);
      return { calls, logits };
    } finally {
      model.destroy();
    }
  }

  it('come from the spec the manifest names, recompiled; a spec changed or gone gives windows of T and steps', { timeout: 300_000 }, async () => {
    writeFileSync(spec, text);
    let log = '';
    const code = await main(['compile', spec, '-o', dir, '--seq', String(T)], { out: (t) => (log += t), err: (t) => (log += t) });
    expect(code, log).toBe(0);
    const { model, weights } = await open(SPEC, 1);
    const want = await model.prefill(ids(15, 15));
    model.destroy();

    const windowed = await prefill15(weights);
    expect(windowed.calls).toBe(4); // 8 + 4 + 2 + 1
    expect(windowed.logits).toEqual(want); // the same kernels as compileInMemory's

    writeFileSync(spec, text.replace('heads  = 4', 'heads  = 2')); // edited since: not the directory's model
    const edited = await prefill15(weights);
    expect(edited.calls).toBe(15);
    expectClose('steps after an edit', edited.logits, want);

    rmSync(spec);
    expect((await prefill15(weights)).calls).toBe(15);
  });
});
