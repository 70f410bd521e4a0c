/**
 * Delta-rule kernels on the adapter: every schedule (recurrent, chunkwise 16 and 64, parallel) x
 * decay (none, scalar, fixed) against the float64 reference (outputs poisoned with NaN by
 * runOnce), against each other, resumed across schedules, and with extreme gates. Keys are
 * L2-normalized (as DeltaNet does) and beta = sigmoid(randn).
 */
import { describe, expect, it } from 'vitest';
import type { BufferDecl } from '../../compiler/codegen/program.ts';
import type { Decay, Schedule } from '../../compiler/ir/graph.ts';
import { linearAttnProgram, linearAttnSupports, type LinearAttnCall } from '../../compiler/mixers/linear_attn/index.ts';
import { runOnce } from '../../runtime/program.ts';
import { Rng } from '../../runtime/random.ts';
import { deltaRuleRef } from '../../runtime/reference/delta-rule.ts';
import { expectClose } from '../helpers/compare.ts';
import { gpu } from './gpu.ts';

/**
 * Tolerance: outputs and states of the delta rule sum T corrections beta (v - S^T k) k^T, each a
 * difference that shrinks as the state learns the values: up to 1.4e-6 measured (the state at
 * T = 64, K = 64 with a fixed decay), 1.9e-7 at T = 1000 and with gates of 0 and -30, so 1e-5.
 */
const TOL = 1e-5;

type DecayKind = 'none' | 'scalar' | 'fixed' | 'vector';

interface Case {
  B: number;
  T: number;
  H: number;
  K: number;
  V: number;
  decay: DecayKind;
}

interface Run {
  schedule: Schedule;
  chunk: number;
}

interface Data {
  q: Float32Array;
  k: Float32Array;
  v: Float32Array;
  beta: Float32Array;
  g: Float32Array | null;
  s0: Float32Array;
}

interface Result {
  o: Float32Array;
  S: Float32Array;
}

const RUNS: Run[] = [
  { schedule: 'recurrent', chunk: 1 },
  { schedule: 'chunkwise', chunk: 16 },
  { schedule: 'chunkwise', chunk: 64 },
  { schedule: 'parallel', chunk: 1 },
];

function runId(r: Run): string {
  return r.schedule === 'chunkwise' ? `c${r.chunk}` : r.schedule;
}

function caseId(c: Case, r?: Run): string {
  return `B${c.B}-T${c.T}-H${c.H}-K${c.K}-V${c.V}-${r ? `${runId(r)}-` : ''}${c.decay}`;
}

function decayOf(c: Case): Decay {
  if (c.decay === 'fixed') return { kind: 'fixed', logDecay: Array.from({ length: c.H }, (_, h) => Math.log(1 - 2 ** (-5 - h))) };
  return { kind: c.decay };
}

function knobs(c: Case): LinearAttnCall['knobs'] {
  return { heads: c.H, keyDim: c.K, valueDim: c.V, feature: 'identity', normalize: false, scale: 1 / Math.sqrt(c.K), eps: 1e-6, decay: decayOf(c), update: 'delta' };
}

type Tokens = Omit<Data, 's0'>;

/** Random tokens: L2-normalized keys, beta = sigmoid(randn), g = -softplus(randn) (scalar decay). */
function tokens(c: Case, T: number, r: Rng, gate: (r: Rng) => number = (x) => -Math.log1p(Math.exp(x.normal()))): Tokens {
  const k = r.normals(c.B * T * c.H * c.K);
  for (let row = 0; row < c.B * T * c.H; row++) {
    const x = k.subarray(row * c.K, (row + 1) * c.K);
    const n = Math.hypot(...x);
    for (let i = 0; i < c.K; i++) x[i] /= n;
  }
  return {
    q: r.normals(c.B * T * c.H * c.K),
    k,
    v: r.normals(c.B * T * c.H * c.V),
    beta: Float32Array.from(r.normals(c.B * T * c.H), (x) => 1 / (1 + Math.exp(-x))),
    g: c.decay === 'scalar' || c.decay === 'vector' ? Float32Array.from({ length: c.B * T * c.H * (c.decay === 'vector' ? c.K : 1) }, () => gate(r)) : null,
  };
}

function reference(c: Case, d: Tokens, s0?: ArrayLike<number>): ReturnType<typeof deltaRuleRef> {
  const kn = knobs(c);
  return deltaRuleRef({ ...c, ...d, g: d.g ?? undefined, s0, feature: 'identity', normalize: false, scale: kn.scale, eps: kn.eps, decay: kn.decay, update: 'delta' });
}

/** Tokens and an initial state: zeros, or the reference's final state after a random 5-token prefix. */
function makeData(c: Case, seed: string, withState: boolean): Data {
  const r = Rng.forName(13, seed);
  const s0 = withState ? Float32Array.from(reference({ ...c, T: 5 }, tokens(c, 5, r)).S) : new Float32Array(c.B * c.H * c.K * c.V);
  return { ...tokens(c, c.T, r), s0 };
}

async function runSchedule(c: Case, run: Run, d: Data): Promise<Result> {
  const g = await gpu();
  const call: LinearAttnCall = {
    label: 'L0.delta',
    B: c.B,
    T: c.T,
    knobs: knobs(c),
    schedule: run.schedule,
    chunk: run.chunk,
    buffers: { q: 'q', k: 'k', v: 'v', s0: 's0', z0: null, g: d.g ? 'g' : null, beta: 'beta', o: 'o', S: 'S', z: null },
  };
  expect(linearAttnSupports(run.schedule, call, g.limits)).toEqual({ ok: true });
  const prog = linearAttnProgram(call);
  const io = (name: string, elements: number, role: BufferDecl['role']): BufferDecl => ({ name, elem: 'f32', elements, role });
  const tok = c.B * c.T * c.H;
  const buffers = [io('q', tok * c.K, 'input'), io('k', tok * c.K, 'input'), io('v', tok * c.V, 'input'), io('beta', tok, 'input')];
  if (d.g) buffers.push(io('g', d.g.length, 'input'));
  buffers.push(io('s0', c.B * c.H * c.K * c.V, 'state_in'), io('o', tok * c.V, 'output'), io('S', c.B * c.H * c.K * c.V, 'state_out'));
  const inputs = { q: d.q, k: d.k, v: d.v, beta: d.beta, s0: d.s0, ...(d.g ? { g: d.g } : {}) };
  const out = await runOnce(g, { buffers: [...buffers, ...prog.buffers], steps: prog.steps }, inputs, ['o', 'S']);
  return { o: out.o as Float32Array, S: out.S as Float32Array };
}

function expectMatches(label: string, got: Result, want: { o: ArrayLike<number>; S: ArrayLike<number> }, tol = TOL): void {
  expectClose(`${label} o`, got.o, want.o, tol);
  expectClose(`${label} S`, got.S, want.S, tol);
}

const DECAYS: DecayKind[] = ['none', 'scalar', 'fixed'];
const SHAPES = [
  { T: 1, B: 1, H: 1, K: 16, V: 16 },
  { T: 17, B: 2, H: 3, K: 16, V: 64 },
  { T: 64, B: 1, H: 3, K: 64, V: 16 },
  { T: 130, B: 2, H: 1, K: 64, V: 64 },
];
// Every decay x shape (T in 1, 17, 64, 130) x schedule, with and without an initial state (alternating).
const TABLE = DECAYS.flatMap((decay, i) =>
  SHAPES.flatMap((shape, j) => RUNS.map((run) => ({ c: { ...shape, decay }, run, state: (i + j) % 2 === 0 }))),
).map((x) => ({ ...x, id: `${caseId(x.c, x.run)}${x.state ? '-s0' : ''}` }));

describe('delta rule kernels vs the float64 reference', () => {
  it.each(TABLE)('$id', async ({ c, run, state, id }) => {
    const d = makeData(c, caseId(c), state);
    expectMatches(id, await runSchedule(c, run, d), reference(c, d, d.s0));
  });

  it.each(RUNS.map((run) => ({ run, id: runId(run) })))('odd shape B1-T20-H2-K5-V3-scalar-s0: $id', async ({ run, id }) => {
    const c: Case = { B: 1, T: 20, H: 2, K: 5, V: 3, decay: 'scalar' };
    const d = makeData(c, caseId(c), true);
    expectMatches(id, await runSchedule(c, run, d), reference(c, d, d.s0));
  });
});

describe('delta rule with vector decay (per-key gates)', () => {
  const shapes = [SHAPES[0], SHAPES[1], { T: 130, B: 1, H: 2, K: 32, V: 16 }];
  it.each(shapes.map((s, i) => ({ c: { ...s, decay: 'vector' as const }, state: i % 2 === 1 })))('recurrent B$c.B-T$c.T-H$c.H-K$c.K-V$c.V', async ({ c, state }) => {
    const d = makeData(c, caseId(c), state);
    expectMatches(caseId(c), await runSchedule(c, { schedule: 'recurrent', chunk: 1 }, d), reference(c, d, d.s0));
  });
  // Chunkwise runs as Kimi Delta Attention through the DPLR kernels (kda_prep, then chunk_a .. chunk_o):
  // weak gates (-softplus(randn)) and strong ones (-5 |randn|, per-key decays down to e^-15 a token).
  const strong = (r: Rng) => -5 * Math.abs(r.normal());
  it.each([
    { c: { ...SHAPES[1], decay: 'vector' as const }, chunk: 16, state: true, strong: false },
    { c: { T: 130, B: 1, H: 2, K: 32, V: 16, decay: 'vector' as const }, chunk: 64, state: false, strong: true },
    { c: { T: 70, B: 2, H: 1, K: 16, V: 8, decay: 'vector' as const }, chunk: 16, state: true, strong: true },
  ])('chunkwise($chunk) as the DPLR recurrence B$c.B-T$c.T-H$c.H-K$c.K-V$c.V, strong gates $strong', async ({ c, chunk, state, strong: s }) => {
    const r = Rng.forName(13, `${caseId(c)}-dplr`);
    const s0 = state ? Float32Array.from(reference({ ...c, T: 5 }, tokens(c, 5, r)).S) : new Float32Array(c.B * c.H * c.K * c.V);
    const d = { ...tokens(c, c.T, r, s ? strong : undefined), s0 };
    const got = await runSchedule(c, { schedule: 'chunkwise', chunk }, d);
    expectMatches(`${caseId(c)}-c${chunk}`, got, reference(c, d, d.s0));
  });
  it('parallel is refused with the reason; chunkwise with a feature map too', async () => {
    const c: Case = { B: 1, T: 16, H: 1, K: 16, V: 16, decay: 'vector' };
    const limits = (await gpu()).limits;
    const call = (schedule: 'parallel' | 'chunkwise', feature: 'identity' | 'elu1') => ({ label: 'x', B: 1, T: 16, knobs: { ...knobs(c), feature }, schedule, chunk: 16 });
    const why = (schedule: 'parallel' | 'chunkwise', feature: 'identity' | 'elu1') => {
      const r = linearAttnSupports(schedule, call(schedule, feature), limits);
      return r.ok ? '' : r.reason;
    };
    expect(why('parallel', 'identity')).toMatch(/vector decay with the delta rule runs in the recurrent and chunkwise schedules/);
    expect(why('chunkwise', 'elu1')).toMatch(/runs chunkwise as the DPLR recurrence, which takes q and k as they are \(feature elu1/);
  });
});

describe('delta rule schedules agree', () => {
  it('every schedule gives the same o and S: B1-T70-H2-K16-V16-scalar-s0', async () => {
    const c: Case = { B: 1, T: 70, H: 2, K: 16, V: 16, decay: 'scalar' };
    const d = makeData(c, 'agree', true);
    const [first, ...rest] = await Promise.all(RUNS.map((run) => runSchedule(c, run, d)));
    rest.forEach((r, i) => expectMatches(`${runId(RUNS[i + 1])} vs recurrent`, r, first));
  });
});

/** Tokens [t0, t1) of a `[B, T, H, D]` tensor. */
function sliceT(a: Float32Array, c: Case, D: number, t0: number, t1: number): Float32Array {
  const row = c.H * D;
  const out = new Float32Array(c.B * (t1 - t0) * row);
  for (let b = 0; b < c.B; b++) out.set(a.subarray((b * c.T + t0) * row, (b * c.T + t1) * row), b * (t1 - t0) * row);
  return out;
}

describe('delta rule resumes across schedules', () => {
  const c: Case = { B: 2, T: 66, H: 2, K: 16, V: 8, decay: 'scalar' };
  const T1 = 37;
  const PAIRS = [
    [RUNS[1], RUNS[0]],
    [RUNS[3], RUNS[1]],
  ].map(([a, b]) => ({ a, b, id: `${runId(a)}-then-${runId(b)}` }));
  it.each(PAIRS)('prefill T1=37 then T2=29: $id', async ({ a, b, id }) => {
    const d = makeData(c, caseId(c), true);
    const part = (t0: number, t1: number): Tokens => ({
      q: sliceT(d.q, c, c.K, t0, t1),
      k: sliceT(d.k, c, c.K, t0, t1),
      v: sliceT(d.v, c, c.V, t0, t1),
      beta: sliceT(d.beta, c, 1, t0, t1),
      g: d.g && sliceT(d.g, c, 1, t0, t1),
    });
    const first = await runSchedule({ ...c, T: T1 }, a, { ...part(0, T1), s0: d.s0 });
    const second = await runSchedule({ ...c, T: c.T - T1 }, b, { ...part(T1, c.T), s0: first.S });
    const ref = reference(c, d, d.s0);
    const refO = Float32Array.from(ref.o);
    expectClose(`${id} o[:T1]`, first.o, sliceT(refO, c, c.V, 0, T1), TOL);
    expectMatches(`${id} [T1:]`, second, { o: sliceT(refO, c, c.V, T1, c.T), S: ref.S });
  });
});

describe('delta rule with extreme gates and long sequences', () => {
  const GATES: { id: string; gate: (r: Rng) => number }[] = [
    { id: 'g=0', gate: () => 0 },
    { id: 'g=-30', gate: () => -30 },
    { id: 'mixture of 0, -30 and -softplus', gate: (r) => [0, -30, -Math.log1p(Math.exp(r.normal()))][r.int(3)] },
  ];
  const c: Case = { B: 1, T: 45, H: 2, K: 16, V: 16, decay: 'scalar' };
  it.each(GATES)('stays finite and accurate: $id', async ({ id, gate }) => {
    const r = Rng.forName(17, id);
    const d: Data = { ...tokens(c, c.T, r, gate), s0: Float32Array.from(r.normals(c.B * c.H * c.K * c.V)) };
    const ref = reference(c, d, d.s0);
    for (const run of RUNS) expectMatches(`${id} ${runId(run)}`, await runSchedule(c, run, d), ref);
  });

  it('T = 1000 stays finite and accurate in every schedule: scalar decay', async () => {
    const long: Case = { B: 1, T: 1000, H: 1, K: 16, V: 16, decay: 'scalar' };
    const d = makeData(long, 'long-scalar', true);
    const ref = reference(long, d, d.s0);
    for (const run of RUNS) expectMatches(`T1000-scalar ${runId(run)}`, await runSchedule(long, run, d), ref);
  });
});
