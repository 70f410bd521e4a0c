/**
 * The float64 attention reference against itself in other forms: a window continued from the
 * cache equals one pass over the whole sequence (global and ring caches, GQA), bidirectional
 * attention over one key is that key's value; RoPE is a rotation whose scores depend only on the
 * relative position; softmax rows sum to one.
 */
import { describe, expect, it } from 'vitest';
import type { AttentionKnobs } from '../../compiler/ir/graph.ts';
import { Rng } from '../../runtime/random.ts';
import { attentionRef, CacheOverflow, ropeRef, softmaxRef } from '../../runtime/reference/attention.ts';

const knobs = (window: number | null, maxLen = 64): AttentionKnobs => ({ heads: 4, kvHeads: 2, headDim: 6, valueDim: 5, causal: true, window, scale: 0.4, maxLen });

function data(T: number, seed: string) {
  const r = Rng.forName(9, seed);
  return { q: Float64Array.from(r.normals(T * 4 * 6)), k: Float64Array.from(r.normals(T * 2 * 6)), v: Float64Array.from(r.normals(T * 2 * 5)) };
}

/** Rows [from, to) of a `[1, T, width]` tensor. */
const rows = (x: Float64Array, width: number, from: number, to: number) => x.subarray(from * width, to * width);

describe('attention reference', () => {
  it.each([['global', null], ['window 7 (ring of 7 slots)', 7]] as const)('%s: 3 windows through the cache equal one pass', (_, window) => {
    const kn = knobs(window);
    const d = data(30, `split-${window}`);
    const full = attentionRef({ B: 1, T: 30, knobs: kn, ...d }).o;
    let state = { kc0: undefined as Float64Array | undefined, vc0: undefined as Float64Array | undefined };
    for (const [a, b] of [[0, 11], [11, 12], [12, 30]]) {
      const r = attentionRef({ B: 1, T: b - a, knobs: kn, q: rows(d.q, 24, a, b), k: rows(d.k, 12, a, b), v: rows(d.v, 10, a, b), pos: [a], ...state });
      const want = rows(full, 20, a, b);
      r.o.forEach((x, i) => expect(x).toBeCloseTo(want[i], 12));
      state = { kc0: r.kCache, vc0: r.vCache };
    }
  });

  it('refuses positions past max_len', () => {
    expect(() => attentionRef({ B: 1, T: 4, knobs: knobs(null, 10), ...data(4, 'over'), pos: [7] })).toThrow(CacheOverflow);
  });

  it('bidirectional attention with window 1 returns each token\'s own value head', () => {
    const d = data(5, 'own');
    const o = attentionRef({ B: 1, T: 5, knobs: { ...knobs(1), causal: false }, ...d }).o;
    for (let t = 0; t < 5; t++) for (let h = 0; h < 4; h++) for (let i = 0; i < 5; i++) expect(o[(t * 4 + h) * 5 + i]).toBeCloseTo(d.v[(t * 2 + Math.floor(h / 2)) * 5 + i], 12);
  });

  it('RoPE: position 0 is the identity, and q(p) . k(p\') depends only on p - p\'', () => {
    const r = Rng.forName(2, 'rope-ref');
    const x = Float64Array.from(r.normals(8));
    const y = Float64Array.from(r.normals(8));
    expect([...ropeRef(x, 1, 1, 8, 8, 10000, [0])]).toEqual([...x]);
    const dot = (p: number, pp: number) => {
      const a = ropeRef(x, 1, 1, 8, 8, 10000, [p]);
      const b = ropeRef(y, 1, 1, 8, 8, 10000, [pp]);
      return a.reduce((s, v, i) => s + v * b[i], 0);
    };
    expect(dot(5, 2)).toBeCloseTo(dot(103, 100), 10);
    expect(dot(5, 2)).not.toBeCloseTo(dot(5, 3), 3);
  });

  it('softmax rows sum to one and keep their order', () => {
    const s = softmaxRef([1, 2, 3, -1, 0, 1000], 3);
    expect(s[0] + s[1] + s[2]).toBeCloseTo(1, 14);
    expect(s[3] + s[4] + s[5]).toBeCloseTo(1, 14);
    expect(s[0] < s[1] && s[1] < s[2]).toBe(true);
    expect(s[5]).toBe(1);
  });
});
