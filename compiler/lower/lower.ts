/**
 * lower(spec, dims) -> Graph: embedding, `layers` copies of the block, final RMSNorm, LM head.
 *
 * Weight names (the safetensors layout of a Loom model):
 *   embed.weight [vocab, dim]; layers.<i>.<mixer>.{q,k,v}.weight [dim, H*K|H*V], .o.weight [H*V, dim];
 *   layers.<i>.norm<j>.weight [dim] (j counts rmsnorm calls in the block);
 *   layers.<i>.mlp<j>.{gate,up}.weight [dim, hidden], .down.weight [hidden, dim];
 *   norm_f.weight [dim]; lm_head.weight [dim, vocab] when the head is untied.
 */
import { GraphBuilder } from '../ir/builder.ts';
import type { EwExpr, Graph } from '../ir/graph.ts';
import { familyOf } from '../mixers/registry.ts';
import { lowerMoe } from '../mixers/moe/lower.ts';
import { lowerMonarchMlp } from '../mixers/monarch/mlp.ts';
import { mixerOfLayer, type BlockExpr, type ModelSpec } from '../check/spec.ts';

export interface LowerOptions {
  B: number;
  T: number;
}

const IN0: EwExpr = { kind: 'in', index: 0 };
const IN1: EwExpr = { kind: 'in', index: 1 };

export function lower(spec: ModelSpec, dims: LowerOptions): Graph {
  const g = new GraphBuilder({ B: dims.B, T: dims.T });
  const { B, T } = dims;
  const D = spec.dim;
  const act = (width: number) => ({ shape: [B, T, width], dtype: 'f32' as const });
  const tokens = g.add({ op: 'tokens' }, { shape: [B, T], dtype: 'i32' }, 'tokens', -1);
  const table = g.weight('embed.weight', [spec.vocab, D], { kind: 'normal', std: 1 }, -1);
  let x = g.add({ op: 'embed', table, ids: tokens }, act(D), 'embed', -1);

  for (let layer = 0; layer < spec.layers; layer++) {
    const counters = { norm: 0, mlp: 0, moe: 0, mmlp: 0 };
    const vars = new Map<string, number>([['x', x]]);
    const emit = (e: BlockExpr): number => {
      const label = `L${layer}`;
      switch (e.kind) {
        case 'var':
          return vars.get(e.name)!;
        case 'add':
        case 'mul': {
          const a = emit(e.left);
          const b = emit(e.right);
          const expr: EwExpr = { kind: 'fn', fn: e.kind, args: [IN0, IN1] };
          return g.add({ op: 'elementwise', expr, inputs: [a, b] }, act(e.width), `${label}.${e.kind}`, layer);
        }
        case 'silu':
        case 'elu1': {
          const a = emit(e.arg);
          return g.add({ op: 'elementwise', expr: { kind: 'fn', fn: e.kind, args: [IN0] }, inputs: [a] }, act(e.width), `${label}.${e.kind}`, layer);
        }
        case 'rmsnorm': {
          const a = emit(e.arg);
          const j = counters.norm++;
          const w = g.weight(`layers.${layer}.norm${j}.weight`, [e.width], { kind: 'ones' }, layer);
          return g.add({ op: 'rmsnorm', x: a, weight: w, eps: e.eps }, act(e.width), `${label}.norm${j}`, layer);
        }
        case 'swiglu':
          return swiglu(g, emit(e.arg), e.width, e.hidden, layer, counters.mlp++, act);
        case 'moe':
          return lowerMoe(g, emit(e.arg), e, e.width, layer, counters.moe++);
        case 'monarch_mlp':
          return lowerMonarchMlp(g, emit(e.arg), e.expand, e.width, layer, counters.mmlp++);
        case 'mixer': {
          const m = spec.mixers[mixerOfLayer(spec, e.mixer, layer)];
          return familyOf(m).lower(g, m, emit(e.arg), layer, D);
        }
      }
    };
    for (const s of spec.block) vars.set(s.target, emit(s.expr));
    x = vars.get('x')!;
  }

  const normF = g.weight('norm_f.weight', [D], { kind: 'ones' }, -1);
  const xf = g.add({ op: 'rmsnorm', x, weight: normF, eps: spec.normEps }, act(D), 'norm_f', -1);
  const logits =
    spec.head === 'tied'
      ? g.add({ op: 'matmul', x: xf, w: table, transposeW: true }, act(spec.vocab), 'lm_head', -1)
      : g.add(
          { op: 'matmul', x: xf, w: g.weight('lm_head.weight', [D, spec.vocab], { kind: 'normal', std: 1 / Math.sqrt(D) }, -1), transposeW: false },
          act(spec.vocab),
          'lm_head',
          -1,
        );
  g.output('logits', logits);
  return g.finish();
}

/** SwiGLU MLP: down(silu(x Wgate) * (x Wup)). */
function swiglu(
  g: GraphBuilder,
  x: number,
  dim: number,
  hidden: number,
  layer: number,
  j: number,
  act: (w: number) => { shape: number[]; dtype: 'f32' },
): number {
  const prefix = `layers.${layer}.mlp${j}`;
  const label = `L${layer}.mlp${j}`;
  const proj = (name: string, from: number, to: number, input: number) => {
    const w = g.weight(`${prefix}.${name}.weight`, [from, to], { kind: 'normal', std: 1 / Math.sqrt(from) }, layer);
    return g.add({ op: 'matmul', x: input, w, transposeW: false }, act(to), `${label}.${name}`, layer);
  };
  const gate = proj('gate', dim, hidden, x);
  const up = proj('up', dim, hidden, x);
  const s = g.add({ op: 'elementwise', expr: { kind: 'fn', fn: 'silu', args: [IN0] }, inputs: [gate] }, act(hidden), `${label}.silu`, layer);
  const h = g.add({ op: 'elementwise', expr: { kind: 'fn', fn: 'mul', args: [IN0, IN1] }, inputs: [s, up] }, act(hidden), `${label}.act`, layer);
  return proj('down', hidden, dim, h);
}
