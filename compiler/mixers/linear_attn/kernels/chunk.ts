/**
 * Chunkwise(C) schedule: split T into NC = ceil(T / C) chunks (the last may be partial).
 *   chunk_h: per (b, h, i, column group), walk the chunks in order, store h_n (the state before
 *            chunk n; h_0 = s0), then run the (decayed) recurrence over the chunk's tokens for
 *            row i; store the final S (z and hz alike from column group 0).
 *   chunk_o: per (b, t, h, value slice), o_t = (scale q~_t exp(G_t))^T h_n + sum_{s = n*C..t}
 *            exp(G_t - G_s) (scale q~_t . k~_s) v_s with G relative to the chunk start
 *            (absent without decay), normalized by the matching sum over hz_n and k~_s.
 * Barrier-free (the `register` variant, CPU adapters). The `workgroup` variant (GPUs) computes
 * the same two quantities with tiles in workgroup memory: chunk_h_wg, chunk_o_wg (wg-*.ts).
 * Work O(T K V + T C (K + V)); h takes B*H*NC*K*V floats.
 */
import type { BufferDecl, Step } from '../../../codegen/program.ts';
import { ceilDiv } from '../../../codegen/wgsl.ts';
import { gateArgs, type LaBuffers, type AdditiveShape } from './common.ts';
import { outputKernel } from './output.ts';
import { stateArgs, stateKernel, type Chunking } from './state.ts';
import { wgOutputKernel } from './wg-output.ts';
import { wgStateKernel } from './wg-state.ts';
import type { ChunkVariant } from './wg-tiles.ts';

export function chunking(T: number, C: number): Chunking {
  return { C, NC: ceilDiv(T, C) };
}

/** Elements of the chunk-state buffers h `[B, H, NC, K, V]` and hz `[B, H, NC, K]`. */
export function chunkStateElements(s: AdditiveShape, C: number): { h: number; hz: number } {
  const { NC } = chunking(s.T, C);
  return { h: s.B * s.H * NC * s.K * s.V, hz: s.B * s.H * NC * s.K };
}

export function chunkProgram(label: string, s: AdditiveShape, C: number, buf: LaBuffers, variant: ChunkVariant = 'register'): { buffers: BufferDecl[]; steps: Step[] } {
  const chunks = chunking(s.T, C);
  const sizes = chunkStateElements(s, C);
  const h = `${label}.h`;
  const hz = `${label}.hz`;
  const buffers: BufferDecl[] = [{ name: h, elem: 'f32', elements: sizes.h, role: 'activation' }];
  if (s.normalize) buffers.push({ name: hz, elem: 'f32', elements: sizes.hz, role: 'activation' });
  const oArgs = [buf.q, buf.k, buf.v, ...gateArgs(buf), h, ...(s.normalize ? [hz] : []), buf.o];
  const wg = variant === 'workgroup';
  return {
    buffers,
    steps: [
      { kernel: wg ? wgStateKernel(`${label}.chunk_h_wg`, s, chunks) : stateKernel(`${label}.chunk_h`, s, chunks), args: stateArgs(buf, { h, hz }) },
      { kernel: wg ? wgOutputKernel(`${label}.chunk_o_wg`, s, chunks) : outputKernel(`${label}.chunk_o`, s, chunks), args: oArgs },
    ],
  };
}
