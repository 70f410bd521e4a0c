/**
 * f16 weights (`--weights-dtype f16`) on the adapter (lavapipe offers shader-f16): the three matmul
 * variants with f16 weight buffers, written as f32 and converted on upload (runtime/f16.ts), and a
 * whole model (forward window and a step sharing its weight buffers). Outputs are poisoned first.
 *
 * Tolerances: the kernel converts each f16 weight to f32 exactly and accumulates in f32, so against
 * the float64 reference over the weights rounded to f16 it errs as an f32 kernel does against the
 * f32 reference: f32 rounding of K <= 128 products, one reciprocal root (glue-kernels.test.ts uses
 * the same 1e-5). Against the reference over the f32 weights the error is f16's rounding of the
 * weights (2^-11 relative per weight, ~1e-4 on a product of K normals), so the kernel must be far
 * from it there: proof that the stored values were f16. The model's loss from f16 weights is
 * measured and bounded (README, "f16 weights").
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compileInMemory } from '../../cli/open-model.ts';
import { matmulKernel, matmulVariants, type MatmulDims } from '../../compiler/codegen/kernels/index.ts';
import type { ProgramSpec } from '../../compiler/codegen/program.ts';
import type { EwExpr, EwFn } from '../../compiler/ir/graph.ts';
import { storedWeights, roundToF16 } from '../../runtime/f16.ts';
import { deviceProfile, probeAdapter, type Gpu } from '../../runtime/gpu.ts';
import { Model } from '../../runtime/model.ts';
import { liveGpuBuffers, Program, runOnce } from '../../runtime/program.ts';
import { Rng } from '../../runtime/random.ts';
import { interpretGraph } from '../../runtime/reference/interpret.ts';
import { elementwiseRef, matmulRef, rmsnormRef } from '../../runtime/reference/ops.ts';
import { seededWeights } from '../../runtime/weights.ts';
import { closeness, expectClose } from '../helpers/compare.ts';
import { gpu } from './gpu.ts';

const SEED = 20261128;
const normals = (id: string, what: string, n: number) => Rng.forName(SEED, `${id}.${what}`).normals(n, 1);

describe('matmul variants with f16 weights', () => {
  const inp = (index: number): EwExpr => ({ kind: 'in', index });
  const fn = (f: EwFn, ...args: EwExpr[]): EwExpr => ({ kind: 'fn', fn: f, args });
  const fused = (K: number): MatmulDims => ({
    M: 7, K, N: 8, transposeW: false, norm: { eps: 1e-5 }, w2: true,
    epilogue: { expr: fn('mul', fn('silu', inp(0)), inp(1)), inputElements: [] },
    parts: [{ N: 12 }, { N: 4, epilogue: { expr: fn('add', inp(0), inp(1)), inputElements: [7 * 4] } }],
  });
  // Lavapipe unrolls short constant loops slowly: register4x4 at K >= 64, workgroup16 at small K.
  const rows: { id: string; d: MatmulDims; variant: 'naive' | 'register4x4' | 'workgroup16' }[] = [
    ...(['naive', 'register4x4'] as const).map((variant) => ({ id: `M5-K64-N12-F-${variant}`, d: { M: 5, K: 64, N: 12, transposeW: false }, variant })),
    { id: 'M5-K16-N12-F-workgroup16', d: { M: 5, K: 16, N: 12, transposeW: false }, variant: 'workgroup16' },
    { id: 'M9-K64-N8-T-register4x4', d: { M: 9, K: 64, N: 8, transposeW: true }, variant: 'register4x4' },
    { id: 'M1-K64-N8-T-register4x4', d: { M: 1, K: 64, N: 8, transposeW: true }, variant: 'register4x4' },
    { id: 'M2-K64-N12-F-register4x4', d: { M: 2, K: 64, N: 12, transposeW: false }, variant: 'register4x4' },
    { id: 'M7-K68-fused-naive', d: fused(68), variant: 'naive' },
    { id: 'M7-K68-fused-register4x4', d: fused(68), variant: 'register4x4' },
    { id: 'M7-K12-fused-workgroup16', d: fused(12), variant: 'workgroup16' },
  ];
  it.each(rows)('$id', async ({ id, d: dims, variant }) => {
    const g = await gpu();
    const d: MatmulDims = { ...dims, weights: 'f16' };
    expect(matmulVariants(d, g.limits, g.adapter.isCpu).find((v) => v.variant === variant)?.ok).toBe(true);
    const kernel = matmulKernel({ ...d, name: `mm16.${id}`, variant });
    const products = [d, ...(d.parts ?? [])];
    const sfx = (k: number) => (products.length > 1 ? `_${k}` : '');
    const inputs: Record<string, Float32Array> = { x: normals(id, 'x', d.M * d.K) };
    if (d.norm) inputs.g = Float32Array.from(normals(id, 'g', d.K), (v) => 1 + 0.5 * v);
    const xn = d.norm ? rmsnormRef(inputs.x, inputs.g, d.M, d.K, d.norm.eps) : Float64Array.from(inputs.x);
    // Two references: over the weights as stored (f16-rounded) and over the f32 weights given.
    const expected: Record<string, Float64Array>[] = [{}, {}];
    for (const [k, p] of products.entries()) {
      const ws = [(inputs[`w${sfx(k)}`] = normals(id, `w${k}`, d.K * p.N))];
      if (p.w2) ws.push((inputs[`w2${sfx(k)}`] = normals(id, `w2${k}`, d.K * p.N)));
      const extra = (p.epilogue?.inputElements ?? []).map((n, j) => {
        const name = `in${j + 1 + (p.w2 ? 1 : 0)}${sfx(k)}`;
        return Float64Array.from((inputs[name] = normals(id, name, n)));
      });
      [true, false].forEach((rounded, r) => {
        const args = ws.map((w) => matmulRef(xn, rounded ? roundToF16(w) : w, d.M, d.K, p.N, d.transposeW));
        expected[r][`out${sfx(k)}`] = p.epilogue ? elementwiseRef(p.epilogue.expr, [...args, ...extra], d.M * p.N) : args[0];
      });
    }
    const spec: ProgramSpec = {
      buffers: kernel.bindings.map((b) => ({ name: b.name, elem: b.elem, elements: b.elements, role: b.access === 'read' ? 'input' : 'output' })),
      steps: [{ kernel, args: kernel.bindings.map((b) => b.name) }],
    };
    expect(spec.buffers.filter((b) => b.elem === 'f16').map((b) => b.name)).toEqual(Object.keys(inputs).filter((n) => /^w2?(_\d)?$/.test(n)));
    const names = Object.keys(expected[0]);
    const out = await runOnce(g, spec, inputs, names);
    for (const name of names) {
      expectClose(`${id} ${name}`, out[name] as Float32Array, expected[0][name], 1e-5);
      expect(closeness(out[name], expected[1][name]).relErr, `${id} ${name} against the f32 weights`).toBeGreaterThan(2e-5);
    }
  });
});

describe('a model with f16 weights', () => {
  it('gla (T = 16): forward and a step on the shared f16 weight buffers, against float64', async () => {
    const path = 'models/gla.loom';
    const g = await gpu();
    const T = 16;
    const { pair, artifacts } = compileInMemory(readFileSync(path, 'utf8'), path, { batch: 1, seq: T, device: deviceProfile(g), weights: 'f16' });
    const f16 = artifacts.forward.buffers.filter((b) => b.elem === 'f16').map((b) => b.name);
    expect(f16.length).toBe(20); // q, k, v, g_down, g, o_gate, o, gate, up, down of 2 layers
    expect(artifacts.step!.buffers.filter((b) => b.elem === 'f16').map((b) => b.name)).toEqual(f16);
    const weights = seededWeights(pair.forward.graph.weights, 3);
    const stored = storedWeights(weights, artifacts.forward.buffers);
    const rng = Rng.forName(SEED, 'gla-f16');
    const tokens = Int32Array.from({ length: T }, () => rng.int(artifacts.vocab));
    const next = Int32Array.of(rng.int(artifacts.vocab));
    const model = await Model.create(g, artifacts, weights);
    try {
      const out = await model.forward(tokens);
      const ref = interpretGraph(pair.forward.graph, stored, tokens).outputs;
      expectClose('forward logits (f16-rounded weights)', out.logits, ref.logits, 1e-5);
      // What storing the weights as f16 costs: measured 4.5e-4 (README, "f16 weights").
      const loss = closeness(out.logits, interpretGraph(pair.forward.graph, weights, tokens).outputs.logits).relErr;
      expect(loss).toBeGreaterThan(1e-4);
      expect(loss).toBeLessThan(2e-3);
      const carried = Object.fromEntries(artifacts.states.map((s) => [s.name, Float32Array.from(ref[s.name])]));
      model.writeState(carried);
      const logits = await model.step(next);
      const refStep = interpretGraph(pair.step!.graph, stored, next, new Map(Object.entries(carried))).outputs;
      expectClose('step logits (f16-rounded weights)', logits, refStep.logits, 1e-5);
    } finally {
      model.destroy();
    }
  });
});

describe('a device without shader-f16', () => {
  it('refuses f16 weights when planning (LOOM4022) and f16 artifacts before allocating anything', async () => {
    const found = await probeAdapter();
    expect(found).not.toBeNull();
    const device = await found!.adapter.requestDevice(); // no features requested: no shader-f16
    try {
      const plain: Gpu = { device, adapter: found!.info, features: [], limits: (await gpu()).limits };
      expect(device.features.has('shader-f16')).toBe(false);
      expect(deviceProfile(plain).shaderF16).toBe(false);
      const path = 'models/gla.loom';
      const text = readFileSync(path, 'utf8');
      expect(() => compileInMemory(text, path, { batch: 1, seq: 4, device: deviceProfile(plain), weights: 'f16' })).toThrow(/LOOM4022|shader-f16/);
      // Compiled for the unknown default profile (as `loom compile` without an adapter), then run here.
      const { artifacts } = compileInMemory(text, path, { batch: 1, seq: 4, device: { ...deviceProfile(plain), shaderF16: undefined }, weights: 'f16' });
      const before = liveGpuBuffers();
      const err = await Program.create(plain, artifacts.forward).then(() => null, (e: Error) => e);
      expect(err?.message).toMatch(/LOOM4022|shader-f16/);
      const diagnostics = (err as unknown as { diagnostics?: { code: number; message: string }[] }).diagnostics;
      expect(diagnostics?.[0]).toMatchObject({ code: 4022 });
      expect(diagnostics?.[0].message).toContain('lacks; recompile with --weights-dtype f32');
      expect(liveGpuBuffers()).toBe(before);
    } finally {
      device.destroy();
    }
  });
});
