/**
 * Lowers a gated-linear-recurrence mixer to graph nodes (x is the layer input `[B, T, D]`):
 *   q = phi(x Wq), k = phi(x Wk), v = x Wv      ([B,T,H*K], [B,T,H*K], [B,T,H*V])
 *   g  = gate(x)   (scalar `[B,T,H]` or vector `[B,T,H*K]` log-gates, per GateSpec)
 *   beta = scale * sigmoid(x Wb)                (delta rule, `[B,T,H]`)
 *   o = linear_attn(q, k, v, g, beta; S0, z0)
 *   o = rmsnorm_per_head(o) * silu(x Wgate)     (per OutputSpec)
 *   y = o Wo                                    ([B,T,H*V] -> [B,T,D])
 * The carried state enters as `state_in` nodes and leaves as `state_out` graph outputs, named
 * `L<i>.<mixer>.S` and `L<i>.<mixer>.z`. Weights are named `layers.<i>.<mixer>.<part>`.
 */
import type { GraphBuilder } from '../../ir/builder.ts';
import type { EwExpr, EwFn, LinearAttnKnobs } from '../../ir/graph.ts';
import type { FeatureStage, LinearAttnMixer } from '../../check/spec.ts';
import { lowerFeatureMap } from './features.ts';

const IN0: EwExpr = { kind: 'in', index: 0 };
const IN1: EwExpr = { kind: 'in', index: 1 };
const IN2: EwExpr = { kind: 'in', index: 2 };
const fn = (f: EwFn, ...args: EwExpr[]): EwExpr => ({ kind: 'fn', fn: f, args });
const num = (value: number): EwExpr => ({ kind: 'const', value });

/** Graph-building helpers for one mixer in one layer. */
export function mixerBuilder(g: GraphBuilder, m: { name: string }, layer: number, dim: number) {
  const { B, T } = g.dims;
  const prefix = `layers.${layer}.${m.name}`;
  const label = `L${layer}.${m.name}`;
  const act = (width: number) => ({ shape: [B, T, width], dtype: 'f32' as const });
  return {
    label,
    prefix,
    act,
    /** x [B,T,from] · W [from,to], W named `<prefix>.<name>.weight`. */
    proj: (input: number, name: string, from: number, to: number) => {
      const w = g.weight(`${prefix}.${name}.weight`, [from, to], { kind: 'normal', std: 1 / Math.sqrt(from) }, layer);
      return g.add({ op: 'matmul', x: input, w, transposeW: false }, act(to), `${label}.${name}`, layer);
    },
    /** A per-head parameter vector `[H]` broadcast over [B, T, H]. */
    param: (name: string, size: number) => g.weight(`${prefix}.${name}`, [size], { kind: 'normal', std: 0.5 }, layer),
    ew: (expr: EwExpr, inputs: number[], width: number, name: string) =>
      g.add({ op: 'elementwise', expr, inputs }, act(width), `${label}.${name}`, layer),
    dim,
    g,
    layer,
  };
}

export type MB = ReturnType<typeof mixerBuilder>;

function applyFeatures(g: GraphBuilder, mb: MB, x: number, stages: readonly FeatureStage[], K: number, layer: number, which: string): number {
  let y = x;
  for (const stage of stages) {
    if (stage === 'identity') continue;
    const width = g.node(y).type.shape[2];
    y =
      stage === 'l2'
        ? g.add({ op: 'l2norm', x: y, eps: 1e-6, group: K }, mb.act(width), `${mb.label}.${which}_l2`, layer)
        : mb.ew(fn(stage, IN0), [y], width, `${which}_${stage}`);
  }
  return y;
}

/**
 * `silu(conv1d(y))` with a causal depthwise filter of width w (weight `<prefix>.<which>_conv1d.weight`
 * `[C, w]`); the last w-1 input rows are carried as state `L<i>.<mixer>.<which>_conv`.
 */
export function shortConv(g: GraphBuilder, mb: MB, y: number, w: number, layer: number, which: string): number {
  const { B } = g.dims;
  const C = g.node(y).type.shape[2];
  const name = `${mb.label}.${which}_conv`;
  const weight = g.weight(`${mb.prefix}.${which}_conv1d.weight`, [C, w], { kind: 'normal', std: 1 / Math.sqrt(w) }, layer);
  const tail = g.add({ op: 'state_in', name }, { shape: [B, w - 1, C], dtype: 'f32' }, `${name}0`, layer);
  g.output(name, g.add({ op: 'conv_tail', x: y, tail }, { shape: [B, w - 1, C], dtype: 'f32' }, name, layer));
  return g.add({ op: 'conv1d', x: y, weight, tail, activation: 'silu' }, mb.act(C), `${mb.label}.${which}_conv1d`, layer);
}

/** cosFormer: `[x cos a_t, x sin a_t]` per head, a_t = pi/2 (pos + t) / maxLen (docs/mixers.md). */
function reweight(g: GraphBuilder, mb: MB, x: number, group: number, maxLen: number, layer: number, which: string): number {
  const width = g.node(x).type.shape[2] * 2;
  return g.add({ op: 'cos_reweight', x, pos: g.position(), group, maxLen }, mb.act(width), `${mb.label}.${which}_cos`, layer);
}

/** Log-gates from x: `[B,T,H]` for scalar decay, `[B,T,H*K]` for vector decay. */
function lowerGate(mb: MB, m: LinearAttnMixer, x: number): number | null {
  const { heads: H, keyDim: K, decay } = m.knobs;
  if (!m.gate || (decay.kind !== 'scalar' && decay.kind !== 'vector')) return null;
  const width = decay.kind === 'scalar' ? H : H * K;
  if (m.gate.kind === 'softplus') {
    // Mamba2 / Gated DeltaNet: g = -exp(A_log) * softplus(x Wa + dt_bias), per head.
    const a = mb.proj(x, 'a', mb.dim, H);
    const expr = fn('mul', fn('mul', fn('exp', IN1), num(-1)), fn('softplus', fn('add', IN0, IN2)));
    return mb.ew(expr, [a, mb.param('A_log', H), mb.param('dt_bias', H)], width, 'g');
  }
  const r = m.gate.lowRank;
  const last = r === null ? 'g' : 'g_up';
  const logits = r === null ? mb.proj(x, 'g', mb.dim, width) : mb.proj(mb.proj(x, 'g_down', mb.dim, r), 'g_up', r, width);
  if (m.gate.bias) {
    // fla's GLA: the gate's last projection has a bias, `<prefix>.g_up.bias` [H*K].
    const b = mb.g.weight(`${mb.prefix}.${last}.bias`, [width], { kind: 'zeros' }, mb.layer);
    return mb.ew(fn('mul', fn('logsigmoid', fn('add', IN0, IN1)), num(1 / m.gate.normalizer)), [logits, b], width, 'g');
  }
  return mb.ew(fn('mul', fn('logsigmoid', IN0), num(1 / m.gate.normalizer)), [logits], width, 'g');
}

interface Scan {
  q: number;
  k: number;
  v: number;
  gate: number | null;
  beta: number | null;
}

/**
 * One causal scan over `s` from zero state, no state carried out (the scans of non-causal mixers).
 * `flipped`: the inputs are read backwards (gates one token later, docs/mixers.md, when `shiftGates`)
 * and the output is turned back, so token t sees t..T-1.
 */
function scan(g: GraphBuilder, mb: MB, s: Scan, knobs: LinearAttnKnobs, layer: number, name: string, flipped: boolean, shiftGates: boolean): number {
  const { B } = g.dims;
  const { heads: H, keyDim: K, valueDim: V } = knobs;
  const flip = (x: number | null, shift = 0) =>
    x === null || !flipped ? x : g.add({ op: 'flip', x, shift }, g.node(x).type, `${mb.label}.${name}_${g.node(x).label.split('.').pop()}_rev`, layer);
  const s0 = g.add({ op: 'state_in', name: `${mb.label}.${name}.S` }, { shape: [B, H, K, V], dtype: 'f32' }, `${mb.label}.${name}.S0`, layer);
  const z0 = knobs.normalize ? g.add({ op: 'state_in', name: `${mb.label}.${name}.z` }, { shape: [B, H, K], dtype: 'f32' }, `${mb.label}.${name}.z0`, layer) : null;
  const op = { op: 'linear_attn' as const, q: flip(s.q)!, k: flip(s.k)!, v: flip(s.v)!, s0, z0, g: flip(s.gate, shiftGates ? 1 : 0), beta: flip(s.beta), knobs };
  const o = g.add(op, mb.act(H * V), `${mb.label}.${name}`, layer);
  return flipped ? g.add({ op: 'flip', x: o, shift: 0 }, mb.act(H * V), `${mb.label}.${name}_out`, layer) : o;
}

/** `direction = reverse`: the recurrence run from t = T-1 down (token t sees t..T-1). */
function lowerReverse(g: GraphBuilder, mb: MB, m: LinearAttnMixer, s: Scan, layer: number): number {
  return scan(g, mb, s, m.knobs, layer, 'rev', true, false);
}

/**
 * `direction = bidirectional` (LION, docs/mixers.md): a forward scan plus a reverse scan with the
 * gates one token later, minus the diagonal counted twice; normalised on the summed numerator and
 * denominator (the denominators are scans of a ones value column).
 */
function lowerBidirectional(g: GraphBuilder, mb: MB, m: LinearAttnMixer, s: Scan, layer: number): number {
  const { heads: H, valueDim: V, normalize, feature, scale, eps } = m.knobs;
  const K = m.knobs.keyDim;
  const plain = { ...m.knobs, normalize: false };
  const phi = (x: number, which: string) => (feature === 'elu1' ? mb.ew(fn('elu1', IN0), [x], H * K, `${which}_elu1`) : x);
  const dot = g.add({ op: 'head_dot', a: phi(s.q, 'q'), c: phi(s.k, 'k'), group: K }, mb.act(H), `${mb.label}.qk_diag`, layer);
  const diag = mb.ew(fn('mul', IN0, num(scale)), [dot], H, 'diag');
  const perValue = (x: number, name: string) => g.add({ op: 'outer', a: x, c: null, heads: H, width: V }, mb.act(H * V), `${mb.label}.${name}`, layer);
  const both = (t: Scan, knobs: LinearAttnKnobs, name: string) => [scan(g, mb, t, knobs, layer, `${name}_fwd`, false, false), scan(g, mb, t, knobs, layer, `${name}_bwd`, true, true)];
  const [nf, nb] = both(s, plain, 'num');
  const numer = mb.ew(fn('add', fn('add', IN0, IN1), fn('mul', fn('mul', IN2, { kind: 'in', index: 3 }), num(-1))), [nf, nb, perValue(diag, 'diag_v'), s.v], H * V, 'numer');
  if (!normalize) return numer;
  const ones = g.add({ op: 'outer', a: null, c: null, heads: H, width: 1 }, mb.act(H), `${mb.label}.ones`, layer);
  const [df, db] = both({ ...s, v: ones }, { ...plain, valueDim: 1 }, 'den');
  const den = mb.ew(fn('add', fn('add', IN0, IN1), fn('mul', IN2, num(-1))), [df, db, diag], H, 'denom');
  return mb.ew(fn('mul', IN0, fn('recip', fn('add', IN1, num(eps)))), [numer, perValue(den, 'denom_v')], H * V, 'lion_o');
}

export function lowerLinearAttn(g: GraphBuilder, m: LinearAttnMixer, x: number, layer: number, dim: number): number {
  const { B } = g.dims;
  const { heads: H, keyDim: K, valueDim: V, normalize } = m.knobs;
  const mb = mixerBuilder(g, m, layer, dim);
  const { label } = mb;
  // A short conv ends in silu (as fla's ShortConvolution), so a feature chain's leading silu is not applied twice.
  const features = m.shortConv !== null && m.features[0] === 'silu' ? m.features.slice(1) : m.features;
  const conv = (y: number, which: string) => (m.shortConv === null ? y : shortConv(g, mb, y, m.shortConv, layer, which));
  // With a learned/expanding map, q and k are projected to its input width d and widened to K.
  const Kphi = m.reweight ? K / 2 : K; // the feature width before cosFormer's re-weighting doubles it
  const d = m.featureMap?.inputDim ?? Kphi;
  const mapped = (y: number, which: 'q' | 'k') => (m.featureMap ? applyFeatures(g, mb, lowerFeatureMap(g, m, y, layer, which), m.featureMap.post, Kphi, layer, which) : y);
  const rope = (y: number, which: 'q' | 'k') =>
    m.rope ? g.add({ op: 'rope', x: y, pos: g.position(), group: K, theta: m.rope.theta }, g.node(y).type, `${label}.${which}_rope`, layer) : y;
  const phi = (y: number, which: 'q' | 'k') => (m.reweight ? reweight(g, mb, mapped(y, which), Kphi, m.reweight.maxLen, layer, which) : rope(mapped(y, which), which));
  const q = phi(applyFeatures(g, mb, conv(mb.proj(x, 'q', dim, H * d), 'q'), features, d, layer, 'q'), 'q');
  const k = phi(applyFeatures(g, mb, conv(mb.proj(x, 'k', dim, H * d), 'k'), features, d, layer, 'k'), 'k');
  const v = conv(mb.proj(x, 'v', dim, H * V), 'v');
  const gate = lowerGate(mb, m, x);
  const beta = m.beta ? mb.ew(fn('mul', fn('sigmoid', IN0), num(m.beta.scale)), [mb.proj(x, 'b', dim, H)], H, 'beta') : null;
  let o: number;
  if (m.direction === 'forward') {
    const s0 = g.add({ op: 'state_in', name: `${label}.S` }, { shape: [B, H, K, V], dtype: 'f32' }, `${label}.S0`, layer);
    const z0 = normalize ? g.add({ op: 'state_in', name: `${label}.z` }, { shape: [B, H, K], dtype: 'f32' }, `${label}.z0`, layer) : null;
    o = g.add({ op: 'linear_attn', q, k, v, s0, z0, g: gate, beta, knobs: m.knobs }, mb.act(H * V), label, layer);
    const mixer = o;
    const S = g.add({ op: 'state_out', mixer, which: 'S', name: `${label}.S` }, { shape: [B, H, K, V], dtype: 'f32' }, `${label}.S`, layer);
    g.output(`${label}.S`, S);
    if (normalize) {
      const z = g.add({ op: 'state_out', mixer, which: 'z', name: `${label}.z` }, { shape: [B, H, K], dtype: 'f32' }, `${label}.z`, layer);
      g.output(`${label}.z`, z);
    }
  } else {
    o = (m.direction === 'reverse' ? lowerReverse : lowerBidirectional)(g, mb, m, { q, k, v, gate, beta }, layer);
  }
  if (m.lengthNorm) {
    o = g.add({ op: 'length_norm', x: o, pos: g.position(), m: mb.param('length_m', H), group: V }, mb.act(H * V), `${label}.length_norm`, layer);
  }
  if (m.output.norm) {
    const w = g.weight(`layers.${layer}.${m.name}.o_norm.weight`, [V], { kind: 'ones' }, layer);
    o = g.add({ op: 'rmsnorm', x: o, weight: w, eps: m.output.eps ?? 1e-5, group: V }, mb.act(H * V), `${label}.o_norm`, layer);
  }
  if (m.output.gate) o = mb.ew(fn('mul', IN0, fn('silu', IN1)), [o, mb.proj(x, 'gate', dim, H * V)], H * V, 'o_gate');
  return mb.proj(o, 'o', H * V, dim);
}
