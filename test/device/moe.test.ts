/**
 * MoE kernels on the adapter against the float64 definition: top-k routing (ties broken by the
 * lowest index, checked on logits with many exact ties), the renormalised weights, and the
 * gathered SwiGLU experts, on several shapes (k = 1, k > 1, k = E).
 */
import { describe, expect, it } from 'vitest';
import type { BufferDecl } from '../../compiler/codegen/program.ts';
import { moeProgram } from '../../compiler/mixers/moe/index.ts';
import type { MoeShape } from '../../compiler/mixers/moe/kernels.ts';
import { runOnce } from '../../runtime/program.ts';
import { Rng } from '../../runtime/random.ts';
import { moeRef, topK } from '../../runtime/reference/moe.ts';
import { expectClose } from '../helpers/compare.ts';
import { gpu } from './gpu.ts';

/** Tolerance: dot products over D and N, a softmax over the chosen logits: 1.8e-7 measured, so 2e-6. */
const TOL = 2e-6;

interface Case {
  s: MoeShape;
  /** Logits drawn from {0, 1, 2}: many exact ties. */
  ties: boolean;
}

const CASES: Case[] = [
  { s: { tokens: 7, D: 8, E: 4, K: 1, N: 12 }, ties: false },
  { s: { tokens: 13, D: 6, E: 5, K: 2, N: 10 }, ties: false },
  { s: { tokens: 3, D: 4, E: 3, K: 3, N: 5 }, ties: false },
  { s: { tokens: 37, D: 5, E: 6, K: 2, N: 7 }, ties: true },
];

const id = (c: Case) => `M${c.s.tokens}-D${c.s.D}-E${c.s.E}-k${c.s.K}-N${c.s.N}${c.ties ? '-ties' : ''}`;

describe('MoE kernels vs the float64 reference', () => {
  it.each(CASES.map((c) => ({ c, id: id(c) })))('$id', async ({ c, id }) => {
    const { tokens: M, D, E, K, N } = c.s;
    const r = Rng.forName(9, id);
    const x = r.normals(M * D);
    const logits = c.ties ? Float32Array.from({ length: M * E }, () => r.int(3)) : r.normals(M * E);
    const gate = r.normals(E * D * N, 0.5);
    const up = r.normals(E * D * N, 0.5);
    const down = r.normals(E * N * D, 0.5);
    const prog = moeProgram('L0.moe0', c.s, { x: 'x', logits: 'logits', gate: 'gate', up: 'up', down: 'down', y: 'y' });
    const io = (name: string, elements: number, role: BufferDecl['role']): BufferDecl => ({ name, elem: 'f32', elements, role });
    const buffers = [io('x', M * D, 'input'), io('logits', M * E, 'input'), io('gate', E * D * N, 'input'), io('up', E * D * N, 'input'), io('down', E * N * D, 'input'), io('y', M * D, 'output')];
    const out = await runOnce(await gpu(), { buffers: [...buffers, ...prog.buffers], steps: prog.steps }, { x, logits, gate, up, down }, ['y', 'L0.moe0.sel', 'L0.moe0.weight']);
    const sel = out['L0.moe0.sel'] as Uint32Array;
    for (let t = 0; t < M; t++) expect([...sel.subarray(t * K, (t + 1) * K)], `token ${t}`).toEqual(topK(logits.subarray(t * E, (t + 1) * E), K));
    const weights = out['L0.moe0.weight'] as Float32Array;
    for (let t = 0; t < M; t++) expect(weights.subarray(t * K, (t + 1) * K).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
    expectClose(id, out.y as Float32Array, moeRef({ x, logits, gate, up, down, M, D, E, K, N }), TOL);
  });
});
