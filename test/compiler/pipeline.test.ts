import { readdirSync, readFileSync } from 'node:fs';
import { cpuNormPays, describeMatmulFusion, fuse, fuseOptionsFor, keptNorms, MAX_STORAGE_BUFFERS, matmulStorageBuffers } from '../../compiler/fuse/fuse.ts';
import { describe, expect, it } from 'vitest';
import { compileArtifacts, emitArtifacts, MANIFEST } from '../../compiler/emit/emit.ts';
import { DEFAULT_PROFILE } from '../../compiler/plan/device.ts';
import { GraphBuilder } from '../../compiler/ir/builder.ts';
import { dumpGraph } from '../../compiler/ir/dump.ts';
import { verifyGraph } from '../../compiler/ir/verify.ts';
import { checkSource, compileSource, type Compiled } from '../../compiler/pipeline.ts';
import { interpretGraph } from '../../runtime/reference/interpret.ts';
import { seededWeights } from '../../runtime/weights.ts';
import { closeness } from '../helpers/compare.ts';

const LT = 'models/linear-transformer.loom';
const FW = 'models/fast-weights.loom';
const src = (p: string) => readFileSync(p, 'utf8');

function compiled(path: string, opts: { batch: number; seq: number }): Compiled {
  const r = compileSource(src(path), path, opts);
  if (!r.ok) throw new Error(r.diagnostics.map((d) => d.message).join('\n'));
  return r.compiled;
}

describe('check', () => {
  it('computes every dimension of the linear transformer', () => {
    const { spec, diagnostics } = checkSource(src(LT), LT);
    expect(diagnostics).toEqual([]);
    expect(spec).toMatchObject({ name: 'linear_transformer', vocab: 256, dim: 128, layers: 4, head: 'tied', normEps: 1e-5 });
    expect(spec!.mixers.attn.knobs).toEqual({ heads: 4, keyDim: 32, valueDim: 32, feature: 'elu1', normalize: true, scale: 1 / Math.sqrt(32), eps: 1e-6, decay: { kind: 'none' }, update: 'additive' });
    const mlp = spec!.block[1].expr;
    expect(mlp.kind === 'add' && mlp.right.kind === 'swiglu' && mlp.right.hidden).toBe(384); // 128*8/3 = 341.3 rounded up to 384
    expect(spec!.schedule.decode).toEqual({ kind: 'recurrent' });
  });
  it('reads knobs, locals and per-layer schedules of the fast-weights model', () => {
    const { spec } = checkSource(src(FW), FW);
    expect(spec!.mixers.fw.knobs).toMatchObject({ heads: 3, keyDim: 16, valueDim: 32, feature: 'identity', normalize: false });
    expect(spec!.block.map((s) => s.target)).toEqual(['h', 'x', 'x']);
    expect(spec!.schedule.layers).toMatchObject([{ first: 0, last: 0, choice: { kind: 'parallel' } }]);
    expect(spec!.schedule.prefill).toEqual({ kind: 'chunkwise', chunk: 32 });
  });
});

describe('lower', () => {
  it('produces a verified graph with the shapes of docs/mixers.md', () => {
    const c = compiled(LT, { batch: 2, seq: 5 });
    const g = c.graph;
    verifyGraph(g, 'test');
    const byLabel = (l: string) => g.nodes.find((n) => n.label === l)!;
    expect(byLabel('embed').type.shape).toEqual([2, 5, 128]);
    expect(byLabel('L0.attn.q').type.shape).toEqual([2, 5, 128]);
    expect(byLabel('L0.attn.S0').type.shape).toEqual([2, 4, 32, 32]);
    expect(byLabel('L0.attn.z0').type.shape).toEqual([2, 4, 32]);
    expect(byLabel('L3.mlp0.gate').type.shape).toEqual([2, 5, 384]);
    expect(g.nodes[g.outputs.logits].type.shape).toEqual([2, 5, 256]);
    expect(Object.keys(g.outputs).sort()).toEqual(['L0.attn.S', 'L0.attn.z', 'L1.attn.S', 'L1.attn.z', 'L2.attn.S', 'L2.attn.z', 'L3.attn.S', 'L3.attn.z', 'logits']);
    const weights = Object.fromEntries(g.weights.map((w) => [w.name, w.shape]));
    expect(weights['embed.weight']).toEqual([256, 128]);
    expect(weights['layers.2.attn.o.weight']).toEqual([128, 128]);
    expect(weights['layers.1.mlp0.down.weight']).toEqual([384, 128]);
    expect(weights['layers.1.norm1.weight']).toEqual([128]);
    expect(weights['lm_head.weight']).toBeUndefined(); // tied head reads the embedding
    expect(g.weights).toHaveLength(1 + 4 * (4 + 2 + 3) + 1);
  });
  it('interns structurally equal nodes and keeps labels unique', () => {
    const b = new GraphBuilder({ B: 1, T: 1 });
    const t = b.add({ op: 'tokens' }, { shape: [1, 1], dtype: 'i32' }, 'tokens', -1);
    const w = b.weight('e', [4, 2], { kind: 'ones' }, -1);
    const e1 = b.add({ op: 'embed', table: w, ids: t }, { shape: [1, 1, 2], dtype: 'f32' }, 'x', -1);
    const e2 = b.add({ op: 'embed', table: w, ids: t }, { shape: [1, 1, 2], dtype: 'f32' }, 'y', -1);
    expect(e2).toBe(e1);
    const ew = (fn: 'silu' | 'elu1') => b.add({ op: 'elementwise', expr: { kind: 'fn', fn, args: [{ kind: 'in', index: 0 }] }, inputs: [e1] }, { shape: [1, 1, 2], dtype: 'f32' }, 'act', -1);
    expect(b.node(ew('silu')).label).toBe('act');
    expect(b.node(ew('elu1')).label).toBe('act.1');
  });
  it('position() is one [B] state carried as pos + T, read by every caller', () => {
    const b = new GraphBuilder({ B: 2, T: 5 });
    const p = b.position();
    expect(b.position()).toBe(p);
    const g = b.finish();
    expect(g.nodes[p]).toMatchObject({ op: 'state_in', name: 'pos', type: { shape: [2] } });
    const r = interpretGraph(g, new Map(), [], new Map([['pos', [3, 7]]]));
    expect([...r.outputs.pos]).toEqual([8, 12]);
  });
  it('verifyGraph rejects a broken graph with a dump', () => {
    const g = compiled(LT, { batch: 1, seq: 3 }).graph;
    const nodes = g.nodes.map((n) => (n.op === 'matmul' && n.label === 'L0.attn.q' ? { ...n, type: { ...n.type, shape: [1, 3, 7] } } : n));
    expect(() => verifyGraph({ ...g, nodes }, 'test')).toThrow(/L0\.attn\.q.*matmul output shape[\s\S]*graph B=1 T=3/);
  });
});

describe('fuse', () => {
  it('fuses elementwise chains, epilogues, norms into matmuls, SwiGLU pairs and q/k/v siblings', () => {
    const c = compiled(LT, { batch: 1, seq: 4 });
    const count = (g: Compiled['graph'], op: string) => g.nodes.filter((n) => n.op === op).length;
    const matmuls = (g: Compiled['graph']) => g.nodes.filter((n): n is Extract<typeof n, { op: 'matmul' }> => n.op === 'matmul');
    expect(count(c.graph, 'elementwise')).toBe(4 * 4); // per layer: 2 residual adds, silu, mul
    expect(count(c.graph, 'rmsnorm')).toBe(4 * 2 + 1);
    expect(matmuls(c.graph)).toHaveLength(4 * 7 + 1); // q k v o gate up down, lm_head
    // Per layer: x + (o W_o) and x + (h W_down) end their matmuls; silu(x W_gate) * (x W_up) is one
    // matmul with two weights; both norms are computed by the matmuls reading them (and the final
    // one by the head); q, k and v are one kernel with three outputs.
    expect(count(c.fused, 'elementwise')).toBe(0);
    expect(count(c.fused, 'rmsnorm')).toBe(0);
    const fused = matmuls(c.fused);
    expect(fused.filter((n) => n.epilogue)).toHaveLength(4 * 3);
    expect(fused.filter((n) => n.w2 !== undefined)).toHaveLength(4);
    expect(fused.filter((n) => n.norm)).toHaveLength(4 * 2 + 1);
    expect(fused.filter((n) => n.parts?.length === 2)).toHaveLength(4);
    expect(count(c.fused, 'matmul_part')).toBe(4 * 2);
    expect(fused).toHaveLength(4 * 4 + 1);
    const ir = dumpGraph(c.fused);
    expect(ir).toMatch(/matmul\(%\d+, %\d+ & %\d+ then mul\(silu\(\$0\), \$1\)\) rmsnorm\(%\d+\) eps=0.00001/);
    expect(ir).toMatch(/then add\(\$1, \$0\) \[%\d+\]/);
    expect(ir).toMatch(/matmul\(%\d+, %\d+; %\d+; %\d+\) rmsnorm/);
  });
  it('keeps a norm whose value another op reads, and merges only siblings whose inputs exist before the group', () => {
    // GLA: o_gate reads the layer norm too but its epilogue reads the mixer's output, so it stays
    // a kernel of its own (with the norm recomputed), and q/k/v merge without it.
    const c = compiled('models/gla.loom', { batch: 1, seq: 4 });
    const byLabel = new Map(c.fused.nodes.map((n) => [n.label, n]));
    const q = byLabel.get('L0.attn.q')!;
    expect(q.op === 'matmul' && q.parts?.length).toBe(2);
    expect(describeMatmulFusion(c.fused, q.id)).toBe('rmsnorm prologue, also writes L0.attn.k, L0.attn.v');
    expect(describeMatmulFusion(c.fused, byLabel.get('L0.mlp0.act')!.id)).toBe('rmsnorm prologue, two weights, epilogue mul(silu($0), $1)');
    const gate = byLabel.get('L0.attn.o_gate')!;
    expect(gate.op === 'matmul' && gate.norm !== undefined && gate.parts === undefined).toBe(true);
    // The per-head output norm (group 64 of 128) is no whole-row norm: it stays.
    expect(byLabel.get('L0.attn.o_norm')?.op).toBe('rmsnorm');
  });
  it('on a CPU adapter fuses norms where the cost model says the prologue is cheaper than the norm kernel', () => {
    const cpu = { ...DEFAULT_PROFILE, name: 'cpu', isCpu: true, limits: { ...DEFAULT_PROFILE.limits, maxStorageBuffersPerShaderStage: 16 } };
    expect(fuseOptionsFor(cpu).maxStorageBuffers).toBe(16);
    expect(fuseOptionsFor(DEFAULT_PROFILE).maxStorageBuffers).toBe(8);
    // A decode step's few rows: the prologue is nearly free. A prefill window: it costs more than the norm's kernel.
    expect(cpuNormPays({ rows: 4, K: 64, readerColumns: [272, 128] })).toBe(true);
    expect(cpuNormPays({ rows: 1024, K: 64, readerColumns: [128] })).toBe(false);
    expect(fuseOptionsFor(DEFAULT_PROFILE).normPays({ rows: 1 << 20, K: 4096, readerColumns: [4096, 4096] })).toBe(true);
    const fused = (seq: number) => {
      const r = compileSource(src('models/gla.loom'), 'models/gla.loom', { batch: 1, seq, device: cpu });
      if (!r.ok) throw new Error('compile');
      return r.compiled;
    };
    const step = fused(1);
    const byLabel = new Map(step.fused.nodes.map((n) => [n.label, n]));
    expect(step.fused.nodes.filter((n) => n.op === 'rmsnorm').map((n) => n.label)).toEqual(['L0.attn.o_norm', 'L1.attn.o_norm']);
    // Up to 16 storage buffers: q, k, v and the gate's down projection are one kernel, with the norm.
    expect(describeMatmulFusion(step.fused, byLabel.get('L0.attn.q')!.id)).toBe('rmsnorm prologue, also writes L0.attn.k, L0.attn.v, L0.attn.g_down');
    expect(step.program.steps).toHaveLength(18); // 43 unfused
    const window = fused(1024);
    expect(window.fused.nodes.filter((n) => n.op === 'rmsnorm' && !n.group).map((n) => n.label)).toEqual(['L0.norm0', 'L0.norm1', 'L1.norm0', 'L1.norm1', 'norm_f']);
    // explain's reasons: each kept norm with the two estimates.
    const kept = keptNorms(window.fused, fuseOptionsFor(cpu));
    expect(kept.map((k) => k.label)).toEqual(['L0.norm0', 'L0.norm1', 'L1.norm0', 'L1.norm1', 'norm_f']);
    expect(kept[0].why).toMatch(/^computing it in its 2 reading kernels would add ~[\d.]+ ms of arithmetic, its own kernel costs ~[\d.]+ ms/);
    expect(kept[1].why).toMatch(/^computing it in its reading kernel would add/);
    expect(keptNorms(step.fused, fuseOptionsFor(cpu))).toEqual([]);
    expect(window.program.steps).toHaveLength(23);
    for (const c of [step, fused(4)]) {
      const w = seededWeights(c.graph.weights, 2);
      const tokens = Array.from({ length: c.graph.dims.T }, (_, i) => (i * 5 + 3) % 256);
      expect(closeness(interpretGraph(c.fused, w, tokens).outputs.logits, interpretGraph(c.graph, w, tokens).outputs.logits).relErr).toBeLessThan(1e-14);
    }
  });
  it('fuses a norm only when every reader is a matmul reading it as x, and respects the binding limit', () => {
    const build = (extraReader: boolean, projections: number) => {
      const b = new GraphBuilder({ B: 1, T: 2 });
      const f = (shape: number[]) => ({ shape, dtype: 'f32' as const });
      const t = b.add({ op: 'tokens' }, { shape: [1, 2], dtype: 'i32' }, 'tokens', -1);
      const x = b.add({ op: 'embed', table: b.weight('e', [8, 4], { kind: 'ones' }, -1), ids: t }, f([1, 2, 4]), 'x', -1);
      const n = b.add({ op: 'rmsnorm', x, weight: b.weight('g', [4], { kind: 'ones' }, -1), eps: 1e-5 }, f([1, 2, 4]), 'norm', -1);
      let sum = n;
      for (let i = 0; i < projections; i++) {
        const p = b.add({ op: 'matmul', x: n, w: b.weight(`w${i}`, [4, 4], { kind: 'ones' }, -1), transposeW: false }, f([1, 2, 4]), `p${i}`, -1);
        sum = b.add({ op: 'elementwise', expr: { kind: 'fn', fn: 'add', args: [{ kind: 'in', index: 0 }, { kind: 'in', index: 1 }] }, inputs: [sum, p] }, f([1, 2, 4]), `s${i}`, -1);
      }
      if (!extraReader) b.output('logits', sum);
      else b.output('logits', b.add({ op: 'elementwise', expr: { kind: 'fn', fn: 'silu', args: [{ kind: 'in', index: 0 }] }, inputs: [sum] }, f([1, 2, 4]), 'out', -1));
      return b.finish();
    };
    // The running sum starts at the norm itself, an elementwise reader: the norm stays a kernel.
    const kept = fuse(build(false, 2));
    expect(kept.nodes.filter((n) => n.op === 'rmsnorm')).toHaveLength(1);
    expect(kept.nodes.some((n) => n.op === 'matmul' && n.norm)).toBe(false);
    for (const g of [build(false, 2), build(true, 5)]) {
      const fused = fuse(g);
      verifyGraph(fused, 'test');
      for (const n of fused.nodes) if (n.op === 'matmul') expect(matmulStorageBuffers(n)).toBeLessThanOrEqual(MAX_STORAGE_BUFFERS);
      const w = seededWeights(g.weights, 1);
      const tokens = [1, 5];
      expect(closeness(interpretGraph(fused, w, tokens).outputs.logits, interpretGraph(g, w, tokens).outputs.logits).relErr).toBeLessThan(1e-14);
    }
  });
  it('never gives a matmul kernel more storage buffers than every device allows', () => {
    for (const f of readdirSync('models').filter((x) => x.endsWith('.loom'))) {
      const r = compileSource(src(`models/${f}`), f, { batch: 1, seq: 4 });
      if (!r.ok) continue;
      for (const n of r.compiled.fused.nodes) if (n.op === 'matmul') expect(matmulStorageBuffers(n), `${f} ${n.label}`).toBeLessThanOrEqual(MAX_STORAGE_BUFFERS);
    }
  });
  it('computes the same function (float64 reference on both graphs)', () => {
    const c = compiled(FW, { batch: 2, seq: 6 });
    const w = seededWeights(c.graph.weights, 3);
    const tokens = Int32Array.from({ length: 12 }, (_, i) => (i * 37) % 256);
    const a = interpretGraph(c.graph, w, tokens).outputs.logits;
    const b = interpretGraph(c.fused, w, tokens).outputs.logits;
    expect(closeness(b, a).relErr).toBeLessThan(1e-14);
  });
});

describe('device limits', () => {
  it('refuses tensors larger than one storage binding before any dispatch, naming them and their size', () => {
    const text = src(LT).replace('vocab  = 256', 'vocab  = 1000000').replace('dim    = 128', 'dim    = 512');
    const r = compileSource(text, LT, { batch: 1, seq: 4 });
    expect(r.ok).toBe(false);
    const messages = r.diagnostics.map((d) => `LOOM${d.code}: ${d.message}`);
    expect(messages).toContain("LOOM4004: weight 'embed.weight' [1000000, 512] needs 2048000000 bytes; webgpu-defaults binds at most 134217728 bytes per buffer");
  });
});

describe('plan and emit', () => {
  it('honours the schedule section per layer and mode', () => {
    const c = compiled(FW, { batch: 1, seq: 50 });
    expect(c.plan.mixers.map((m) => [m.schedule, m.chunk, m.source])).toEqual([
      ['parallel', 0, 'layers[0..0]'],
      ['chunkwise', 32, 'prefill'],
      ['chunkwise', 32, 'prefill'],
    ]);
    const decode = compiled(LT, { batch: 1, seq: 1 });
    expect(decode.plan.mode).toBe('decode');
    expect(decode.plan.mixers.every((m) => m.schedule === 'recurrent' && m.source === 'decode')).toBe(true);
  });
  it('auto chooses among supported candidates by estimate', () => {
    const c = compiled(LT, { batch: 1, seq: 300 });
    for (const m of c.plan.mixers) {
      expect(m.source).toBe('auto');
      const best = Math.min(...m.candidates.filter((x) => x.ok).map((x) => x.estimateMs!));
      expect(m.candidates.find((x) => x.schedule === m.schedule && x.chunk === m.chunk)!.estimateMs).toBe(best);
    }
  });
  it('emits deterministic kernels and a manifest that names every binding', () => {
    const o = { batch: 1, seq: 8, device: DEFAULT_PROFILE, emit: ['wgsl'] as const, runtimeImport: 'loom/runtime', source: LT };
    const emit = () => {
      const r = compileArtifacts(src(LT), LT, o);
      if (!r.ok) throw new Error(r.diagnostics.map((d) => d.message).join('\n'));
      return emitArtifacts(r.pair, o);
    };
    const a = emit();
    expect([...a.entries()]).toEqual([...emit().entries()]);
    const m = JSON.parse(a.get(MANIFEST)!);
    expect(m.programs.forward.kernels.length + m.programs.step.kernels.length).toBe(a.size - 1);
    const buffers = new Map(m.programs.forward.buffers.map((x: { name: string; elements: number }) => [x.name, x.elements]));
    for (const k of m.programs.forward.kernels) {
      expect(a.has(k.file)).toBe(true);
      for (const bd of k.bindings) expect(buffers.get(bd.buffer)).toBeGreaterThanOrEqual(bd.elements);
    }
    expect(m.programs.forward.schedules).toHaveLength(4);
    expect(m.programs.forward.dims).toEqual({ B: 1, T: 8 });
  });
});
