import { describe, expect, it } from 'vitest';
import type { EwExpr, Graph, LinearAttnKnobs, Node, NodeOp, TensorType } from '../../compiler/ir/graph.ts';
import { LoomError } from '../../grammar/diagnostics.ts';
import {
  elementwiseRef,
  elu1Ref,
  embedRef,
  interpretGraph,
  l2normRef,
  linearAttnRef,
  matmulRef,
  rmsnormRef,
  siluRef,
} from '../../runtime/reference/index.ts';
import { Rng } from '../../runtime/random.ts';
import { expectClose } from '../helpers/compare.ts';

describe('embedRef', () => {
  const table = [10, 11, 20, 21, 30, 31]; // vocab 3, dim 2

  it('picks rows by id', () => {
    expect(Array.from(embedRef(table, [2, 0, 2, 1], 3, 2))).toEqual([30, 31, 10, 11, 30, 31, 20, 21]);
  });

  it('names a bad id and its position', () => {
    expect(() => embedRef(table, [0, 3], 3, 2)).toThrow(/token id 3 at position 1 is outside \[0, 3\)/);
    expect(() => embedRef(table, [-1], 3, 2)).toThrow(RangeError);
    expect(() => embedRef(table, [0, 0, 1.5], 3, 2)).toThrow(/token id 1.5 at position 2/);
  });
});

describe('matmulRef', () => {
  // x [2,3] · w [3,2], by hand:
  //   [1 2 3] · [[7 8] [9 10] [11 12]] = [1*7+2*9+3*11, 1*8+2*10+3*12] = [58, 64]
  //   [4 5 6] ·                        = [4*7+5*9+6*11, 4*8+5*10+6*12] = [139, 154]
  const x = [1, 2, 3, 4, 5, 6];
  const w = [7, 8, 9, 10, 11, 12];
  const wT = [7, 9, 11, 8, 10, 12]; // the same matrix stored [N, K]

  it('multiplies with W stored [K, N]', () => {
    expect(Array.from(matmulRef(x, w, 2, 3, 2, false))).toEqual([58, 64, 139, 154]);
  });

  it('multiplies with W stored [N, K] when transposeW', () => {
    expect(Array.from(matmulRef(x, wT, 2, 3, 2, true))).toEqual([58, 64, 139, 154]);
  });

  it('reads a [K, N] buffer differently when told it is [N, K]', () => {
    // w read as [N=2, K=3]: rows [7 8 9] and [10 11 12]; [1 2 3]·[7 8 9] = 50, [1 2 3]·[10 11 12] = 68
    expect(Array.from(matmulRef(x, w, 2, 3, 2, true))).toEqual([50, 68, 122, 167]);
  });

  it('rejects wrong lengths', () => {
    expect(() => matmulRef(x, w, 3, 3, 2, false)).toThrow(/matmul x has 6 values/);
    expect(() => matmulRef(x, [1, 2], 2, 3, 2, false)).toThrow(/matmul w has 2 values/);
  });
});

describe('rmsnormRef', () => {
  it('matches a hand-computed row', () => {
    // x = [3, 4]: mean(x^2) = 12.5, 1/sqrt(12.5) = 0.28284271; times weight [1, 2]
    const out = rmsnormRef([3, 4], [1, 2], 1, 2, 0);
    expect(out[0]).toBeCloseTo(3 * 0.282842712474619, 12);
    expect(out[1]).toBeCloseTo(4 * 0.282842712474619 * 2, 12);
  });

  it('adds eps inside the square root', () => {
    // x = [1, 1, 1, 1], eps = 3: 1/sqrt(1 + 3) = 0.5
    expect(Array.from(rmsnormRef([1, 1, 1, 1], [1, 1, 1, 1], 1, 4, 3))).toEqual([0.5, 0.5, 0.5, 0.5]);
    expect(Array.from(rmsnormRef([0, 0], [1, 1], 1, 2, 1e-6))).toEqual([0, 0]);
  });

  it('has rms equal to a constant weight on every row', () => {
    const M = 5;
    const D = 16;
    const x = new Rng(7).normals(M * D, 3);
    const out = rmsnormRef(x, new Array(D).fill(2.5), M, D, 0);
    for (let m = 0; m < M; m++) {
      let s = 0;
      for (let d = 0; d < D; d++) s += out[m * D + d] ** 2;
      expect(Math.sqrt(s / D)).toBeCloseTo(2.5, 12);
      // direction kept: out is x scaled by a positive factor
      expect(Math.sign(out[m * D])).toBe(Math.sign(x[m * D]));
    }
  });
});

describe('pointwise functions', () => {
  it('silu and elu1 match their definitions', () => {
    expect(siluRef(0)).toBe(0);
    expect(siluRef(1)).toBeCloseTo(0.7310585786300049, 15);
    expect(siluRef(-1)).toBeCloseTo(-0.2689414213699951, 15);
    expect(elu1Ref(2)).toBe(3);
    expect(elu1Ref(0)).toBe(1);
    expect(elu1Ref(-1)).toBeCloseTo(0.36787944117144233, 15);
  });

  it('elementwiseRef evaluates expression trees per element', () => {
    const a = [1, -1, 0];
    const b = [2, 0, -3];
    // add(mul(in0, 2), silu(in1))
    const e1: EwExpr = {
      kind: 'fn',
      fn: 'add',
      args: [
        { kind: 'fn', fn: 'mul', args: [{ kind: 'in', index: 0 }, { kind: 'const', value: 2 }] },
        { kind: 'fn', fn: 'silu', args: [{ kind: 'in', index: 1 }] },
      ],
    };
    const out1 = elementwiseRef(e1, [a, b], 3);
    const want1 = [2 + 2 / (1 + Math.exp(-2)), -2 + 0, 0 + -3 / (1 + Math.exp(3))];
    want1.forEach((w, i) => expect(out1[i]).toBeCloseTo(w, 14));
    // mul(elu1(in1), in0): elu1(b) = [3, 1, e^-3]
    const e2: EwExpr = { kind: 'fn', fn: 'mul', args: [{ kind: 'fn', fn: 'elu1', args: [{ kind: 'in', index: 1 }] }, { kind: 'in', index: 0 }] };
    const out2 = elementwiseRef(e2, [a, b], 3);
    [3, -1, 0].forEach((w, i) => expect(out2[i]).toBeCloseTo(w, 14));
    expect(Array.from(elementwiseRef({ kind: 'const', value: 4 }, [], 2))).toEqual([4, 4]);
    expect(Array.from(elementwiseRef({ kind: 'in', index: 1 }, [a, b], 3))).toEqual(b);
  });

  it('elementwiseRef rejects bad inputs', () => {
    expect(() => elementwiseRef({ kind: 'in', index: 2 }, [[1], [2]], 1)).toThrow(/reads input 2/);
    expect(() => elementwiseRef({ kind: 'in', index: 0 }, [[1, 2]], 3)).toThrow(/input 0 has 2 values, which does not broadcast to 3/);
  });
});

// ---------------------------------------------------------------------------------------------
// Hand-built graphs

function graphOf(B: number, T: number, ops: [NodeOp, number[], 'f32' | 'i32'][], outputs: Record<string, number>): Graph {
  const nodes: Node[] = ops.map(([op, shape, dtype], id) => {
    const type: TensorType = { shape, dtype };
    return { ...op, id, type, layer: -1, label: `n${id}` } as Node;
  });
  return { dims: { B, T }, nodes, weights: [], outputs };
}

describe('interpretGraph', () => {
  const [B, T, V, D] = [2, 3, 5, 4];
  const graph = graphOf(B, T, [
    [{ op: 'tokens' }, [B, T], 'i32'], // 0
    [{ op: 'weight', name: 'emb' }, [V, D], 'f32'], // 1
    [{ op: 'embed', table: 1, ids: 0 }, [B, T, D], 'f32'], // 2
    [{ op: 'weight', name: 'norm' }, [D], 'f32'], // 3
    [{ op: 'rmsnorm', x: 2, weight: 3, eps: 1e-5 }, [B, T, D], 'f32'], // 4
    [{ op: 'weight', name: 'head' }, [V, D], 'f32'], // 5 (stored [out, in])
    [{ op: 'matmul', x: 4, w: 5, transposeW: true }, [B, T, V], 'f32'], // 6
  ], { logits: 6 });
  const rng = new Rng(3);
  const weights = new Map<string, ArrayLike<number>>([
    ['emb', rng.normals(V * D)],
    ['norm', rng.normals(D)],
    ['head', rng.normals(V * D)],
  ]);
  const tokens = [4, 0, 2, 2, 1, 3];

  it('tokens -> embed -> rmsnorm -> matmul(transposeW) equals the composed ops', () => {
    const { values, outputs } = interpretGraph(graph, weights, tokens);
    const e = embedRef(weights.get('emb')!, tokens, V, D);
    const n = rmsnormRef(e, weights.get('norm')!, B * T, D, 1e-5);
    const logits = matmulRef(n, weights.get('head')!, B * T, D, V, true);
    expect(Array.from(values.get(0)!)).toEqual(tokens);
    expect(Array.from(values.get(2)!)).toEqual(Array.from(e));
    expect(Array.from(outputs.logits)).toEqual(Array.from(logits));
    expect(values.size).toBe(7);
    // one logit by hand: row 0 is token 4; logits[0][1] = sum_d norm(emb[4])[d] * head[1][d]
    const emb = weights.get('emb')!;
    const row = [0, 1, 2, 3].map((d) => emb[4 * D + d]);
    const inv = 1 / Math.sqrt(row.reduce((s, x) => s + x * x, 0) / D + 1e-5);
    const byHand = row.reduce((s, x, d) => s + x * inv * weights.get('norm')![d] * weights.get('head')![1 * D + d], 0);
    expect(outputs.logits[1]).toBeCloseTo(byHand, 12);
  });

  it('names a missing or wrong-length weight', () => {
    const missing = new Map(weights);
    missing.delete('norm');
    expect(() => interpretGraph(graph, missing, tokens)).toThrow(LoomError);
    expect(() => interpretGraph(graph, missing, tokens)).toThrow(/LOOM5002.*'norm' \[4\]/);
    const short = new Map(weights).set('head', [1, 2, 3]);
    expect(() => interpretGraph(graph, short, tokens)).toThrow(/LOOM5003: tensor 'head' has shape \[3\] \(flat\), the model needs \[5, 4\] = 20 values/);
  });

  it('rejects a wrong number of tokens and out-of-vocabulary ids', () => {
    expect(() => interpretGraph(graph, weights, [1, 2])).toThrow(/LOOM5004: got 2 token ids, the graph needs 6/);
    expect(() => interpretGraph(graph, weights, [0, 0, 0, 0, 9, 0])).toThrow(/token id 9 at position 4/);
  });
});

describe('interpretGraph with a linear_attn mixer', () => {
  const [B, T, H, K, Vd, D] = [1, 4, 2, 2, 3, 4];
  const knobs: LinearAttnKnobs = { heads: H, keyDim: K, valueDim: Vd, feature: 'elu1', normalize: true, scale: 0.5, eps: 1e-6, decay: { kind: 'none' }, update: 'additive' };
  const graph = graphOf(B, T, [
    [{ op: 'weight', name: 'x' }, [B, T, D], 'f32'], // 0 (an input activation, as a weight)
    [{ op: 'weight', name: 'wq' }, [D, H * K], 'f32'], // 1
    [{ op: 'weight', name: 'wv' }, [D, H * Vd], 'f32'], // 2
    [{ op: 'matmul', x: 0, w: 1, transposeW: false }, [B, T, H * K], 'f32'], // 3 q
    [{ op: 'elementwise', expr: { kind: 'fn', fn: 'silu', args: [{ kind: 'in', index: 0 }] }, inputs: [3] }, [B, T, H * K], 'f32'], // 4 k
    [{ op: 'matmul', x: 0, w: 2, transposeW: false }, [B, T, H * Vd], 'f32'], // 5 v
    [{ op: 'state_in', name: 'S' }, [B, H, K, Vd], 'f32'], // 6
    [{ op: 'state_in', name: 'z' }, [B, H, K], 'f32'], // 7
    [{ op: 'linear_attn', q: 3, k: 4, v: 5, s0: 6, z0: 7, g: null, beta: null, knobs }, [B, T, H * Vd], 'f32'], // 8
    [{ op: 'state_out', mixer: 8, which: 'S', name: 'S' }, [B, H, K, Vd], 'f32'], // 9
    [{ op: 'state_out', mixer: 8, which: 'z', name: 'z' }, [B, H, K], 'f32'], // 10
  ], { o: 8, S: 9, z: 10 });
  const rng = new Rng(11);
  const weights = new Map<string, ArrayLike<number>>([
    ['x', rng.normals(B * T * D)],
    ['wq', rng.normals(D * H * K)],
    ['wv', rng.normals(D * H * Vd)],
  ]);

  function expected(s0?: ArrayLike<number>, z0?: ArrayLike<number>) {
    const q = matmulRef(weights.get('x')!, weights.get('wq')!, B * T, D, H * K, false);
    const k = q.map(siluRef);
    const v = matmulRef(weights.get('x')!, weights.get('wv')!, B * T, D, H * Vd, false);
    return linearAttnRef({ B, T, H, K, V: Vd, q, k, v, s0, z0, feature: 'elu1', normalize: true, scale: 0.5, eps: 1e-6 });
  }

  it('runs the mixer from zero state and exposes S and z', () => {
    const { outputs } = interpretGraph(graph, weights, []);
    const want = expected();
    expectClose('o', outputs.o, want.o, 1e-12);
    expectClose('S', outputs.S, want.S, 1e-12);
    expectClose('z', outputs.z, want.z!, 1e-12);
  });

  it('carries a given state in', () => {
    const s0 = new Rng(5).normals(B * H * K * Vd);
    const z0 = Float64Array.from({ length: B * H * K }, (_, i) => 1 + i);
    const { outputs } = interpretGraph(graph, weights, [], new Map<string, ArrayLike<number>>([['S', s0], ['z', z0]]));
    const want = expected(s0, z0);
    expectClose('o', outputs.o, want.o, 1e-12);
    expectClose('S', outputs.S, want.S, 1e-12);
    // the carried state changes the result
    expect(closeTo(outputs.o, expected().o)).toBe(false);
    expect(() => interpretGraph(graph, weights, [], new Map([['S', [1, 2]]]))).toThrow(/state 'S' has 2 values, expected 12/);
  });
});

function closeTo(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  for (let i = 0; i < a.length; i++) if (Math.abs(a[i] - b[i]) > 1e-9) return false;
  return true;
}

describe('l2normRef and the gate functions', () => {
  it('divides each row by its L2 norm (eps inside the root)', () => {
    const out = l2normRef([3, 4, 0, 2, 1, 0], 3, 2, 0);
    [0.6, 0.8, 0, 1, 1, 0].forEach((v, i) => expect(out[i]).toBeCloseTo(v, 15));
    const withEps = l2normRef([3, 4], 1, 2, 11);
    expect(withEps[0]).toBeCloseTo(0.5, 15);
    expect(withEps[1]).toBeCloseTo(4 / 6, 15);
  });
  it('softplus, logsigmoid and sigmoid agree with their definitions, also far out', () => {
    const sp = (x: number) => elementwiseRef({ kind: 'fn', fn: 'softplus', args: [{ kind: 'in', index: 0 }] }, [[x]], 1)[0];
    const ls = (x: number) => elementwiseRef({ kind: 'fn', fn: 'logsigmoid', args: [{ kind: 'in', index: 0 }] }, [[x]], 1)[0];
    expect(sp(0)).toBeCloseTo(Math.log(2), 15);
    expect(sp(800)).toBe(800);
    expect(sp(-800)).toBe(0);
    expect(ls(-800)).toBe(-800);
    expect(ls(2)).toBeCloseTo(Math.log(1 / (1 + Math.exp(-2))), 15);
  });
  it('broadcasts a smaller input over the leading elements', () => {
    const add = { kind: 'fn', fn: 'add', args: [{ kind: 'in', index: 0 }, { kind: 'in', index: 1 }] } as const;
    expect(Array.from(elementwiseRef(add, [[1, 2, 3, 4, 5, 6], [10, 20, 30]], 6))).toEqual([11, 22, 33, 14, 25, 36]);
  });
});

describe('conv1dRef / convTailRef', () => {
  it('a window split in two, carried through the tail, equals one window', async () => {
    const { conv1dRef, convTailRef } = await import('../../runtime/reference/ops.ts');
    const [B, T1, T2, C, W] = [2, 2, 5, 3, 4];
    const rng = Rng.forName(3, 'conv-split');
    const x = rng.normals(B * (T1 + T2) * C, 1);
    const w = rng.normals(C * W, 1);
    const part = (from: number, len: number) => {
      const out = new Float32Array(B * len * C);
      for (let b = 0; b < B; b++) out.set(x.subarray((b * (T1 + T2) + from) * C, (b * (T1 + T2) + from + len) * C), b * len * C);
      return out;
    };
    const zeros = new Float32Array(B * (W - 1) * C);
    const whole = conv1dRef(x, w, zeros, B, T1 + T2, C, W, 'silu');
    const first = conv1dRef(part(0, T1), w, zeros, B, T1, C, W, 'silu');
    const tail = convTailRef(part(0, T1), zeros, B, T1, C, W - 1);
    const second = conv1dRef(part(T1, T2), w, tail, B, T2, C, W, 'silu');
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < T1 + T2; t++) {
        for (let c = 0; c < C; c++) {
          const got = t < T1 ? first[(b * T1 + t) * C + c] : second[(b * T2 + t - T1) * C + c];
          expect(got).toBeCloseTo(whole[(b * (T1 + T2) + t) * C + c], 12);
        }
      }
    }
    // Direct definition at one point: y[0, 3, 1] = silu(sum_i w[1, i] x[0, i, 1]).
    const acc = [0, 1, 2, 3].reduce((s, i) => s + w[1 * W + i] * x[(0 * (T1 + T2) + i) * C + 1], 0);
    expect(whole[(0 * (T1 + T2) + 3) * C + 1]).toBeCloseTo(acc / (1 + Math.exp(-acc)), 12);
  });
});
