/**
 * The layer-glue kernels (embedding gather, matmul variants, RMSNorm, fused elementwise) on the
 * real adapter, against the float64 reference ops. Outputs are poisoned with NaN before each run.
 */
import { describe, expect, it } from 'vitest';
import type { Kernel } from '../../compiler/codegen/kernel.ts';
import type { ProgramSpec } from '../../compiler/codegen/program.ts';
import {
  elementwiseKernel,
  embedKernel,
  matmulKernel,
  matmulVariants,
  rmsnormKernel,
  type MatmulDims,
} from '../../compiler/codegen/kernels/index.ts';
import type { EwExpr, EwFn } from '../../compiler/ir/graph.ts';
import { runOnce, type HostArray } from '../../runtime/program.ts';
import { Rng } from '../../runtime/random.ts';
import { elementwiseRef, embedRef, l2normRef, matmulRef, rmsnormRef } from '../../runtime/reference/ops.ts';
import { expectClose } from '../helpers/compare.ts';
import { gpu } from './gpu.ts';

/**
 * Tolerances (rms(out - ref) / rms(ref), measured on lavapipe): matmuls 1e-5 for sums of up to K = 96
 * products (2e-7 measured); a norm is a sum of D <= 1000 squares and an inverseSqrt (WGSL: 2 ULP):
 * 2.5e-7 at D = 1000, so 2e-6; elementwise expressions with exp, sigmoid, softplus of inputs up to
 * |x| ~ 16 (std 4), where WGSL allows exp 3 + 2|x| ULP: 1.9e-7 measured, so 2e-6.
 */
const NORM_TOL = 2e-6;
const ELEMENTWISE_TOL = 2e-6;

/** Runs one kernel with a buffer per binding (named like the binding); returns `out`. */
async function run(kernel: Kernel, inputs: Record<string, HostArray>): Promise<Float32Array> {
  const spec: ProgramSpec = {
    buffers: kernel.bindings.map((b) => ({
      name: b.name,
      elem: b.elem,
      elements: b.elements,
      role: b.access === 'read' ? 'input' : 'output',
    })),
    steps: [{ kernel, args: kernel.bindings.map((b) => b.name) }],
  };
  const r = await runOnce(await gpu(), spec, inputs, ['out']);
  return r.out as Float32Array;
}

const SEED = 20240611;

function normals(id: string, what: string, n: number, std = 1): Float32Array {
  return Rng.forName(SEED, `${id}.${what}`).normals(n, std);
}

describe('matmul', () => {
  const cases: MatmulDims[] = [
    { M: 1, K: 1, N: 1, transposeW: false },
    { M: 1, K: 1, N: 1, transposeW: true },
    { M: 1, K: 64, N: 8, transposeW: false }, // a decode step: M = B < 4 rows per tile
    { M: 1, K: 64, N: 8, transposeW: true },
    { M: 3, K: 64, N: 12, transposeW: true },
    { M: 7, K: 33, N: 5, transposeW: false },
    { M: 7, K: 33, N: 5, transposeW: true },
    { M: 7, K: 33, N: 8, transposeW: false },
    { M: 7, K: 32, N: 5, transposeW: true },
    { M: 64, K: 64, N: 64, transposeW: false },
    { M: 64, K: 64, N: 64, transposeW: true },
    { M: 130, K: 96, N: 260, transposeW: false },
    { M: 130, K: 96, N: 260, transposeW: true },
  ];
  const rows = cases.flatMap((d) =>
    (['naive', 'register4x4', 'workgroup16'] as const).map((variant) => ({
      id: `M${d.M}-K${d.K}-N${d.N}-${d.transposeW ? 'T' : 'F'}-${variant}`,
      d,
      variant,
    })),
  );

  it.each(rows)('$id', async ({ id, d, variant }) => {
    const g = await gpu();
    const verdict = matmulVariants(d, g.limits, g.adapter.isCpu).find((v) => v.variant === variant);
    const tileable = d.transposeW ? d.K % 4 === 0 : d.N % 4 === 0;
    expect(verdict?.ok, verdict?.reason).toBe(variant !== 'register4x4' || tileable);
    if (!verdict?.ok) return;
    const x = normals(id, 'x', d.M * d.K);
    const w = normals(id, 'w', d.K * d.N);
    const out = await run(matmulKernel({ ...d, name: `mm.${id}`, variant }), { x, w });
    expectClose(id, out, matmulRef(x, w, d.M, d.K, d.N, d.transposeW), 1e-5);
  });

  // Grids over 65535 workgroups, folded into (x, y). register4x4 would need over 4M tiles
  // (268 MB of output), past lavapipe's binding limit: test/codegen/glue-wgsl.test.ts checks its folding.
  const folds: { id: string; d: MatmulDims; variant: 'naive' | 'workgroup16' }[] = [
    // ceil(2048*2049/64) = 65568 workgroups.
    { id: 'fold-M2048-K3-N2049-T-naive', d: { M: 2048, K: 3, N: 2049, transposeW: true }, variant: 'naive' },
    // 65537 tiles of 16x16 in a 32769 x 2 grid: one spare workgroup returns before the barriers.
    { id: 'fold-M5-K2-N1048592-T-workgroup16', d: { M: 5, K: 2, N: 16 * 65537, transposeW: true }, variant: 'workgroup16' },
  ];
  it.each(folds)('$id', async ({ id, d, variant }) => {
    const k = matmulKernel({ ...d, name: `mm.${id}`, variant });
    expect(k.dispatch[1]).toBeGreaterThan(1);
    const x = normals(id, 'x', d.M * d.K);
    const w = normals(id, 'w', d.K * d.N);
    expectClose(id, await run(k, { x, w }), matmulRef(x, w, d.M, d.K, d.N, d.transposeW), 1e-5);
  });
});

describe('matmul with a fused epilogue', () => {
  // out = silu(product) * in1 + in2, with in1 full-size and in2 a per-column vector (broadcast).
  const expr: EwExpr = {
    kind: 'fn',
    fn: 'add',
    args: [
      { kind: 'fn', fn: 'mul', args: [{ kind: 'fn', fn: 'silu', args: [{ kind: 'in', index: 0 }] }, { kind: 'in', index: 1 }] },
      { kind: 'in', index: 2 },
    ],
  };
  const cases = (['naive', 'register4x4', 'workgroup16'] as const).flatMap((variant) =>
    [
      { M: 7, K: 12, N: 20, transposeW: false },
      { M: 33, K: 16, N: 8, transposeW: true },
    ].map((d) => ({ id: `M${d.M}-K${d.K}-N${d.N}-${d.transposeW ? 'T' : 'F'}-${variant}`, d, variant })),
  );
  it.each(cases)('$id', async ({ id, d, variant }) => {
    const x = normals(id, 'x', d.M * d.K);
    const w = normals(id, 'w', d.K * d.N);
    const in1 = normals(id, 'in1', d.M * d.N);
    const in2 = normals(id, 'in2', d.N);
    const kernel = matmulKernel({ ...d, name: `mme.${id}`, variant, epilogue: { expr, inputElements: [d.M * d.N, d.N] } });
    const product = matmulRef(x, w, d.M, d.K, d.N, d.transposeW);
    expectClose(id, await run(kernel, { x, w, in1, in2 }), elementwiseRef(expr, [product, in1, in2], d.M * d.N), 1e-5);
  });
});

describe('matmul with a fused norm, a second product and sibling parts', () => {
  const inp = (index: number): EwExpr => ({ kind: 'in', index });
  const fn = (f: EwFn, ...args: EwExpr[]): EwExpr => ({ kind: 'fn', fn: f, args });
  // SwiGLU with a broadcast bias: silu(x Wg) * (x Wu) + in2[n]; a plain part; a part with a residual.
  const swiglu = { expr: fn('add', fn('mul', fn('silu', inp(0)), inp(1)), inp(2)) };
  const residual = { expr: fn('add', inp(0), inp(1)) };
  // Lavapipe's compiler unrolls loops of a few constant iterations completely, which takes it tens
  // of seconds for a kernel with several products: register4x4 (4 columns per step) is checked
  // at K >= 64 and in the shapes real models have, workgroup16 (16 per step) at small K.
  type Variant = 'naive' | 'register4x4' | 'workgroup16';
  const shapes: { tag: string; d: MatmulDims; variants: Variant[] }[] = [
    {
      tag: 'M7-K68-F',
      d: { M: 7, K: 68, N: 8, transposeW: false, norm: { eps: 1e-5 }, w2: true, epilogue: { ...swiglu, inputElements: [8] }, parts: [{ N: 12 }, { N: 4, epilogue: { ...residual, inputElements: [7 * 4] } }] },
      variants: ['naive', 'register4x4'],
    },
    {
      tag: 'M7-K12-F',
      d: { M: 7, K: 12, N: 8, transposeW: false, norm: { eps: 1e-5 }, w2: true, epilogue: { ...swiglu, inputElements: [8] }, parts: [{ N: 12 }, { N: 4, epilogue: { ...residual, inputElements: [7 * 4] } }] },
      variants: ['workgroup16'],
    },
    { tag: 'M33-K128-T', d: { M: 33, K: 128, N: 20, transposeW: true, norm: { eps: 1e-5 }, parts: [{ N: 8, w2: true, epilogue: { expr: fn('mul', inp(0), inp(1)), inputElements: [] } }] }, variants: ['register4x4'] },
    { tag: 'M33-K16-T', d: { M: 33, K: 16, N: 20, transposeW: true, norm: { eps: 1e-5 }, parts: [{ N: 8, w2: true, epilogue: { expr: fn('mul', inp(0), inp(1)), inputElements: [] } }] }, variants: ['workgroup16'] },
    { tag: 'M2-K64-T', d: { M: 2, K: 64, N: 8, transposeW: true, norm: { eps: 1e-5 }, w2: true, epilogue: { ...swiglu, inputElements: [8] } }, variants: ['register4x4'] },
    { tag: 'M1-K68-F', d: { M: 1, K: 68, N: 8, transposeW: false, norm: { eps: 1e-5 }, w2: true, epilogue: { ...swiglu, inputElements: [8] }, parts: [{ N: 4, epilogue: { ...residual, inputElements: [4] } }] }, variants: ['register4x4'] },
    { tag: 'M5-K64-F-nonorm', d: { M: 5, K: 64, N: 12, transposeW: false, w2: true, epilogue: { expr: fn('mul', fn('silu', inp(0)), inp(1)), inputElements: [] } }, variants: ['register4x4'] },
  ];
  const rows = shapes.flatMap(({ tag, d, variants }) => variants.map((variant) => ({ id: `${tag}-${variant}`, d, variant })));
  it.each(rows)('$id', async ({ id, d, variant }) => {
    const g = await gpu();
    expect(matmulVariants(d, g.limits, g.adapter.isCpu).find((v) => v.variant === variant)?.ok).toBe(true);
    const kernel = matmulKernel({ ...d, name: `mmf.${id}`, variant });
    const products = [d, ...(d.parts ?? [])];
    const sfx = (k: number) => (products.length > 1 ? `_${k}` : '');
    const inputs: Record<string, Float32Array> = { x: normals(id, 'x', d.M * d.K) };
    // A norm weight away from 1 so that a kernel ignoring it fails.
    if (d.norm) inputs.g = Float32Array.from(normals(id, 'g', d.K), (v) => 1 + 0.5 * v);
    const xn = d.norm ? rmsnormRef(inputs.x, inputs.g, d.M, d.K, d.norm.eps) : Float64Array.from(inputs.x);
    const expected: Record<string, Float64Array> = {};
    for (const [k, p] of products.entries()) {
      const w = (inputs[`w${sfx(k)}`] = normals(id, `w${k}`, d.K * p.N));
      const product = matmulRef(xn, w, d.M, d.K, p.N, d.transposeW);
      const args = [product];
      if (p.w2) args.push(matmulRef(xn, (inputs[`w2${sfx(k)}`] = normals(id, `w2${k}`, d.K * p.N)), d.M, d.K, p.N, d.transposeW));
      for (const [j, n] of (p.epilogue?.inputElements ?? []).entries()) {
        const name = `in${j + args.length}${sfx(k)}`;
        args.push(Float64Array.from((inputs[name] = normals(id, name, n))));
      }
      expected[`out${sfx(k)}`] = p.epilogue ? elementwiseRef(p.epilogue.expr, args, d.M * p.N) : product;
    }
    const names = Object.keys(expected);
    const spec: ProgramSpec = {
      buffers: kernel.bindings.map((b) => ({ name: b.name, elem: b.elem, elements: b.elements, role: b.access === 'read' ? 'input' : 'output' })),
      steps: [{ kernel, args: kernel.bindings.map((b) => b.name) }],
    };
    const out = await runOnce(g, spec, inputs, names);
    // f32 sums of K <= 128 products and one reciprocal root: rounding near 1e-6 relative at most.
    for (const name of names) expectClose(`${id} ${name}`, out[name] as Float32Array, expected[name], 1e-5);
  });
});

/** Positions where a gathered output differs from the reference (a gather must be exact). */
function mismatches(out: Float32Array, ref: Float64Array): number[] {
  const bad: number[] = [];
  for (let i = 0; i < ref.length; i++) if (!(out[i] === ref[i])) bad.push(i);
  return bad;
}

describe('embedding', () => {
  const cases = [
    { vocab: 1, dim: 1, tokens: 1 },
    { vocab: 50, dim: 16, tokens: 7 },
    { vocab: 1000, dim: 37, tokens: 65 },
    // N*D = 4,198,400 elements: 65600 workgroups, folded into (x, y).
    { vocab: 16, dim: 1024, tokens: 4100 },
  ];
  it.each(cases.map((c) => ({ ...c, id: `V${c.vocab}-D${c.dim}-N${c.tokens}` })))('$id', async (c) => {
    const table = normals(c.id, 'table', c.vocab * c.dim);
    const rng = Rng.forName(SEED, `${c.id}.ids`);
    const ids = Int32Array.from({ length: c.tokens }, () => rng.int(c.vocab));
    ids[ids.length - 1] = c.vocab - 1;
    const k = embedKernel({ name: `embed.${c.id}`, ...c });
    expect(k.dispatch[1] > 1).toBe(c.tokens * c.dim > 65535 * 64);
    const out = await run(k, { table, ids });
    expect(mismatches(out, embedRef(table, ids, c.vocab, c.dim)).slice(0, 10)).toEqual([]);
  });

  it('writes NaN rows for ids outside [0, V) and leaves every other row right', async () => {
    const vocab = 20;
    const dim = 8;
    const table = normals('bad', 'table', vocab * dim);
    const ids = Int32Array.from([3, 19, 20, 0, -1, 7, 2147483647]);
    const bad = new Set([2, 4, 6]);
    const out = await run(embedKernel({ name: 'embed.bad', tokens: ids.length, vocab, dim }), { table, ids });
    const good = ids.map((id, n) => (bad.has(n) ? 0 : id));
    const ref = embedRef(table, good, vocab, dim);
    for (let n = 0; n < ids.length; n++) {
      const row = Array.from(out.subarray(n * dim, (n + 1) * dim));
      if (bad.has(n)) expect(row.every(Number.isNaN), `row ${n} (id ${ids[n]})`).toBe(true);
      else expect(row, `row ${n} (id ${ids[n]})`).toEqual(Array.from(ref.subarray(n * dim, (n + 1) * dim)));
    }
  });
});

describe('rmsnorm', () => {
  const cases = [
    { rows: 3, dim: 1 },
    { rows: 7, dim: 5 },
    { rows: 33, dim: 128 },
    { rows: 65, dim: 1000 },
  ];
  it.each(cases.map((c) => ({ ...c, id: `M${c.rows}-D${c.dim}` })))('$id', async ({ id, rows, dim }) => {
    const eps = 1e-6;
    const x = normals(id, 'x', rows * dim, 2);
    const weight = normals(id, 'weight', dim, 0.5).map((v) => 1 + v);
    const out = await run(rmsnormKernel({ name: `rms.${id}`, rows, dim, eps }), { x, weight });
    expectClose(id, out, rmsnormRef(x, weight, rows, dim, eps), NORM_TOL);
  });
  it.each(cases.map((c) => ({ ...c, id: `l2-M${c.rows}-D${c.dim}` })))('$id (L2 mode, no weight)', async ({ id, rows, dim }) => {
    const x = normals(id, 'x', rows * dim, 2);
    const kernel = rmsnormKernel({ name: `l2.${id}`, rows, dim, eps: 1e-6, l2: true });
    expect(kernel.bindings.map((b) => b.name)).toEqual(['x', 'out']);
    const out = await run(kernel, { x });
    expectClose(id, out, l2normRef(x, rows, dim, 1e-6), NORM_TOL);
  });
});

describe('elementwise', () => {
  const a: EwExpr = { kind: 'in', index: 0 };
  const b: EwExpr = { kind: 'in', index: 1 };
  const c: EwExpr = { kind: 'in', index: 2 };
  const k = (value: number): EwExpr => ({ kind: 'const', value });
  const fn = (f: EwFn, ...args: EwExpr[]): EwExpr => ({ kind: 'fn', fn: f, args });
  const cases = [
    { id: 'silu-a-mul-b-n1003', expr: fn('mul', fn('silu', a), b), arity: 2, n: 1003 },
    { id: 'elu1-a-n1', expr: fn('elu1', a), arity: 1, n: 1 },
    { id: 'elu1-a-n4096', expr: fn('elu1', a), arity: 1, n: 4096 },
    { id: 'add-chain-consts-n777', expr: fn('add', fn('add', fn('add', a, k(1.5)), b), k(-0.25)), arity: 2, n: 777 },
    { id: 'right-nested-n500', expr: fn('add', a, fn('mul', b, fn('add', c, k(2)))), arity: 3, n: 500 },
    { id: 'three-inputs-n2049', expr: fn('mul', fn('add', a, b), fn('silu', fn('elu1', c))), arity: 3, n: 2049 },
    // 64 * 65535 + 37 elements: 65536 workgroups, folded into (x, y).
    { id: 'fold-add-n4194277', expr: fn('add', a, fn('mul', b, k(3))), arity: 2, n: 64 * 65535 + 37 },
  ];
  it.each(cases)('$id', async ({ id, expr, arity, n }) => {
    const inputs = Array.from({ length: arity }, (_, j) => normals(id, `in${j}`, n, 3));
    const kernel = elementwiseKernel({ name: `ew.${id}`, elements: n, expr, arity });
    expect(kernel.dispatch[1] > 1).toBe(n > 65535 * 64);
    const out = await run(kernel, Object.fromEntries(inputs.map((v, j) => [`in${j}`, v])));
    expectClose(id, out, elementwiseRef(expr, inputs, n), ELEMENTWISE_TOL);
  });

  // Gate parameterisations (docs/mixers.md): sigmoid beta, logsigmoid/softplus log-gates, a
  // per-head parameter broadcast over [B, T, H]: g = -exp(A_log) * softplus(x + dt_bias).
  const gates = [
    { id: 'sigmoid-n999', expr: fn('sigmoid', a), sizes: [999] },
    { id: 'logsigmoid-div16-n1000', expr: fn('mul', fn('logsigmoid', a), k(1 / 16)), sizes: [1000] },
    { id: 'softplus-exp-n1000', expr: fn('add', fn('softplus', a), fn('exp', b)), sizes: [1000, 1000] },
    { id: 'gdn-gate-B2T7H3', expr: fn('mul', fn('mul', fn('exp', b), k(-1)), fn('softplus', fn('add', a, c))), sizes: [42, 3, 3] },
  ];
  it.each(gates)('$id (broadcast inputs where smaller)', async ({ id, expr, sizes }) => {
    const n = sizes[0];
    const inputs = sizes.map((m, j) => normals(id, `in${j}`, m, 4));
    const kernel = elementwiseKernel({ name: `ew.${id}`, elements: n, expr, arity: sizes.length, inputElements: sizes });
    const out = await run(kernel, Object.fromEntries(inputs.map((v, j) => [`in${j}`, v])));
    expectClose(id, out, elementwiseRef(expr, inputs, n), ELEMENTWISE_TOL);
  });
});
