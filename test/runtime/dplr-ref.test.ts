/**
 * The float64 DPLR reference against independent definitions: KDA written in its own words
 * (fla's naive recurrence), and the special cases of docs/mixers.md 1.5 (a = b = 0 is GLA; KDA with
 * g = 0 is the delta rule; a = k, b = -alpha beta k with a scalar gate is the gated delta rule),
 * each checked against the existing references. Everything is float64: the tolerance 1e-12 is a few
 * hundred roundings of the same sums in another order.
 */
import { describe, expect, it } from 'vitest';
import { Rng } from '../../runtime/random.ts';
import { deltaRuleRef } from '../../runtime/reference/delta-rule.ts';
import { dplrRef, kdaRef, type KdaRefInput } from '../../runtime/reference/dplr.ts';
import { linearAttnRef } from '../../runtime/reference/linear-attn.ts';
import { expectClose } from '../helpers/compare.ts';

const TOL = 1e-12;
const D = { B: 2, T: 23, H: 2, K: 5, V: 3 };
const nK = D.B * D.T * D.H * D.K;
const nV = D.B * D.T * D.H * D.V;
const nS = D.B * D.H * D.K * D.V;

function unitKeys(r: Rng): Float64Array {
  const k = Float64Array.from(r.normals(nK));
  for (let o = 0; o < nK; o += D.K) {
    const n = Math.hypot(...k.subarray(o, o + D.K));
    for (let i = o; i < o + D.K; i++) k[i] /= n;
  }
  return k;
}

function kdaInput(seed: number, gate: (r: Rng) => number): KdaRefInput {
  const r = new Rng(seed);
  return {
    ...D,
    q: r.normals(nK),
    k: unitKeys(r),
    v: r.normals(nV),
    g: Float64Array.from({ length: nK }, () => gate(r)),
    beta: Float64Array.from({ length: D.B * D.T * D.H }, () => 1 / (1 + Math.exp(-r.normal()))),
    s0: r.normals(nS),
  };
}

/** KDA in its own words: S' = Diag(exp g_t) S; S = S' + beta_t k_t (v_t - S'^T k_t)^T; o_t = S^T q_t K^-1/2. */
function kdaOwnWords(inp: KdaRefInput): { o: Float64Array; S: Float64Array } {
  const { B, T, H, K, V } = inp;
  const o = new Float64Array(nV);
  const S = Float64Array.from(inp.s0!);
  for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) {
    const at = (i: number, j: number) => ((b * H + h) * K + i) * V + j;
    for (let t = 0; t < T; t++) {
      const tok = (b * T + t) * H + h;
      for (let i = 0; i < K; i++) for (let j = 0; j < V; j++) S[at(i, j)] *= Math.exp(inp.g[tok * K + i]);
      for (let j = 0; j < V; j++) {
        let sk = 0;
        for (let i = 0; i < K; i++) sk += S[at(i, j)] * inp.k[tok * K + i];
        const u = inp.beta[tok] * (inp.v[tok * V + j] - sk);
        for (let i = 0; i < K; i++) S[at(i, j)] += inp.k[tok * K + i] * u;
      }
      for (let j = 0; j < V; j++) {
        let acc = 0;
        for (let i = 0; i < K; i++) acc += S[at(i, j)] * inp.q[tok * K + i];
        o[tok * V + j] = acc / Math.sqrt(K);
      }
    }
  }
  return { o, S };
}

const logsig = (r: Rng) => -Math.log1p(Math.exp(-(r.normal() + 1)));

describe('dplr reference', () => {
  it('KDA through DPLR equals KDA in its own words (weak and strong decays)', () => {
    for (const [seed, gate] of [[1, logsig], [2, (r: Rng) => -5 * r.next()]] as const) {
      const inp = kdaInput(seed, gate);
      const got = kdaRef(inp);
      const want = kdaOwnWords(inp);
      expectClose(`kda ${seed} o`, got.o, want.o, TOL);
      expectClose(`kda ${seed} S`, got.S, want.S, TOL);
    }
  });

  it('KDA with g = 0 is the delta rule', () => {
    const inp = kdaInput(3, () => 0);
    const got = kdaRef(inp);
    const want = deltaRuleRef({ ...inp, g: undefined, feature: 'identity', normalize: false, scale: 1 / Math.sqrt(D.K), eps: 0, decay: { kind: 'none' }, update: 'delta' });
    expectClose('o', got.o, want.o, TOL);
    expectClose('S', got.S, want.S, TOL);
  });

  it('a = b = 0 is GLA (additive, vector decay)', () => {
    const r = new Rng(4);
    const q = r.normals(nK);
    const k = r.normals(nK);
    const v = r.normals(nV);
    const gk = Float64Array.from({ length: nK }, () => logsig(r));
    const s0 = r.normals(nS);
    const zero = new Float64Array(nK);
    const got = dplrRef({ ...D, q, k, v, a: zero, b: zero, gk, s0 });
    const want = linearAttnRef({ ...D, q, k, v, g: gk, s0, feature: 'identity', normalize: false, scale: 1 / Math.sqrt(D.K), eps: 0, decay: { kind: 'vector' }, update: 'additive' });
    expectClose('o', got.o, want.o, TOL);
    expectClose('S', got.S, want.S, TOL);
  });

  it('a = k, b = -exp(g) beta k, v = beta v with a scalar gate g is the gated delta rule', () => {
    const inp = kdaInput(5, logsig);
    const g = Float64Array.from({ length: D.B * D.T * D.H }, (_, t) => inp.g[t * D.K]);
    const a = new Float64Array(nK);
    const b = new Float64Array(nK);
    const gk = new Float64Array(nK);
    for (let i = 0; i < nK; i++) {
      const t = Math.floor(i / D.K);
      [a[i], b[i], gk[i]] = [inp.k[i], -Math.exp(g[t]) * inp.beta[t] * inp.k[i], g[t]];
    }
    const v = Float64Array.from(inp.v, (x, i) => x * inp.beta[Math.floor(i / D.V)]);
    const got = dplrRef({ ...inp, a, b, gk, v });
    const want = deltaRuleRef({ ...inp, g, feature: 'identity', normalize: false, scale: 1 / Math.sqrt(D.K), eps: 0, decay: { kind: 'scalar' }, update: 'delta' });
    expectClose('o', got.o, want.o, TOL);
    expectClose('S', got.S, want.S, TOL);
  });

  it('names a tensor of the wrong length', () => {
    const inp = kdaInput(6, logsig);
    expect(() => kdaRef({ ...inp, beta: Array.from(inp.beta).slice(1) })).toThrow(/beta has 91 elements, expected 92 = \[B, T, H\]/);
    const z = new Float64Array(nK);
    expect(() => dplrRef({ ...D, q: z, k: z, v: new Float64Array(nV), a: z, b: z, gk: z.slice(1) })).toThrow(/gk has 459 elements, expected 460/);
  });
});
