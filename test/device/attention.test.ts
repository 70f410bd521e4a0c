/**
 * Softmax attention and RoPE kernels on the adapter against the float64 reference (outputs
 * poisoned with NaN by runOnce): causal and not, sliding window (ring cache), grouped-query heads,
 * a KV cache filled by an earlier window, both variants for T = 1; then whole models: a prefill
 * continued token by token equals the full forward, and a run past max_len is refused.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { BufferDecl } from '../../compiler/codegen/program.ts';
import { ropeKernel } from '../../compiler/codegen/kernels/rope.ts';
import { cacheSlots, type AttentionKnobs } from '../../compiler/ir/graph.ts';
import { attentionProgram, attentionSupports, type AttentionVariant } from '../../compiler/mixers/attention/index.ts';
import { compileSource, type Compiled } from '../../compiler/pipeline.ts';
import { deviceProfile } from '../../runtime/gpu.ts';
import { runOnce } from '../../runtime/program.ts';
import { Rng } from '../../runtime/random.ts';
import { attentionRef, ropeRef } from '../../runtime/reference/attention.ts';
import { interpretGraph } from '../../runtime/reference/interpret.ts';
import { Session } from '../../runtime/session.ts';
import { seededWeights } from '../../runtime/weights.ts';
import { expectClose } from '../helpers/compare.ts';
import { gpu } from './gpu.ts';

/**
 * Tolerances (measured on lavapipe): a kernel's output row is an online softmax over at most a few
 * dozen keys: 3.3e-7, so 3e-6; the caches it writes are copies of k and v: exact. Whole models (two
 * layers, Liger's linear state among them): 1.7e-6, so 1e-5.
 */
const KERNEL_TOL = 3e-6;
const EXACT = 1e-12;
const MODEL_TOL = 1e-5;

interface Case {
  B: number;
  T: number;
  /** Positions already in the cache (causal only). */
  P0: number;
  knobs: AttentionKnobs;
  variant: AttentionVariant;
}

const knobs = (causal: boolean, window: number | null): AttentionKnobs => ({ heads: 4, kvHeads: 2, headDim: 16, valueDim: 8, causal, window, scale: 0.25, maxLen: 160 });

const CONFIGS: [string, AttentionKnobs][] = [
  ['causal', knobs(true, null)],
  ['swa12', knobs(true, 12)],
  ['bidir', knobs(false, null)],
  ['bidir-w5', knobs(false, 5)],
];

const TABLE: (Case & { id: string })[] = [1, 17, 64, 130].flatMap((T) =>
  [1, 2].flatMap((B) =>
    CONFIGS.flatMap(([name, k]) => {
      const P0 = k.causal ? (T === 130 ? 23 : 9) : 0;
      // The tiled (GPU) variant on a few shapes: its barrier kernels compile slowly on lavapipe.
      const tiled = [`130-2-causal`, `17-1-swa12`, `130-1-bidir-w5`, `17-2-bidir`].includes(`${T}-${B}-${name}`);
      const variants: AttentionVariant[] = T === 1 && k.causal ? ['decode', 'rows'] : tiled ? ['rows', 'tiled'] : ['rows'];
      return variants.map((variant) => ({ B, T, P0, knobs: k, variant, id: `B${B}-T${T}-${name}-p${P0}-${variant}` }));
    }),
  ),
);

async function runAttention(c: Case, d: Record<string, Float32Array>): Promise<Record<string, Float32Array>> {
  const g = await gpu();
  const k = c.knobs;
  expect(attentionSupports(c.variant, c, g.limits)).toEqual({ ok: true });
  const causal = k.causal;
  const buffers = { q: 'q', k: 'k', v: 'v', pos: causal ? 'pos' : null, kc0: causal ? 'kc0' : null, vc0: causal ? 'vc0' : null, o: 'o', kCache: causal ? 'kc' : null, vCache: causal ? 'vc' : null };
  const prog = attentionProgram({ label: 'L0.attn', B: c.B, T: c.T, knobs: k, variant: c.variant, buffers });
  const decls: BufferDecl[] = Object.entries(d).map(([name, a]) => ({ name, elem: 'f32', elements: a.length, role: 'input' }));
  decls.push({ name: 'o', elem: 'f32', elements: c.B * c.T * k.heads * k.valueDim, role: 'output' });
  // The cache is updated in place: the state outputs alias the inputs (as the assembler declares them).
  if (causal) decls.push({ name: 'kc', elem: 'f32', elements: d.kc0.length, role: 'state_out', alias: 'kc0' }, { name: 'vc', elem: 'f32', elements: d.vc0.length, role: 'state_out', alias: 'vc0' });
  const out = await runOnce(g, { buffers: [...decls, ...prog.buffers], steps: prog.steps }, d, causal ? ['o', 'kc', 'vc'] : ['o']);
  return out as Record<string, Float32Array>;
}

/** Random q, k, v for the window; for causal cases, caches left by the reference after a prefix of P0 tokens. */
function makeData(c: Case, seed: string): Record<string, Float32Array> {
  const r = Rng.forName(7, seed);
  const k = c.knobs;
  const qkv = (T: number) => ({ q: r.normals(c.B * T * k.heads * k.headDim), k: r.normals(c.B * T * k.kvHeads * k.headDim), v: r.normals(c.B * T * k.kvHeads * k.valueDim) });
  const d: Record<string, Float32Array> = qkv(c.T);
  if (!k.causal) return d;
  // Sequence b has P0 + b earlier tokens, so the batch rows sit at different positions.
  const prefixes = Array.from({ length: c.B }, (_, b) => attentionRef({ B: 1, T: c.P0 + b, knobs: k, q: r.normals((c.P0 + b) * k.heads * k.headDim), k: r.normals((c.P0 + b) * k.kvHeads * k.headDim), v: r.normals((c.P0 + b) * k.kvHeads * k.valueDim) }));
  const cat = (xs: Float64Array[]) => Float32Array.from(xs.flatMap((x) => [...x]));
  const pos = Float32Array.from({ length: c.B }, (_, b) => c.P0 + b);
  return { ...d, pos, kc0: cat(prefixes.map((p) => p.kCache)), vc0: cat(prefixes.map((p) => p.vCache)) };
}

describe('softmax attention kernels vs the float64 reference', () => {
  it.each(TABLE)('$id', async (c) => {
    const d = makeData(c, `${c.B}-${c.T}-${c.knobs.causal}-${c.knobs.window}`);
    const out = await runAttention(c, d);
    const ref = attentionRef({ B: c.B, T: c.T, knobs: c.knobs, q: d.q, k: d.k, v: d.v, pos: d.pos, kc0: d.kc0, vc0: d.vc0 });
    expectClose(`${c.id} o`, out.o, ref.o, KERNEL_TOL);
    if (c.knobs.causal) {
      expectClose(`${c.id} k_cache`, out.kc, ref.kCache, EXACT);
      expectClose(`${c.id} v_cache`, out.vc, ref.vCache, EXACT);
    }
  });
});

describe('RoPE kernel', () => {
  it.each([
    ['B2-T17-D16 positions 3 and 70000', true],
    ['B2-T17-D16 positions t', false],
  ] as const)('%s', async (_, positions) => {
    const [B, T, width, D, theta] = [2, 17, 48, 16, 10000];
    const r = Rng.forName(3, 'rope');
    const x = r.normals(B * T * width);
    const pos = Float32Array.from([3, 70000]);
    const kernel = ropeKernel({ name: 'rope', B, T, width, D, theta, positions });
    const decls: BufferDecl[] = [
      { name: 'x', elem: 'f32', elements: x.length, role: 'input' },
      { name: 'pos', elem: 'f32', elements: B, role: 'input' },
      { name: 'out', elem: 'f32', elements: x.length, role: 'output' },
    ];
    const steps = [{ kernel, args: positions ? ['x', 'pos', 'out'] : ['x', 'out'] }];
    const out = await runOnce(await gpu(), { buffers: decls, steps }, { x, pos }, ['out']);
    expectClose('rope', out.out as Float32Array, ropeRef(x, B, T, width, D, theta, positions ? pos : undefined), 2e-6);
  });
});

const SMALL = (mixer: string) => `
model small_attention {
  vocab  = 64
  dim    = 32
  heads  = 4
  layers = 2
  mixer attn = ${mixer}
  block {
    x = x + attn(rmsnorm(x))
    x = x + swiglu(rmsnorm(x), hidden = 64)
  }
}
`;

async function compile(text: string, seq: number): Promise<Compiled> {
  const r = compileSource(text, 'small.loom', { batch: 1, seq, device: deviceProfile(await gpu()) });
  if (!r.ok) throw new Error(r.diagnostics.map((d) => d.message).join('\n'));
  return r.compiled;
}

describe('attention models with a KV cache', () => {
  it.each([
    ['global, GQA, RoPE', 'attention { kv_heads = 2  max_len = 64 }'],
    ['sliding window 8 (ring cache)', 'swa { window = 8 }'],
    ['liger: SWA 8 + gated linear attention', 'liger { window = 8 }'],
  ])('%s: prefill 40 then 10 steps equals the forward over 50 tokens', async (_, mixer) => {
    const g = await gpu();
    const prefill = await compile(SMALL(mixer), 40);
    const step = await compile(SMALL(mixer), 1);
    const full = await compile(SMALL(mixer), 50);
    const w = seededWeights(full.graph.weights, 4);
    const rng = Rng.forName(2, 'ids');
    const ids = Int32Array.from({ length: 50 }, () => rng.int(64));
    const ref = interpretGraph(full.graph, w, ids).outputs;
    const a = await Session.create(g, prefill, w);
    const first = await a.forward(ids.subarray(0, 40));
    a.destroy();
    expectClose('prefill logits', first.logits, ref.logits.subarray(0, 40 * 64), MODEL_TOL);
    const s = await Session.create(g, step, w);
    let states = first.states;
    const logits = new Float32Array(10 * 64);
    for (let t = 40; t < 50; t++) {
      const r = await s.forward(ids.subarray(t, t + 1), states);
      logits.set(r.logits, (t - 40) * 64);
      states = r.states;
    }
    s.destroy();
    expectClose('steps 40..49 logits', logits, ref.logits.subarray(40 * 64), MODEL_TOL);
    for (const name of Object.keys(states)) expectClose(`final ${name}`, states[name], ref[name], MODEL_TOL);
  });

  it('hybrid models/deltanet-swa.loom: a chunkwise prefill of 20 then 5 steps equals the forward over 25 tokens', async () => {
    const text = readFileSync('models/deltanet-swa.loom', 'utf8');
    const build = async (seq: number) => {
      const r = compileSource(text, 'models/deltanet-swa.loom', { batch: 1, seq, device: deviceProfile(await gpu()) });
      if (!r.ok) throw new Error(r.diagnostics.map((d) => d.message).join('\n'));
      return r.compiled;
    };
    const [prefill, step, full] = [await build(20), await build(1), await build(25)];
    expect(prefill.plan.mixers.map((m) => m.schedule)).toEqual(['chunkwise', 'chunkwise', 'chunkwise', 'parallel']);
    const w = seededWeights(full.graph.weights, 8);
    const rng = Rng.forName(5, 'hybrid-ids');
    const ids = Int32Array.from({ length: 25 }, () => rng.int(256));
    const ref = interpretGraph(full.graph, w, ids).outputs.logits;
    const a = await Session.create(await gpu(), prefill, w);
    let states = (await a.forward(ids.subarray(0, 20))).states;
    a.destroy();
    const s = await Session.create(await gpu(), step, w);
    const logits = new Float32Array(5 * 256);
    for (let t = 20; t < 25; t++) {
      const r = await s.forward(ids.subarray(t, t + 1), states);
      logits.set(r.logits, (t - 20) * 256);
      states = r.states;
    }
    s.destroy();
    expectClose('steps 20..24 logits', logits, ref.subarray(20 * 256), MODEL_TOL);
  });

  it('refuses a window past max_len before any dispatch, naming the layer, the positions and max_len', async () => {
    const text = SMALL('attention { max_len = 48 }');
    const c = await compile(text, 40);
    const w = seededWeights(c.graph.weights, 1);
    const s = await Session.create(await gpu(), c, w);
    const ids = new Int32Array(40).fill(3);
    const ok = await s.forward(ids, { pos: Float32Array.from([8]) });
    expect(ok.states.pos[0]).toBe(48);
    await expect(s.forward(ids, { ...ok.states, pos: Float32Array.from([9]) })).rejects.toThrow(/LOOM5010: L0\.attn: sequence 0 would write positions 9\.\.48.*max_len = 48/);
    s.destroy();
    expect(() => interpretGraph(c.graph, w, ids, new Map([['pos', [9]]]))).toThrow(/L0\.attn: positions 9\.\.48 do not fit max_len = 48/);
  });

  it('refuses decode of bidirectional attention with a message naming the mixer', async () => {
    const r = compileSource(SMALL('attention { causal = false }'), 'small.loom', { batch: 1, seq: 1, mode: 'decode' });
    expect(r.ok).toBe(false);
    expect(r.diagnostics.map((d) => d.message).join('\n')).toMatch(/L0\.attn is bidirectional attention \(causal = false\).*no step-by-step decode/);
  });
});
