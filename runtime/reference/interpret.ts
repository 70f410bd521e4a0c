/**
 * The float64 graph interpreter: evaluates every node of a graph IR in order with the reference
 * ops, so a whole compiled model can be checked against its definition. Nodes are topologically
 * sorted and carry concrete shapes (`node.type.shape`); nothing here knows about schedules.
 */
import { diag, LoomError } from '../../grammar/diagnostics.ts';
import { numel } from '../../compiler/ir/graph.ts';
import type { Graph, MatmulProductOp, Node } from '../../compiler/ir/graph.ts';
import { familyRef } from './families.ts';
import { featureMapRef } from './feature-map.ts';
import { linearAttnRef } from './linear-attn.ts';
import { attentionRef, CacheOverflow, ropeRef, softmaxRef } from './attention.ts';
import { conv1dRef, convTailRef, elementwiseRef, lengthNormRef, outerRef, flipRef, headDotRef, cosReweightRef, angleScanRef, rotateRef, embedRef, l2normRef, matmulRef, rmsnormRef } from './ops.ts';

export interface InterpretResult {
  /** Every node's value by node id. */
  values: Map<number, Float64Array>;
  /** `graph.outputs` names to their node's value. */
  outputs: Record<string, Float64Array>;
}

interface Ctx {
  graph: Graph;
  weights: ReadonlyMap<string, ArrayLike<number>>;
  tokens: ArrayLike<number>;
  states: ReadonlyMap<string, ArrayLike<number>>;
  values: Map<number, Float64Array>;
  /** Secondary outputs of each mixer node by `which` (S, z, k_cache, ...), for its state_out nodes. */
  finals: Map<number, Record<string, Float64Array>>;
  byId: Map<number, Node>;
}

function shapeText(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

function lastDim(shape: readonly number[]): number {
  return shape[shape.length - 1];
}

function input(ctx: Ctx, id: number, user: Node): Float64Array {
  const v = ctx.values.get(id);
  if (!v) throw new Error(`interpretGraph: node ${user.id} (${user.label}) reads node ${id}, which has no value yet`);
  return v;
}

function shapeOf(ctx: Ctx, id: number): readonly number[] {
  const n = ctx.byId.get(id);
  if (!n) throw new Error(`interpretGraph: no node with id ${id}`);
  return n.type.shape;
}

function toF64(a: ArrayLike<number>): Float64Array {
  return Float64Array.from(a);
}

function tokensValue(ctx: Ctx, node: Node): Float64Array {
  const want = numel(node.type.shape);
  if (ctx.tokens.length !== want) {
    const message = `got ${ctx.tokens.length} token ids, the graph needs ${want} = ${shapeText(node.type.shape)}`;
    throw new LoomError([diag('bad-tokens', { message })]);
  }
  return toF64(ctx.tokens);
}

function weightValue(ctx: Ctx, node: Node & { op: 'weight' }): Float64Array {
  const w = ctx.weights.get(node.name);
  const shape = shapeText(node.type.shape);
  if (!w) throw new LoomError([diag('missing-weight', { name: node.name, shape })]);
  const want = numel(node.type.shape);
  if (w.length !== want) {
    const found = `[${w.length}] (flat)`;
    throw new LoomError([diag('weight-shape', { name: node.name, found, expected: `${shape} = ${want} values` })]);
  }
  return toF64(w);
}

function stateValue(ctx: Ctx, node: Node & { op: 'state_in' }): Float64Array {
  const want = numel(node.type.shape);
  const s = ctx.states.get(node.name);
  if (!s) return new Float64Array(want);
  if (s.length !== want) {
    throw new RangeError(`state '${node.name}' has ${s.length} values, expected ${want} = ${shapeText(node.type.shape)}`);
  }
  return toF64(s);
}

function linearAttnValue(ctx: Ctx, node: Node & { op: 'linear_attn' }): Float64Array {
  const { heads: H, keyDim: K, valueDim: V, feature, normalize, scale, eps, decay, update } = node.knobs;
  const { B, T } = ctx.graph.dims;
  const r = linearAttnRef({
    B, T, H, K, V,
    q: input(ctx, node.q, node),
    k: input(ctx, node.k, node),
    v: input(ctx, node.v, node),
    s0: input(ctx, node.s0, node),
    z0: node.z0 === null ? undefined : input(ctx, node.z0, node),
    g: node.g === null ? undefined : input(ctx, node.g, node),
    beta: node.beta === null ? undefined : input(ctx, node.beta, node),
    feature, normalize, scale, eps, decay, update,
  });
  ctx.finals.set(node.id, r.z ? { S: r.S, z: r.z } : { S: r.S });
  return r.o;
}

function attentionValue(ctx: Ctx, node: Node & { op: 'attention' }): Float64Array {
  const opt = (id: number | null) => (id === null ? undefined : input(ctx, id, node));
  const q = input(ctx, node.q, node);
  let r: ReturnType<typeof attentionRef>;
  try {
    r = attentionRef({ ...ctx.graph.dims, knobs: node.knobs, q, k: input(ctx, node.k, node), v: input(ctx, node.v, node), pos: opt(node.pos), kc0: opt(node.kc0), vc0: opt(node.vc0) });
  } catch (e) {
    if (!(e instanceof CacheOverflow)) throw e;
    throw new LoomError([diag('kv-cache-full', { layer: node.label, message: e.message, last: node.knobs.maxLen - 1, maxLen: node.knobs.maxLen })]);
  }
  ctx.finals.set(node.id, { k_cache: r.kCache, v_cache: r.vCache });
  return r.o;
}

function stateOutValue(ctx: Ctx, node: Node & { op: 'state_out' }): Float64Array {
  const v = ctx.finals.get(node.mixer)?.[node.which];
  if (!v) throw new Error(`interpretGraph: state_out '${node.name}' reads '${node.which}', which node ${node.mixer} does not produce`);
  return v;
}

/** One product of matmul node `m` (its own or a part): x (through the fused norm) times w, then the epilogue. */
function matmulValue(ctx: Ctx, m: Node & { op: 'matmul' }, p: MatmulProductOp, outShape: readonly number[]): Float64Array {
  const xs = shapeOf(ctx, m.x);
  const K = lastDim(xs);
  const M = numel(xs) / K;
  const N = lastDim(outShape);
  let x = input(ctx, m.x, m);
  if (m.norm) x = rmsnormRef(x, input(ctx, m.norm.weight, m), M, K, m.norm.eps);
  const product = matmulRef(x, input(ctx, p.w, m), M, K, N, m.transposeW);
  if (!p.epilogue) return product;
  const second = p.w2 === undefined ? [] : [matmulRef(x, input(ctx, p.w2, m), M, K, N, m.transposeW)];
  return elementwiseRef(p.epilogue.expr, [product, ...second, ...p.epilogue.inputs.map((i) => input(ctx, i, m))], product.length);
}

function evalNode(ctx: Ctx, node: Node): Float64Array {
  switch (node.op) {
    case 'tokens':
      return tokensValue(ctx, node);
    case 'weight':
      return weightValue(ctx, node);
    case 'state_in':
      return stateValue(ctx, node);
    case 'embed': {
      const [vocab, dim] = shapeOf(ctx, node.table);
      return embedRef(input(ctx, node.table, node), input(ctx, node.ids, node), vocab, dim);
    }
    case 'matmul':
      return matmulValue(ctx, node, node, node.type.shape);
    case 'matmul_part': {
      const g = ctx.byId.get(node.group);
      if (g?.op !== 'matmul' || !g.parts?.[node.index - 1]) throw new Error(`interpretGraph: matmul_part ${node.label} names no part of node ${node.group}`);
      return matmulValue(ctx, g, g.parts[node.index - 1], node.type.shape);
    }
    case 'rmsnorm': {
      const D = node.group ?? lastDim(shapeOf(ctx, node.x));
      const M = numel(shapeOf(ctx, node.x)) / D;
      return rmsnormRef(input(ctx, node.x, node), input(ctx, node.weight, node), M, D, node.eps);
    }
    case 'l2norm': {
      const M = numel(shapeOf(ctx, node.x)) / node.group;
      return l2normRef(input(ctx, node.x, node), M, node.group, node.eps);
    }
    case 'conv1d': {
      const [B, T, C] = node.type.shape;
      const W = shapeOf(ctx, node.weight)[1];
      return conv1dRef(input(ctx, node.x, node), input(ctx, node.weight, node), input(ctx, node.tail, node), B, T, C, W, node.activation);
    }
    case 'flip': {
      const [B, T, C] = node.type.shape;
      return flipRef(input(ctx, node.x, node), B, T, C, node.shift);
    }
    case 'cos_reweight': {
      const [B, T, W] = shapeOf(ctx, node.x);
      return cosReweightRef(input(ctx, node.x, node), input(ctx, node.pos, node), B, T, W / node.group, node.group, node.maxLen);
    }
    case 'angle_scan': {
      const [B, T, G] = shapeOf(ctx, node.x);
      return angleScanRef(input(ctx, node.x, node), input(ctx, node.s0, node), B, T, G, node.group, node.theta);
    }
    case 'rotate': {
      const [B, T, width] = node.type.shape;
      return rotateRef(input(ctx, node.x, node), input(ctx, node.angles, node), B, T, width, node.group, shapeOf(ctx, node.angles)[2]);
    }
    case 'head_dot': {
      const [B, T, H] = node.type.shape;
      return headDotRef(input(ctx, node.a, node), input(ctx, node.c, node), B * T, H, node.group);
    }
    case 'outer': {
      const [B, T] = node.type.shape;
      const a = node.a === null ? null : input(ctx, node.a, node);
      const c = node.c === null ? null : input(ctx, node.c, node);
      return outerRef(a, c, B * T, node.heads, node.width);
    }
    case 'length_norm': {
      const [B, T, W] = node.type.shape;
      return lengthNormRef(input(ctx, node.x, node), input(ctx, node.pos, node), input(ctx, node.m, node), B, T, W / node.group, node.group);
    }
    case 'conv_tail': {
      const [B, T, C] = shapeOf(ctx, node.x);
      return convTailRef(input(ctx, node.x, node), input(ctx, node.tail, node), B, T, C, node.type.shape[1]);
    }
    case 'feature_map': {
      const [B, T, HK] = shapeOf(ctx, node.x);
      const weights = node.weights.map((w) => input(ctx, w, node));
      return featureMapRef({ N: B * T, H: HK / node.group, K: node.group, x: input(ctx, node.x, node), map: node.map, weights });
    }
    case 'elementwise':
      return elementwiseRef(node.expr, node.inputs.map((i) => input(ctx, i, node)), numel(node.type.shape));
    case 'linear_attn':
      return linearAttnValue(ctx, node);
    case 'rope': {
      const [B, T, width] = node.type.shape;
      return ropeRef(input(ctx, node.x, node), B, T, width, node.group, node.theta, node.pos === null ? undefined : input(ctx, node.pos, node));
    }
    case 'attention':
      return attentionValue(ctx, node);
    case 'softmax':
      return softmaxRef(input(ctx, node.x, node), node.group);
    case 'state_out':
      return stateOutValue(ctx, node);
    case 'family': {
      const r = familyRef(node, node.inputs.map((i) => input(ctx, i, node)), node.inputs.map((i) => shapeOf(ctx, i)));
      if (r instanceof Float64Array) return r;
      ctx.finals.set(node.id, r.finals);
      return r.out;
    }
  }
}

/**
 * Evaluates every node of `graph` in float64. `weights` maps weight names to their values
 * (exact length), `tokens` are the ids `[B, T]`, `states` the carried recurrent states by
 * `state_in` name (zeros when absent).
 */
export function interpretGraph(
  graph: Graph,
  weights: ReadonlyMap<string, ArrayLike<number>>,
  tokens: ArrayLike<number>,
  states: ReadonlyMap<string, ArrayLike<number>> = new Map(),
): InterpretResult {
  const ctx: Ctx = {
    graph, weights, tokens, states,
    values: new Map(),
    finals: new Map(),
    byId: new Map(graph.nodes.map((n) => [n.id, n])),
  };
  for (const node of graph.nodes) {
    const v = evalNode(ctx, node);
    const want = numel(node.type.shape);
    if (v.length !== want) {
      throw new Error(`interpretGraph: node ${node.id} (${node.label}) produced ${v.length} values, its shape ${shapeText(node.type.shape)} has ${want}`);
    }
    ctx.values.set(node.id, v);
  }
  const outputs: Record<string, Float64Array> = {};
  for (const [name, id] of Object.entries(graph.outputs)) {
    const v = ctx.values.get(id);
    if (!v) throw new Error(`interpretGraph: output '${name}' names node ${id}, which is not in the graph`);
    outputs[name] = v;
  }
  return { values: ctx.values, outputs };
}
