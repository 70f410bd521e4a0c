/**
 * Kimi Delta Attention as the DPLR recurrence: S' = Diag(exp(g_t)) S_{t-1};
 * S_t = S' + beta_t k_t (v_t - S'^T k_t)^T is the case a = exp(g) k, b = -beta k with values
 * beta v, formed per token by `kda_prep` before the DPLR kernels. `loom op kda` and the delta rule
 * with a vector decay in the chunkwise schedule (linear_attn/delta) run it.
 */
import type { Kernel } from '../../../codegen/kernel.ts';
import type { BufferDecl, Step } from '../../../codegen/program.ts';
import { buildKernel } from '../../../codegen/wgsl.ts';
import type { Schedule } from '../../../ir/graph.ts';
import { emitThreadIndex, input, output, threadGrid, WG } from '../kernels/common.ts';
import { dplrProgram, type DplrDims } from './index.ts';

/** `op.kda_prep`: per token (b, t, h), a = exp(g) k, b = -beta k (over K) and vb = beta v (over V). */
export function kdaPrepKernel(name: string, d: { B: number; T: number; H: number; K: number; V: number }, maxGroupsPerDim = 65535): Kernel {
  const { B, T, H, K, V } = d;
  const grid = threadGrid(B * T * H, 'B*T*H', maxGroupsPerDim);
  const tk = B * T * H * K;
  return buildKernel({
    name,
    summary: 'KDA as DPLR: a = exp(g) * k, b = -beta * k, vb = beta * v',
    bindings: [input('k', tk), input('g', tk), input('v', B * T * H * V), input('beta', B * T * H), output('a', tk), output('b', tk), output('vb', B * T * H * V)],
    consts: [['K', K], ['V', V], ...grid.consts],
    workgroupSize: [WG, 1, 1],
    dispatch: grid.dispatch,
    dispatchFormula: grid.formula,
    body: (b) => {
      emitThreadIndex(b, grid);
      b.line('let b_beta = beta[i_thread];');
      b.block('for (var i_i = 0u; i_i < n_K; i_i++)', () => {
        b.line('let o_k = i_thread * K + i_i;');
        b.line('a[o_k] = exp(g[o_k]) * k[o_k];');
        b.line('b[o_k] = -b_beta * k[o_k];');
      });
      b.block('for (var i_j = 0u; i_j < V; i_j++)', () => b.line('vb[i_thread * V + i_j] = b_beta * v[i_thread * V + i_j];'));
    },
  });
}

export interface KdaBuffers {
  q: string;
  k: string;
  v: string;
  /** Log per-channel decay `[B, T, H, K]`. */
  g: string;
  beta: string;
  s0: string;
  o: string;
  S: string;
}

/** `kda_prep` then the DPLR program of the schedule, with the prepared a, b and beta v as `${label}.kda_a/_b/_v`. */
export function kdaProgram(label: string, schedule: Schedule, d: DplrDims, buf: KdaBuffers, opts: { maxWorkgroupsPerDim?: number } = {}): { buffers: BufferDecl[]; steps: Step[] } {
  const { B, T, H, K, V } = d;
  const [a, b, v] = ['kda_a', 'kda_b', 'kda_v'].map((x) => `${label}.${x}`);
  const scratch: BufferDecl[] = [
    { name: a, elem: 'f32', elements: B * T * H * K, role: 'activation' },
    { name: b, elem: 'f32', elements: B * T * H * K, role: 'activation' },
    { name: v, elem: 'f32', elements: B * T * H * V, role: 'activation' },
  ];
  const prep: Step = { kernel: kdaPrepKernel(`${label}.kda_prep`, d, opts.maxWorkgroupsPerDim), args: [buf.k, buf.g, buf.v, buf.beta, a, b, v] };
  const prog = dplrProgram(label, schedule, d, { q: buf.q, k: buf.k, v, a, b, gk: buf.g, s0: buf.s0, o: buf.o, S: buf.S }, opts);
  return { buffers: [...scratch, ...prog.buffers], steps: [prep, ...prog.steps] };
}
