import { describe, expect, it } from 'vitest';
import type { Decay, FeatureMap } from '../../compiler/ir/graph.ts';
import { linearAttnRef, type LinearAttnRefInput } from '../../runtime/reference/linear-attn.ts';
import { Rng } from '../../runtime/random.ts';
import { expectClose } from '../helpers/compare.ts';

interface Dims { B: number; T: number; H: number; K: number; V: number }

function phiBrute(f: FeatureMap, x: number): number {
  return f === 'elu1' ? (x > 0 ? x + 1 : Math.exp(x)) : x;
}

/** The log-decay of row i at token t: logDecay[h], g[b,t,h], g[b,t,h,i], or 0. */
function logGate(inp: LinearAttnRefInput, b: number, t: number, h: number, i: number): number {
  const d = inp.decay ?? { kind: 'none' };
  const g = inp.g ?? [];
  if (d.kind === 'fixed') return d.logDecay[h];
  if (d.kind === 'scalar') return g[(b * inp.T + t) * inp.H + h];
  if (d.kind === 'vector') return g[((b * inp.T + t) * inp.H + h) * inp.K + i];
  return 0;
}

/** Gamma: the product of the decay factors of row i over tokens (s, t] (s = -1: from the initial state). */
function gammaBrute(inp: LinearAttnRefInput, b: number, h: number, i: number, s: number, t: number): number {
  let p = 1;
  for (let r = s + 1; r <= t; r++) p *= Math.exp(logGate(inp, b, r, h, i));
  return p;
}

/**
 * The attention form, independent of the reference's loops: o_t = sum_i (scale q~_t)_i
 * Gamma_i(-1, t] s0_i + sum_{s<=t} (sum_i (scale q~_t)_i k~_si Gamma_i(s, t]) v_s, divided by the
 * same sums over z0 and k~_s, plus eps.
 */
function quadratic(inp: LinearAttnRefInput): Float64Array {
  const { B, T, H, K, V, feature: f, scale } = inp;
  const qa = (b: number, t: number, h: number, i: number): number => scale * phiBrute(f, inp.q[((b * T + t) * H + h) * K + i]);
  const ka = (b: number, t: number, h: number, i: number): number => phiBrute(f, inp.k[((b * T + t) * H + h) * K + i]);
  const o = new Float64Array(B * T * H * V);
  for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) for (let t = 0; t < T; t++) {
    const w: number[] = [];
    for (let s = 0; s <= t; s++) {
      let d = 0;
      for (let i = 0; i < K; i++) d += qa(b, t, h, i) * ka(b, s, h, i) * gammaBrute(inp, b, h, i, s, t);
      w.push(d);
    }
    const q0 = Array.from({ length: K }, (_, i) => qa(b, t, h, i) * gammaBrute(inp, b, h, i, -1, t));
    let den = inp.eps;
    if (inp.normalize) {
      for (let i = 0; i < K; i++) den += q0[i] * (inp.z0 ? inp.z0[(b * H + h) * K + i] : 0);
      for (const d of w) den += d;
    }
    for (let j = 0; j < V; j++) {
      let num = 0;
      for (let i = 0; i < K; i++) num += q0[i] * (inp.s0 ? inp.s0[((b * H + h) * K + i) * V + j] : 0);
      for (let s = 0; s <= t; s++) num += w[s] * inp.v[((b * T + s) * H + h) * V + j];
      o[((b * T + t) * H + h) * V + j] = inp.normalize ? num / den : num;
    }
  }
  return o;
}

function randomInput(d: Dims, feature: FeatureMap, normalize: boolean, seed: string, withState: boolean, decay: Decay = { kind: 'none' }): LinearAttnRefInput {
  const r = Rng.forName(7, seed);
  const { B, T, H, K, V } = d;
  const gates = decay.kind === 'scalar' ? B * T * H : decay.kind === 'vector' ? B * T * H * K : 0;
  return {
    decay,
    // log-gates in (-1.5, 0]
    g: Float64Array.from({ length: gates }, () => -1.5 * r.next()),
    ...d,
    q: r.normals(B * T * H * K),
    k: r.normals(B * T * H * K),
    v: r.normals(B * T * H * V),
    s0: withState ? r.normals(B * H * K * V) : undefined,
    // A positive normalizer, as a sum of elu1 features would be.
    z0: withState && normalize ? Float32Array.from(r.normals(B * H * K), (x) => 3 + Math.abs(x)) : undefined,
    feature,
    normalize,
    scale: 1 / Math.sqrt(K),
    eps: 1e-6,
  };
}

/** Slices tokens [t0, t1) of a `[B, T, H, D]` tensor. */
function sliceT(a: ArrayLike<number>, d: Dims, D: number, t0: number, t1: number): Float64Array {
  const out = new Float64Array(d.B * (t1 - t0) * d.H * D);
  const row = d.H * D;
  for (let b = 0; b < d.B; b++) {
    for (let t = t0; t < t1; t++) {
      for (let x = 0; x < row; x++) out[(b * (t1 - t0) + t - t0) * row + x] = a[(b * d.T + t) * row + x];
    }
  }
  return out;
}

const CASES: { id: string; d: Dims; feature: FeatureMap; normalize: boolean; state: boolean }[] = [
  { id: 'B1-T1-H1-K3-V2-identity', d: { B: 1, T: 1, H: 1, K: 3, V: 2 }, feature: 'identity', normalize: false, state: false },
  { id: 'B2-T9-H2-K4-V3-identity-s0', d: { B: 2, T: 9, H: 2, K: 4, V: 3 }, feature: 'identity', normalize: false, state: true },
  { id: 'B2-T11-H3-K5-V4-elu1-norm', d: { B: 2, T: 11, H: 3, K: 5, V: 4 }, feature: 'elu1', normalize: true, state: false },
  { id: 'B1-T13-H2-K8-V6-elu1-norm-s0', d: { B: 1, T: 13, H: 2, K: 8, V: 6 }, feature: 'elu1', normalize: true, state: true },
];

const DECAYS: { id: string; decay: Decay }[] = [
  { id: 'fixed', decay: { kind: 'fixed', logDecay: [Math.log(1 - 2 ** -5), Math.log(1 - 2 ** -6), -0.7] } },
  { id: 'scalar', decay: { kind: 'scalar' } },
  { id: 'vector', decay: { kind: 'vector' } },
];

const DECAY_CASES = DECAYS.flatMap(({ id, decay }) => [
  { id: `B2-T9-H3-K4-V3-identity-s0-${id}`, d: { B: 2, T: 9, H: 3, K: 4, V: 3 }, feature: 'identity' as FeatureMap, normalize: false, decay },
  { id: `B1-T12-H3-K5-V2-elu1-norm-s0-${id}`, d: { B: 1, T: 12, H: 3, K: 5, V: 2 }, feature: 'elu1' as FeatureMap, normalize: true, decay },
]);

describe('linearAttnRef', () => {
  it.each(CASES)('matches the quadratic attention form: $id', ({ id, d, feature, normalize, state }) => {
    const inp = randomInput(d, feature, normalize, id, state);
    const ref = linearAttnRef(inp);
    expectClose('o', ref.o, quadratic(inp), 1e-12);
    expect(ref.z === null).toBe(!normalize);
  });

  it('returns S = s0 + sum_t k~_t v_t^T and z = z0 + sum_t k~_t', () => {
    const d = { B: 1, T: 5, H: 2, K: 3, V: 2 };
    const inp = randomInput(d, 'elu1', true, 'final', true);
    const ref = linearAttnRef(inp);
    const S = Float64Array.from(inp.s0 ?? []);
    const z = Float64Array.from(inp.z0 ?? []);
    for (let t = 0; t < d.T; t++) for (let h = 0; h < d.H; h++) for (let i = 0; i < d.K; i++) {
      const ki = phiBrute('elu1', inp.k[(t * d.H + h) * d.K + i]);
      z[h * d.K + i] += ki;
      for (let j = 0; j < d.V; j++) S[(h * d.K + i) * d.V + j] += ki * inp.v[(t * d.H + h) * d.V + j];
    }
    expectClose('S', ref.S, S, 1e-12);
    expectClose('z', ref.z ?? [], z, 1e-12);
  });

  it.each([
    { id: 'identity', feature: 'identity' as FeatureMap, normalize: false },
    { id: 'elu1-norm', feature: 'elu1' as FeatureMap, normalize: true },
  ])('carries state: ref(T1) then ref(T2 from its state) == ref(T1+T2): $id', ({ id, feature, normalize }) => {
    const d = { B: 2, T: 17, H: 2, K: 4, V: 5 };
    const T1 = 6;
    const full = randomInput(d, feature, normalize, `carry-${id}`, true);
    const all = linearAttnRef(full);
    const part = (t0: number, t1: number): Pick<LinearAttnRefInput, 'q' | 'k' | 'v' | 'T'> => ({
      T: t1 - t0,
      q: sliceT(full.q, d, d.K, t0, t1),
      k: sliceT(full.k, d, d.K, t0, t1),
      v: sliceT(full.v, d, d.V, t0, t1),
    });
    const first = linearAttnRef({ ...full, ...part(0, T1) });
    const second = linearAttnRef({ ...full, ...part(T1, d.T), s0: first.S, z0: first.z ?? undefined });
    expectClose('o[:T1]', first.o, sliceT(all.o, d, d.V, 0, T1), 1e-12);
    expectClose('o[T1:]', second.o, sliceT(all.o, d, d.V, T1, d.T), 1e-12);
    expectClose('S', second.S, all.S, 1e-12);
    if (normalize) expectClose('z', second.z ?? [], all.z ?? [], 1e-12);
  });

  it.each(DECAY_CASES)('with decay matches the decayed attention form: $id', ({ id, d, feature, normalize, decay }) => {
    const inp = randomInput(d, feature, normalize, id, true, decay);
    expectClose('o', linearAttnRef(inp).o, quadratic(inp), 1e-12);
  });

  it('decays S and z by exp(g) per token: S = exp(g_1) (exp(g_0) s0 + k~_0 v_0^T) + k~_1 v_1^T', () => {
    const d = { B: 1, T: 2, H: 1, K: 2, V: 1 };
    const base = randomInput(d, 'identity', true, 'two', true);
    const g = [-0.5, -0.25, -1, -2];
    const r = linearAttnRef({ ...base, decay: { kind: 'vector' }, g });
    const s0 = base.s0 ?? [];
    const z0 = base.z0 ?? [];
    for (let i = 0; i < 2; i++) {
      const S1 = Math.exp(g[2 + i]) * (Math.exp(g[i]) * s0[i] + base.k[i] * base.v[0]) + base.k[2 + i] * base.v[1];
      const z1 = Math.exp(g[2 + i]) * (Math.exp(g[i]) * z0[i] + base.k[i]) + base.k[2 + i];
      expect(r.S[i]).toBeCloseTo(S1, 12);
      expect(r.z?.[i]).toBeCloseTo(z1, 12);
    }
  });

  it.each(DECAYS)('carries a decayed state: ref(T1) then ref(T2 from its state) == ref(T1+T2): $id', ({ id, decay }) => {
    const d = { B: 2, T: 17, H: 3, K: 4, V: 5 };
    const T1 = 6;
    const full = randomInput(d, 'elu1', true, `carry-decay-${id}`, true, decay);
    const all = linearAttnRef(full);
    const gw = decay.kind === 'vector' ? d.K : 1;
    const part = (t0: number, t1: number): Pick<LinearAttnRefInput, 'q' | 'k' | 'v' | 'g' | 'T'> => ({
      T: t1 - t0,
      q: sliceT(full.q, d, d.K, t0, t1),
      k: sliceT(full.k, d, d.K, t0, t1),
      v: sliceT(full.v, d, d.V, t0, t1),
      g: decay.kind === 'fixed' ? [] : sliceT(full.g ?? [], d, gw, t0, t1),
    });
    const first = linearAttnRef({ ...full, ...part(0, T1) });
    const second = linearAttnRef({ ...full, ...part(T1, d.T), s0: first.S, z0: first.z ?? undefined });
    expectClose('o[T1:]', second.o, sliceT(all.o, d, d.V, T1, d.T), 1e-12);
    expectClose('S', second.S, all.S, 1e-12);
    expectClose('z', second.z ?? [], all.z ?? [], 1e-12);
  });

  it('names the gate tensor whose size is wrong, and checks fixed decay per head', () => {
    const inp = randomInput({ B: 1, T: 2, H: 2, K: 3, V: 2 }, 'identity', false, 'badg', false);
    expect(() => linearAttnRef({ ...inp, decay: { kind: 'scalar' }, g: new Float32Array(3) })).toThrow(/g has 3 elements, expected 4 = \[B, T, H\]/);
    expect(() => linearAttnRef({ ...inp, decay: { kind: 'vector' }, g: new Float32Array(4) })).toThrow(/g has 4 elements, expected 12 = \[B, T, H, K\]/);
    expect(() => linearAttnRef({ ...inp, decay: { kind: 'vector' }, g: undefined })).toThrow(/vector decay needs the log-gates g/);
    expect(() => linearAttnRef({ ...inp, decay: { kind: 'fixed', logDecay: [-1] } })).toThrow(/1 log-decays, expected one per head \(H = 2\)/);
  });

  it('names the tensor whose size is wrong', () => {
    const inp = randomInput({ B: 1, T: 2, H: 1, K: 2, V: 2 }, 'identity', false, 'bad', false);
    expect(() => linearAttnRef({ ...inp, v: new Float32Array(3) })).toThrow(/v has 3 elements, expected 4/);
  });
});
