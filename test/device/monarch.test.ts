/**
 * Monarch kernels on the adapter against the float64 definition M = P L P R P (literal
 * permutations and block-diagonal products), with T = n and T < n (zero padding), and the
 * permutation algebra itself checked against a dense matrix.
 */
import { describe, expect, it } from 'vitest';
import type { BufferDecl } from '../../compiler/codegen/program.ts';
import { familyOpOf, type FamilyNode } from '../../compiler/mixers/family-op.ts';
import { monarchProgram } from '../../compiler/mixers/monarch/index.ts';
import { FAMILY_REFS } from '../../runtime/reference/families.ts';
import type { MonarchShape } from '../../compiler/mixers/monarch/kernels.ts';
import { runOnce } from '../../runtime/program.ts';
import { Rng } from '../../runtime/random.ts';
import { monarchApply, monarchRef } from '../../runtime/reference/monarch.ts';
import { expectClose } from '../helpers/compare.ts';
import { gpu } from './gpu.ts';

/** Tolerance: two passes of b <= 5 multiply-adds per output, 6.6e-8 measured, so 1e-6. */
const TOL = 1e-6;

const CASES: MonarchShape[] = [
  { B: 2, T: 16, C: 3, b: 4 },
  { B: 1, T: 19, C: 5, b: 5 },
  { B: 2, T: 1, C: 4, b: 3 },
];

describe('Monarch kernels vs the float64 reference', () => {
  it('the reference with L = R = I is the reshape-transpose permutation P', () => {
    // With L = R = I the permutations cancel (P P P = P, P P = I): M = P.
    const b = 3;
    const eye = Float64Array.from({ length: b ** 3 }, (_, i) => (Math.floor(i / b) % b === i % b ? 1 : 0));
    const z = Float64Array.from({ length: b * b }, (_, i) => i);
    expect([...monarchApply(eye, eye, z, b)]).toEqual([0, 3, 6, 1, 4, 7, 2, 5, 8]);
  });

  it('along D (monarch_mlp): the family op maps every token row through M, as the reference does', async () => {
    const [B, T, D, b] = [2, 5, 9, 3];
    const r = Rng.forName(8, 'along-D');
    const data = { x: r.normals(B * T * D), l: r.normals(b ** 3), r: r.normals(b ** 3) };
    const node = { op: 'family', family: 'monarch', inputs: [0, 1, 2], attrs: { blocks: b, axis: 'D' }, id: 3, layer: 0, label: 'L0.mmlp0.up0', type: { shape: [B, T, D], dtype: 'f32' } } as FamilyNode;
    const prog = familyOpOf('monarch').program(node, 'two_pass', { B, T }, { inputs: ['x', 'l', 'r'], output: 'y' });
    const io = (name: string, elements: number, role: BufferDecl['role']): BufferDecl => ({ name, elem: 'f32', elements, role });
    const buffers = [io('x', B * T * D, 'input'), io('l', b ** 3, 'weight'), io('r', b ** 3, 'weight'), io('y', B * T * D, 'output')];
    const out = await runOnce(await gpu(), { buffers: [...buffers, ...prog.buffers], steps: prog.steps }, data, ['y']);
    const ref = FAMILY_REFS.monarch(node, [data.x, data.l, data.r].map((a) => Float64Array.from(a)), []) as Float64Array;
    const row = Float64Array.from(data.x.subarray(D, 2 * D));
    expect([...ref.subarray(D, 2 * D)]).toEqual([...monarchApply(data.l, data.r, row, b)]);
    expectClose('monarch along D', out.y as Float32Array, ref, TOL);
  });

  it.each(CASES.map((s) => ({ s, id: `B${s.B}-T${s.T}-C${s.C}-b${s.b}` })))('$id', async ({ s, id }) => {
    const r = Rng.forName(8, id);
    const x = r.normals(s.B * s.T * s.C);
    const l = r.normals(s.b ** 3);
    const rr = r.normals(s.b ** 3);
    const prog = monarchProgram('L0.m2', s, { x: 'x', l: 'l', r: 'r', y: 'y' });
    const io = (name: string, elements: number, role: BufferDecl['role']): BufferDecl => ({ name, elem: 'f32', elements, role });
    const buffers = [io('x', x.length, 'input'), io('l', l.length, 'weight'), io('r', rr.length, 'weight'), io('y', x.length, 'output')];
    const out = await runOnce(await gpu(), { buffers: [...buffers, ...prog.buffers], steps: prog.steps }, { x, l, r: rr }, ['y']);
    expectClose(id, out.y as Float32Array, monarchRef(x, l, rr, s.B, s.T, s.C, s.b), TOL);
  });
});
