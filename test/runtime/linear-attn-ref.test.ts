import { describe, expect, it } from 'vitest';
import type { FeatureMap } from '../../compiler/ir/graph.ts';
import { linearAttnRef, type LinearAttnRefInput } from '../../runtime/reference/linear-attn.ts';
import { Rng } from '../../runtime/random.ts';
import { expectClose } from '../helpers/compare.ts';

interface Dims { B: number; T: number; H: number; K: number; V: number }

function phiBrute(f: FeatureMap, x: number): number {
  return f === 'elu1' ? (x > 0 ? x + 1 : Math.exp(x)) : x;
}

/**
 * The attention form, independent of the reference's loops: o_t = (scale q~_t)^T s0 +
 * sum_{s<=t} (scale q~_t . k~_s) v_s, divided by (scale q~_t . z0 + sum_{s<=t} scale q~_t . k~_s + eps).
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
      for (let i = 0; i < K; i++) d += qa(b, t, h, i) * ka(b, s, h, i);
      w.push(d);
    }
    let den = inp.eps;
    if (inp.normalize) {
      for (let i = 0; i < K; i++) den += qa(b, t, h, i) * (inp.z0 ? inp.z0[(b * H + h) * K + i] : 0);
      for (const d of w) den += d;
    }
    for (let j = 0; j < V; j++) {
      let num = 0;
      for (let i = 0; i < K; i++) num += qa(b, t, h, i) * (inp.s0 ? inp.s0[((b * H + h) * K + i) * V + j] : 0);
      for (let s = 0; s <= t; s++) num += w[s] * inp.v[((b * T + s) * H + h) * V + j];
      o[((b * T + t) * H + h) * V + j] = inp.normalize ? num / den : num;
    }
  }
  return o;
}

function randomInput(d: Dims, feature: FeatureMap, normalize: boolean, seed: string, withState: boolean): LinearAttnRefInput {
  const r = Rng.forName(7, seed);
  const { B, T, H, K, V } = d;
  return {
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

  it('names the tensor whose size is wrong', () => {
    const inp = randomInput({ B: 1, T: 2, H: 1, K: 2, V: 2 }, 'identity', false, 'bad', false);
    expect(() => linearAttnRef({ ...inp, v: new Float32Array(3) })).toThrow(/v has 3 elements, expected 4/);
  });
});
