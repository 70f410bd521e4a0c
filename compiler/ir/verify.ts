/**
 * verifyGraph: the invariants every pass must keep, written as one table of per-op shape rules.
 * A failure is a compiler bug (LoomInternalError with a dump), never a user error.
 */
import { LoomInternalError } from '../../grammar/diagnostics.ts';
import { broadcasts, epilogueBase, matmulProducts, type MatmulProductOp, EW_ARITY, featureMapWeightShapes, featureMapWidth, nodeInputs, type EwExpr, type Graph, type Node } from './graph.ts';
import { dumpGraph } from './dump.ts';
import { familyOpOf } from '../mixers/family-op.ts';
import { cacheSlots, stateOutputNames } from './graph.ts';

/** A node's problem, or undefined; `parts(id)` lists the matmul_part nodes of group `id` by index. */
type Rule = (n: Node, get: (id: number) => Node, parts: (id: number) => Node[]) => string | undefined;

const same = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((x, i) => x === b[i]);
const last = (s: readonly number[]) => s[s.length - 1];

function maxInput(e: EwExpr): number {
  if (e.kind === 'in') return e.index;
  if (e.kind === 'const') return -1;
  if (e.args.length !== EW_ARITY[e.fn]) return Infinity;
  return Math.max(-1, ...e.args.map(maxInput));
}

function productRule(p: MatmulProductOp, x: readonly number[], transposeW: boolean, outShape: readonly number[], get: (id: number) => Node): string | undefined {
  const w = get(p.w).type.shape;
  const [k, out] = transposeW ? [w[1], w[0]] : [w[0], w[1]];
  if (w.length !== 2 || last(x) !== k) return `matmul: x [${x}] does not match W [${w}]`;
  if (p.w2 !== undefined && !same(get(p.w2).type.shape, w)) return `matmul: second weight [${get(p.w2).type.shape}] differs from W [${w}]`;
  if (p.epilogue) {
    if (maxInput(p.epilogue.expr) > p.epilogue.inputs.length + epilogueBase(p) - 1) return 'matmul epilogue reads an input it does not have';
    if (!p.epilogue.inputs.every((e) => broadcasts(get(e).type.shape, outShape))) return 'matmul epilogue inputs must match or broadcast to the output';
  } else if (p.w2 !== undefined) return 'matmul: a second product needs an epilogue to combine it';
  return same(outShape, [...x.slice(0, -1), out]) ? undefined : 'matmul output shape';
}

const RULES: { [K in Node['op']]: Rule } = {
  tokens: (n) => (n.type.dtype === 'i32' && n.type.shape.length === 2 ? undefined : 'tokens must be i32 [B, T]'),
  weight: () => undefined,
  state_in: () => undefined,
  embed: (n, get) => {
    if (n.op !== 'embed') return undefined;
    const t = get(n.table).type.shape;
    return same(n.type.shape, [...get(n.ids).type.shape, t[1]]) ? undefined : 'embed output must be [...ids, D]';
  },
  matmul: (n, get, parts) => {
    if (n.op !== 'matmul') return undefined;
    const x = get(n.x).type.shape;
    if (n.norm && !same(get(n.norm.weight).type.shape, [last(x)])) return `matmul norm weight must be [${last(x)}]`;
    const outs = [n, ...parts(n.id)];
    if (outs.length !== matmulProducts(n).length || outs.some((o, i) => i > 0 && partIndexOf(o) !== i)) return 'matmul parts and matmul_part nodes do not match';
    for (const [i, p] of matmulProducts(n).entries()) {
      const why = productRule(p, x, n.transposeW, outs[i].type.shape, get);
      if (why) return n.parts ? `matmul part ${i}: ${why}` : why;
    }
    return undefined;
  },
  matmul_part: (n, get) => {
    if (n.op !== 'matmul_part') return undefined;
    const g = get(n.group);
    if (g.op !== 'matmul' || !g.parts || n.index < 1 || n.index > g.parts.length) return 'matmul_part must name a part of a matmul group';
    return undefined;
  },
  rmsnorm: (n, get) => {
    if (n.op !== 'rmsnorm') return undefined;
    const x = get(n.x).type.shape;
    const group = n.group ?? last(x);
    if (last(x) % group !== 0) return `rmsnorm group ${group} does not divide the last axis ${last(x)}`;
    return same(get(n.weight).type.shape, [group]) && same(n.type.shape, x) ? undefined : 'rmsnorm shapes';
  },
  l2norm: (n, get) => {
    if (n.op !== 'l2norm') return undefined;
    const x = get(n.x).type.shape;
    if (last(x) % n.group !== 0) return `l2norm group ${n.group} does not divide the last axis ${last(x)}`;
    return same(n.type.shape, x) ? undefined : 'l2norm shapes';
  },
  conv1d: (n, get) => {
    if (n.op !== 'conv1d') return undefined;
    const x = get(n.x).type.shape;
    const [C, W] = get(n.weight).type.shape;
    if (x.length !== 3 || last(x) !== C || W < 1) return `conv1d: x [${x}] does not match weight [${C}, ${W}]`;
    if (!same(get(n.tail).type.shape, [x[0], W - 1, C])) return `conv1d tail must be [B, W-1, C] = [${[x[0], W - 1, C]}]`;
    return same(n.type.shape, x) ? undefined : 'conv1d output shape';
  },
  outer: (n, get) => {
    if (n.op !== 'outer') return undefined;
    const [B, T] = n.type.shape;
    if (n.a !== null && !same(get(n.a).type.shape, [B, T, n.heads])) return `outer: a must be [${[B, T, n.heads]}]`;
    if (n.c !== null && !same(get(n.c).type.shape, [B, T, n.width])) return `outer: c must be [${[B, T, n.width]}]`;
    return same(n.type.shape, [B, T, n.heads * n.width]) ? undefined : 'outer output shape';
  },
  flip: (n, get) => {
    if (n.op !== 'flip') return undefined;
    const x = get(n.x).type.shape;
    return x.length === 3 && Number.isInteger(n.shift) && n.shift >= 0 && same(n.type.shape, x) ? undefined : 'flip: x must be [B, T, C], shift >= 0';
  },
  cos_reweight: (n, get) => {
    if (n.op !== 'cos_reweight') return undefined;
    const x = get(n.x).type.shape;
    if (x.length !== 3 || x[2] % n.group !== 0 || !same(get(n.pos).type.shape, [x[0]])) return 'cos_reweight: x [B, T, H*group] and pos [B]';
    if (!(n.maxLen >= 1)) return 'cos_reweight: maxLen >= 1';
    return same(n.type.shape, [x[0], x[1], 2 * x[2]]) ? undefined : 'cos_reweight output is [B, T, H*2*group]';
  },
  angle_scan: (n, get) => {
    if (n.op !== 'angle_scan') return undefined;
    const x = get(n.x).type.shape;
    const width = x[2] * (n.group / 2);
    if (x.length !== 3 || n.group % 2 !== 0 || !same(get(n.s0).type.shape, [x[0], 1, width])) return 'angle_scan: x [B, T, G], s0 [B, 1, G*D/2], D even';
    return same(n.type.shape, [x[0], x[1], width]) ? undefined : 'angle_scan output is [B, T, G*D/2]';
  },
  rotate: (n, get) => {
    if (n.op !== 'rotate') return undefined;
    const x = get(n.x).type.shape;
    const a = get(n.angles).type.shape;
    const groups = x[2] / n.group;
    const angleGroups = a[2] / (n.group / 2);
    if (x.length !== 3 || !Number.isInteger(groups) || !Number.isInteger(angleGroups) || groups % angleGroups !== 0 || a[0] !== x[0] || a[1] !== x[1]) return 'rotate: x [B, T, G*D], angles [B, T, G\'*D/2] with G\' dividing G';
    return same(n.type.shape, x) ? undefined : 'rotate output shape';
  },
  head_dot: (n, get) => {
    if (n.op !== 'head_dot') return undefined;
    const a = get(n.a).type.shape;
    if (a.length !== 3 || a[2] % n.group !== 0 || !same(get(n.c).type.shape, a)) return 'head_dot: a and c must be equal [B, T, H*group]';
    return same(n.type.shape, [a[0], a[1], a[2] / n.group]) ? undefined : 'head_dot output shape';
  },
  length_norm: (n, get) => {
    if (n.op !== 'length_norm') return undefined;
    const x = get(n.x).type.shape;
    if (x.length !== 3 || x[2] % n.group !== 0) return `length_norm: group ${n.group} does not divide x [${x}]`;
    if (!same(get(n.pos).type.shape, [x[0]]) || !same(get(n.m).type.shape, [x[2] / n.group])) return 'length_norm: pos must be [B] and m [H]';
    return same(n.type.shape, x) ? undefined : 'length_norm output shape';
  },
  conv_tail: (n, get) => {
    if (n.op !== 'conv_tail') return undefined;
    const x = get(n.x).type.shape;
    const t = get(n.tail).type.shape;
    return x.length === 3 && same(t, [x[0], t[1], x[2]]) && same(n.type.shape, t) ? undefined : 'conv_tail shapes';
  },
  feature_map: (n, get) => {
    if (n.op !== 'feature_map') return undefined;
    const x = get(n.x).type.shape;
    if (x.length !== 3 || x[2] % n.group !== 0) return `feature_map: x [${x}] is not [B, T, H*${n.group}]`;
    const H = x[2] / n.group;
    const want = featureMapWeightShapes(n.map, H, n.group);
    if (n.weights.length !== want.length || n.weights.some((w, i) => !same(get(w).type.shape, want[i]))) return `feature_map ${n.map.kind} weights must be ${want.map((s) => `[${s}]`).join(', ') || 'none'}`;
    return same(n.type.shape, [x[0], x[1], H * featureMapWidth(n.map, n.group)]) ? undefined : "feature_map output must be [B, T, H*K']";
  },
  elementwise: (n, get) => {
    if (n.op !== 'elementwise') return undefined;
    if (maxInput(n.expr) !== n.inputs.length - 1) return 'elementwise expression does not use exactly its inputs';
    return n.inputs.every((i) => broadcasts(get(i).type.shape, n.type.shape)) ? undefined : 'elementwise inputs must match or broadcast (trailing dims) to the output';
  },
  linear_attn: (n, get) => {
    if (n.op !== 'linear_attn') return undefined;
    const { heads: H, keyDim: K, valueDim: V, normalize } = n.knobs;
    const [B, T] = n.type.shape;
    if (!same(get(n.q).type.shape, [B, T, H * K]) || !same(get(n.k).type.shape, [B, T, H * K])) return 'q/k shape';
    if (!same(get(n.v).type.shape, [B, T, H * V]) || !same(n.type.shape, [B, T, H * V])) return 'v/o shape';
    if (!same(get(n.s0).type.shape, [B, H, K, V])) return 's0 shape';
    if (normalize !== (n.z0 !== null)) return 'z0 present iff normalize';
    const decay = n.knobs.decay.kind;
    const gShape = decay === 'scalar' ? [B, T, H] : decay === 'vector' ? [B, T, H * K] : null;
    if (gShape === null ? n.g !== null : n.g === null || !same(get(n.g).type.shape, gShape)) return `g must be ${gShape ? `[${gShape}]` : 'absent'} for decay ${decay}`;
    if (decay === 'fixed' && n.knobs.decay.logDecay.length !== H) return 'fixed decay needs one log-decay per head';
    const delta = n.knobs.update === 'delta';
    if (delta ? n.beta === null || !same(get(n.beta).type.shape, [B, T, H]) : n.beta !== null) return `beta must be ${delta ? `[${[B, T, H]}]` : 'absent'} for the ${n.knobs.update} update`;
    return undefined;
  },
  rope: (n, get) => {
    if (n.op !== 'rope') return undefined;
    const x = get(n.x).type.shape;
    if (n.group % 2 !== 0 || last(x) % n.group !== 0) return `rope group ${n.group} must be even and divide the last axis ${last(x)}`;
    if (n.pos !== null && !same(get(n.pos).type.shape, [x[0]])) return 'rope pos must be [B]';
    return same(n.type.shape, x) ? undefined : 'rope shapes';
  },
  softmax: (n, get) => {
    if (n.op !== 'softmax') return undefined;
    const x = get(n.x).type.shape;
    return last(x) % n.group === 0 && same(n.type.shape, x) ? undefined : `softmax group ${n.group} must divide the last axis ${last(x)}; output shaped as x`;
  },
  attention: (n, get) => {
    if (n.op !== 'attention') return undefined;
    const { heads: H, kvHeads: Hkv, headDim: D, valueDim: Dv, causal } = n.knobs;
    const [B, T] = n.type.shape;
    if (H % Hkv !== 0) return `kvHeads ${Hkv} must divide heads ${H}`;
    if (!same(get(n.q).type.shape, [B, T, H * D]) || !same(get(n.k).type.shape, [B, T, Hkv * D])) return 'q/k shape';
    if (!same(get(n.v).type.shape, [B, T, Hkv * Dv]) || !same(n.type.shape, [B, T, H * Dv])) return 'v/o shape';
    if (!causal) return n.kc0 === null && n.vc0 === null && n.pos === null ? undefined : 'non-causal attention has no cache and no positions';
    if (n.pos === null || !same(get(n.pos).type.shape, [B])) return 'causal attention needs pos [B]';
    const W = cacheSlots(n.knobs);
    if (n.kc0 === null || !same(get(n.kc0).type.shape, [B, Hkv, W, D])) return `k cache must be [${[B, Hkv, W, D]}]`;
    return n.vc0 !== null && same(get(n.vc0).type.shape, [B, Hkv, W, Dv]) ? undefined : `v cache must be [${[B, Hkv, W, Dv]}]`;
  },
  state_out: (n, get) => (n.op === 'state_out' && stateOutputNames(get(n.mixer)).includes(n.which) ? undefined : 'state_out must name a secondary output of a mixer'),
  family: (n, get) => (n.op === 'family' ? familyOpOf(n.family).verify(n, n.inputs.map(get)) : undefined),
};

const partIndexOf = (n: Node) => (n.op === 'matmul_part' ? n.index : 0);

export function verifyGraph(g: Graph, pass: string): void {
  const get = (id: number) => g.nodes[id];
  const partNodes = new Map<number, Node[]>();
  for (const n of g.nodes) if (n.op === 'matmul_part') partNodes.set(n.group, [...(partNodes.get(n.group) ?? []), n]);
  const parts = (id: number) => (partNodes.get(id) ?? []).slice().sort((a, b) => partIndexOf(a) - partIndexOf(b));
  for (const [i, n] of g.nodes.entries()) {
    let problem: string | undefined;
    if (n.id !== i) problem = `node at position ${i} has id ${n.id}`;
    else if (nodeInputs(n).some((j) => j >= i || j < 0)) problem = 'inputs must come earlier (topological order)';
    else problem = RULES[n.op](n, get, parts);
    if (problem) throw new LoomInternalError(pass, `node ${n.id} (${n.label}, ${n.op}): ${problem}`, dumpGraph(g));
  }
  for (const [name, id] of Object.entries(g.outputs)) {
    if (!g.nodes[id]) throw new LoomInternalError(pass, `output ${name} points at missing node ${id}`, dumpGraph(g));
  }
}
