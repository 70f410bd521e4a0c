/**
 * SOFT kernels on the adapter against the float64 definition (landmarks, Gaussian kernel,
 * Newton-Schulz pseudo-inverse with the same iteration count), on lengths that the landmarks do
 * not divide and with T = m.
 */
import { describe, it } from 'vitest';
import type { BufferDecl } from '../../compiler/codegen/program.ts';
import { softProgram } from '../../compiler/mixers/soft/index.ts';
import type { SoftShape } from '../../compiler/mixers/soft/kernels.ts';
import { runOnce } from '../../runtime/program.ts';
import { Rng } from '../../runtime/random.ts';
import { softRef } from '../../runtime/reference/soft.ts';
import { expectClose } from '../helpers/compare.ts';
import { gpu } from './gpu.ts';

/**
 * Tolerance: the Newton-Schulz pseudo-inverse of the m x m Gram matrix of the landmarks amplifies the
 * rounding of G(L, L) by its condition number: 4.2e-7 (m = 4), 1.9e-6 (m = 5), 4.7e-7 (m = 8)
 * measured, so 2e-5.
 */
const TOL = 2e-5;

const CASES: SoftShape[] = [
  { B: 2, T: 20, H: 2, D: 8, M: 4, iterations: 20, scale: 8 ** -0.25 },
  { B: 1, T: 37, H: 3, D: 6, M: 5, iterations: 20, scale: 6 ** -0.25 },
  { B: 1, T: 8, H: 1, D: 4, M: 8, iterations: 30, scale: 0.7 },
];

describe('SOFT kernels vs the float64 reference', () => {
  it.each(CASES.map((s) => ({ s, id: `B${s.B}-T${s.T}-H${s.H}-D${s.D}-m${s.M}-it${s.iterations}` })))('$id', async ({ s, id }) => {
    const n = s.B * s.T * s.H * s.D;
    const r = Rng.forName(6, id);
    const data = { q: r.normals(n), k: r.normals(n), v: r.normals(n) };
    const prog = softProgram('L0.soft', s, { q: 'q', k: 'k', v: 'v', o: 'o' });
    const io = (name: string, role: BufferDecl['role']): BufferDecl => ({ name, elem: 'f32', elements: n, role });
    const out = await runOnce(await gpu(), { buffers: [io('q', 'input'), io('k', 'input'), io('v', 'input'), io('o', 'output'), ...prog.buffers], steps: prog.steps }, data, ['o']);
    expectClose(id, out.o as Float32Array, softRef({ ...data, B: s.B, T: s.T, H: s.H, D: s.D, landmarks: s.M, iterations: s.iterations, scale: s.scale }), TOL);
  });
});
