/**
 * What `loom tune` measures, decided purely: the distinct layer shapes of a graph (layers with
 * identical knobs and dims share one), every legal candidate of each (schedules and chunk sizes of
 * the recurrence, both kernel variants of its chunkwise schedule whatever the device class; kernel
 * variants of attention and family ops) with its estimate, and the program
 * that runs one candidate alone.
 */
import type { ProgramSpec } from '../codegen/program.ts';
import type { Graph, Node } from '../ir/graph.ts';
import { attentionCost, attentionProgram, attentionSchedule, attentionSupports, attentionVariants, type AttentionVariant } from '../mixers/attention/index.ts';
import { familyOpOf, type FamilyNode } from '../mixers/family-op.ts';
import { mixerOpOf } from '../mixers/registry.ts';
import { estimateMs, type Candidate } from './cost.ts';
import type { DeviceProfile } from './device.ts';
import { autoCandidates } from './plan.ts';
import { candidateKey, shapeKey } from './tuning.ts';

export interface TuneTarget {
  shape: string;
  /** The first node of this shape (its program is measured). */
  node: Node;
  /** Labels of every node of this shape, in graph order. */
  labels: string[];
  /** Every candidate, supported or not, with estimates. */
  candidates: Candidate[];
}

/** Candidates of one tunable node with their estimates, or undefined for other nodes. Pure. */
export function nodeCandidates(n: Node, g: Graph, device: DeviceProfile): Candidate[] | undefined {
  const { B, T } = g.dims;
  const mixer = mixerOpOf(n);
  if (mixer) {
    return autoCandidates(T).flatMap(({ schedule, chunk }) =>
      [undefined, ...mixer.variants(n, schedule)].map((variant): Candidate => {
        const v = variant === undefined ? {} : { variant };
        const s = mixer.supports(n, schedule, { B, T, chunk, ...v }, device.limits);
        return s.ok ? { schedule, chunk, ...v, ok: true, estimateMs: estimateMs(mixer.cost(n, schedule, { B, T, chunk, ...v }), device) } : { schedule, chunk, ...v, ok: false, reason: s.reason };
      }),
    );
  }
  if (n.op === 'attention') {
    const d = { B, T, knobs: n.knobs };
    const schedule = attentionSchedule(T);
    return attentionVariants(d).map((variant) => {
      const s = attentionSupports(variant, d, device.limits);
      return s.ok ? { schedule, chunk: 0, variant, ok: true, estimateMs: estimateMs(attentionCost(variant, d), device) } : { schedule, chunk: 0, variant, ok: false, reason: s.reason };
    });
  }
  if (n.op === 'family') {
    const op = familyOpOf(n.family);
    return op.variants(n as FamilyNode, { B, T }).map((variant) => {
      const s = op.supports(n as FamilyNode, variant, { B, T }, device.limits);
      return s.ok
        ? { schedule: 'parallel' as const, chunk: 0, variant, ok: true, estimateMs: estimateMs(op.cost(n as FamilyNode, variant, { B, T }), device) }
        : { schedule: 'parallel' as const, chunk: 0, variant, ok: false, reason: s.reason };
    });
  }
  return undefined;
}

/** The distinct tunable shapes of a graph, in graph order. Pure. */
export function tuneTargets(g: Graph, device: DeviceProfile): TuneTarget[] {
  const byShape = new Map<string, TuneTarget>();
  for (const n of g.nodes) {
    const shape = shapeKey(n, g.dims);
    if (shape === undefined) continue;
    const seen = byShape.get(shape);
    if (seen) {
      seen.labels.push(n.label);
      continue;
    }
    const candidates = nodeCandidates(n, g, device);
    if (candidates) byShape.set(shape, { shape, node: n, labels: [n.label], candidates });
  }
  return [...byShape.values()];
}

/**
 * One candidate of a node as a program of its own: inputs, outputs and states are buffers named
 * after their role (`q`, `S`, `in0`, `out`); the caller declares the undeclared ones from the
 * kernels' bindings (runtime/measure.ts standalone). Pure.
 */
export function candidateProgram(n: Node, c: Candidate, dims: { B: number; T: number }): ProgramSpec {
  const label = `tune.${candidateKey(c).replace(/[^A-Za-z0-9_]+/g, '_')}`;
  const mixer = mixerOpOf(n);
  if (mixer && n.op === 'linear_attn') {
    const opt = (id: number | null, name: string) => (id === null ? null : name);
    return mixer.program({ ...n, label }, c.schedule, { ...dims, chunk: c.chunk, ...(c.variant === undefined ? {} : { variant: c.variant }) }, {
      inputs: { q: 'q', k: 'k', v: 'v', s0: 's0', z0: opt(n.z0, 'z0'), g: opt(n.g, 'g'), beta: opt(n.beta, 'beta') },
      output: 'o',
      states: { S: 'S', z: opt(n.z0, 'z') },
    });
  }
  if (n.op === 'attention') {
    const cached = n.pos !== null && n.kc0 !== null && n.vc0 !== null;
    const buffers = { q: 'q', k: 'k', v: 'v', pos: cached ? 'pos' : null, kc0: cached ? 'kc0' : null, vc0: cached ? 'vc0' : null, o: 'o', kCache: cached ? 'k_cache' : null, vCache: cached ? 'v_cache' : null };
    return attentionProgram({ label, ...dims, knobs: n.knobs, variant: c.variant as AttentionVariant, buffers });
  }
  if (n.op === 'family') {
    return familyOpOf(n.family).program({ ...n, label } as FamilyNode, c.variant!, dims, { inputs: n.inputs.map((_, i) => `in${i}`), output: 'out' });
  }
  throw new Error(`candidateProgram: ${n.op} node ${n.label} has no candidates`);
}
