/**
 * The carried state bound directly to the programs' kernels (runtime/state.ts, Session.carry): no
 * copy in or out per call. A state updated in place (KV cache) is one buffer; any other is read
 * from one buffer and written to a second, and the two swap roles after each call.
 *
 * The comparisons are exact: the carried path and the host-to-host path (`Session.forward` with
 * the states passed explicitly) run the same pipelines on the same inputs, only over other
 * buffers, so any difference at all means a state was read from the wrong buffer, read while
 * written, or left partly unwritten (a spare holds the value of two calls before).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { compileInMemory } from '../../cli/open-model.ts';
import { layouts, type Artifacts } from '../../runtime/artifacts.ts';
import { deviceProfile } from '../../runtime/gpu.ts';
import { Model } from '../../runtime/model.ts';
import { liveGpuBuffers, Program } from '../../runtime/program.ts';
import { Rng } from '../../runtime/random.ts';
import { Session } from '../../runtime/session.ts';
import { DeviceState } from '../../runtime/state.ts';
import { seededWeights } from '../../runtime/weights.ts';
import { causalModels } from '../helpers/models.ts';
import { gpu } from './gpu.ts';

const T = 16;
const tmp = mkdtempSync(join(tmpdir(), 'loom-binding-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
afterEach(() => vi.restoreAllMocks());

function ids(seed: number, n: number, vocab: number): Int32Array {
  const rng = Rng.forName(seed, 'state-binding');
  return Int32Array.from({ length: n }, () => rng.int(vocab));
}

interface Opened {
  model: Model;
  artifacts: Artifacts;
  weights: Map<string, Float32Array>;
}

async function open(path: string, batch = 1): Promise<Opened> {
  const { artifacts, pair } = compileInMemory(readFileSync(path, 'utf8'), path, { batch, seq: T, device: deviceProfile(await gpu()) });
  const weights = seededWeights(pair.forward.graph.weights, 7);
  // Windows of T and single steps (no window programs of other widths): the host-to-host paths
  // below replay exactly those calls, bit for bit (test/device/prefill-windows.test.ts covers the widths).
  return { model: await Model.create(await gpu(), artifacts, weights, { windows: null }), artifacts, weights };
}

/** The two programs of `o` as sessions, each call host to host (`Session.forward` with explicit states). */
async function hostSessions(o: Opened): Promise<{ run: Session['forward']; destroy: () => void }> {
  const l = layouts(o.artifacts);
  const forward = await Session.open(await gpu(), l.forward, o.weights);
  const step = await Session.open(await gpu(), l.step!, new Map(), forward);
  return {
    run: (tokens, states) => (tokens.length === o.artifacts.dims.B ? step : forward).forward(tokens, states),
    destroy: () => {
      step.destroy();
      forward.destroy();
    },
  };
}

/**
 * The host-to-host path over the same artifacts: each call of a program through `Session.forward`
 * with the states of the previous call passed explicitly. `calls`: token ids `[B, T]` (a window)
 * or `[B]` (a step). Returns each call's logits and the final states.
 */
async function hostToHost(o: Opened, calls: Int32Array[]): Promise<{ logits: Float32Array[]; states: Record<string, Float32Array> }> {
  const host = await hostSessions(o);
  try {
    let states: Record<string, Float32Array> = {};
    const logits: Float32Array[] = [];
    for (const tokens of calls) {
      const r = await host.run(tokens, states);
      logits.push(r.logits);
      states = r.states;
    }
    return { logits, states };
  } finally {
    host.destroy();
  }
}

const causal = causalModels();

describe('a carried multi-step decode equals the host-to-host path exactly', () => {
  it('covers in-place KV caches, swapped matrix states, conv tails and positions', () => {
    for (const m of ['transformer', 'gated-deltanet', 'gated-deltanet-hybrid', 'linear-transformer', 'softplus-attention', 'mamba']) expect(causal).toContain(`models/${m}.loom`);
  });

  /** A window, 3 steps, a window, 3 steps: both programs, each with both roles of the swapped buffers. */
  async function windowsAndSteps(path: string, batch: number): Promise<void> {
    const o = await open(path, batch);
    try {
      const vocab = o.model.dims.vocab;
      const seq = ids(1, 38 * batch, vocab); // [B, 38]
      const cols = (from: number, n: number) => Int32Array.from({ length: batch * n }, (_, i) => seq[Math.floor(i / n) * 38 + from + (i % n)]);
      const calls = [cols(0, 16), cols(16, 1), cols(17, 1), cols(18, 1), cols(19, 16), cols(35, 1), cols(36, 1), cols(37, 1)];
      const want = await hostToHost(o, calls);
      const got: Float32Array[] = [];
      for (const c of calls) got.push(c.length === batch * T ? await o.model.prefill(c) : await o.model.step(c));
      got.forEach((g, i) => expect(g, `${path} call ${i}`).toEqual(want.logits[i]));
      expect(await o.model.readState()).toEqual(want.states);
    } finally {
      o.model.destroy();
    }
  }

  it.each(causal)('%s: window, steps, window, steps', { timeout: 120_000 }, (path) => windowsAndSteps(path, 1));

  it('two sequences (B = 2): gated-deltanet-hybrid', { timeout: 120_000 }, () => windowsAndSteps('models/gated-deltanet-hybrid.loom', 2));
});

describe('forks, state files and bind groups', () => {
  const HYBRID = 'models/gated-deltanet-hybrid.loom'; // swapped S and pos, in-place KV caches

  it('advancing one fork leaves the other\'s next logits unchanged; the spares go with their state', { timeout: 120_000 }, async () => {
    const live = liveGpuBuffers();
    const o = await open(HYBRID);
    try {
      const vocab = o.model.dims.vocab;
      const prompt = ids(4, 19, vocab);
      const next = ids(5, 4, vocab);
      await o.model.prefill(prompt);
      const f = await o.model.fork();
      const want = await f.step(next.subarray(0, 1)); // f and the model stand at the prompt's end
      const g = await o.model.fork();
      for (let i = 0; i < 4; i++) await o.model.step(next.subarray(i, i + 1));
      expect(await g.step(next.subarray(0, 1))).toEqual(want);
      for (let i = 0; i < 3; i++) await f.step(next.subarray(i + 1, i + 2));
      const fState = await f.readState();
      const gState = await g.readState();
      expect(await o.model.readState()).toEqual(fState);
      expect(gState.pos).toEqual(Float32Array.of(20));
      f.destroy(); // its bind groups go with it; the programs stay
      expect(await g.step(next.subarray(1, 2))).toEqual((await hostToHost(o, [prompt.subarray(0, 16), ...[16, 17, 18].map((t) => prompt.subarray(t, t + 1)), next.subarray(0, 1), next.subarray(1, 2)])).logits[5]);
      g.destroy();
    } finally {
      o.model.destroy();
    }
    expect(liveGpuBuffers()).toBe(live);
  });

  it('a state saved (or read) after N steps and loaded (or written) gives the same next logits, whatever the buffers held', { timeout: 120_000 }, async () => {
    const o = await open(HYBRID);
    const other = await open(HYBRID);
    try {
      const vocab = o.model.dims.vocab;
      const seq = ids(6, 24, vocab);
      await o.model.prefill(seq.subarray(0, 21)); // a window and 5 steps
      const file = join(tmp, 'after-21.safetensors');
      await o.model.saveState(file);
      const values = await o.model.readState();
      const want = [await o.model.step(seq.subarray(21, 22)), await o.model.step(seq.subarray(22, 23))];
      // Another model with other values in both buffers of each swapped state, then the file.
      await other.model.prefill(ids(7, 18, vocab));
      other.model.loadState(file);
      expect(await other.model.step(seq.subarray(21, 22))).toEqual(want[0]);
      expect(await other.model.step(seq.subarray(22, 23))).toEqual(want[1]);
      // And the model itself, two steps on (the other role of its swapped buffers), by file and by value.
      o.model.loadState(file);
      expect(await o.model.step(seq.subarray(21, 22))).toEqual(want[0]);
      o.model.writeState(values);
      expect(await o.model.step(seq.subarray(21, 22))).toEqual(want[0]);
    } finally {
      o.model.destroy();
      other.model.destroy();
    }
  });

  it('prefillSequences (B = 2, prompts of 17 and 18 tokens, a row kept aside) then steps', { timeout: 120_000 }, async () => {
    const o = await open(HYBRID, 2);
    const host = await hostSessions(o);
    try {
      const vocab = o.model.dims.vocab;
      const [a, b] = [ids(10, 19, vocab), ids(11, 20, vocab)];
      const got = await o.model.prefillSequences([a.subarray(0, 17), b.subarray(0, 18)]);
      const steps = [0, 1].map((i) => Int32Array.of(a[17 + i], b[18 + i]));
      const gotSteps = [];
      for (const t of steps) gotSteps.push(await o.model.step(t));
      // The same calls host to host: a window, a step of both rows, a step of row 1 alone (row 0
      // runs from position 0 on token 0 and gets its state back afterwards), then the two steps.
      const w = await host.run(Int32Array.from([...a.subarray(0, 16), ...b.subarray(0, 16)]), {});
      const s1 = await host.run(Int32Array.of(a[16], b[16]), w.states);
      const s2 = await host.run(Int32Array.of(0, b[17]), { ...s1.states, pos: Float32Array.of(0, s1.states.pos[1]) });
      const kept = Object.fromEntries(Object.entries(s2.states).map(([name, v]) => {
        const out = v.slice();
        out.set(s1.states[name].subarray(0, v.length / 2)); // row 0 back
        return [name, out];
      }));
      const s3 = await host.run(steps[0], kept);
      const s4 = await host.run(steps[1], s3.states);
      const row = (x: Float32Array, r: number, n: number) => x.subarray(r * n * vocab, (r + 1) * n * vocab);
      expect(got[0]).toEqual(Float32Array.from([...row(w.logits, 0, T), ...row(s1.logits, 0, 1)]));
      expect(got[1]).toEqual(Float32Array.from([...row(w.logits, 1, T), ...row(s1.logits, 1, 1), ...row(s2.logits, 1, 1)]));
      expect(gotSteps).toEqual([s3.logits, s4.logits]);
      expect(await o.model.readState()).toEqual(s4.states);
    } finally {
      host.destroy();
      o.model.destroy();
    }
  });

  it('builds the bind groups once per program and roles, not per call', { timeout: 120_000 }, async () => {
    const bind = vi.spyOn(Program.prototype, 'bind');
    const o = await open(HYBRID);
    try {
      const vocab = o.model.dims.vocab;
      await o.model.prefill(ids(8, 16 + 8, vocab)); // a window and 8 steps
      await o.model.prefill(ids(9, 16, vocab));
      for (let i = 0; i < 4; i++) await o.model.step(Int32Array.of(i));
      expect(bind.mock.calls.length).toBeLessThanOrEqual(4); // 2 programs x 2 roles
      const f = await o.model.fork();
      for (let i = 0; i < 4; i++) await f.step(Int32Array.of(i));
      expect(bind.mock.calls.length).toBeLessThanOrEqual(6); // the fork's own, for the step program
      f.destroy();
    } finally {
      o.model.destroy();
    }
  });

  it('refuses to bind one buffer as both the input and the output of a swapped state', { timeout: 120_000 }, async () => {
    const o = await open('models/linear-transformer.loom');
    const state = await DeviceState.create(await gpu(), o.artifacts.states);
    const program = await Program.create(await gpu(), o.artifacts.step!);
    try {
      const s = o.artifacts.states.find((x) => x.name === 'L0.attn.S')!;
      const one = state.buffer(s.name);
      await expect(program.bind(new Map([[s.input, one], [s.output, one]]))).rejects.toThrow(/L0\.attn\.recurrent would bind one buffer as both 'L0\.attn\.S0' and 'L0\.attn\.S'/);
    } finally {
      program.destroy();
      state.destroy();
      o.model.destroy();
    }
  });
});
