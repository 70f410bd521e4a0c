/**
 * One fla-style op as a program: the op's kernels in the chosen schedule with its input and output
 * buffers declared (`q, k, v, [g|gk], [beta], s0, [z0]` in; `o, S, [z]` out). based and rebased
 * first map q, k to `q_phi, k_phi` `[B,T,H,K']` with the feature-map kernel. Pure.
 */
import { featureMapKernel } from '../../codegen/kernels/feature-map.ts';
import type { ProgramSpec, Step } from '../../codegen/program.ts';
import type { Schedule } from '../../ir/graph.ts';
import { chooseCheapest, estimateMs, type Candidate, type ScheduleCost } from '../../plan/cost.ts';
import { gpuClass, type DeviceProfile } from '../../plan/device.ts';
import { autoCandidates, DEFAULT_CHUNK } from '../../plan/plan.ts';
import type { ScheduleChoice } from '../../check/spec.ts';
import { linearAttnCost, linearAttnProgram, linearAttnSupports } from './index.ts';
import { opFeatureMap, opInputs, opKnobs, type OpDef, type OpDims } from './ops.ts';

export interface OpProgram {
  spec: ProgramSpec;
  schedule: Schedule;
  chunk: number;
  /** `workgroup` when chunkwise runs its workgroup-memory kernels (GPU-class adapters), else absent. */
  variant?: string;
  candidates: Candidate[];
  /** Key dim of the recurrence and its state: K, or K' after a feature map. */
  keyDim: number;
}

/**
 * The schedule of an op: the one asked for, or (auto) the cheapest estimate among the auto
 * candidates the op supports on this device; every candidate with its estimate or refusal. Pure.
 */
export function pickOpSchedule(
  choice: ScheduleChoice,
  T: number,
  device: DeviceProfile,
  supports: (schedule: Schedule, chunk: number) => { ok: true } | { ok: false; reason: string },
  cost: (schedule: Schedule, chunk: number) => ScheduleCost,
): { pick: Candidate; candidates: Candidate[] } | { error: string } {
  const wanted =
    choice.kind === 'auto' ? autoCandidates(T) : [{ schedule: choice.kind, chunk: choice.kind === 'chunkwise' ? (choice.chunk ?? DEFAULT_CHUNK) : 0 }];
  const candidates: Candidate[] = wanted.map(({ schedule, chunk }) => {
    const s = supports(schedule, chunk);
    return s.ok ? { schedule, chunk, ok: true, estimateMs: estimateMs(cost(schedule, chunk), device) } : { schedule, chunk, ok: false, reason: s.reason };
  });
  const pick = choice.kind === 'auto' ? chooseCheapest(candidates) : candidates[0].ok ? candidates[0] : undefined;
  return pick ? { pick, candidates } : { error: candidates.map((c) => `${c.schedule}: ${c.reason}`).join('; ') };
}

export function opProgram(def: OpDef, d: OpDims, o: { scale?: number; normalize: boolean; schedule?: ScheduleChoice }, device: DeviceProfile): OpProgram | { error: string } {
  const knobs = opKnobs(def, d, o);
  const dims = { B: d.B, T: d.T, knobs };
  const picked = pickOpSchedule(o.schedule ?? { kind: 'auto' }, d.T, device, (schedule, chunk) => linearAttnSupports(schedule, { ...dims, chunk }, device.limits), (schedule, chunk) => linearAttnCost(schedule, { ...dims, chunk }));
  if ('error' in picked) return picked;
  const { pick, candidates } = picked;
  // The chunkwise kernel variant by device class, as the planner chooses it (compiler/plan/chunk-variant.ts).
  const wg = pick.schedule === 'chunkwise' && gpuClass(device) && linearAttnSupports('chunkwise', { ...dims, chunk: pick.chunk, variant: 'workgroup' }, device.limits).ok;
  const variant = wg ? { variant: 'workgroup' } : {};
  const gate = opInputs(def).find((t) => t === 'g' || t === 'gk') ?? null;
  const beta = def.update === 'delta' ? 'beta' : null;
  const map = opFeatureMap(def, d, o);
  const phiSteps: Step[] = map
    ? ['q', 'k'].map((t) => ({ kernel: featureMapKernel({ name: `op.${t}_${map.kind}`, N: d.B * d.T, H: d.H, K: d.K, map }), args: [t, `${t}_phi`] }))
    : [];
  const spec = linearAttnProgram({
    label: 'op',
    ...dims,
    schedule: pick.schedule,
    chunk: pick.chunk,
    ...variant,
    buffers: { q: map ? 'q_phi' : 'q', k: map ? 'k_phi' : 'k', v: 'v', s0: 's0', z0: knobs.normalize ? 'z0' : null, g: gate, beta, o: 'o', S: 'S', z: knobs.normalize ? 'z' : null },
  });
  spec.steps.unshift(...phiSteps);
  const { B, T, H, V } = d;
  const K = knobs.keyDim;
  const sizes: [string, number, 'input' | 'output' | 'state_in' | 'state_out' | 'activation'][] = [
    ['q', B * T * H * d.K, 'input'],
    ['k', B * T * H * d.K, 'input'],
    ['v', B * T * H * V, 'input'],
    ['s0', B * H * K * V, 'state_in'],
    ['o', B * T * H * V, 'output'],
    ['S', B * H * K * V, 'state_out'],
  ];
  if (gate) sizes.push([gate, gate === 'g' ? B * T * H : B * T * H * K, 'input']);
  if (beta) sizes.push(['beta', B * T * H, 'input']);
  if (knobs.normalize) sizes.push(['z0', B * H * K, 'state_in'], ['z', B * H * K, 'state_out']);
  if (map) sizes.push(['q_phi', B * T * H * K, 'activation'], ['k_phi', B * T * H * K, 'activation']);
  spec.buffers.push(...sizes.map(([name, elements, role]) => ({ name, elements, role, elem: 'f32' as const })));
  return { spec, schedule: pick.schedule, chunk: pick.chunk, ...variant, candidates, keyDim: K };
}
