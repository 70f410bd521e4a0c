/**
 * Parallel (attention-form) schedule: no state is carried between tokens.
 *   parallel_o:     per (b, t, h, value slice), o_t = (scale q~_t)^T s0 + sum_{s<=t}
 *                   (scale q~_t . k~_s) v_s, normalized by (scale q~_t) . z0 + sum_{s<=t}
 *                   (scale q~_t . k~_s) + eps.
 *   parallel_state: per (b, h, i, column group), S = s0 + sum_t k~_t[i] v_t[cols]
 *                   (z = z0 + sum_t k~_t from column group 0).
 * Barrier-free. Work O(T^2 (K + V) + T K V).
 */
import type { Step } from '../../../codegen/program.ts';
import type { LaBuffers, LaShape } from './common.ts';
import { outputKernel } from './output.ts';
import { stateKernel } from './state.ts';

export function parallelProgram(label: string, s: LaShape, buf: LaBuffers): { buffers: []; steps: Step[] } {
  const z = s.normalize && buf.z0 !== null && buf.z !== null ? { z0: buf.z0, z: buf.z } : null;
  const oArgs = [buf.q, buf.k, buf.v, buf.s0, ...(z ? [z.z0] : []), buf.o];
  const sArgs = [buf.k, buf.v, buf.s0, ...(z ? [z.z0] : []), buf.S, ...(z ? [z.z] : [])];
  return {
    buffers: [],
    steps: [
      { kernel: outputKernel(`${label}.parallel_o`, s, null), args: oArgs },
      { kernel: stateKernel(`${label}.parallel_state`, s, null), args: sArgs },
    ],
  };
}
