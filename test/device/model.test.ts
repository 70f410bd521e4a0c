/**
 * Whole models on the adapter against the float64 reference: every schedule, final states, and a
 * sequence resumed from carried state in another schedule.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { ScheduleChoice } from '../../compiler/check/spec.ts';
import { compileSource, type Compiled } from '../../compiler/pipeline.ts';
import { LoomError } from '../../grammar/diagnostics.ts';
import { deviceProfile } from '../../runtime/gpu.ts';
import { Rng } from '../../runtime/random.ts';
import { interpretGraph } from '../../runtime/reference/interpret.ts';
import { Session } from '../../runtime/session.ts';
import { seededWeights } from '../../runtime/weights.ts';
import { expectClose } from '../helpers/compare.ts';
import { gpu } from './gpu.ts';

const MODELS = ['models/linear-transformer.loom', 'models/fast-weights.loom'];
const SCHEDULES: ScheduleChoice[] = [{ kind: 'parallel' }, { kind: 'chunkwise', chunk: 16 }, { kind: 'recurrent' }];
const label = (s: ScheduleChoice) => (s.kind === 'chunkwise' ? `chunkwise${s.chunk}` : s.kind);

async function build(path: string, batch: number, seq: number, schedule: ScheduleChoice): Promise<Compiled> {
  const r = compileSource(readFileSync(path, 'utf8'), path, { batch, seq, schedule, device: deviceProfile(await gpu()) });
  if (!r.ok) throw new Error(r.diagnostics.map((d) => d.message).join('\n'));
  return r.compiled;
}

function tokens(seed: number, n: number, vocab: number): Int32Array {
  const rng = Rng.forName(seed, 'model-test');
  return Int32Array.from({ length: n }, () => rng.int(vocab));
}

describe.each(MODELS)('%s', (path) => {
  it.each(SCHEDULES.map((s) => [label(s), s] as const))('B2-T37 %s: logits and final states match the reference', async (_, schedule) => {
    const c = await build(path, 2, 37, schedule);
    const w = seededWeights(c.graph.weights, 11);
    const ids = tokens(1, 74, c.spec.vocab);
    const session = await Session.create(await gpu(), c, w);
    const out = await session.forward(ids);
    session.destroy();
    const ref = interpretGraph(c.graph, w, ids).outputs;
    expectClose('logits', out.logits, ref.logits);
    for (const [name, value] of Object.entries(out.states)) expectClose(name, value, ref[name]);
  });

  it('resumes a sequence from carried state in another schedule', async () => {
    const [T1, T2] = [29, 18];
    const g = await gpu();
    const full = await build(path, 1, T1 + T2, { kind: 'recurrent' });
    const w = seededWeights(full.graph.weights, 5);
    const ids = tokens(2, T1 + T2, full.spec.vocab);
    const ref = interpretGraph(full.graph, w, ids).outputs.logits;
    const vocab = full.spec.vocab;
    const pairs: [ScheduleChoice, ScheduleChoice][] = [
      [{ kind: 'parallel' }, { kind: 'recurrent' }],
      [{ kind: 'chunkwise', chunk: 8 }, { kind: 'parallel' }],
      [{ kind: 'recurrent' }, { kind: 'chunkwise', chunk: 16 }],
    ];
    for (const [a, b] of pairs) {
      const first = await Session.create(g, await build(path, 1, T1, a), w);
      const p = await first.forward(ids.subarray(0, T1));
      first.destroy();
      const second = await Session.create(g, await build(path, 1, T2, b), w);
      const q = await second.forward(ids.subarray(T1), p.states);
      second.destroy();
      expectClose(`${label(a)} then ${label(b)}: first part`, p.logits, ref.subarray(0, T1 * vocab));
      expectClose(`${label(a)} then ${label(b)}: resumed part`, q.logits, ref.subarray(T1 * vocab));
    }
  });
});

describe('session input checks', () => {
  it('rejects token ids outside the vocabulary and states of the wrong size, by name', async () => {
    const c = await build(MODELS[0], 1, 4, { kind: 'recurrent' });
    const s = await Session.create(await gpu(), c, seededWeights(c.graph.weights, 0));
    await expect(s.forward(Int32Array.from([1, 2, 256, 3]))).rejects.toThrow(/token id 256 at \[0, 2\] is outside the vocabulary \[0, 256\)/);
    await expect(s.forward(Int32Array.from([1, 2, 3]))).rejects.toThrow(/expected 4 token ids/);
    await expect(s.forward(Int32Array.from([1, 2, 3, 4]), { 'L0.attn.S': new Float32Array(3) })).rejects.toThrow(/state 'L0.attn.S' needs \[1, 4, 32, 32\]/);
    await expect(s.forward(Int32Array.from([1, 2, 3, 4]), { bogus: new Float32Array(3) })).rejects.toBeInstanceOf(LoomError);
    s.destroy();
  });
  it('rejects weights that do not match the model', async () => {
    const c = await build(MODELS[0], 1, 4, { kind: 'recurrent' });
    const w = seededWeights(c.graph.weights, 0);
    w.set('norm_f.weight', new Float32Array(3));
    await expect(Session.create(await gpu(), c, w)).rejects.toThrow(/norm_f\.weight/);
  });
});
