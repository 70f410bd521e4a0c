/**
 * Parallel (attention-form) schedule: no state is carried between tokens.
 *   parallel_o:     per (b, t, h, value slice), o_t = (scale q~_t)^T s0 + sum_{s<=t}
 *                   (scale q~_t . k~_s) v_s, normalized by (scale q~_t) . z0 + sum_{s<=t}
 *                   (scale q~_t . k~_s) + eps; with decay every term from s carries
 *                   Gamma_ts = exp(G_t - G_s) (s0 and z0: exp(G_t)), summed over (s, t] directly.
 *   parallel_state: per (b, h, i, column group), S = s0 + sum_t k~_t[i] v_t[cols], or with
 *                   decay the recurrence S_t[i] = exp(g_t[i]) S_{t-1}[i] + k~_t[i] v_t
 *                   (z alike from column group 0).
 * Barrier-free. Work O(T^2 (K + V) + T K V).
 */
import type { Step } from '../../../codegen/program.ts';
import { gateArgs, type LaBuffers, type AdditiveShape } from './common.ts';
import { outputKernel } from './output.ts';
import { stateArgs, stateKernel } from './state.ts';

export function parallelProgram(label: string, s: AdditiveShape, buf: LaBuffers): { buffers: []; steps: Step[] } {
  const z0 = s.normalize && buf.z0 !== null ? [buf.z0] : [];
  const oArgs = [buf.q, buf.k, buf.v, ...gateArgs(buf), buf.s0, ...z0, buf.o];
  return {
    buffers: [],
    steps: [
      { kernel: outputKernel(`${label}.parallel_o`, s, null), args: oArgs },
      { kernel: stateKernel(`${label}.parallel_state`, s, null), args: stateArgs(buf, null) },
    ],
  };
}
