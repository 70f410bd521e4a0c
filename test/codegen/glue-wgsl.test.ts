/**
 * Pure tests of the layer-glue kernel generators: WGSL snapshots, determinism, variant choice
 * and refusal reasons, helper selection, expression rendering and grid folding arithmetic.
 */
import { describe, expect, it } from 'vitest';
import type { Kernel } from '../../compiler/codegen/kernel.ts';
import { flatIndex, foldGrid, renderEwExpr } from '../../compiler/codegen/kernels/elementwise.ts';
import {
  elementwiseKernel,
  embedKernel,
  matmulKernel,
  matmulVariants,
  rmsnormKernel,
  type MatmulDims,
  type MatmulVariant,
  angleScanKernel,
  rotateKernel,
  conv1dKernel,
  cosReweightKernel,
} from '../../compiler/codegen/kernels/index.ts';
import type { EwExpr, EwFn } from '../../compiler/ir/graph.ts';
import type { DeviceLimits } from '../../runtime/gpu.ts';

const a: EwExpr = { kind: 'in', index: 0 };
const b: EwExpr = { kind: 'in', index: 1 };
const c: EwExpr = { kind: 'in', index: 2 };
const k = (value: number): EwExpr => ({ kind: 'const', value });
const fn = (f: EwFn, ...args: EwExpr[]): EwExpr => ({ kind: 'fn', fn: f, args });

/** WebGPU's default limits (what every adapter offers at least). */
const LIMITS: DeviceLimits = {
  maxStorageBufferBindingSize: 134217728,
  maxBufferSize: 268435456,
  maxStorageBuffersPerShaderStage: 8,
  maxComputeWorkgroupStorageSize: 16384,
  maxComputeInvocationsPerWorkgroup: 256,
  maxComputeWorkgroupSizeX: 256,
  maxComputeWorkgroupsPerDimension: 65535,
};

function mm(id: string, d: MatmulDims, variant: MatmulVariant): [string, () => Kernel] {
  return [`matmul-${id}-${variant}`, () => matmulKernel({ ...d, name: `mm.${id}`, variant })];
}

const SNAPSHOTS: [string, () => Kernel][] = [
  ['embed-V50-D16-N7', () => embedKernel({ name: 'embed', tokens: 7, vocab: 50, dim: 16 })],
  ['embed-V16-D1024-N4100-folded', () => embedKernel({ name: 'embed', tokens: 4100, vocab: 16, dim: 1024 })],
  ['rmsnorm-M7-D5', () => rmsnormKernel({ name: 'L0.norm', rows: 7, dim: 5, eps: 1e-6 })],
  ['rmsnorm-M64-D128', () => rmsnormKernel({ name: 'L0.norm', rows: 64, dim: 128, eps: 1e-5 })],
  ['elementwise-swiglu', () => elementwiseKernel({ name: 'L0.mlp.gate', elements: 1003, expr: fn('mul', fn('silu', a), b), arity: 2 })],
  ['elementwise-three-inputs', () => elementwiseKernel({ name: 'ew3', elements: 4096, expr: fn('add', a, fn('mul', b, fn('elu1', fn('add', c, k(-2))))), arity: 3 })],
  mm('M7-K33-N5-F', { M: 7, K: 33, N: 5, transposeW: false }, 'naive'),
  mm('M7-K33-N5-T', { M: 7, K: 33, N: 5, transposeW: true }, 'workgroup16'),
  mm('M64-K64-N64-F', { M: 64, K: 64, N: 64, transposeW: false }, 'workgroup16'),
  mm('M64-K64-N64-F', { M: 64, K: 64, N: 64, transposeW: false }, 'register4x4'),
  mm('M130-K96-N260-F', { M: 130, K: 96, N: 260, transposeW: false }, 'register4x4'),
  mm('M130-K96-N258-T', { M: 130, K: 96, N: 258, transposeW: true }, 'register4x4'),
  mm('M130-K96-N260-T', { M: 130, K: 96, N: 260, transposeW: true }, 'workgroup16'),
  // Kernels that look along T: Selective RoPE's angle scan and rotation, the short conv, cosFormer's re-weighting.
  ['angle-scan-B2-T17-G2-D16', () => angleScanKernel({ name: 'L0.attn.rope_scan', B: 2, T: 17, G: 2, D: 16, theta: 10000 })],
  ['rotate-B2-T17-G4-GA2-D16', () => rotateKernel({ name: 'L0.attn.q_rope', B: 2, T: 17, G: 4, GA: 2, D: 16 })],
  ['conv1d-B1-T16-C64-W4', () => conv1dKernel({ name: 'L0.gdn.q_conv1d', B: 1, T: 16, C: 64, W: 4, activation: 'silu' })],
  ['cos-reweight-B1-T16-H2-G32', () => cosReweightKernel({ name: 'L0.cos.q_cos', B: 1, T: 16, H: 2, G: 32, maxLen: 2048 })],
  // A residual add fused into the product, and a gate with a broadcast per-column bias.
  mm('M16-K64-N64-F-residual', { M: 16, K: 64, N: 64, transposeW: false, epilogue: { expr: fn('add', b, a), inputElements: [16 * 64] } }, 'register4x4'),
  mm('M16-K64-N6-F-gate', { M: 16, K: 64, N: 6, transposeW: false, epilogue: { expr: fn('mul', fn('logsigmoid', fn('add', a, b)), k(0.0625)), inputElements: [6] } }, 'naive'),
  mm('M16-K64-N64-T-residual', { M: 16, K: 64, N: 64, transposeW: true, epilogue: { expr: fn('add', b, a), inputElements: [16 * 64] } }, 'workgroup16'),
];

describe('glue WGSL snapshots', () => {
  it.each(SNAPSHOTS.map(([id, make]) => ({ id, make })))('$id', async ({ id, make }) => {
    const kernel = make();
    expect(make().wgsl, 'generation is deterministic').toBe(kernel.wgsl);
    await expect(kernel.wgsl).toMatchFileSnapshot(`__snapshots__/glue/${id}.wgsl`);
  });
});

describe('matmulVariants', () => {
  const d: MatmulDims = { M: 7, K: 33, N: 5, transposeW: false };

  it('orders variants by device class', () => {
    expect(matmulVariants(d, LIMITS, true).map((v) => v.variant)).toEqual(['register4x4', 'naive', 'workgroup16']);
    expect(matmulVariants(d, LIMITS, false).map((v) => v.variant)).toEqual(['register4x4', 'workgroup16', 'naive']); // measured on an H200
  });

  it('refuses register4x4 for N = 5 (W [K, N]) and K = 33 (W [N, K]) with the reason', () => {
    const plain = matmulVariants(d, LIMITS, true);
    expect(plain[0]).toEqual({ variant: 'register4x4', ok: false, reason: expect.stringContaining('N % 4 == 0') });
    expect(plain[0].reason).toContain('N = 5');
    expect(plain.slice(1).every((v) => v.ok && v.reason === undefined)).toBe(true);
    const tied = matmulVariants({ ...d, transposeW: true }, LIMITS, true);
    expect(tied[0].reason).toContain('K % 4 == 0');
    expect(tied[0].reason).toContain('K = 33');
    expect(matmulVariants({ M: 7, K: 32, N: 5, transposeW: true }, LIMITS, true)[0]).toEqual({ variant: 'register4x4', ok: true });
  });

  it('checks workgroup storage, invocations, binding size and grid size', () => {
    const small = { ...LIMITS, maxComputeWorkgroupStorageSize: 1024 };
    const wg16 = (limits: DeviceLimits) => matmulVariants(d, limits, false).find((v) => v.variant === 'workgroup16')!;
    expect(wg16(small).reason).toMatch(/2048 bytes of workgroup memory.*1024/);
    const few = { ...LIMITS, maxComputeInvocationsPerWorkgroup: 128 };
    expect(wg16(few).reason).toMatch(/256 invocations.*128/);
    expect(matmulVariants(d, few, false).find((v) => v.variant === 'naive')!.ok).toBe(true);
    const big: MatmulDims = { M: 8192, K: 8192, N: 4096, transposeW: false };
    for (const r of matmulVariants(big, LIMITS, true)) expect(r.reason).toMatch(/^x is 268435456 bytes, over maxStorageBufferBindingSize/);
    const huge: MatmulDims = { M: 1 << 20, K: 1, N: 1 << 20, transposeW: false };
    const roomy = { ...LIMITS, maxStorageBufferBindingSize: 2 ** 53 };
    expect(matmulVariants(huge, roomy, true).find((r) => r.variant === 'naive')?.reason).toMatch(/workgroups, more than 65535\^2/);
  });
});

describe('matmulKernel', () => {
  it('throws for register4x4 on dims it cannot tile, and for non-positive dims', () => {
    expect(() => matmulKernel({ M: 7, K: 33, N: 5, transposeW: false, name: 'mm', variant: 'register4x4' })).toThrow(/N % 4 == 0/);
    expect(() => matmulKernel({ M: 0, K: 3, N: 4, transposeW: false, name: 'mm', variant: 'naive' })).toThrow(/M = 0/);
  });

  it('emits edge clamps, masks and store guards only where the sizes need them', () => {
    const exact = matmulKernel({ M: 64, K: 64, N: 64, transposeW: true, name: 'mm', variant: 'workgroup16' }).wgsl;
    expect(exact).not.toMatch(/min\(|select\(|if \(/);
    const ragged = matmulKernel({ M: 7, K: 33, N: 5, transposeW: true, name: 'mm', variant: 'workgroup16' }).wgsl;
    expect(ragged).toContain('if (i_m < M && i_n < N)');
    expect(ragged).toContain('select(0.0, x[o_x + min(i_kx, K - 1u)], i_kx < K)');
    const r4 = matmulKernel({ M: 64, K: 64, N: 64, transposeW: false, name: 'mm', variant: 'register4x4' }).wgsl;
    expect(r4).not.toMatch(/min\(|if \(/);
    expect(r4).toContain('let o_x1 = (i_m + 1u) * K;');
  });

  it('folds register4x4 grids of more than 65535 workgroups (pure: too big to run on lavapipe)', () => {
    // 1 * (65535 * 64 + 1) tiles of 4x4 -> 65536 workgroups of 64.
    const kernel = matmulKernel({ M: 4, K: 4, N: 4 * (65535 * 64 + 1), transposeW: false, name: 'mm', variant: 'register4x4' });
    expect(kernel.dispatch).toEqual([32768, 2, 1]);
    expect(kernel.wgsl).toContain(`const GRID_X: u32 = ${32768 * 64}u;`);
    expect(kernel.wgsl).toContain('let i_tile = gid.x + gid.y * GRID_X;');
    expect(kernel.wgsl).toContain('if (i_tile >= TILES) { return; }');
  });
});

describe('grid folding', () => {
  it('keeps each dimension within the limit and covers every group', () => {
    expect(foldGrid(1)).toEqual([1, 1, 1]);
    expect(foldGrid(65535)).toEqual([65535, 1, 1]);
    expect(foldGrid(65536)).toEqual([32768, 2, 1]);
    expect(foldGrid(65535 * 65535)).toEqual([65535, 65535, 1]);
    expect(() => foldGrid(65535 * 65535 + 1)).toThrow(/65535\^2/);
    for (const g of [2, 65534, 65537, 131071, 131072, 1e6, 4294836225 - 7]) {
      const [x, y] = foldGrid(g);
      expect(x <= 65535 && y <= 65535 && x * y >= g && (x - 1) * y < g, `groups ${g} -> ${x} x ${y}`).toBe(true);
    }
  });

  it('unfolds to each flat index exactly once (emulated with a 7-group limit)', () => {
    const wg = 4;
    for (const items of [1, 27, 28, 29, 7 * 4 * 3 + 1, 7 * 7 * 4]) {
      const dispatch = foldGrid(Math.ceil(items / wg), 7);
      const { consts } = flatIndex(dispatch, 'gid', wg);
      const gridX = consts.length ? consts[0][1] : 0;
      const seen = new Array<number>(items).fill(0);
      for (let gy = 0; gy < dispatch[1]; gy++) {
        for (let gx = 0; gx < dispatch[0] * wg; gx++) {
          const i = gx + gy * gridX;
          if (i < items) seen[i]++;
        }
      }
      expect(seen.every((n) => n === 1), `items ${items}, dispatch ${dispatch}`).toBe(true);
    }
  });
});

describe('elementwise', () => {
  it('includes only the helpers the tree calls', () => {
    const silu = elementwiseKernel({ name: 'e', elements: 8, expr: fn('mul', fn('silu', a), b), arity: 2 }).wgsl;
    expect(silu).toContain('fn silu(');
    expect(silu).not.toContain('fn elu1(');
    const elu = elementwiseKernel({ name: 'e', elements: 8, expr: fn('elu1', a), arity: 1 }).wgsl;
    expect(elu).toContain('fn elu1(');
    expect(elu).not.toContain('fn silu(');
    const plain = elementwiseKernel({ name: 'e', elements: 8, expr: fn('add', a, k(1)), arity: 1 }).wgsl;
    expect(plain.match(/\bfn /g)).toHaveLength(1);
  });

  it('renders with only the parentheses evaluation order needs', () => {
    expect(renderEwExpr(fn('add', fn('add', fn('add', a, k(1.5)), b), k(-0.25)))).toBe('x0 + 1.5 + x1 + (-0.25)');
    expect(renderEwExpr(fn('add', a, fn('add', b, c)))).toBe('x0 + (x1 + x2)');
    expect(renderEwExpr(fn('mul', fn('add', a, b), c))).toBe('(x0 + x1) * x2');
    expect(renderEwExpr(fn('add', a, fn('mul', b, fn('add', c, k(2)))))).toBe('x0 + x1 * (x2 + 2.0)');
    expect(renderEwExpr(fn('silu', fn('mul', a, k(0.5))))).toBe('silu(x0 * 0.5)');
  });

  it('rejects inputs the tree does not read, out-of-range inputs and wrong arities', () => {
    expect(() => elementwiseKernel({ name: 'e', elements: 8, expr: fn('silu', a), arity: 2 })).toThrow(/input 1 is not used/);
    expect(() => elementwiseKernel({ name: 'e', elements: 8, expr: fn('silu', b), arity: 1 })).toThrow(/out of range/);
    expect(() => elementwiseKernel({ name: 'e', elements: 8, expr: fn('add', a), arity: 1 })).toThrow(/add takes 2/);
  });
});
