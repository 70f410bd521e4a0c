/**
 * fla's state-space models on the adapter: `loom import` of Mamba, Mamba2 and Samba configs,
 * checkpoints synthesised in fla's names and torch layouts loaded through the mapping, and the
 * logits in every schedule the plan offers against the float64 forward written from fla's layer
 * code (test/helpers/fla-reference-ssm.ts), at T = 41 with chunks of 16 (two full chunks and a
 * partial one of 9), then a decode continuation: the chunkwise prefill's states carried into
 * three one-token steps. LinearAttention's learned maps (Hedgehog, T2R) run once each (their
 * schedules are covered by models/hedgehog.loom in model.test.ts; here the mapped weights are checked).
 */
import { describe, expect, it } from 'vitest';
import type { ScheduleChoice } from '../../compiler/check/spec.ts';
import { importConfig } from '../../compiler/import/config.ts';
import { compileSource, type Compiled } from '../../compiler/pipeline.ts';
import { loadMapped, checkpointMap } from '../../runtime/fla-weights.ts';
import { deviceProfile } from '../../runtime/gpu.ts';
import { Rng } from '../../runtime/random.ts';
import { Session } from '../../runtime/session.ts';
import { openWeights } from '../../runtime/safetensors-index.ts';
import { expectClose } from '../helpers/compare.ts';
import { SSM_CONFIGS, synthesize, writeCheckpoint, type Checkpoint } from '../helpers/fla-checkpoint.ts';
import { flaForward } from '../helpers/fla-reference.ts';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gpu } from './gpu.ts';

const dir = mkdtempSync(join(tmpdir(), 'loom-fla-ssm-dev-'));
const [T, CHUNK, STEPS] = [41, 16, 3];
const SCHEDULES: ScheduleChoice[] = [{ kind: 'parallel' }, { kind: 'chunkwise', chunk: CHUNK }, { kind: 'recurrent' }];
const label = (s: ScheduleChoice) => (s.kind === 'chunkwise' ? `chunkwise${s.chunk}` : s.kind);
/**
 * rms(out - ref) / rms(ref) of a 2-layer model in f32 against float64: each kernel rounds at ~6e-8
 * relative, the scans add up to 44 terms per state entry and the exp of the log-decays adds its
 * own rounding (~1e-7 relative each). Measured on lavapipe: 3.1e-7 to 6.7e-7 over these kinds,
 * schedules and steps (model.test.ts sees 2e-7 to 1.5e-6 for such models, also on the H200).
 * 1e-5 leaves a margin of 15x; a mapping mistake gives errors of order 0.1 to 1.
 */
const TOL = 1e-5;
const pyJson = (c: unknown) => JSON.stringify(c, (_, v) => (v === Infinity ? '\uE00F' : v), 2).replaceAll('"\uE00F"', 'Infinity');

async function build(kind: string, seq: number, schedule: ScheduleChoice): Promise<Compiled | undefined> {
  const text = importConfig(pyJson(SSM_CONFIGS[kind]), `${kind}.json`, `${kind}.loom`).text;
  const r = compileSource(text, `${kind}.loom`, { batch: 1, seq, schedule, device: deviceProfile(await gpu()) });
  if (r.ok) return r.compiled;
  for (const d of r.diagnostics) expect(d.message, 'only a refused schedule may stop compilation').toMatch(/^layer \d+ \(.+\) has no \w+ schedule: .{10,}/);
  return undefined;
}

/** The checkpoint loaded through the fla mapping of `c`. */
function load(c: Compiled, kind: string, ck: Checkpoint): Map<string, Float32Array> {
  const path = join(dir, `${kind}.safetensors`);
  writeCheckpoint(path, ck);
  return loadMapped(checkpointMap(c.spec, c.graph.weights, 'fla'), openWeights(path));
}

const tokens = (n: number, vocab: number) => {
  const rng = Rng.forName(9, 'fla-ssm-device');
  return Int32Array.from({ length: n }, () => rng.int(vocab));
};

describe.each(['mamba', 'mamba2', 'samba'])('%s from an fla checkpoint', (kind) => {
  const ck = synthesize(kind, 13);
  const cfg = SSM_CONFIGS[kind] as Record<string, number>;
  const ids = tokens(T + STEPS, cfg.vocab_size);
  const ref = flaForward(kind, ck, cfg, ids, 1, T + STEPS);
  const V = cfg.vocab_size;

  it.each(SCHEDULES.map((s) => [label(s), s] as const))(`T${T} %s: logits match fla's float64 forward`, async (_, schedule) => {
    const c = await build(kind, T, schedule);
    if (!c) return; // refused with a reason
    const session = await Session.create(await gpu(), c, load(c, kind, ck));
    const out = await session.forward(ids.subarray(0, T));
    session.destroy();
    expectClose(`${kind} ${label(schedule)}`, out.logits, ref.subarray(0, T * V), TOL);
  });

  it(`a chunkwise prefill of ${T} then ${STEPS} decode steps continue it`, async () => {
    const [pre, step] = [(await build(kind, T, { kind: 'chunkwise', chunk: CHUNK }))!, (await build(kind, 1, { kind: 'recurrent' }))!];
    const w = load(pre, kind, ck);
    const g = await gpu();
    const prefill = await Session.create(g, pre, w);
    const p = await prefill.forward(ids.subarray(0, T));
    prefill.destroy();
    const stepper = await Session.create(g, step, w);
    let states = p.states;
    const logits = new Float32Array(STEPS * V);
    for (let s = 0; s < STEPS; s++) {
      const o = await stepper.forward(ids.subarray(T + s, T + s + 1), states);
      logits.set(o.logits, s * V);
      states = o.states;
    }
    stepper.destroy();
    expectClose(`${kind} steps`, logits, ref.subarray(T * V), TOL);
  });
});

describe.each(['linear_attn_hedgehog', 'linear_attn_t2r'])('%s from an fla checkpoint', (kind) => {
  it(`T${T} chunkwise${CHUNK}: logits match fla's float64 forward`, async () => {
    const ck = synthesize(kind, 17);
    const cfg = SSM_CONFIGS[kind] as Record<string, number>;
    const c = (await build(kind, T, { kind: 'chunkwise', chunk: CHUNK }))!;
    const ids = tokens(T, cfg.vocab_size);
    const session = await Session.create(await gpu(), c, load(c, kind, ck));
    const out = await session.forward(ids);
    session.destroy();
    expectClose(kind, out.logits, flaForward(kind, ck, cfg, ids, 1, T), TOL);
  });
});
