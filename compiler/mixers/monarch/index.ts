/**
 * Monarch Mixer sequence mixing (Fu et al. 2023, M2): `o = (q * M(k * v)) W_o` with q, k, v = x W
 * and M a Monarch matrix `P L P R P` of size `max_len = b^2` along T (non-causal), learned L, R
 * `[b, b, b]` shared by the channels. Windows shorter than max_len are zero-padded; longer ones
 * are refused at plan time (LOOM4021); a max_len that is not a perfect square is a checker error.
 */
import type { Assign, Span } from '../../../grammar/ast.ts';
import type { Ctx } from '../../check/eval.ts';
import type { MixerSpec, StatelessMixer } from '../../check/spec.ts';
import type { BufferDecl, Step } from '../../codegen/program.ts';
import type { GraphBuilder } from '../../ir/builder.ts';
import type { EwExpr, Node } from '../../ir/graph.ts';
import type { FamilyNode, FamilyOp } from '../family-op.ts';
import { addFamilyNode, checkKnobs } from '../stateless.ts';
import { monarchLeftKernel, monarchRightKernel, type MonarchShape } from './kernels.ts';

export function checkMonarch(name: string, preset: string, knobs: readonly Assign[], env: ReadonlyMap<string, number>, dim: number, span: Span, ctx: Ctx): StatelessMixer | undefined {
  const m = checkKnobs('monarch', name, preset, knobs, env, dim, span, ctx, [{ name: 'max_len', kind: 'dim', fallback: () => 256 }]);
  if (!m) return undefined;
  const n = m.knobs.max_len as number;
  const b = Math.round(Math.sqrt(n));
  if (b * b !== n) {
    const lo = Math.floor(Math.sqrt(n)) ** 2;
    const hi = Math.ceil(Math.sqrt(n)) ** 2;
    const at = knobs.find((k) => k.name.name === 'max_len')!;
    ctx.error('bad-block', { message: `mixer '${name}': max_len = ${n} is not a perfect square b^2 (a Monarch matrix has b blocks of b x b); the nearest are ${lo} and ${hi}` }, at.value.span);
    return undefined;
  }
  return m;
}

const IN0: EwExpr = { kind: 'in', index: 0 };
const IN1: EwExpr = { kind: 'in', index: 1 };
const MUL: EwExpr = { kind: 'fn', fn: 'mul', args: [IN0, IN1] };

export function lowerMonarch(g: GraphBuilder, m: MixerSpec, x: number, layer: number, dim: number): number {
  const s = m as StatelessMixer;
  const n = s.knobs.max_len as number;
  const b = Math.round(Math.sqrt(n));
  const { B, T } = g.dims;
  const prefix = `layers.${layer}.${s.name}`;
  const label = `L${layer}.${s.name}`;
  const act = { shape: [B, T, dim], dtype: 'f32' as const };
  const proj = (input: number, part: string) =>
    g.add({ op: 'matmul', x: input, w: g.weight(`${prefix}.${part}.weight`, [dim, dim], { kind: 'normal', std: 1 / Math.sqrt(dim) }, layer), transposeW: false }, act, `${label}.${part}`, layer);
  const [q, k, v] = [proj(x, 'q'), proj(x, 'k'), proj(x, 'v')];
  const kv = g.add({ op: 'elementwise', expr: MUL, inputs: [k, v] }, act, `${label}.kv`, layer);
  const monarch = (part: string) => g.weight(`${prefix}.${part}.weight`, [b, b, b], { kind: 'normal', std: 1 / Math.sqrt(b) }, layer);
  const y = addFamilyNode(g, s, [kv, monarch('monarch_l'), monarch('monarch_r')], { blocks: b }, dim, layer);
  const o = g.add({ op: 'elementwise', expr: MUL, inputs: [q, y] }, act, `${label}.gate`, layer);
  return proj(o, 'o');
}

export function monarchProgram(label: string, s: MonarchShape, names: { x: string; l: string; r: string; y: string }): { buffers: BufferDecl[]; steps: Step[] } {
  const u = `${label}.u`;
  return {
    buffers: [{ name: u, elem: 'f32', elements: s.B * s.b * s.b * s.C, role: 'activation' }],
    steps: [
      { kernel: monarchRightKernel(`${label}.monarch_r`, s), args: [names.x, names.r, u] },
      { kernel: monarchLeftKernel(`${label}.monarch_l`, s), args: [u, names.l, names.y] },
    ],
  };
}

/** Along T (the mixer, per channel), or along D (`axis: 'D'`, monarch_mlp: every token's row is one vector). */
function shapeOf(n: FamilyNode): MonarchShape {
  const [B, T, C] = n.type.shape;
  return n.attrs.axis === 'D' ? { B: B * T, T: C, C: 1, b: n.attrs.blocks as number } : { B, T, C, b: n.attrs.blocks as number };
}

const same = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((x, i) => x === b[i]);

export const MONARCH_OP: FamilyOp = {
  family: 'monarch',
  // Along T it mixes every position; along D (monarch_mlp) it is token-wise.
  causal: (a) => a.axis === 'D',
  verify: (n: FamilyNode, inputs: readonly Node[]) => {
    const b = n.attrs.blocks as number;
    const ok = inputs.length === 3 && same(inputs[0].type.shape, n.type.shape) && same(inputs[1].type.shape, [b, b, b]) && same(inputs[2].type.shape, [b, b, b]);
    if (ok && n.attrs.axis === 'D' && n.type.shape[2] !== b * b) return `monarch along D needs D = ${b * b}, got ${n.type.shape[2]}`;
    return ok ? undefined : `monarch takes x ${JSON.stringify(n.type.shape)} and L, R [${b}, ${b}, ${b}]`;
  },
  describe: (a) => ` n=${(a.blocks as number) ** 2} (${a.blocks} blocks of ${a.blocks}x${a.blocks})${a.axis === 'D' ? ' along D' : ''}`,
  variants: () => ['two_pass'],
  maxLength: (a) => (a.axis === 'D' ? undefined : { maxLen: (a.blocks as number) ** 2, what: 'Monarch matrices (size b^2)' }),
  supports: () => ({ ok: true }),
  cost: (n) => {
    const s = shapeOf(n);
    return { flops: 2 * s.B * s.C * s.b * (s.b * s.b + s.T), bytes: 4 * s.B * s.C * (2 * s.b * s.b + 2 * s.T), serialSteps: s.b, threads: s.B * s.T * s.C, dispatches: 2 };
  },
  program: (n, _v, _d, b) => monarchProgram(n.label, shapeOf(n), { x: b.inputs[0], l: b.inputs[1], r: b.inputs[2], y: b.output }),
};
