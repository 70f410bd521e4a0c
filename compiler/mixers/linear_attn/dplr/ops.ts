/**
 * `loom op dplr_delta_rule` and `loom op kda` with flash-linear-attention's names and layouts: which
 * tensors each op reads, their shape checks, and the op as a program. Pure.
 *
 * dplr_delta_rule (fla chunk_dplr_delta_rule): q, k, a, b, gk `[B,T,H,K]`, v `[B,T,H,V]`, optional
 * initial_state `[B,H,K,V]`; S_t = Diag(exp(gk_t)) S_{t-1} + b_t (a_t^T S_{t-1}) + k_t v_t^T.
 * kda (fla chunk_kda, Kimi Delta Attention): q, k, g `[B,T,H,K]` (log per-channel decay), v, beta
 * `[B,T,H]`, initial_state; S' = Diag(exp(g_t)) S_{t-1}; S_t = S' + beta_t k_t (v_t - S'^T k_t)^T,
 * run as the DPLR case a = exp(g) k, b = -beta k, v <- beta v (an elementwise kernel `op.kda_prep`
 * first). Both: o_t = S_t^T (scale q_t), scale K^-1/2 by default; outputs o and final_state.
 */
import type { BufferDecl, Step } from '../../../codegen/program.ts';
import type { ScheduleChoice } from '../../../check/spec.ts';
import type { DeviceProfile } from '../../../plan/device.ts';
import { pickOpSchedule, type OpProgram } from '../op-program.ts';
import type { OpDims } from '../ops.ts';
import { dplrCost, dplrProgram, dplrSupports } from './index.ts';
import { kdaProgram } from './kda.ts';

export interface DplrOpDef {
  summary: string;
  /** The tensors the op reads besides q, k, v (and the optional initial_state). */
  inputs: string[];
}

export const DPLR_OPS: Record<string, DplrOpDef> = {
  dplr_delta_rule: { summary: 'diagonal plus low rank: S = Diag(exp(gk)) S + b (a^T S) + k v^T (fla chunk_dplr_delta_rule)', inputs: ['a', 'b', 'gk'] },
  kda: { summary: 'Kimi Delta Attention: per-channel decay g, delta rule with beta (fla chunk_kda)', inputs: ['g', 'beta'] },
};

/**
 * Checks the given tensors against an op: infers B, T, H, K, V from q and v, then requires every
 * tensor the op reads with its exact shape, and nothing else. Returns the dims or the problems.
 */
export function checkDplrTensors(name: string, def: DplrOpDef, shapes: ReadonlyMap<string, readonly number[]>): { dims?: OpDims; problems: string[] } {
  const q = shapes.get('q');
  const v = shapes.get('v');
  const problems: string[] = [];
  if (!q || q.length !== 4) problems.push(q ? `q has shape [${q.join(', ')}], expected [B, T, H, K]` : 'missing tensor q [B, T, H, K]');
  if (!v || v.length !== 4) problems.push(v ? `v has shape [${v.join(', ')}], expected [B, T, H, V]` : 'missing tensor v [B, T, H, V]');
  if (problems.length) return { problems };
  const [B, T, H, K] = q!;
  const dims: OpDims = { B, T, H, K, V: v![3] };
  const keyed = [B, T, H, K];
  const want: Record<string, number[]> = { q: keyed, k: keyed, a: keyed, b: keyed, gk: keyed, g: keyed, v: [B, T, H, dims.V], beta: [B, T, H], initial_state: [B, H, K, dims.V] };
  const needed = ['q', 'k', 'v', ...def.inputs];
  for (const t of needed) {
    const got = shapes.get(t);
    if (!got) problems.push(`missing tensor ${t} [${want[t].join(', ')}] (op ${name} reads ${needed.join(', ')})`);
    else if (got.join() !== want[t].join()) problems.push(`tensor ${t} has shape [${got.join(', ')}], expected [${want[t].join(', ')}]`);
  }
  const init = shapes.get('initial_state');
  if (init && init.join() !== want.initial_state.join()) problems.push(`tensor initial_state has shape [${init.join(', ')}], expected [${want.initial_state.join(', ')}]`);
  for (const t of shapes.keys()) if (!needed.includes(t) && t !== 'initial_state') problems.push(`tensor ${t} is not read by op ${name} (it reads ${[...needed, 'initial_state'].join(', ')})`);
  return problems.length ? { problems } : { dims, problems };
}

/** The op in the chosen schedule (auto: the cheapest estimate) with its buffers; fla names for inputs, `s0` for initial_state. */
export function dplrOpProgram(name: string, d: OpDims, o: { scale?: number; schedule?: ScheduleChoice }, device: DeviceProfile): OpProgram | { error: string } {
  const dims = { ...d, scale: o.scale ?? 1 / Math.sqrt(d.K) };
  const picked = pickOpSchedule(o.schedule ?? { kind: 'auto' }, d.T, device, (schedule, chunk) => dplrSupports(schedule, { ...dims, chunk }, device.limits), (schedule, chunk) => dplrCost(schedule, { ...dims, chunk }));
  if ('error' in picked) return picked;
  const { pick, candidates } = picked;
  const { B, T, H, K, V } = d;
  const io = (name: string, elements: number, role: BufferDecl['role']): BufferDecl => ({ name, elem: 'f32', elements, role });
  const buffers = [io('q', B * T * H * K, 'input'), io('k', B * T * H * K, 'input'), io('v', B * T * H * V, 'input'), io('s0', B * H * K * V, 'state_in')];
  buffers.push(io('o', B * T * H * V, 'output'), io('S', B * H * K * V, 'state_out'));
  const opts = { maxWorkgroupsPerDim: device.limits.maxComputeWorkgroupsPerDimension };
  const call = { ...dims, chunk: pick.chunk };
  let prog: { buffers: BufferDecl[]; steps: Step[] };
  if (name === 'kda') {
    buffers.push(io('g', B * T * H * K, 'input'), io('beta', B * T * H, 'input'));
    prog = kdaProgram('op', pick.schedule, call, { q: 'q', k: 'k', v: 'v', g: 'g', beta: 'beta', s0: 's0', o: 'o', S: 'S' }, opts);
  } else {
    buffers.push(...['a', 'b', 'gk'].map((n) => io(n, B * T * H * K, 'input')));
    prog = dplrProgram('op', pick.schedule, call, { q: 'q', k: 'k', v: 'v', a: 'a', b: 'b', gk: 'gk', s0: 's0', o: 'o', S: 'S' }, opts);
  }
  const spec = { buffers: [...buffers, ...prog.buffers], steps: prog.steps };
  return { spec, schedule: pick.schedule, chunk: pick.chunk, candidates, keyDim: K };
}
