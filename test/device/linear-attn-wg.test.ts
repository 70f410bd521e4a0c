/**
 * The workgroup-memory variant of the chunkwise schedule (chunk_h_wg, chunk_o_wg; for GPUs) on
 * the adapter against the float64 reference: every decay (none, fixed, scalar, vector),
 * normalized (elu1 features) and not (identity), from a non-zero initial state, with T not a
 * multiple of the chunk, K not a multiple of the K tile, V not a multiple of the value tile (and
 * not of 4), more than one token slab per chunk, and (one case) grids folded into 2D.
 *
 * Tolerance: 2e-6 on rms(out - ref) / rms(ref). The variant does the register variant's arithmetic
 * in float32; only the summation order of the scores and the state term changes (split over K
 * tiles), so its error is the same size: 1.5e-7 at most here, measured on lavapipe. Few distinct
 * shapes: each is two cold lavapipe compiles.
 */
import { describe, expect, it } from 'vitest';
import type { BufferDecl } from '../../compiler/codegen/program.ts';
import type { Decay } from '../../compiler/ir/graph.ts';
import { linearAttnProgram, linearAttnSupports, type LinearAttnCall } from '../../compiler/mixers/linear_attn/index.ts';
import { runOnce } from '../../runtime/program.ts';
import { Rng } from '../../runtime/random.ts';
import { linearAttnRef } from '../../runtime/reference/linear-attn.ts';
import { expectClose } from '../helpers/compare.ts';
import { gpu } from './gpu.ts';

const TOL = 2e-6;

type DecayKind = Decay['kind'];

interface Shape {
  B: number;
  T: number;
  H: number;
  K: number;
  V: number;
  C: number;
}

interface Case extends Shape {
  decay: DecayKind;
  normalize: boolean;
  /** Workgroups per dispatch dimension before folding (65535 unless a case lowers it). */
  maxGroups?: number;
}

/**
 * A: K = 40 over two K tiles of 32 (the second partial), V = 12 (vec4 columns, one value tile).
 *    With vector decay it caught a lavapipe quirk: a private array declared without initializer
 *    inside the K-tile loop kept the previous tile's values (now zeroed explicitly).
 * B: V = 70 (scalar columns, value tiles of 64 and 6; state column tiles of 16, the last partial).
 * C: C = 64 with T = 100 (two chunks, the last partial; v in slabs of <= 32 tokens, two state slabs).
 */
const SHAPES: Shape[] = [
  { B: 2, T: 37, H: 2, K: 40, V: 12, C: 16 },
  { B: 1, T: 50, H: 3, K: 16, V: 70, C: 16 },
  { B: 1, T: 100, H: 2, K: 32, V: 32, C: 64 },
];

const DECAYS: DecayKind[] = ['none', 'fixed', 'scalar', 'vector'];

/** Every decay, normalized and not; the scalar normalized case also folds both grids into 2D (at most 3 workgroups per dimension). */
const CASES: Case[] = DECAYS.flatMap((decay, di) =>
  [false, true].map((normalize, ni) => ({ ...SHAPES[(2 * di + ni) % SHAPES.length], decay, normalize, ...(decay === 'scalar' && normalize ? { maxGroups: 3 } : {}) })),
);

function caseId(c: Case): string {
  const fold = c.maxGroups ? `-fold${c.maxGroups}` : '';
  return `B${c.B}-T${c.T}-H${c.H}-K${c.K}-V${c.V}-c${c.C}-${c.decay}${c.normalize ? '-norm' : ''}${fold}`;
}

function decayOf(c: Case): Decay {
  if (c.decay === 'fixed') return { kind: 'fixed', logDecay: Array.from({ length: c.H }, (_, h) => Math.log(1 - 2 ** (-3 - h))) };
  return { kind: c.decay };
}

function knobs(c: Case): LinearAttnCall['knobs'] {
  return { heads: c.H, keyDim: c.K, valueDim: c.V, feature: c.normalize ? 'elu1' : 'identity', normalize: c.normalize, scale: 1 / Math.sqrt(c.K), eps: 1e-6, decay: decayOf(c), update: 'additive' };
}

function gateCount(c: Case): number {
  return c.decay === 'scalar' ? c.B * c.T * c.H : c.decay === 'vector' ? c.B * c.T * c.H * c.K : 0;
}

async function check(c: Case): Promise<void> {
  const g = await gpu();
  const { B, T, H, K, V } = c;
  const r = Rng.forName(21, caseId(c));
  const gates = Float32Array.from({ length: gateCount(c) }, () => -Math.log1p(Math.exp(-(1 + 2 * r.normal())))); // logsigmoid
  const d = {
    q: r.normals(B * T * H * K),
    k: r.normals(B * T * H * K),
    v: r.normals(B * T * H * V),
    s0: r.normals(B * H * K * V),
    z0: c.normalize ? Float32Array.from(r.normals(B * H * K), (x) => 3 + Math.abs(x)) : null,
  };
  const gated = gateCount(c) > 0;
  const call: LinearAttnCall = {
    label: 'L0.attn',
    B,
    T,
    knobs: knobs(c),
    schedule: 'chunkwise',
    chunk: c.C,
    variant: 'workgroup',
    buffers: { q: 'q', k: 'k', v: 'v', s0: 's0', z0: c.normalize ? 'z0' : null, g: gated ? 'g' : null, beta: null, o: 'o', S: 'S', z: c.normalize ? 'z' : null },
  };
  expect(linearAttnSupports('chunkwise', call, g.limits)).toEqual({ ok: true });
  const prog = linearAttnProgram(call, { maxWorkgroupsPerDim: c.maxGroups });
  expect(prog.steps.map((s) => s.kernel.name)).toEqual(['L0.attn.chunk_h_wg', 'L0.attn.chunk_o_wg']);
  if (c.maxGroups) for (const s of prog.steps) expect(s.kernel.dispatch[1]).toBeGreaterThan(1);
  const io = (name: string, elements: number, role: BufferDecl['role']): BufferDecl => ({ name, elem: 'f32', elements, role });
  const buffers = [io('q', B * T * H * K, 'input'), io('k', B * T * H * K, 'input'), io('v', B * T * H * V, 'input'), io('s0', B * H * K * V, 'state_in')];
  buffers.push(io('o', B * T * H * V, 'output'), io('S', B * H * K * V, 'state_out'));
  if (c.normalize) buffers.push(io('z0', B * H * K, 'state_in'), io('z', B * H * K, 'state_out'));
  if (gated) buffers.push(io('g', gates.length, 'input'));
  const inputs = { q: d.q, k: d.k, v: d.v, s0: d.s0, ...(d.z0 ? { z0: d.z0 } : {}), ...(gated ? { g: gates } : {}) };
  const out = await runOnce(g, { buffers: [...buffers, ...prog.buffers], steps: prog.steps }, inputs, c.normalize ? ['o', 'S', 'z'] : ['o', 'S']);
  const kn = knobs(c);
  const ref = linearAttnRef({ B, T, H, K, V, q: d.q, k: d.k, v: d.v, s0: d.s0, z0: d.z0 ?? undefined, g: gates, feature: kn.feature, normalize: kn.normalize, scale: kn.scale, eps: kn.eps, decay: kn.decay });
  const id = caseId(c);
  expectClose(`${id} o`, out.o as Float32Array, ref.o, TOL);
  expectClose(`${id} S`, out.S as Float32Array, ref.S, TOL);
  if (c.normalize) expectClose(`${id} z`, out.z as Float32Array, ref.z!, TOL);
}

describe('chunkwise workgroup variant vs the float64 reference', () => {
  it.each(CASES.map((c) => ({ c, id: caseId(c) })))('$id', async ({ c }) => {
    await check(c);
  });
});
