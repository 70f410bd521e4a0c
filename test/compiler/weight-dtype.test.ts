/**
 * `--weights-dtype f16` in the planner, codegen and emitter (no adapter): which weights are stored
 * f16, the WGSL of the three matmul variants, the manifest, LOOM4022, and that the default (f32)
 * output is unchanged.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { matmulKernel, type MatmulDims } from '../../compiler/codegen/kernels/index.ts';
import { compileArtifacts, emitArtifacts, MANIFEST, type EmitOptions } from '../../compiler/emit/emit.ts';
import { DEFAULT_PROFILE, type DeviceProfile } from '../../compiler/plan/device.ts';
import { compileSource, type Compiled } from '../../compiler/pipeline.ts';
import { f16Matmuls, type WeightDtype } from '../../compiler/plan/weight-dtype.ts';
import { GraphBuilder } from '../../compiler/ir/builder.ts';

const GLA = 'models/gla.loom';
const FW = 'models/fast-weights.loom'; // an untied LM head

function compiled(path: string, weights?: WeightDtype, device: DeviceProfile = DEFAULT_PROFILE, seq = 16): Compiled {
  const r = compileSource(readFileSync(path, 'utf8'), path, { batch: 1, seq, device, ...(weights ? { weights } : {}) });
  if (!r.ok) throw new Error(r.diagnostics.map((d) => d.message).join('\n'));
  return r.compiled;
}

const elems = (c: Compiled) => Object.fromEntries(c.program.buffers.filter((b) => b.role === 'weight').map((b) => [b.name, b.elem]));

describe('which weights are stored f16', () => {
  it('by default none, and no kernel enables f16', () => {
    const c = compiled(GLA);
    expect(Object.values(elems(c)).every((e) => e === 'f32')).toBe(true);
    expect(c.program.steps.some((s) => s.kernel.wgsl.includes('f16'))).toBe(false);
    expect(c.plan.matmuls.some((m) => 'weights' in m || 'weightsWhy' in m)).toBe(false);
  });

  it('the projections of gla; the tied embedding table and every norm weight stay f32', () => {
    const c = compiled(GLA, 'f16');
    const e = elems(c);
    expect(e['embed.weight']).toBe('f32'); // read by embed and by the tied LM head
    expect(e['norm_f.weight']).toBe('f32');
    expect(e['layers.0.norm0.weight']).toBe('f32');
    for (const name of ['layers.0.attn.q.weight', 'layers.0.attn.k.weight', 'layers.0.attn.v.weight', 'layers.0.attn.o.weight', 'layers.1.mlp0.gate.weight', 'layers.1.mlp0.up.weight', 'layers.1.mlp0.down.weight']) {
      expect(e[name], name).toBe('f16');
    }
    const head = c.plan.matmuls.find((m) => m.label === 'lm_head')!;
    expect(head.weights).toBeUndefined();
    expect(head.weightsWhy).toBe('embed.weight is also read by embed');
    expect(c.plan.matmuls.filter((m) => m.weights === 'f16').length).toBe(c.plan.matmuls.length - 1);
  });

  it('an f16 buffer is bound only as a matmul weight (w, w2 of a product), of a kernel that enables f16 unless it reads them packed in u32', () => {
    const c = compiled(GLA, 'f16');
    const f16 = new Set(c.program.buffers.filter((b) => b.elem === 'f16').map((b) => b.name));
    expect(f16.size).toBeGreaterThan(0);
    for (const { kernel, args } of c.program.steps) {
      args.forEach((name, i) => {
        const b = kernel.bindings[i];
        expect(b.elem === 'f16', `${kernel.name} ${b.name} <- ${name}`).toBe(f16.has(name));
        if (b.elem === 'f16') expect(b.name).toMatch(/^w2?(_\d+)?$/);
      });
      const any = kernel.bindings.some((b) => b.elem === 'f16' && !b.view);
      for (const b of kernel.bindings) if (b.elem === 'f16' && b.view) expect(b.view, kernel.name).toBe('vec2<u32>');
      expect(kernel.wgsl.startsWith('enable f16;\n'), kernel.name).toBe(any);
    }
  });

  it('an untied LM head is stored f16 too; the step program stores every weight as the forward one', () => {
    const c = compiled(FW, 'f16');
    expect(elems(c)['lm_head.weight']).toBe('f16');
    expect(elems(c)['embed.weight']).toBe('f32');
    expect(elems(compiled(FW, 'f16', DEFAULT_PROFILE, 1))).toEqual(elems(c));
  });
});

describe('f16Matmuls', () => {
  it('a matmul keeps f32 weights when one of its weights has another reader, and so does every matmul sharing them', () => {
    const b = new GraphBuilder({ B: 1, T: 1 });
    const f32 = (shape: number[]) => ({ shape, dtype: 'f32' as const });
    const ids = b.add({ op: 'tokens' }, { shape: [1, 1], dtype: 'i32' }, 'tokens', -1);
    const w = (name: string) => b.weight(name, [4, 4], { kind: 'ones' }, -1);
    const [E, W1, W2, W3, G] = [w('E'), w('W1'), w('W2'), w('W3'), b.weight('G', [4], { kind: 'ones' }, -1)];
    const x = b.add({ op: 'embed', table: E, ids }, f32([1, 1, 4]), 'x', -1);
    const mm = (label: string, op: Record<string, unknown>) => b.add({ op: 'matmul', x, transposeW: false, ...op } as never, f32([1, 1, 4]), label, 0);
    const a = mm('a', { w: W1, w2: E }); // E is also read by embed
    const c = mm('c', { w: W1 }); // shares W1 with a
    const d = mm('d', { w: W2, norm: { weight: G, eps: 1e-5 } });
    const e = mm('e', { w: G as never }); // a [4] weight read as a norm weight by d
    const f = mm('f', { w: W3, parts: [{ w: W2 }] }); // W2 shared with d, which is f16
    for (const [i, id] of [a, c, d, e, f].entries()) b.output(`o${i}`, id);
    const g = b.finish();
    const { f16, why } = f16Matmuls(g);
    expect([...f16].map((id) => g.nodes[id].label).sort()).toEqual(['d', 'f']);
    expect(why.get(a)).toBe('E is also read by embed x');
    expect(why.get(c)).toBe('W1 is also read by matmul a, which keeps f32 weights');
    expect(why.get(e)).toBe('G is also read by matmul d');
  });
});

describe('the device', () => {
  it('LOOM4022 on a device without shader-f16, naming the adapter', () => {
    const r = compileSource(readFileSync(GLA, 'utf8'), GLA, { batch: 1, seq: 16, device: { ...DEFAULT_PROFILE, name: 'some adapter', shaderF16: false }, weights: 'f16' });
    expect(r.ok).toBe(false);
    expect(r.diagnostics.map((d) => `LOOM${d.code}: ${d.message}`)).toEqual([
      'LOOM4022: --weights-dtype f16 needs the WebGPU feature shader-f16 (matmul weights stored as f16), which the adapter some adapter lacks; use --weights-dtype f32, or auto (the default), which chooses f32 there',
    ]);
  });
  it('f32 weights need nothing; a device with shader-f16 and the unknown default profile take f16', () => {
    expect(compileSource(readFileSync(GLA, 'utf8'), GLA, { batch: 1, seq: 16, device: { ...DEFAULT_PROFILE, shaderF16: false } }).ok).toBe(true);
    expect(compiled(GLA, 'f16', { ...DEFAULT_PROFILE, shaderF16: true }).program.buffers.some((b) => b.elem === 'f16')).toBe(true);
  });
});

describe('matmul WGSL with f16 weights', () => {
  const d: MatmulDims = { M: 8, K: 64, N: 8, transposeW: false, norm: { eps: 1e-5 }, w2: true, parts: [{ N: 4 }], weights: 'f16' };
  it.each(['naive', 'register4x4', 'workgroup16'] as const)('%s: f16 weight bindings, loads converted to f32, f32 accumulators', (variant) => {
    const k = matmulKernel({ ...d, name: `mm.${variant}`, variant });
    // register4x4 reads four f16 at a time packed in a vec2<u32> (no f16 type in the shader).
    const packed = variant === 'register4x4';
    expect(k.wgsl.split('\n')[0] === 'enable f16;').toBe(!packed);
    expect(k.bindings.map((b) => `${b.name}:${b.elem}`)).toEqual(['x:f32', 'g:f32', 'w_0:f16', 'w2_0:f16', 'out_0:f32', 'w_1:f16', 'out_1:f32']);
    expect(k.wgsl).toContain(`var<storage, read> w_0: array<${packed ? 'vec2<u32>' : 'f16'}>;`);
    expect(k.wgsl).toContain('var<storage, read_write> out_0: array<f32>;');
    // Every read of a weight is converted: no f16 value reaches an accumulator.
    const code = k.wgsl.split('\n').filter((l) => !l.trimStart().startsWith('//')).join('\n');
    const reads = code.match(/w2?_\d\[/g) ?? [];
    expect(reads.length).toBeGreaterThan(0);
    const converted = packed ? /unpackW\(w2?_\d\[/g : /f32\(w2?_\d\[/g;
    expect((code.match(converted) ?? []).length).toBe(reads.length);
    expect(k.wgsl).not.toMatch(/var b_\w+ = vec4<f16>|: f16 =/);
  });
  it('W [N, K] (a transposed weight) as well', () => {
    const k = matmulKernel({ M: 4, K: 64, N: 8, transposeW: true, weights: 'f16', name: 'mm.t', variant: 'register4x4' });
    expect(k.wgsl).toContain('let b_w0 = unpackW(w[o_w0 + i_k / 4u]);');
  });
});

describe('artifacts', () => {
  const options = (weights?: WeightDtype): EmitOptions => ({ batch: 1, seq: 16, device: DEFAULT_PROFILE, emit: ['wgsl', 'ts'], runtimeImport: 'loom/runtime', source: GLA, ...(weights ? { weights } : {}) });
  function manifest(weights?: WeightDtype) {
    const r = compileArtifacts(readFileSync(GLA, 'utf8'), GLA, options(weights));
    if (!r.ok) throw new Error('compile failed');
    return JSON.parse(emitArtifacts(r.pair, options(weights)).get(MANIFEST)!);
  }
  it('the manifest records f16 weights (options.weights, buffer elem and bytes); the default has no such field', () => {
    const f16 = manifest('f16');
    expect(f16.options.weights).toBe('f16');
    const q = f16.programs.forward.buffers.find((b: { name: string }) => b.name === 'layers.0.attn.q.weight');
    expect(q).toMatchObject({ elem: 'f16', bytes: q.elements * 2 });
    expect(f16.programs.step.buffers.find((b: { name: string }) => b.name === 'layers.0.attn.q.weight').elem).toBe('f16');
    const f32 = manifest();
    expect('weights' in f32.options).toBe(false);
    // The generated module takes f32 weights either way (the runtime converts on upload): the same text.
    const files = (w?: WeightDtype) => {
      const r = compileArtifacts(readFileSync(GLA, 'utf8'), GLA, options(w));
      return r.ok ? emitArtifacts(r.pair, options(w)) : new Map<string, string>();
    };
    expect(files('f16').get('model.ts')).toBe(files().get('model.ts'));
    expect(f32.programs.forward.buffers.every((b: { elem: string }) => b.elem !== 'f16')).toBe(true);
  });
});
