/**
 * Float64 reference of the (gated) delta rule (docs/mixers.md, update = delta): the definition
 * written loop by loop, one token at a time. Shares no code with the WGSL kernels.
 *
 * Per batch b and head h, with q~ = phi(q), k~ = phi(k) and the decay D_t:
 *   S'   = D_t S_{t-1}                       S: [K, V], S_{-1} = s0 (zeros when absent)
 *   v'_t = beta_t (v_t - S'^T k~_t)
 *   S_t  = S' + k~_t v'_t^T
 *   o_t  = S_t^T (scale q~_t)                 (the current token counts)
 * D_t: none (I), fixed (exp(logDecay[h])), scalar (exp(g[b,t,h])), vector (diag(exp(g[b,t,h,:]))).
 * Gates are in log space (g <= 0). The delta rule has no normalizer: normalize must be false.
 *
 * Layouts (row-major): q, k `[B, T, H, K]`; v, o `[B, T, H, V]`; beta `[B, T, H]`;
 * g `[B, T, H]` (scalar) or `[B, T, H, K]` (vector); s0, S `[B, H, K, V]`.
 */
import type { LinearAttnRefInput, LinearAttnRefOutput } from './linear-attn.ts';

/** The linear-attention reference input with update = delta: beta required, g per decay, no normalizer. */
export type DeltaRuleRefInput = LinearAttnRefInput;

function phi(inp: DeltaRuleRefInput, x: number): number {
  return inp.feature === 'elu1' ? (x > 0 ? x + 1 : Math.exp(x)) : x;
}

function checkLength(name: string, a: ArrayLike<number> | undefined, want: number, shape: string): void {
  if (!a) throw new Error(`deltaRuleRef: ${name} ${shape} is required`);
  if (a.length !== want) throw new Error(`deltaRuleRef: ${name} has ${a.length} elements, expected ${want} = ${shape}`);
}

function validate(inp: DeltaRuleRefInput): void {
  const { B, T, H, K, V } = inp;
  for (const [n, d] of Object.entries({ B, T, H, K, V })) {
    if (!Number.isInteger(d) || d < 0) throw new Error(`deltaRuleRef: ${n} = ${d} is not a non-negative integer`);
  }
  if (inp.update !== undefined && inp.update !== 'delta') throw new Error(`deltaRuleRef: update = '${inp.update}', expected 'delta'`);
  if (inp.normalize) throw new Error('deltaRuleRef: normalize is not defined for the delta rule');
  checkLength('q', inp.q, B * T * H * K, '[B, T, H, K]');
  checkLength('k', inp.k, B * T * H * K, '[B, T, H, K]');
  checkLength('v', inp.v, B * T * H * V, '[B, T, H, V]');
  checkLength('beta', inp.beta, B * T * H, '[B, T, H]');
  if (inp.s0) checkLength('s0', inp.s0, B * H * K * V, '[B, H, K, V]');
  const decay = inp.decay ?? { kind: 'none' };
  if (decay.kind === 'scalar') checkLength('g', inp.g, B * T * H, '[B, T, H]');
  if (decay.kind === 'vector') checkLength('g', inp.g, B * T * H * K, '[B, T, H, K]');
  if (decay.kind === 'fixed' && decay.logDecay.length !== H) {
    throw new Error(`deltaRuleRef: fixed decay has ${decay.logDecay.length} log-decays, expected one per head (H = ${H})`);
  }
}

/** The log-decay of key row i at token (b, t, h). */
function logDecay(inp: DeltaRuleRefInput, b: number, t: number, h: number, i: number): number {
  const decay = inp.decay ?? { kind: 'none' };
  const g = inp.g ?? [];
  switch (decay.kind) {
    case 'none':
      return 0;
    case 'fixed':
      return decay.logDecay[h];
    case 'scalar':
      return g[(b * inp.T + t) * inp.H + h];
    case 'vector':
      return g[((b * inp.T + t) * inp.H + h) * inp.K + i];
  }
}

/** One token of one (b, h): updates S (at offset oS) in place and writes o_t. */
function step(inp: DeltaRuleRefInput, S: Float64Array, o: Float64Array, b: number, t: number, h: number): void {
  const { T, H, K, V, scale } = inp;
  const oS = (b * H + h) * K * V;
  const oQK = ((b * T + t) * H + h) * K;
  const oV = ((b * T + t) * H + h) * V;
  const beta = (inp.beta ?? [])[(b * T + t) * H + h];
  // S' = D_t S_{t-1}
  for (let i = 0; i < K; i++) {
    const d = Math.exp(logDecay(inp, b, t, h, i));
    for (let j = 0; j < V; j++) S[oS + i * V + j] *= d;
  }
  // v'_t = beta_t (v_t - S'^T k~_t);  S_t = S' + k~_t v'_t^T
  const vNew = new Float64Array(V);
  for (let j = 0; j < V; j++) {
    let sk = 0;
    for (let i = 0; i < K; i++) sk += S[oS + i * V + j] * phi(inp, inp.k[oQK + i]);
    vNew[j] = beta * (inp.v[oV + j] - sk);
  }
  for (let i = 0; i < K; i++) {
    const ki = phi(inp, inp.k[oQK + i]);
    for (let j = 0; j < V; j++) S[oS + i * V + j] += ki * vNew[j];
  }
  // o_t = S_t^T (scale q~_t)
  for (let j = 0; j < V; j++) {
    let acc = 0;
    for (let i = 0; i < K; i++) acc += S[oS + i * V + j] * scale * phi(inp, inp.q[oQK + i]);
    o[oV + j] = acc;
  }
}

/** Runs the delta rule token by token for every (b, h); returns o and the final S (z is null). */
export function deltaRuleRef(inp: DeltaRuleRefInput): LinearAttnRefOutput {
  validate(inp);
  const { B, T, H, K, V } = inp;
  const o = new Float64Array(B * T * H * V);
  const S = new Float64Array(B * H * K * V);
  if (inp.s0) for (let i = 0; i < S.length; i++) S[i] = inp.s0[i];
  for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) for (let t = 0; t < T; t++) step(inp, S, o, b, t, h);
  return { o, S, z: null };
}
