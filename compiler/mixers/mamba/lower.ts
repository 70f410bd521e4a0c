/**
 * Lowers a Mamba mixer (docs/mixers.md) to graph nodes over the layer input x `[B, T, D]`, with
 * Di = inner channels, N = d_state, R = dt_rank:
 *   u  = silu(conv1d(x W_x))                     [B,T,Di]  (no conv when short_conv = none: silu only)
 *   z  = x W_z                                   [B,T,Di]
 *   dt = softplus(u W_dt_down W_dt_up + dt_bias) [B,T,Di]
 *   Bt = u W_B, Ct = u W_C                       [B,T,N]
 *   the additive recurrence with one head per channel (K = N, V = 1, scale 1):
 *     q[h,n] = Ct[n], k[h,n] = dt[h] Bt[n], v[h] = u[h], log-decay gk[h,n] = dt[h] * A[h,n],
 *     A = -exp(A_log)                            (state `L<i>.<m>.S` [B, Di, N, 1])
 *   y  = (o + D * u) * silu(z)
 *   out = y W_out                                [B,T,D]
 * Weights are named `layers.<i>.<mixer>.{x,z,dt_down,dt_up,B,C,out}.weight`, `A_log` `[Di*N]`,
 * `D` and `dt_bias` `[Di]`, `x_conv1d.weight` `[Di, w]` (and `x_conv1d.bias` `[Di]` with conv_bias,
 * added before the silu).
 */
import type { MambaMixer } from '../../check/spec.ts';
import type { GraphBuilder } from '../../ir/builder.ts';
import type { EwExpr, EwFn, LinearAttnKnobs } from '../../ir/graph.ts';
import { mixerBuilder, shortConv, type MB } from '../linear_attn/lower.ts';

const IN: EwExpr[] = [0, 1, 2].map((index) => ({ kind: 'in', index }));
const fn = (f: EwFn, ...args: EwExpr[]): EwExpr => ({ kind: 'fn', fn: f, args });
const num = (value: number): EwExpr => ({ kind: 'const', value });

/** The recurrence a Mamba mixer runs: H = inner channels, K = d_state, V = 1, vector decay (ssd: heads of P channels, scalar decay). */
export function mambaKnobs(m: MambaMixer): LinearAttnKnobs {
  const P = m.knobs.headDim;
  if (P !== undefined) return { heads: m.knobs.inner / P, keyDim: m.knobs.dState, valueDim: P, feature: 'identity', normalize: false, scale: 1, eps: 1e-6, decay: { kind: 'scalar' }, update: 'additive' };
  return { heads: m.knobs.inner, keyDim: m.knobs.dState, valueDim: 1, feature: 'identity', normalize: false, scale: 1, eps: 1e-6, decay: { kind: 'vector' }, update: 'additive' };
}

/**
 * `silu(conv1d(y) (+ b))`: the short convolution of `<which>` (with a bias `<which>_conv1d.bias`
 * when `bias`, as fla's and mamba_ssm's `conv1d.bias`), its last w-1 inputs carried as state.
 */
function conv(g: GraphBuilder, mb: MB, y: number, w: number, layer: number, which: string, bias: boolean): number {
  if (!bias) return shortConv(g, mb, y, w, layer, which);
  const C = g.node(y).type.shape[2];
  const name = `${mb.label}.${which}_conv`;
  const weight = g.weight(`${mb.prefix}.${which}_conv1d.weight`, [C, w], { kind: 'normal', std: 1 / Math.sqrt(w) }, layer);
  const tail = g.add({ op: 'state_in', name }, { shape: [g.dims.B, w - 1, C], dtype: 'f32' }, `${name}0`, layer);
  g.output(name, g.add({ op: 'conv_tail', x: y, tail }, { shape: [g.dims.B, w - 1, C], dtype: 'f32' }, name, layer));
  const c = g.add({ op: 'conv1d', x: y, weight, tail, activation: null }, mb.act(C), `${mb.label}.${which}_conv1d`, layer);
  return mb.ew(fn('silu', fn('add', IN[0], IN[1])), [c, mb.param(`${which}_conv1d.bias`, C)], C, `${which}_conv_silu`);
}

export function lowerMamba(g: GraphBuilder, m: MambaMixer, x: number, layer: number, dim: number): number {
  if (m.preset === 'ssd') return lowerSsd(g, m, x, layer, dim);
  const { B } = g.dims;
  const { inner: Di, dState: N, dtRank: R, shortConv: w } = m.knobs;
  const mb = mixerBuilder(g, m, layer, dim);
  const xin = mb.proj(x, 'x', dim, Di);
  const u = w === null ? mb.ew(fn('silu', IN[0]), [xin], Di, 'x_silu') : conv(g, mb, xin, w, layer, 'x', m.knobs.convBias === true);
  const z = mb.proj(x, 'z', dim, Di);
  const dtLow = mb.proj(u, 'dt_down', Di, R);
  const dt = mb.ew(fn('softplus', fn('add', IN[0], IN[1])), [mb.proj(dtLow, 'dt_up', R, Di), mb.param('dt_bias', Di)], Di, 'dt');
  const Bt = mb.proj(u, 'B', Di, N);
  const Ct = mb.proj(u, 'C', Di, N);
  const outer = (a: number | null, c: number | null, name: string) =>
    g.add({ op: 'outer', a, c, heads: Di, width: N }, mb.act(Di * N), `${mb.label}.${name}`, layer);
  const q = outer(null, Ct, 'q');
  const k = outer(dt, Bt, 'k');
  const gk = mb.ew(fn('mul', IN[0], fn('mul', fn('exp', IN[1]), num(-1))), [outer(dt, null, 'dt_n'), mb.param('A_log', Di * N)], Di * N, 'g');
  const knobs = mambaKnobs(m);
  const s0 = g.add({ op: 'state_in', name: `${mb.label}.S` }, { shape: [B, Di, N, 1], dtype: 'f32' }, `${mb.label}.S0`, layer);
  const o = g.add({ op: 'linear_attn', q, k, v: u, s0, z0: null, g: gk, beta: null, knobs }, mb.act(Di), mb.label, layer);
  const S = g.add({ op: 'state_out', mixer: o, which: 'S', name: `${mb.label}.S` }, { shape: [B, Di, N, 1], dtype: 'f32' }, `${mb.label}.S`, layer);
  g.output(`${mb.label}.S`, S);
  const y = mb.ew(fn('mul', fn('add', IN[0], fn('mul', IN[1], IN[2])), fn('silu', { kind: 'in', index: 3 })), [o, mb.param('D', Di), u, z], Di, 'y');
  return mb.proj(y, 'out', Di, dim);
}

/**
 * Mamba2's SSD layer (fla's Mamba2 and mamba_ssm with one group), H = inner / P heads of P channels:
 *   xs, Bs, Cs = silu(conv1d(x W_x (+ b))), ... for W_B, W_C    [Di], [N], [N]  (the checkpoint's one
 *                conv over [x, B, C] is three, as a depthwise conv is per channel)
 *   z = x W_z;  dt = softplus(x W_dt + dt_bias)                 [Di], [H]
 *   per head h: q = Cs, k = dt[h] Bs, v = xs[h], log-decay dt[h] * A[h], A = -exp(A_log)  (state [B, H, N, P])
 *   y = rmsnorm((o + D * xs) * silu(z)) over all Di channels, gain `norm.weight`, eps
 *   out = y W_out
 * D is `[Di]` (fla's per-head D repeats over the head's channels when loaded).
 */
function lowerSsd(g: GraphBuilder, m: MambaMixer, x: number, layer: number, dim: number): number {
  const { B } = g.dims;
  const { inner: Di, dState: N, shortConv: w } = m.knobs;
  const P = m.knobs.headDim!;
  const H = Di / P;
  const bias = m.knobs.convBias === true;
  const mb = mixerBuilder(g, m, layer, dim);
  const xs = conv(g, mb, mb.proj(x, 'x', dim, Di), w!, layer, 'x', bias);
  const Bs = conv(g, mb, mb.proj(x, 'B', dim, N), w!, layer, 'B', bias);
  const Cs = conv(g, mb, mb.proj(x, 'C', dim, N), w!, layer, 'C', bias);
  const z = mb.proj(x, 'z', dim, Di);
  const dt = mb.ew(fn('softplus', fn('add', IN[0], IN[1])), [mb.proj(x, 'dt', dim, H), mb.param('dt_bias', H)], H, 'dt');
  const outer = (a: number | null, c: number | null, name: string) => g.add({ op: 'outer', a, c, heads: H, width: N }, mb.act(H * N), `${mb.label}.${name}`, layer);
  const q = outer(null, Cs, 'q');
  const k = outer(dt, Bs, 'k');
  const gl = mb.ew(fn('mul', IN[0], fn('mul', fn('exp', IN[1]), num(-1))), [dt, mb.param('A_log', H)], H, 'g');
  const knobs = mambaKnobs(m);
  const s0 = g.add({ op: 'state_in', name: `${mb.label}.S` }, { shape: [B, H, N, P], dtype: 'f32' }, `${mb.label}.S0`, layer);
  const o = g.add({ op: 'linear_attn', q, k, v: xs, s0, z0: null, g: gl, beta: null, knobs }, mb.act(Di), mb.label, layer);
  g.output(`${mb.label}.S`, g.add({ op: 'state_out', mixer: o, which: 'S', name: `${mb.label}.S` }, { shape: [B, H, N, P], dtype: 'f32' }, `${mb.label}.S`, layer));
  const y = mb.ew(fn('mul', fn('add', IN[0], fn('mul', IN[1], IN[2])), fn('silu', { kind: 'in', index: 3 })), [o, mb.param('D', Di), xs, z], Di, 'y');
  const normW = g.weight(`${mb.prefix}.norm.weight`, [Di], { kind: 'ones' }, layer);
  const normed = g.add({ op: 'rmsnorm', x: y, weight: normW, eps: m.knobs.eps ?? 1e-5 }, mb.act(Di), `${mb.label}.norm`, layer);
  return mb.proj(normed, 'out', Di, dim);
}
