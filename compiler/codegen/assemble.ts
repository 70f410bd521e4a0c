/**
 * assemble(graph, plan) -> ProgramSpec: one buffer per tensor the kernels touch, and the kernels
 * in graph order. Mixer nodes expand into their schedule's kernels (registry), the rest map to
 * one glue kernel each.
 */
import { LoomInternalError } from '../../grammar/diagnostics.ts';
import { matmulProducts, numel, type Graph, type Node } from '../ir/graph.ts';
import { familyOpOf } from '../mixers/family-op.ts';
import { mixerOpOf } from '../mixers/registry.ts';
import type { Plan } from '../plan/plan.ts';
import { conv1dKernel, convTailKernel, lengthNormKernel, outerKernel, flipKernel, headDotKernel, cosReweightKernel, angleScanKernel, rotateKernel, elementwiseKernel, embedKernel, featureMapKernel, matmulKernel, rmsnormKernel } from './kernels/index.ts';
import type { BufferDecl, BufferRole, ProgramSpec, Step } from './program.ts';
import { ropeKernel } from './kernels/rope.ts';
import { matmulNodeDims } from './kernels/matmul.ts';
import { softmaxKernel } from './kernels/softmax.ts';
import { attentionProgram, type AttentionVariant } from '../mixers/attention/index.ts';

/** Buffer name of every node: its graph output name if it is one, else its weight name or label. */
export function bufferNames(g: Graph): string[] {
  const outputOf = new Map(Object.entries(g.outputs).map(([name, id]) => [id, name]));
  return g.nodes.map((n) => outputOf.get(n.id) ?? (n.op === 'weight' ? n.name : n.label));
}

function roleOf(n: Node, isOutput: boolean): BufferRole {
  if (n.op === 'weight') return 'weight';
  if (n.op === 'tokens') return 'input';
  if (n.op === 'state_in') return 'state_in';
  if (n.op === 'state_out') return 'state_out';
  return isOutput ? 'output' : 'activation';
}

/** The weight ids a matmul node reads as `w`/`w2` of its products. */
function matmulWeightIds(n: Node): number[] {
  if (n.op !== 'matmul') throw new LoomInternalError('assemble', `matmul plan for ${n.label}, a ${n.op} node`);
  return matmulProducts(n).flatMap((p) => (p.w2 === undefined ? [p.w] : [p.w, p.w2]));
}

export function assemble(g: Graph, plan: Plan): ProgramSpec {
  const names = bufferNames(g);
  const outputs = new Set(Object.values(g.outputs));
  // Weights of the matmuls planned with f16 weights are stored f16 (every reader of them is one).
  const f16 = new Set(plan.matmuls.flatMap((m) => (m.weights === 'f16' ? matmulWeightIds(g.nodes[m.node]) : [])));
  const buffers: BufferDecl[] = g.nodes.map((n) => ({
    name: names[n.id],
    elem: f16.has(n.id) ? 'f16' : n.type.dtype,
    elements: numel(n.type.shape),
    role: roleOf(n, outputs.has(n.id)),
  }));
  const steps: Step[] = [];
  const mixerPlans = new Map(plan.mixers.map((m) => [m.node, m]));
  const matmulPlans = new Map(plan.matmuls.map((m) => [m.node, m]));
  const lastDim = (id: number) => g.nodes[id].type.shape.at(-1)!;
  const stateOuts = new Map<string, string>(); // `${mixer}.${which}` -> buffer
  for (const m of g.nodes) if (m.op === 'state_out') stateOuts.set(`${m.mixer}.${m.which}`, names[m.id]);
  for (const n of g.nodes) {
    const name = n.label;
    const out = names[n.id];
    const arg = (id: number) => names[id];
    switch (n.op) {
      case 'tokens':
      case 'weight':
      case 'state_in':
      case 'state_out':
        break;
      case 'embed': {
        const [vocab, dim] = g.nodes[n.table].type.shape;
        steps.push({ kernel: embedKernel({ name, tokens: numel(g.nodes[n.ids].type.shape), vocab, dim }), args: [arg(n.table), arg(n.ids), out] });
        break;
      }
      case 'matmul': {
        const p = matmulPlans.get(n.id);
        if (!p) throw new LoomInternalError('assemble', `matmul ${name} has no plan`);
        // One kernel writes the group's own output and each matmul_part's buffer.
        const { dims, args } = matmulNodeDims(g, n);
        steps.push({ kernel: matmulKernel({ name, ...dims, ...(p.weights ? { weights: p.weights } : {}), variant: p.variant }), args: args.map(arg) });
        break;
      }
      case 'matmul_part':
        break;
      case 'rmsnorm': {
        const dim = n.group ?? lastDim(n.x);
        steps.push({ kernel: rmsnormKernel({ name, rows: numel(n.type.shape) / dim, dim, eps: n.eps }), args: [arg(n.x), arg(n.weight), out] });
        break;
      }
      case 'l2norm':
        steps.push({ kernel: rmsnormKernel({ name, rows: numel(n.type.shape) / n.group, dim: n.group, eps: n.eps, l2: true }), args: [arg(n.x), out] });
        break;
      case 'conv1d': {
        const [B, T, C] = n.type.shape;
        const W = g.nodes[n.weight].type.shape[1];
        steps.push({ kernel: conv1dKernel({ name, B, T, C, W, activation: n.activation }), args: [arg(n.x), arg(n.weight), arg(n.tail), out] });
        break;
      }
      case 'flip': {
        const [B, T, C] = n.type.shape;
        steps.push({ kernel: flipKernel({ name, B, T, C, shift: n.shift }), args: [arg(n.x), out] });
        break;
      }
      case 'cos_reweight': {
        const [B, T, W] = g.nodes[n.x].type.shape;
        steps.push({ kernel: cosReweightKernel({ name, B, T, H: W / n.group, G: n.group, maxLen: n.maxLen }), args: [arg(n.x), arg(n.pos), out] });
        break;
      }
      case 'angle_scan': {
        const [B, T, G] = g.nodes[n.x].type.shape;
        steps.push({ kernel: angleScanKernel({ name, B, T, G, D: n.group, theta: n.theta }), args: [arg(n.x), arg(n.s0), out] });
        break;
      }
      case 'rotate': {
        const [B, T, width] = n.type.shape;
        const GA = g.nodes[n.angles].type.shape[2] / (n.group / 2);
        steps.push({ kernel: rotateKernel({ name, B, T, G: width / n.group, GA, D: n.group }), args: [arg(n.x), arg(n.angles), out] });
        break;
      }
      case 'head_dot': {
        const [B, T, H] = n.type.shape;
        steps.push({ kernel: headDotKernel({ name, rows: B * T, H, G: n.group }), args: [arg(n.a), arg(n.c), out] });
        break;
      }
      case 'outer': {
        const [B, T] = n.type.shape;
        const kernel = outerKernel({ name, rows: B * T, heads: n.heads, width: n.width, a: n.a !== null, c: n.c !== null });
        steps.push({ kernel, args: [...(n.a === null ? [] : [arg(n.a)]), ...(n.c === null ? [] : [arg(n.c)]), out] });
        break;
      }
      case 'length_norm': {
        const [B, T, W] = n.type.shape;
        steps.push({ kernel: lengthNormKernel({ name, B, T, H: W / n.group, G: n.group }), args: [arg(n.x), arg(n.pos), arg(n.m), out] });
        break;
      }
      case 'conv_tail': {
        const [B, T, C] = g.nodes[n.x].type.shape;
        steps.push({ kernel: convTailKernel({ name, B, T, C, W: n.type.shape[1] + 1 }), args: [arg(n.x), arg(n.tail), out] });
        break;
      }
      case 'feature_map': {
        const [B, T, HK] = g.nodes[n.x].type.shape;
        const kernel = featureMapKernel({ name, N: B * T, H: HK / n.group, K: n.group, map: n.map });
        steps.push({ kernel, args: [arg(n.x), ...n.weights.map(arg), out] });
        break;
      }
      case 'elementwise':
        steps.push({
          kernel: elementwiseKernel({
            name,
            elements: numel(n.type.shape),
            expr: n.expr,
            arity: n.inputs.length,
            inputElements: n.inputs.map((i) => numel(g.nodes[i].type.shape)),
          }),
          args: [...n.inputs.map(arg), out],
        });
        break;
      case 'softmax':
        steps.push({ kernel: softmaxKernel({ name, rows: numel(n.type.shape) / n.group, D: n.group }), args: [arg(n.x), out] });
        break;
      case 'rope': {
        const [B, T, width] = n.type.shape;
        const kernel = ropeKernel({ name, B, T, width, D: n.group, theta: n.theta, positions: n.pos !== null });
        steps.push({ kernel, args: [arg(n.x), ...(n.pos === null ? [] : [arg(n.pos)]), out] });
        break;
      }
      case 'attention': {
        const p = mixerPlans.get(n.id);
        if (!p?.variant) throw new LoomInternalError('assemble', `attention ${name} has no plan`);
        const opt = (id: number | null) => (id === null ? null : arg(id));
        const cache = (which: string) => stateOuts.get(`${n.id}.${which}`) ?? null;
        // The KV cache is updated in place: each state output names its state input's buffer.
        for (const [which, input] of [['k_cache', n.kc0], ['v_cache', n.vc0]] as const) {
          const decl = buffers.find((b) => b.name === cache(which));
          if (decl && input !== null) decl.alias = arg(input);
        }
        const buffersOf = { q: arg(n.q), k: arg(n.k), v: arg(n.v), pos: opt(n.pos), kc0: opt(n.kc0), vc0: opt(n.vc0), o: out, kCache: cache('k_cache'), vCache: cache('v_cache') };
        const sub = attentionProgram({ label: name, ...g.dims, knobs: n.knobs, variant: p.variant as AttentionVariant, buffers: buffersOf });
        buffers.push(...sub.buffers);
        steps.push(...sub.steps);
        break;
      }
      case 'linear_attn': {
        const p = mixerPlans.get(n.id);
        if (!p) throw new LoomInternalError('assemble', `mixer ${name} has no plan`);
        // A scan whose final state nobody reads (the scans of non-causal mixers) writes it to scratch.
        const scratch = (which: 'S' | 'z', from: number) => {
          buffers.push({ name: `${name}.${which}_final`, elem: 'f32', elements: numel(g.nodes[from].type.shape), role: 'activation' });
          return `${name}.${which}_final`;
        };
        const stateOf = (which: 'S' | 'z') => stateOuts.get(`${n.id}.${which}`) ?? (which === 'S' ? scratch('S', n.s0) : n.z0 === null ? null : scratch('z', n.z0));
        const variant = p.variant === undefined ? {} : { variant: p.variant };
        const sub = mixerOpOf(n)!.program(n, p.schedule, { ...g.dims, chunk: p.chunk, unrollK: p.unrollK === true, ...variant }, {
          inputs: {
            q: arg(n.q),
            k: arg(n.k),
            v: arg(n.v),
            s0: arg(n.s0),
            z0: n.z0 === null ? null : arg(n.z0),
            g: n.g === null ? null : arg(n.g),
            beta: n.beta === null ? null : arg(n.beta),
          },
          output: out,
          states: { S: stateOf('S'), z: stateOf('z') },
        });
        buffers.push(...sub.buffers);
        steps.push(...sub.steps);
        break;
      }
      case 'family': {
        const p = mixerPlans.get(n.id);
        if (!p?.variant) throw new LoomInternalError('assemble', `${n.family} op ${name} has no planned variant`);
        const states = Object.fromEntries((n.states ?? []).map((w) => [w, stateOuts.get(`${n.id}.${w}`) ?? null]));
        const op = familyOpOf(n.family);
        for (const [which, input] of Object.entries(op.inPlace?.(n) ?? {})) {
          const decl = buffers.find((b) => b.name === states[which]);
          if (decl) decl.alias = arg(n.inputs[input]);
        }
        const sub = op.program(n, p.variant, g.dims, { inputs: n.inputs.map(arg), output: out, states });
        buffers.push(...sub.buffers);
        steps.push(...sub.steps);
        break;
      }
    }
  }
  return { buffers, steps };
}
