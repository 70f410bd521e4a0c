/**
 * Lowers a Mamba mixer (MIXERS.md §1.3) to graph nodes over the layer input x `[B, T, D]`, with
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
 * `D` and `dt_bias` `[Di]`, `x_conv1d.weight` `[Di, w]`.
 */
import type { MambaMixer } from '../../check/spec.ts';
import type { GraphBuilder } from '../../ir/builder.ts';
import type { EwExpr, EwFn, LinearAttnKnobs } from '../../ir/graph.ts';
import { mixerBuilder, shortConv } from '../linear_attn/lower.ts';

const IN: EwExpr[] = [0, 1, 2].map((index) => ({ kind: 'in', index }));
const fn = (f: EwFn, ...args: EwExpr[]): EwExpr => ({ kind: 'fn', fn: f, args });
const num = (value: number): EwExpr => ({ kind: 'const', value });

/** The recurrence a Mamba mixer runs: H = inner channels, K = d_state, V = 1, vector decay. */
export function mambaKnobs(m: MambaMixer): LinearAttnKnobs {
  return { heads: m.knobs.inner, keyDim: m.knobs.dState, valueDim: 1, feature: 'identity', normalize: false, scale: 1, eps: 1e-6, decay: { kind: 'vector' }, update: 'additive' };
}

export function lowerMamba(g: GraphBuilder, m: MambaMixer, x: number, layer: number, dim: number): number {
  const { B } = g.dims;
  const { inner: Di, dState: N, dtRank: R, shortConv: w } = m.knobs;
  const mb = mixerBuilder(g, m, layer, dim);
  const xin = mb.proj(x, 'x', dim, Di);
  const u = w === null ? mb.ew(fn('silu', IN[0]), [xin], Di, 'x_silu') : shortConv(g, mb, xin, w, layer, 'x');
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
