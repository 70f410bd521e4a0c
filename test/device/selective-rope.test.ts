/**
 * Selective RoPE (docs/mixers.md): angles that advance by a learned step per token. With the step
 * fixed at 1 it must equal ordinary RoPE (float64, whole model); on the adapter it must match the
 * float64 reference and continue a sequence across calls (its angles are carried state).
 */
import { describe, expect, it } from 'vitest';
import { compileSource, type Compiled } from '../../compiler/pipeline.ts';
import { deviceProfile } from '../../runtime/gpu.ts';
import { interpretGraph } from '../../runtime/reference/interpret.ts';
import { Session } from '../../runtime/session.ts';
import { seededWeights } from '../../runtime/weights.ts';
import { expectClose } from '../helpers/compare.ts';
import { gpu } from './gpu.ts';

/** Tolerance of the two-layer model: 2.8e-7 measured (the accumulated angles), so 3e-6. */
const TOL = 3e-6;

const spec = (rope: string) => `model sel {
  vocab = 64
  dim = 32
  heads = 4
  layers = 2
  mixer attn = attention { kv_heads = 2  rope = ${rope} }
  block {
    x = x + attn(rmsnorm(x))
  }
}`;

async function build(rope: string, batch: number, seq: number, device = true): Promise<Compiled> {
  const r = compileSource(spec(rope), 'sel.loom', { batch, seq, ...(device ? { device: deviceProfile(await gpu()) } : {}) });
  if (!r.ok) throw new Error(r.diagnostics.map((d) => d.message).join('\n'));
  return r.compiled;
}

const ids = (n: number) => Int32Array.from({ length: n }, (_, i) => (i * 13 + 5) % 64);

describe('Selective RoPE', () => {
  it('with a step of 1 per token equals ordinary RoPE (float64)', async () => {
    const sel = await build('selective', 2, 9, false);
    const plain = await build('true', 2, 9, false);
    const w = seededWeights(sel.graph.weights, 4);
    for (let l = 0; l < 2; l++) {
      w.set(`layers.${l}.attn.rope_dt.weight`, new Float32Array(32 * 2));
      w.set(`layers.${l}.attn.rope_dt_bias`, new Float32Array(2).fill(Math.log(Math.E - 1))); // softplus = 1
    }
    const a = interpretGraph(sel.graph, w, ids(18)).outputs.logits;
    const b = interpretGraph(plain.graph, new Map([...w].filter(([k]) => !k.includes('rope_dt'))), ids(18)).outputs.logits;
    expectClose('selective with step 1 vs RoPE', a, b, 1e-6); // f32-rounded bias: softplus = 1 to 6e-8
    const c = interpretGraph(sel.graph, seededWeights(sel.graph.weights, 4), ids(18)).outputs.logits;
    const d = Math.max(...c.map((x, i) => Math.abs(x - b[i])));
    expect(d, 'learned steps change the result').toBeGreaterThan(1e-3);
  });

  it('matches the float64 reference on the adapter and continues across calls', async () => {
    const g = await gpu();
    const full = await build('selective', 2, 17);
    const w = seededWeights(full.graph.weights, 9);
    const tokens = ids(34);
    const s = await Session.create(g, full, w);
    const out = await s.forward(tokens);
    s.destroy();
    const ref = interpretGraph(full.graph, w, tokens).outputs;
    expectClose('logits', out.logits, ref.logits, TOL);
    expectClose('angles', out.states['L1.attn.rope_angles'], ref['L1.attn.rope_angles'], TOL);
    // 16 tokens, then one step, per row of the batch.
    const first = await build('selective', 2, 16);
    const step = await build('selective', 2, 1);
    const part = (from: number, n: number) => Int32Array.from([...tokens.subarray(from, from + n), ...tokens.subarray(17 + from, 17 + from + n)]);
    const a = await Session.create(g, first, w);
    const p = await a.forward(part(0, 16));
    a.destroy();
    const b = await Session.create(g, step, w);
    const q = await b.forward(part(16, 1), p.states);
    b.destroy();
    const vocab = 64;
    const want = Float32Array.from([...ref.logits.subarray(16 * vocab, 17 * vocab), ...ref.logits.subarray(33 * vocab, 34 * vocab)]);
    expectClose('step after prefill', q.logits, want, TOL);
  });
});
