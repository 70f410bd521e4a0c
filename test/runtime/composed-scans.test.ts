/**
 * The non-causal directions of the linear recurrence (`direction = reverse | bidirectional`,
 * docs/mixers.md) are compositions of causal scans in the graph (flipped inputs, gates one token
 * later, the diagonal subtracted once). Their float64 interpretation must equal the masked
 * attention form computed straight from the definition.
 */
import { describe, expect, it } from 'vitest';
import { compileSource } from '../../compiler/pipeline.ts';
import { interpretGraph } from '../../runtime/reference/interpret.ts';
import { maskedLinearAttnRef } from '../../runtime/reference/linear-attn.ts';
import { seededWeights } from '../../runtime/weights.ts';
import { expectClose } from '../helpers/compare.ts';

const spec = (knobs: string) => `model m {
  vocab = 32
  dim = 24
  heads = 2
  layers = 1
  mixer mx = linear_attn { ${knobs} }
  block {
    x = x + mx(x)
  }
}`;

const cases = [
  ['LION-LIT (normalised, no decay)', 'direction = bidirectional', 'lion_o'],
  ['LION-S (normalised, scalar decay)', 'direction = bidirectional  decay = scalar', 'lion_o'],
  ['LION-D (fixed decay, not normalised)', 'direction = bidirectional  decay = fixed  normalize = false', 'numer'],
  ['vector decay, bidirectional', 'direction = bidirectional  decay = vector  normalize = false  feature = identity', 'numer'],
  ['reverse, normalised, scalar decay', 'direction = reverse  decay = scalar', 'rev_out'],
  ['reverse, vector decay', 'direction = reverse  decay = vector  normalize = false', 'rev_out'],
] as const;

describe('non-causal scans against the masked form', () => {
  it.each(cases)('%s', (_, knobs, outLabel) => {
    const r = compileSource(spec(knobs), 'bi.loom', { batch: 2, seq: 9 });
    if (!r.ok) throw new Error(r.diagnostics.map((d) => d.message).join('\n'));
    const { graph, spec: s } = r.compiled;
    const m = s.mixers.mx;
    if (m.family !== 'linear_attn') throw new Error('expected a linear_attn mixer');
    expect(r.compiled.graph.outputs).not.toHaveProperty('L0.mx.S'); // nothing to carry: no decode
    const w = seededWeights(graph.weights, 3);
    const ids = Int32Array.from({ length: 18 }, (_, i) => (i * 7) % 32);
    const values = interpretGraph(graph, w, ids).values;
    const byLabel = (label: string) => {
      const n = graph.nodes.find((x) => x.label === label);
      if (!n) throw new Error(`no node ${label}: ${graph.nodes.map((x) => x.label).join(', ')}`);
      return values.get(n.id)!;
    };
    const { heads: H, keyDim: K, valueDim: V } = m.knobs;
    // The mixer's own q, k, v, g: the inputs of its first scan, read through a reversing flip.
    const scan = graph.nodes.find((n) => n.op === 'linear_attn')!;
    if (scan.op !== 'linear_attn') throw new Error('no scan');
    const orig = (id: number) => {
      const n = graph.nodes[id];
      return values.get(n.op === 'flip' && n.shift === 0 ? n.x : id)!;
    };
    const g = scan.g === null ? undefined : orig(scan.g);
    const ref = maskedLinearAttnRef({ B: 2, T: 9, H, K, V, q: orig(scan.q), k: orig(scan.k), v: orig(scan.v), g, ...m.knobs, direction: m.direction });
    expectClose(knobs, byLabel(`L0.mx.${outLabel}`), ref, 1e-12);
  });

  it('the forward direction of the masked form is the recurrence itself', async () => {
    const r = compileSource(spec('decay = scalar'), 'fw.loom', { batch: 1, seq: 7 });
    if (!r.ok) throw new Error('compile');
    const { graph, spec: s } = r.compiled;
    const m = s.mixers.mx;
    if (m.family !== 'linear_attn') throw new Error('expected a linear_attn mixer');
    const values = interpretGraph(graph, seededWeights(graph.weights, 4), Int32Array.from([1, 2, 3, 4, 5, 6, 7])).values;
    const scan = graph.nodes.find((n) => n.op === 'linear_attn')!;
    if (scan.op !== 'linear_attn' || scan.g === null) throw new Error('no gated scan');
    const get = (id: number) => values.get(id)!;
    const { heads: H, keyDim: K, valueDim: V } = m.knobs;
    const ref = maskedLinearAttnRef({ B: 1, T: 7, H, K, V, q: get(scan.q), k: get(scan.k), v: get(scan.v), g: get(scan.g), ...m.knobs, direction: 'forward' });
    expectClose('forward', get(scan.id), ref, 1e-12);
  });
});

describe('cosFormer re-weighting against its definition', () => {
  it('o_i = sum_j relu(q_i).relu(k_j) cos(pi/2 (i-j)/M) v_j / (sum_j ... + eps), from a non-zero start position', () => {
    const [B, T, M] = [2, 6, 16];
    const r = compileSource(spec(`feature = relu  reweight = cos(max_len = ${M})  normalize = true  scale = 1`), 'cos.loom', { batch: B, seq: T });
    if (!r.ok) throw new Error(r.diagnostics.map((d) => d.message).join('\n'));
    const { graph, spec: s } = r.compiled;
    const m = s.mixers.mx;
    if (m.family !== 'linear_attn') throw new Error('expected a linear_attn mixer');
    const pos0 = [3, 9];
    const values = interpretGraph(graph, seededWeights(graph.weights, 8), Int32Array.from({ length: B * T }, (_, i) => i % 32), new Map([['pos', pos0]])).values;
    const scan = graph.nodes.find((n) => n.op === 'linear_attn')!;
    if (scan.op !== 'linear_attn') throw new Error('no scan');
    const before = (id: number) => {
      const n = graph.nodes[id];
      if (n.op !== 'cos_reweight') throw new Error(`expected the re-weighting, got ${n.op}`);
      return values.get(n.x)!;
    };
    const [q, k, v] = [before(scan.q), before(scan.k), values.get(scan.v)!];
    const { heads: H, valueDim: V, eps } = m.knobs;
    const K = m.knobs.keyDim / 2;
    const ref = new Float64Array(B * T * H * V);
    for (let b = 0; b < B; b++) {
      for (let h = 0; h < H; h++) {
        for (let i = 0; i < T; i++) {
          let den = 0;
          const num = new Float64Array(V);
          for (let j = 0; j <= i; j++) {
            let dot = 0;
            for (let c = 0; c < K; c++) dot += q[((b * T + i) * H + h) * K + c] * k[((b * T + j) * H + h) * K + c];
            const w = dot * Math.cos(((Math.PI / 2) * (i - j)) / M);
            den += w;
            for (let e = 0; e < V; e++) num[e] += w * v[((b * T + j) * H + h) * V + e];
          }
          for (let e = 0; e < V; e++) ref[((b * T + i) * H + h) * V + e] = num[e] / (den + eps);
        }
      }
    }
    expectClose('cosformer', values.get(scan.id)!, ref, 1e-12);
  });
});
