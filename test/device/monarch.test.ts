/**
 * Monarch kernels on the adapter against the float64 definition M = P L P R P (literal
 * permutations and block-diagonal products), with T = n and T < n (zero padding), and the
 * permutation algebra itself checked against a dense matrix.
 */
import { describe, expect, it } from 'vitest';
import type { BufferDecl } from '../../compiler/codegen/program.ts';
import { monarchProgram } from '../../compiler/mixers/monarch/index.ts';
import type { MonarchShape } from '../../compiler/mixers/monarch/kernels.ts';
import { runOnce } from '../../runtime/program.ts';
import { Rng } from '../../runtime/random.ts';
import { monarchApply, monarchRef } from '../../runtime/reference/monarch.ts';
import { expectClose } from '../helpers/compare.ts';
import { gpu } from './gpu.ts';

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

  it.each(CASES.map((s) => ({ s, id: `B${s.B}-T${s.T}-C${s.C}-b${s.b}` })))('$id', async ({ s, id }) => {
    const r = Rng.forName(8, id);
    const x = r.normals(s.B * s.T * s.C);
    const l = r.normals(s.b ** 3);
    const rr = r.normals(s.b ** 3);
    const prog = monarchProgram('L0.m2', s, { x: 'x', l: 'l', r: 'r', y: 'y' });
    const io = (name: string, elements: number, role: BufferDecl['role']): BufferDecl => ({ name, elem: 'f32', elements, role });
    const buffers = [io('x', x.length, 'input'), io('l', l.length, 'weight'), io('r', rr.length, 'weight'), io('y', x.length, 'output')];
    const out = await runOnce(await gpu(), { buffers: [...buffers, ...prog.buffers], steps: prog.steps }, { x, l, r: rr }, ['y']);
    expectClose(id, out.y as Float32Array, monarchRef(x, l, rr, s.B, s.T, s.C, s.b));
  });
});
