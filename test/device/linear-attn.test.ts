/**
 * Linear-attention kernels on the adapter, every schedule against the float64 reference
 * (outputs poisoned with NaN by runOnce), against each other, and resumed across schedules.
 */
import { describe, expect, it } from 'vitest';
import type { BufferDecl } from '../../compiler/codegen/program.ts';
import type { FeatureMap, Schedule } from '../../compiler/ir/graph.ts';
import { linearAttnProgram, linearAttnSupports, type LinearAttnCall } from '../../compiler/mixers/linear_attn/index.ts';
import { runOnce } from '../../runtime/program.ts';
import { Rng } from '../../runtime/random.ts';
import { linearAttnRef, type LinearAttnRefInput } from '../../runtime/reference/linear-attn.ts';
import { expectClose } from '../helpers/compare.ts';
import { gpu } from './gpu.ts';

/**
 * Tolerance: outputs and states are sums over up to T = 300 tokens of K-wide products (with exp for
 * elu1): 3.2e-7 measured against float64 (the state at T = 300), 2e-7 between two schedules, so 3e-6.
 */
const TOL = 3e-6;

interface Case {
  B: number;
  T: number;
  H: number;
  K: number;
  V: number;
  feature: FeatureMap;
  normalize: boolean;
}

interface Run {
  schedule: Schedule;
  chunk: number;
}

interface Data {
  q: Float32Array;
  k: Float32Array;
  v: Float32Array;
  s0: Float32Array;
  z0: Float32Array | null;
}

interface Result {
  o: Float32Array;
  S: Float32Array;
  z: Float32Array | null;
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
  const tail = `${c.feature}${c.normalize ? '-norm' : ''}`;
  return `B${c.B}-T${c.T}-H${c.H}-K${c.K}-V${c.V}-${r ? `${runId(r)}-` : ''}${tail}`;
}

function knobs(c: Case): LinearAttnCall['knobs'] {
  return { heads: c.H, keyDim: c.K, valueDim: c.V, feature: c.feature, normalize: c.normalize, scale: 1 / Math.sqrt(c.K), eps: 1e-6, decay: { kind: 'none' }, update: 'additive' };
}

function refInput(c: Case, d: Pick<Data, 'q' | 'k' | 'v'>, state: { s0?: ArrayLike<number>; z0?: ArrayLike<number> }): LinearAttnRefInput {
  const kn = knobs(c);
  return { ...c, ...d, ...state, scale: kn.scale, eps: kn.eps };
}

/**
 * Random q, k, v, and an initial state that a real prefix would leave: s0, z0 are the reference's
 * final state after a random prefix of 5 tokens (so z0 is a sum of elu1 features, positive).
 */
function makeData(c: Case, seed: string): Data {
  const r = Rng.forName(11, seed);
  const qkv = (T: number): Pick<Data, 'q' | 'k' | 'v'> => ({
    q: r.normals(c.B * T * c.H * c.K),
    k: r.normals(c.B * T * c.H * c.K),
    v: r.normals(c.B * T * c.H * c.V),
  });
  const prefix = linearAttnRef(refInput({ ...c, T: 5 }, qkv(5), {}));
  return { ...qkv(c.T), s0: Float32Array.from(prefix.S), z0: prefix.z ? Float32Array.from(prefix.z) : null };
}

async function runSchedule(c: Case, run: Run, d: Data, opts: { maxWorkgroupsPerDim?: number } = {}): Promise<Result> {
  const g = await gpu();
  const call: LinearAttnCall = {
    label: 'L0.attn',
    B: c.B,
    T: c.T,
    knobs: knobs(c),
    schedule: run.schedule,
    chunk: run.chunk,
    buffers: { q: 'q', k: 'k', v: 'v', s0: 's0', z0: c.normalize ? 'z0' : null, g: null, beta: null, o: 'o', S: 'S', z: c.normalize ? 'z' : null },
  };
  expect(linearAttnSupports(run.schedule, call, g.limits)).toEqual({ ok: true });
  const prog = linearAttnProgram(call, opts);
  const qk = c.B * c.T * c.H * c.K;
  const io = (name: string, elements: number, role: BufferDecl['role']): BufferDecl => ({ name, elem: 'f32', elements, role });
  const buffers = [io('q', qk, 'input'), io('k', qk, 'input'), io('v', c.B * c.T * c.H * c.V, 'input'), io('s0', c.B * c.H * c.K * c.V, 'state_in')];
  buffers.push(io('o', c.B * c.T * c.H * c.V, 'output'), io('S', c.B * c.H * c.K * c.V, 'state_out'));
  if (c.normalize) buffers.push(io('z0', c.B * c.H * c.K, 'state_in'), io('z', c.B * c.H * c.K, 'state_out'));
  const inputs = { q: d.q, k: d.k, v: d.v, s0: d.s0, ...(d.z0 ? { z0: d.z0 } : {}) };
  const out = await runOnce(g, { buffers: [...buffers, ...prog.buffers], steps: prog.steps }, inputs, c.normalize ? ['o', 'S', 'z'] : ['o', 'S']);
  return { o: out.o as Float32Array, S: out.S as Float32Array, z: c.normalize ? (out.z as Float32Array) : null };
}

function expectMatches(label: string, got: Result, want: { o: ArrayLike<number>; S: ArrayLike<number>; z: ArrayLike<number> | null }): void {
  expectClose(`${label} o`, got.o, want.o, TOL);
  expectClose(`${label} S`, got.S, want.S, TOL);
  expect(got.z === null).toBe(want.z === null);
  if (got.z && want.z) expectClose(`${label} z`, got.z, want.z, TOL);
}

function reference(c: Case, d: Data): ReturnType<typeof linearAttnRef> {
  return linearAttnRef(refInput(c, d, { s0: d.s0, z0: d.z0 ?? undefined }));
}

const CONFIGS: { feature: FeatureMap; normalize: boolean }[] = [
  { feature: 'elu1', normalize: true },
  { feature: 'identity', normalize: false },
];

const TABLE = [1, 7, 63, 64, 65, 300].flatMap((T) =>
  CONFIGS.flatMap((f) => RUNS.map((run) => ({ c: { B: 2, T, H: 2, K: 16, V: 32, ...f }, run }))),
).map((x) => ({ ...x, id: caseId(x.c, x.run) }));

describe('linear attention kernels vs the float64 reference', () => {
  it.each(TABLE)('$id', async ({ c, run, id }) => {
    const d = makeData(c, caseId(c));
    expectMatches(id, await runSchedule(c, run, d), reference(c, d));
  });

  const ODD = [3, 20].flatMap((T) => CONFIGS.flatMap((f) => RUNS.map((run) => ({ c: { B: 1, T, H: 3, K: 5, V: 3, ...f }, run }))));
  it.each(ODD.map((x) => ({ ...x, id: caseId(x.c, x.run) })))('odd shape $id', async ({ c, run, id }) => {
    const d = makeData(c, caseId(c));
    expectMatches(id, await runSchedule(c, run, d), reference(c, d));
  });

  // V = 68: vec4 columns, two value slices per token with a partial last one; grids folded into 2D.
  const WIDE = RUNS.map((run) => ({ c: { B: 1, T: 19, H: 2, K: 3, V: 68, feature: 'elu1' as FeatureMap, normalize: true }, run }));
  it.each(WIDE.map((x) => ({ ...x, id: `${caseId(x.c, x.run)}-folded` })))('sliced and folded $id', async ({ c, run, id }) => {
    const d = makeData(c, caseId(c));
    expectMatches(id, await runSchedule(c, run, d, { maxWorkgroupsPerDim: 2 }), reference(c, d));
  });
});

describe('linear attention schedules agree', () => {
  it.each(CONFIGS.map((f) => ({ c: { B: 1, T: 65, H: 2, K: 8, V: 12, ...f } })).map((x) => ({ ...x, id: caseId(x.c) })))(
    'every schedule gives the same o, S, z: $id',
    async ({ c, id }) => {
      const d = makeData(c, id);
      const results = [];
      for (const run of RUNS) results.push({ run, r: await runSchedule(c, run, d) });
      const [first, ...rest] = results;
      for (const { run, r } of rest) expectMatches(`${id} ${runId(run)} vs ${runId(first.run)}`, r, first.r);
    },
  );
});

/** Tokens [t0, t1) of a `[B, T, H, D]` tensor. */
function sliceT(a: Float32Array, c: Case, D: number, t0: number, t1: number): Float32Array {
  const row = c.H * D;
  const out = new Float32Array(c.B * (t1 - t0) * row);
  for (let b = 0; b < c.B; b++) out.set(a.subarray((b * c.T + t0) * row, (b * c.T + t1) * row), b * (t1 - t0) * row);
  return out;
}

describe('linear attention resumes across schedules', () => {
  const c: Case = { B: 2, T: 66, H: 2, K: 8, V: 8, feature: 'elu1', normalize: true };
  const T1 = 37;
  const SCHEDULES: Run[] = [RUNS[0], RUNS[1], RUNS[3]];
  const PAIRS = SCHEDULES.flatMap((a) => SCHEDULES.filter((b) => b !== a).map((b) => ({ a, b, id: `${runId(a)}-then-${runId(b)}` })));
  it.each(PAIRS)('prefill T1=37 then T2=29: $id', async ({ a, b, id }) => {
    const d = makeData(c, caseId(c));
    const part = (t0: number, t1: number): Pick<Data, 'q' | 'k' | 'v'> => ({
      q: sliceT(d.q, c, c.K, t0, t1),
      k: sliceT(d.k, c, c.K, t0, t1),
      v: sliceT(d.v, c, c.V, t0, t1),
    });
    const first = await runSchedule({ ...c, T: T1 }, a, { ...d, ...part(0, T1) });
    const second = await runSchedule({ ...c, T: c.T - T1 }, b, { ...part(T1, c.T), s0: first.S, z0: first.z });
    const ref = reference(c, d);
    const refO = Float32Array.from(ref.o);
    expectClose(`${id} o[:T1]`, first.o, sliceT(refO, c, c.V, 0, T1), TOL);
    expectMatches(`${id} [T1:]`, second, { o: sliceT(refO, c, c.V, T1, c.T), S: ref.S, z: ref.z });
  });
});
