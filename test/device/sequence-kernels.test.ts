/**
 * Kernels that look along T, on the adapter against the float64 reference: the short causal
 * convolution (windows shorter and longer than the filter, a non-zero tail from a previous call,
 * and the next tail) and the position-dependent length normalisation (non-zero start positions).
 */
import { describe, it } from 'vitest';
import type { Kernel } from '../../compiler/codegen/kernel.ts';
import type { ProgramSpec } from '../../compiler/codegen/program.ts';
import { conv1dKernel, convTailKernel, lengthNormKernel, outerKernel, flipKernel, headDotKernel, cosReweightKernel } from '../../compiler/codegen/kernels/index.ts';
import { runOnce, type HostArray } from '../../runtime/program.ts';
import { Rng } from '../../runtime/random.ts';
import { conv1dRef, convTailRef, lengthNormRef, outerRef, flipRef, headDotRef, cosReweightRef } from '../../runtime/reference/ops.ts';
import { expectClose } from '../helpers/compare.ts';
import { gpu } from './gpu.ts';

/**
 * Tolerances (rms(out - ref) / rms(ref)): copies (flip, the conv tail) are exact; the others are a
 * few products, a short sum over the filter or the head, a silu or a power, measured at 1.9e-8 to
 * 8.5e-8 on lavapipe, so 1e-6. cos_reweight calls WGSL's cos and sin on angles in [0, pi/2], which
 * the spec bounds only by 2^-11 absolute; lavapipe's are f32-accurate (4.1e-8), so 1e-6 holds here
 * and would need 1e-3 on an adapter that uses the spec's whole allowance.
 */
const EXACT = 1e-12;
const TOL = 1e-6;

async function run(kernel: Kernel, inputs: Record<string, HostArray>): Promise<Float32Array> {
  const spec: ProgramSpec = {
    buffers: kernel.bindings.map((b) => ({ name: b.name, elem: b.elem, elements: b.elements, role: b.access === 'read' ? 'input' : 'output' })),
    steps: [{ kernel, args: kernel.bindings.map((b) => b.name) }],
  };
  return (await runOnce(await gpu(), spec, inputs, ['out'])).out as Float32Array;
}

describe('short conv', () => {
  const cases = [
    { B: 1, T: 1, C: 3, W: 4 },
    { B: 2, T: 2, C: 5, W: 4 },
    { B: 2, T: 17, C: 8, W: 4 },
    { B: 1, T: 9, C: 7, W: 2 },
  ];
  it.each(cases.map((d) => [`B${d.B}-T${d.T}-C${d.C}-W${d.W}`, d] as const))('%s: conv1d + silu and the next tail match the reference', async (id, d) => {
    const { B, T, C, W } = d;
    const rng = Rng.forName(7, id);
    const x = rng.normals(B * T * C, 1);
    const weight = rng.normals(C * W, 0.5);
    const tail = rng.normals(B * (W - 1) * C, 1);
    for (const activation of ['silu', null] as const) {
      const y = await run(conv1dKernel({ name: 'conv', B, T, C, W, activation }), { x, weight, tail });
      expectClose(`conv1d ${activation ?? 'linear'}`, y, conv1dRef(x, weight, tail, B, T, C, W, activation), TOL);
    }
    const next = await run(convTailKernel({ name: 'tail', B, T, C, W }), { x, tail });
    expectClose('tail', next, convTailRef(x, tail, B, T, C, W - 1), EXACT);
  });
});

describe('length_norm', () => {
  it.each([
    [1, 1, 1, 4],
    [2, 17, 3, 5],
  ])('B%i T%i H%i G%i: x / (pos + t + 1)^sigmoid(m) from non-zero positions', async (B, T, H, G) => {
    const rng = Rng.forName(9, `ln-${B}-${T}`);
    const x = rng.normals(B * T * H * G, 1);
    const pos = Float32Array.from({ length: B }, (_, b) => [0, 1000, 70000][b % 3] + b);
    const m = rng.normals(H, 2);
    const y = await run(lengthNormKernel({ name: 'ln', B, T, H, G }), { x, pos, m });
    expectClose('length_norm', y, lengthNormRef(x, pos, m, B, T, H, G), TOL);
  });
});

describe('outer', () => {
  it.each([
    [true, true],
    [true, false],
    [false, true],
    [false, false],
  ])('a %s, c %s: out[r,h,n] = a[r,h] * c[r,n]', async (hasA, hasC) => {
    const [M, H, N] = [5, 3, 4];
    const rng = Rng.forName(4, `outer-${hasA}-${hasC}`);
    const a = rng.normals(M * H, 1);
    const c = rng.normals(M * N, 1);
    const y = await run(outerKernel({ name: 'outer', rows: M, heads: H, width: N, a: hasA, c: hasC }), { ...(hasA ? { a } : {}), ...(hasC ? { c } : {}) });
    expectClose('outer', y, outerRef(hasA ? a : null, hasC ? c : null, M, H, N), TOL);
  });
});

describe('flip and head_dot', () => {
  it.each([0, 1, 3])('flip with shift %i reads the sequence backwards, zeros past the end', async (shift) => {
    const [B, T, C] = [2, 7, 3];
    const x = Rng.forName(5, `flip-${shift}`).normals(B * T * C, 1);
    expectClose(`flip ${shift}`, await run(flipKernel({ name: 'flip', B, T, C, shift }), { x }), flipRef(x, B, T, C, shift), EXACT);
  });
  it('head_dot: one dot product per head', async () => {
    const [rows, H, G] = [9, 3, 5];
    const rng = Rng.forName(6, 'head-dot');
    const a = rng.normals(rows * H * G, 1);
    const c = rng.normals(rows * H * G, 1);
    expectClose('head_dot', await run(headDotKernel({ name: 'dot', rows, H, G }), { a, c }), headDotRef(a, c, rows, H, G), TOL);
  });
});

describe('cos_reweight', () => {
  it('per head [x cos a, x sin a] at positions far from zero', async () => {
    const [B, T, H, G, M] = [2, 9, 2, 3, 100000];
    const x = Rng.forName(8, 'cos').normals(B * T * H * G, 1);
    const pos = Float32Array.from([0, 77777]);
    const y = await run(cosReweightKernel({ name: 'cos', B, T, H, G, maxLen: M }), { x, pos });
    expectClose('cos_reweight', y, cosReweightRef(x, pos, B, T, H, G, M), TOL);
  });
});
