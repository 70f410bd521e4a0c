import { describe, expect, it } from 'vitest';
import type { Decay, FeatureMap } from '../../compiler/ir/graph.ts';
import { Rng } from '../../runtime/random.ts';
import { deltaRuleRef, type DeltaRuleRefInput } from '../../runtime/reference/delta-rule.ts';
import { linearAttnRef } from '../../runtime/reference/linear-attn.ts';
import { expectClose } from '../helpers/compare.ts';

interface Dims { B: number; T: number; H: number; K: number; V: number }

type Mat = number[][];

function matMul(a: Mat, b: Mat): Mat {
  return a.map((row) => b[0].map((_, j) => row.reduce((acc, x, k) => acc + x * b[k][j], 0)));
}

function add(a: Mat, b: Mat): Mat {
  return a.map((row, i) => row.map((x, j) => x + b[i][j]));
}

function outer(x: number[], y: number[], c: number): Mat {
  return x.map((xi) => y.map((yj) => c * xi * yj));
}

/**
 * The matrix form, independent of the reference's loops: with explicit K x K matrices,
 * S_t = (I - beta_t k~ k~^T) D_t S_{t-1} + beta_t k~ v^T and o_t = S_t^T (scale q~_t).
 */
function matrixForm(inp: DeltaRuleRefInput): { o: Float64Array; S: Float64Array } {
  const { B, T, H, K, V } = inp;
  const f = (x: number): number => (inp.feature === 'elu1' ? (x > 0 ? x + 1 : Math.exp(x)) : x);
  const vecAt = (a: ArrayLike<number>, off: number, n: number, map = (x: number): number => x): number[] => Array.from({ length: n }, (_, i) => map(a[off + i]));
  const o = new Float64Array(B * T * H * V);
  const Sout = new Float64Array(B * H * K * V);
  const decay: Decay = inp.decay ?? { kind: 'none' };
  for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) {
    let S: Mat = Array.from({ length: K }, (_, i) => vecAt(inp.s0 ?? new Float64Array(B * H * K * V), ((b * H + h) * K + i) * V, V));
    for (let t = 0; t < T; t++) {
      const tok = (b * T + t) * H + h;
      const k = vecAt(inp.k, tok * K, K, f);
      const q = vecAt(inp.q, tok * K, K, f);
      const beta = (inp.beta ?? [])[tok];
      const g = inp.g ?? [];
      const logD = (i: number): number => (decay.kind === 'none' ? 0 : decay.kind === 'fixed' ? decay.logDecay[h] : decay.kind === 'scalar' ? g[tok] : g[tok * K + i]);
      const D: Mat = Array.from({ length: K }, (_, i) => Array.from({ length: K }, (_, j) => (i === j ? Math.exp(logD(i)) : 0)));
      const P = add(Array.from({ length: K }, (_, i) => Array.from({ length: K }, (_, j) => (i === j ? 1 : 0))), outer(k, k, -beta));
      S = add(matMul(matMul(P, D), S), outer(k, vecAt(inp.v, tok * V, V), beta));
      for (let j = 0; j < V; j++) o[tok * V + j] = q.reduce((acc, qi, i) => acc + inp.scale * qi * S[i][j], 0);
    }
    S.forEach((row, i) => row.forEach((x, j) => (Sout[((b * H + h) * K + i) * V + j] = x)));
  }
  return { o, S: Sout };
}

function randomInput(d: Dims, decay: Decay, feature: FeatureMap, seed: string, withState: boolean): DeltaRuleRefInput {
  const r = Rng.forName(5, seed);
  const { B, T, H, K, V } = d;
  const gLen = decay.kind === 'vector' ? B * T * H * K : B * T * H;
  return {
    ...d,
    q: r.normals(B * T * H * K),
    k: r.normals(B * T * H * K, 0.4),
    v: r.normals(B * T * H * V),
    beta: Float32Array.from(r.normals(B * T * H), (x) => 1 / (1 + Math.exp(-x))),
    g: Float32Array.from(r.normals(gLen), (x) => -Math.log1p(Math.exp(x))),
    s0: withState ? r.normals(B * H * K * V) : undefined,
    feature,
    normalize: false,
    scale: 1 / Math.sqrt(K),
    eps: 1e-6,
    decay,
    update: 'delta',
  };
}

/** Slices tokens [t0, t1) of a `[B, T, H, D]` tensor. */
function sliceT(a: ArrayLike<number>, d: Dims, D: number, t0: number, t1: number): Float64Array {
  const out = new Float64Array(d.B * (t1 - t0) * d.H * D);
  const row = d.H * D;
  for (let b = 0; b < d.B; b++) for (let t = t0; t < t1; t++) for (let x = 0; x < row; x++) out[(b * (t1 - t0) + t - t0) * row + x] = a[(b * d.T + t) * row + x];
  return out;
}

const DECAYS: { id: string; decay: Decay }[] = [
  { id: 'none', decay: { kind: 'none' } },
  { id: 'fixed', decay: { kind: 'fixed', logDecay: [-0.03, -0.5] } },
  { id: 'scalar', decay: { kind: 'scalar' } },
  { id: 'vector', decay: { kind: 'vector' } },
];

describe('deltaRuleRef', () => {
  it.each(DECAYS)('matches the explicit matrix form (I - beta k k^T) D S + beta k v^T: $id', ({ id, decay }) => {
    const d = { B: 2, T: 9, H: 2, K: 4, V: 3 };
    for (const [feature, state] of [['identity', true], ['elu1', false]] as [FeatureMap, boolean][]) {
      const inp = randomInput(d, decay, feature, `${id}-${feature}`, state);
      const ref = deltaRuleRef(inp);
      const want = matrixForm(inp);
      expectClose(`${id} ${feature} o`, ref.o, want.o, 1e-12);
      expectClose(`${id} ${feature} S`, ref.S, want.S, 1e-12);
      expect(ref.z).toBeNull();
    }
  });

  it('is what linearAttnRef computes for update = delta', () => {
    const inp = randomInput({ B: 1, T: 6, H: 2, K: 3, V: 2 }, { kind: 'scalar' }, 'identity', 'dispatch', true);
    expect(Array.from(linearAttnRef(inp).o)).toEqual(Array.from(deltaRuleRef(inp).o));
    expect(Array.from(linearAttnRef({ ...inp, update: 'additive' }).o)).not.toEqual(Array.from(deltaRuleRef(inp).o));
  });

  it.each(DECAYS)('carries state: ref(T1) then ref(T2 from its state) == ref(T1+T2): $id', ({ id, decay }) => {
    const d = { B: 2, T: 17, H: 2, K: 4, V: 5 };
    const T1 = 6;
    const full = randomInput(d, decay, 'identity', `carry-${id}`, true);
    const all = deltaRuleRef(full);
    const gD = decay.kind === 'vector' ? d.K : 1;
    const part = (t0: number, t1: number): Partial<DeltaRuleRefInput> => ({
      T: t1 - t0,
      q: sliceT(full.q, d, d.K, t0, t1),
      k: sliceT(full.k, d, d.K, t0, t1),
      v: sliceT(full.v, d, d.V, t0, t1),
      beta: sliceT(full.beta ?? [], d, 1, t0, t1),
      g: sliceT(full.g ?? [], d, gD, t0, t1),
    });
    const first = deltaRuleRef({ ...full, ...part(0, T1) });
    const second = deltaRuleRef({ ...full, ...part(T1, d.T), s0: first.S });
    expectClose('o[:T1]', first.o, sliceT(all.o, d, d.V, 0, T1), 1e-12);
    expectClose('o[T1:]', second.o, sliceT(all.o, d, d.V, T1, d.T), 1e-12);
    expectClose('S', second.S, all.S, 1e-12);
  });

  it('with beta = 1 and a unit key, writes v exactly into the key direction', () => {
    const d = { B: 1, T: 2, H: 1, K: 2, V: 1 };
    const inp: DeltaRuleRefInput = { ...d, q: [1, 0, 1, 0], k: [1, 0, 1, 0], v: [3, -5], beta: [1, 1], s0: [7, 2], feature: 'identity', normalize: false, scale: 1, eps: 0, update: 'delta' };
    const ref = deltaRuleRef(inp);
    expect(Array.from(ref.o)).toEqual([3, -5]);
    expect(Array.from(ref.S)).toEqual([-5, 2]);
  });

  it('names what is wrong with its input', () => {
    const inp = randomInput({ B: 1, T: 2, H: 1, K: 2, V: 2 }, { kind: 'scalar' }, 'identity', 'bad', false);
    expect(() => deltaRuleRef({ ...inp, beta: new Float32Array(3) })).toThrow(/beta has 3 elements, expected 2 = \[B, T, H\]/);
    expect(() => deltaRuleRef({ ...inp, beta: undefined })).toThrow(/beta \[B, T, H\] is required/);
    expect(() => deltaRuleRef({ ...inp, g: undefined })).toThrow(/g \[B, T, H\] is required/);
    expect(() => deltaRuleRef({ ...inp, normalize: true })).toThrow(/normalize is not defined for the delta rule/);
    expect(() => deltaRuleRef({ ...inp, decay: { kind: 'fixed', logDecay: [-1, -1] } })).toThrow(/2 log-decays, expected one per head/);
  });
});
