/**
 * The chunkwise(C) delta rule as five barrier-free kernels (see README.md):
 *   kk (per b, h, t) -> w, u (per b, h, chunk, column group) -> h (per b, h, value column group,
 *   walking the chunks in order) -> o (per b, t, h, value slice).
 * The parallel schedule is the same program with one chunk (C = T): the attention form
 * O = (Q K^T * Gamma * M) U' with U' = A diag(beta) V - W s0 solved over the whole sequence.
 */
import type { BufferDecl, Step } from '../../../codegen/program.ts';
import { ceilDiv } from '../../../codegen/wgsl.ts';
import { deltaOutputKernel } from './output.ts';
import type { DeltaBuffers, DeltaShape } from './shape.ts';
import { walkKernel } from './state.ts';
import { kkKernel, solveKernel, type DeltaChunking } from './wy.ts';

export function deltaChunking(T: number, C: number): DeltaChunking {
  return { C, NC: ceilDiv(T, C) };
}

/** Element counts of the intermediate buffers kk `[B,H,T,C]`, w `[B,T,H,K]`, u `[B,T,H,V]`, h `[B,H,NC,K,V]`. */
export function deltaIntermediates(s: DeltaShape, C: number): { kk: number; w: number; u: number; h: number } {
  const { NC } = deltaChunking(s.T, C);
  return { kk: s.B * s.H * s.T * C, w: s.B * s.T * s.H * s.K, u: s.B * s.T * s.H * s.V, h: s.B * s.H * NC * s.K * s.V };
}

/** Steps and intermediate buffers (role 'activation') of chunkwise (`chunk_*`) or parallel (`parallel_*`, C = T). */
export function deltaChunkProgram(label: string, s: DeltaShape, C: number, buf: DeltaBuffers, kind: 'chunk' | 'parallel'): { buffers: BufferDecl[]; steps: Step[] } {
  const ch = deltaChunking(s.T, C);
  const sizes = deltaIntermediates(s, C);
  const [kk, w, u, h] = ['kk', 'w', 'u', 'h'].map((x) => `${label}.${x}`);
  const buffers: BufferDecl[] = (
    [
      [kk, sizes.kk],
      [w, sizes.w],
      [u, sizes.u],
      [h, sizes.h],
    ] as [string, number][]
  ).map(([name, elements]) => ({ name, elem: 'f32', elements, role: 'activation' }));
  const g = s.decay.kind === 'scalar' && buf.g !== null ? [buf.g] : [];
  return {
    buffers,
    steps: [
      { kernel: kkKernel(`${label}.${kind}_kk`, s, ch), args: [buf.k, buf.beta, ...g, kk] },
      { kernel: solveKernel(`${label}.${kind}_w`, s, ch, 'K'), args: [buf.k, buf.beta, ...g, kk, w] },
      { kernel: solveKernel(`${label}.${kind}_u`, s, ch, 'V'), args: [buf.v, buf.beta, kk, u] },
      { kernel: walkKernel(`${label}.${kind}_h`, s, ch), args: [buf.k, w, buf.s0, ...g, u, h, buf.S] },
      { kernel: deltaOutputKernel(`${label}.${kind}_o`, s, ch), args: [buf.q, buf.k, ...g, u, h, buf.o] },
    ],
  };
}
