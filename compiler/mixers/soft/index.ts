/**
 * SOFT (Lu et al. 2021): softmax-free attention with a Gaussian kernel, approximated through m
 * mean-pooled landmarks and a Newton-Schulz pseudo-inverse; non-causal. Knobs (checked here):
 * `soft { landmarks = 16, iterations = 20, scale = head_dim^-1/4 }` plus heads and head_dim.
 * One `family` node over q, k, v `[B, T, H*D]`; see kernels.ts.
 */
import type { Assign, Span } from '../../../grammar/ast.ts';
import type { Ctx } from '../../check/eval.ts';
import type { MixerSpec, StatelessMixer } from '../../check/spec.ts';
import type { BufferDecl, Step } from '../../codegen/program.ts';
import type { GraphBuilder } from '../../ir/builder.ts';
import type { FamilyAttrs, Node } from '../../ir/graph.ts';
import type { FamilyNode, FamilyOp, WindowDims } from '../family-op.ts';
import { addFamilyNode, checkKnobs } from '../stateless.ts';
import { gramKernel, kvKernel, landmarksKernel, outKernel, pinvKernel, pyKernel, type SoftShape } from './kernels.ts';

/** Landmarks per head at most: the pseudo-inverse runs serially in one invocation, O(m^3) per iteration. */
export const MAX_LANDMARKS = 64;

export function checkSoft(name: string, preset: string, knobs: readonly Assign[], env: ReadonlyMap<string, number>, dim: number, span: Span, ctx: Ctx): StatelessMixer | undefined {
  const m = checkKnobs('soft', name, preset, knobs, env, dim, span, ctx, [
    { name: 'heads', kind: 'dim', fallback: (k) => k.get('heads') },
    {
      name: 'head_dim',
      kind: 'dim',
      fallback: (k, d) => (k.has('heads') && d % k.get('heads')! === 0 ? d / k.get('heads')! : undefined),
      missing: (k, d) => (k.has('heads') ? `dim = ${d} is not divisible by heads = ${k.get('heads')}; set head_dim` : 'set heads (here or in the model)'),
    },
    { name: 'landmarks', kind: 'dim', fallback: () => 16 },
    { name: 'iterations', kind: 'dim', fallback: () => 20 },
    { name: 'scale', kind: 'number', fallback: (k) => (k.has('head_dim') ? k.get('head_dim')! ** -0.25 : undefined) },
  ]);
  if (m && (m.knobs.landmarks as number) > MAX_LANDMARKS) {
    const at = knobs.find((k) => k.name.name === 'landmarks')!;
    ctx.error('too-large', { what: `${name}.landmarks`, value: m.knobs.landmarks as number, max: MAX_LANDMARKS }, at.value.span);
    return undefined;
  }
  return m;
}

export function lowerSoft(g: GraphBuilder, m: MixerSpec, x: number, layer: number, dim: number): number {
  const s = m as StatelessMixer;
  const k = s.knobs as Record<string, number>;
  const width = k.heads * k.head_dim;
  const { B, T } = g.dims;
  const proj = (input: number, part: string, from: number, to: number) => {
    const w = g.weight(`layers.${layer}.${s.name}.${part}.weight`, [from, to], { kind: 'normal', std: 1 / Math.sqrt(from) }, layer);
    return g.add({ op: 'matmul', x: input, w, transposeW: false }, { shape: [B, T, to], dtype: 'f32' }, `L${layer}.${s.name}.${part}`, layer);
  };
  const attrs = { heads: k.heads, headDim: k.head_dim, landmarks: k.landmarks, iterations: k.iterations, scale: k.scale };
  const o = addFamilyNode(g, s, [proj(x, 'q', dim, width), proj(x, 'k', dim, width), proj(x, 'v', dim, width)], attrs, width, layer);
  return proj(o, 'o', width, dim);
}

export function softShape(a: FamilyAttrs, d: WindowDims): SoftShape {
  const n = (key: string) => a[key] as number;
  return { B: d.B, T: d.T, H: n('heads'), D: n('headDim'), M: n('landmarks'), iterations: n('iterations'), scale: n('scale') };
}

export function softProgram(label: string, s: SoftShape, b: { q: string; k: string; v: string; o: string }): { buffers: BufferDecl[]; steps: Step[] } {
  const lm = s.B * s.H * s.M * s.D;
  const mm = s.B * s.H * s.M * s.M;
  const t = (name: string, elements: number): BufferDecl => ({ name: `${label}.${name}`, elem: 'f32', elements, role: 'activation' });
  const buffers = [t('lmk', lm), t('gram', mm), t('pinv', mm), t('ns', 2 * mm), t('z', lm), t('y', lm)];
  const [lmk, gram, pinv, ns, z, y] = buffers.map((x) => x.name);
  return {
    buffers,
    steps: [
      { kernel: landmarksKernel(`${label}.landmarks`, s), args: [b.q, lmk] },
      { kernel: gramKernel(`${label}.gram`, s), args: [lmk, gram] },
      { kernel: pinvKernel(`${label}.pinv`, s), args: [gram, pinv, ns] },
      { kernel: kvKernel(`${label}.kv`, s), args: [lmk, b.k, b.v, z] },
      { kernel: pyKernel(`${label}.py`, s), args: [pinv, z, y] },
      { kernel: outKernel(`${label}.out`, s), args: [b.q, lmk, y, b.o] },
    ],
  };
}

const same = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((x, i) => x === b[i]);

export const SOFT_OP: FamilyOp = {
  family: 'soft',
  causal: () => false,
  verify: (n: FamilyNode, inputs: readonly Node[]) => {
    const [B, T, W] = n.type.shape;
    const ok = inputs.length === 3 && inputs.every((x) => same(x.type.shape, [B, T, W])) && W === (n.attrs.heads as number) * (n.attrs.headDim as number);
    return ok ? undefined : 'soft takes q, k, v shaped like its output [B, T, heads * head_dim]';
  },
  describe: (a) => ` H=${a.heads} D=${a.headDim} landmarks=${a.landmarks} iterations=${a.iterations}`,
  variants: () => ['landmarks'],
  supports: (n, _v, d) => {
    const s = softShape(n.attrs, d);
    return d.T < s.M ? { ok: false, reason: `T = ${d.T} is shorter than landmarks = ${s.M}: every landmark averages at least one token` } : { ok: true };
  },
  cost: (n, _v, d) => {
    const s = softShape(n.attrs, d);
    const g = 3 * s.D + 10;
    return { flops: s.B * s.H * (2 * s.T * s.M * (g + s.D) + 4 * s.iterations * s.M ** 3), bytes: 4 * s.B * s.T * s.H * s.D * 4, serialSteps: 2 * s.iterations * s.M ** 3, threads: s.B * s.T * s.H * s.D, dispatches: 6 };
  },
  program: (n, _v, d, b) => softProgram(n.label, softShape(n.attrs, d), { q: b.inputs[0], k: b.inputs[1], v: b.inputs[2], o: b.output }),
};
