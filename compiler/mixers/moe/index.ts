/**
 * MoE feed-forward (Shazeer et al. 2017; Switch / Sparse Mixer routing): E SwiGLU experts, a
 * softmax router renormalised over the top-k experts of each token. One `family` node with inputs
 * [x, logits, W_gate, W_up, W_down]; see kernels.ts for the three kernels and why gather.
 */
import type { BufferDecl, Step } from '../../codegen/program.ts';
import type { Node } from '../../ir/graph.ts';
import type { FamilyNode, FamilyOp, Support } from '../family-op.ts';
import { expertHiddenKernel, expertOutKernel, routeKernel, type MoeShape } from './kernels.ts';

const same = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((x, i) => x === b[i]);

function shapeOf(n: FamilyNode): MoeShape {
  const [B, T, D] = n.type.shape;
  return { tokens: B * T, D, E: n.attrs.experts as number, K: n.attrs.topK as number, N: n.attrs.hidden as number };
}

export function moeProgram(label: string, s: MoeShape, b: { x: string; logits: string; gate: string; up: string; down: string; y: string }): { buffers: BufferDecl[]; steps: Step[] } {
  const sel = `${label}.sel`;
  const weight = `${label}.weight`;
  const h = `${label}.h`;
  return {
    buffers: [
      { name: sel, elem: 'u32', elements: s.tokens * s.K, role: 'activation' },
      { name: weight, elem: 'f32', elements: s.tokens * s.K, role: 'activation' },
      { name: h, elem: 'f32', elements: s.tokens * s.K * s.N, role: 'activation' },
    ],
    steps: [
      { kernel: routeKernel(`${label}.route`, s), args: [b.logits, sel, weight] },
      { kernel: expertHiddenKernel(`${label}.expert_h`, s), args: [b.x, sel, b.gate, b.up, h] },
      { kernel: expertOutKernel(`${label}.expert_out`, s), args: [h, sel, weight, b.down, b.y] },
    ],
  };
}

export function moeSupports(s: MoeShape, limits: { maxStorageBufferBindingSize: number; maxBufferSize: number }): Support {
  const max = Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize);
  const h = s.tokens * s.K * s.N * 4;
  if (h > max) return { ok: false, reason: `the expert activations need ${h} bytes, over the device's ${max}-byte binding limit` };
  return { ok: true };
}

export const MOE_OP: FamilyOp = {
  family: 'moe',
  causal: () => true,
  verify: (n: FamilyNode, inputs: readonly Node[]) => {
    const { E, K, N, D } = shapeOf(n);
    const [B, T] = n.type.shape;
    const want = [[B, T, D], [B, T, E], [E, D, N], [E, D, N], [E, N, D]];
    if (inputs.length !== 5 || !inputs.every((x, i) => same(x.type.shape, want[i]))) return `moe inputs must be x, logits, gate, up, down shaped ${JSON.stringify(want)}`;
    return K >= 1 && K <= E ? undefined : `moe top_k = ${K} must be in 1..${E}`;
  },
  describe: (a) => ` E=${a.experts} top_k=${a.topK} N=${a.hidden}`,
  variants: () => ['gather'],
  supports: (n, _v, _d, limits) => moeSupports(shapeOf(n), limits),
  cost: (n) => {
    const s = shapeOf(n);
    return { flops: s.tokens * (s.K * 6 * s.D * s.N + 4 * s.E), bytes: 4 * s.tokens * s.K * (3 * s.D * s.N + s.N), serialSteps: s.D + s.K * s.N, threads: s.tokens * s.K * s.N, dispatches: 3 };
  },
  program: (n, _v, _d, b) => {
    const [x, logits, gate, up, down] = b.inputs;
    return moeProgram(n.label, shapeOf(n), { x, logits, gate, up, down, y: b.output });
  },
};
