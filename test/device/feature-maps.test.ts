/**
 * Learned and expanding feature maps on the adapter: the feature_map kernel against the float64
 * reference for every map (random weights), the recurrence with an expanded key (K' = 273) in all
 * three schedules, and the based / rebased / hedgehog / t2r mixers compiled from specs in every
 * schedule against the graph interpreter (outputs poisoned with NaN before each run).
 */
import { describe, expect, it } from 'vitest';
import { featureMapKernel } from '../../compiler/codegen/kernels/feature-map.ts';
import type { BufferDecl } from '../../compiler/codegen/program.ts';
import type { ScheduleChoice } from '../../compiler/check/spec.ts';
import { featureMapWeightShapes, featureMapWidth, numel, type FeatureMapKind, type Schedule } from '../../compiler/ir/graph.ts';
import { linearAttnProgram, linearAttnSupports, type LinearAttnCall } from '../../compiler/mixers/linear_attn/index.ts';
import { compileSource } from '../../compiler/pipeline.ts';
import { deviceProfile } from '../../runtime/gpu.ts';
import { runOnce } from '../../runtime/program.ts';
import { Rng } from '../../runtime/random.ts';
import { featureMapRef } from '../../runtime/reference/feature-map.ts';
import { interpretGraph } from '../../runtime/reference/interpret.ts';
import { linearAttnRef } from '../../runtime/reference/linear-attn.ts';
import { Session } from '../../runtime/session.ts';
import { seededWeights } from '../../runtime/weights.ts';
import { expectClose } from '../helpers/compare.ts';
import { gpu } from './gpu.ts';

/**
 * Tolerances (measured on lavapipe): a feature map is a few products per output, or an affine map
 * and a softmax over 2d entries: 1.8e-7, so 2e-6. The recurrence over K' = 273 expanded keys sums
 * 273 products per output and T tokens into the state: 4.4e-7, so 5e-6. A one-layer model with its
 * projections: 5.9e-7, so 1e-5 (ReBased's quadratic features cancel for nearly orthogonal q and k,
 * README "Accuracy", so its error depends on the summation order; 3.1e-7 here).
 */
const PHI_TOL = 2e-6;
const WIDE_TOL = 5e-6;
const MIXER_TOL = 1e-5;

const io = (name: string, elements: number, role: BufferDecl['role']): BufferDecl => ({ name, elem: 'f32', elements, role });

const MAPS: [string, FeatureMapKind, number][] = [
  ['taylor', { kind: 'taylor', scale: 1 / Math.sqrt(8) }, 8],
  ['rebased-norm', { kind: 'rebased', scale: 1 / Math.sqrt(8), norm: { eps: 1e-5 } }, 8],
  ['rebased', { kind: 'rebased', scale: 0.4, norm: null }, 8],
  ['hedgehog', { kind: 'hedgehog' }, 8],
  ['t2r', { kind: 't2r', features: 12 }, 5],
];

describe('feature_map kernel vs the float64 reference', () => {
  it.each(MAPS)('%s: N34-H2', async (id, map, K) => {
    const [N, H] = [34, 2];
    const rng = Rng.forName(5, id);
    // Random weights (Hedgehog's W scaled so the softmax is far from uniform).
    const weights = featureMapWeightShapes(map, H, K).map((shape) => rng.normals(numel(shape), map.kind === 'hedgehog' ? 1.5 : 1));
    const x = rng.normals(N * H * K);
    const KP = featureMapWidth(map, K);
    const names = ['w0', 'w1'].slice(0, weights.length);
    const kernel = featureMapKernel({ name: `fm.${id}`, N, H, K, map });
    const buffers = [io('x', x.length, 'input'), ...weights.map((w, i) => io(names[i], w.length, 'weight')), io('out', N * H * KP, 'output')];
    const inputs = Object.fromEntries([['x', x], ...weights.map((w, i) => [names[i], w])]);
    const out = await runOnce(await gpu(), { buffers, steps: [{ kernel, args: ['x', ...names, 'out'] }] }, inputs, ['out']);
    expectClose(`${id} phi`, out.out, featureMapRef({ N, H, K, x, map, weights }), PHI_TOL);
  });
});

describe("the recurrence with an expanded key K' = 273 (Based's full square at d = 16)", () => {
  const [B, T, H, K, V] = [1, 17, 1, 273, 3];
  const RUNS: [Schedule, number][] = [['recurrent', 0], ['chunkwise', 8], ['parallel', 0]];
  it.each(RUNS)('%s matches the reference (normalized, with a carried state)', async (schedule, chunk) => {
    const g = await gpu();
    const knobs: LinearAttnCall['knobs'] = { heads: H, keyDim: K, valueDim: V, feature: 'identity', normalize: true, scale: 1, eps: 1e-6, decay: { kind: 'none' }, update: 'additive' };
    const call: LinearAttnCall = { label: 'L0.big', B, T, knobs, schedule, chunk, buffers: { q: 'q', k: 'k', v: 'v', s0: 's0', z0: 'z0', g: null, beta: null, o: 'o', S: 'S', z: 'z' } };
    expect(linearAttnSupports(schedule, call, g.limits)).toEqual({ ok: true });
    const rng = Rng.forName(9, 'big-k');
    // Non-negative features (as a feature map gives), so the normalizer stays away from zero.
    const pos = (n: number) => Float32Array.from(rng.normals(n), (x) => Math.abs(x) / Math.sqrt(K));
    const [q, k, v, s0, z0] = [pos(B * T * H * K), pos(B * T * H * K), rng.normals(B * T * H * V), rng.normals(B * H * K * V, 0.1), pos(B * H * K)];
    const prog = linearAttnProgram(call);
    const buffers = [io('q', q.length, 'input'), io('k', k.length, 'input'), io('v', v.length, 'input'), io('s0', s0.length, 'state_in'), io('z0', z0.length, 'state_in')];
    buffers.push(io('o', B * T * H * V, 'output'), io('S', B * H * K * V, 'state_out'), io('z', B * H * K, 'state_out'));
    const out = await runOnce(g, { buffers: [...buffers, ...prog.buffers], steps: prog.steps }, { q, k, v, s0, z0 }, ['o', 'S', 'z']);
    const ref = linearAttnRef({ B, T, H, K, V, q, k, v, s0, z0, feature: 'identity', normalize: true, scale: 1, eps: 1e-6 });
    expectClose(`${schedule} o`, out.o, ref.o, WIDE_TOL);
    expectClose(`${schedule} S`, out.S, ref.S, WIDE_TOL);
    expectClose(`${schedule} z`, out.z, ref.z!, WIDE_TOL);
  });
});

/**
 * One layer of each mixer, all with K' = 6 and eps 1e-5 so that they share the recurrence's
 * pipelines (each new WGSL text costs lavapipe seconds to compile); the maps themselves are tested
 * at d = 8 above and at d = 16 in the model suite.
 */
const MIXERS: [string, string][] = [
  ['based', 'based { feature_dim = 2  eps = 1e-5 }'],
  ['rebased', 'rebased { feature_dim = 3 }'],
  ['hedgehog', 'hedgehog { feature_dim = 3  eps = 1e-5 }'],
  ['t2r', 'linear_attn { feature = relu then t2r(features = 6) then l2  eps = 1e-5 }'],
];

function spec(heads: number, mixer: string): string {
  return `model m {\n  vocab = 64\n  dim = 32\n  heads = ${heads}\n  layers = 1\n  mixer attn = ${mixer}\n  block {\n    x = x + attn(rmsnorm(x))\n  }\n}\n`;
}

const SCHEDULES: ScheduleChoice[] = [{ kind: 'parallel' }, { kind: 'chunkwise', chunk: 16 }, { kind: 'recurrent' }];
const label = (s: ScheduleChoice) => (s.kind === 'chunkwise' ? `chunkwise${s.chunk}` : s.kind);
const TABLE = [
  ...MIXERS.flatMap(([id, m]) => SCHEDULES.map((s) => ({ id, m, B: 2, T: 17, H: 2, s }))),
  { id: 'based', m: MIXERS[0][1], B: 1, T: 1, H: 1, s: SCHEDULES[2] },
  { id: 'based', m: MIXERS[0][1], B: 1, T: 64, H: 1, s: SCHEDULES[1] },
].map((c) => ({ ...c, name: `${c.id} B${c.B}-T${c.T}-H${c.H} ${label(c.s)}` }));

describe('feature-map mixers in every schedule vs the graph interpreter', () => {
  it.each(TABLE)('$name', async ({ m, B, T, H, s }) => {
    const g = await gpu();
    const r = compileSource(spec(H, m), 'mixer.loom', { batch: B, seq: T, schedule: s, device: deviceProfile(g) });
    if (!r.ok) throw new Error(r.diagnostics.map((d) => d.message).join('\n'));
    const c = r.compiled;
    expect(c.graph.nodes.filter((n) => n.op === 'feature_map')).toHaveLength(2);
    const w = seededWeights(c.graph.weights, 3);
    // Perturb identity/one/zero initialisations so every weight matters.
    const rng = Rng.forName(3, 'perturb');
    for (const [name, v] of w) if (name.includes('feature_map')) v.set(v.map((x) => x + 0.3 * rng.normal()));
    const ids = Int32Array.from({ length: B * T }, () => rng.int(c.spec.vocab));
    const session = await Session.create(g, c, w);
    const out = await session.forward(ids);
    session.destroy();
    const ref = interpretGraph(c.graph, w, ids).outputs;
    expectClose('logits', out.logits, ref.logits, MIXER_TOL);
    for (const [name, value] of Object.entries(out.states)) expectClose(name, value, ref[name], MIXER_TOL);
  });
});
