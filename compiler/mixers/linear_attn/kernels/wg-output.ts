/**
 * chunk_o_wg, the workgroup-memory form of chunk_o (output.ts), for GPUs. A workgroup per
 * (b, h, chunk n, value tile of BV columns), one invocation per token t of the chunk:
 *   for each K tile of BK rows: the chunk's k~ (and vector log-gates) and h_n's tile rows (hz_n)
 *     are loaded once into workgroup memory (barrier), then every token adds its scores
 *     b_a[s] += sum_i (scale q~_ti) k~_si exp(G_ti - G_si) for s <= t, and the state term
 *     (scale q~_t exp(G_t))^T h_n over the tile;
 *   then v in slabs of BS tokens (barrier each): o_t += sum_s b_a[s] v_s.
 * Each k~, v and h_n element is read from global memory once per workgroup instead of once per
 * token. The decay is summed over (s, t] by walking s backward from t (gates from workgroup
 * memory), never as a difference of cumulative sums, exactly as the register variant does; the
 * scalar and fixed decay's factor multiplies the summed scores once after the K tiles.
 */
import type { Kernel } from '../../../codegen/kernel.ts';
import { buildKernel, type WgslBuilder } from '../../../codegen/wgsl.ts';
import {
  decayDecls,
  emitFixedGate,
  featureHelpers,
  floatConsts,
  gateBindings,
  input,
  loadValue,
  output,
  phi,
  shapeConsts,
  storeValue,
  valueType,
  valueWidth,
  valueZero,
  type AdditiveShape,
} from './common.ts';
import type { Chunking } from './state.ts';
import { emitWgIndex, outputTiles, wgGrid, type OutputTiles } from './wg-tiles.ts';

function emitIndices(b: WgslBuilder, s: AdditiveShape, t: OutputTiles): void {
  b.line('// workgroup = (b, h, chunk n, value tile); invocation = token t = n*C + i_c');
  b.line('let i_vt = i_wg % NVT;');
  b.line('let i_bhn = i_wg / NVT;');
  b.line('let i_n = i_bhn % NC;');
  b.line('let i_bh = i_bhn / NC;');
  b.line('let i_b = i_bh / H;');
  b.line('let i_h = i_bh % H;');
  b.line('let i_c = lid.x;');
  b.line('let o_t0 = i_n * C;');
  b.line('let n_tok = min(C, T - o_t0);');
  b.line('let m_live = i_c < n_tok;');
  b.line('let o_tok = (i_b * T + o_t0 + min(i_c, n_tok - 1u)) * H + i_h;');
  b.line('let o_g0 = i_vt * BG;');
  b.line('let o_c0 = o_g0 * VW;');
  if ((s.V / valueWidth(s.V)) % t.BG !== 0) b.line('let m_g = min(BG, VG - o_g0);');
  b.line('let o_st = i_bh * NC + i_n;');
  emitFixedGate(b, s);
}

/** Scalar gates of the chunk into s_g (one per invocation); G_t = the gates summed over [nC, t]. */
function emitScalarGates(b: WgslBuilder, s: AdditiveShape): void {
  if (s.decay.kind === 'scalar') {
    b.line('s_g[i_c] = select(0.0, g[o_tok], m_live);');
    b.line('workgroupBarrier();');
  }
  if (s.decay.kind === 'scalar' || s.decay.kind === 'fixed') {
    b.line('var b_gt = 0.0;');
    b.block('for (var i_s = 0u; i_s <= i_c; i_s++)', () => b.line(`b_gt += ${s.decay.kind === 'fixed' ? 'b_lam' : 's_g[i_s]'};`));
    b.line('let b_w = exp(b_gt);');
  }
}

/** s_k (k~ of the chunk's tokens, rows o_k0.. of the K tile), vector s_g alike, s_h (and s_hz) from h_n. */
function emitLoadKTile(b: WgslBuilder, s: AdditiveShape): void {
  const vector = s.decay.kind === 'vector';
  b.block('for (var i_e = i_c; i_e < C * BK; i_e += C)', () => {
    b.line('let i_s = i_e / BK;');
    b.line('let i_i = o_k0 + i_e % BK;');
    b.line('var b_x = 0.0;');
    if (vector) b.line('var b_y = 0.0;');
    b.block('if (i_s < n_tok && i_i < K)', () => {
      b.line('let o_src = ((i_b * T + o_t0 + i_s) * H + i_h) * K + i_i;');
      b.line(`b_x = ${phi(s, 'k[o_src]')};`);
      if (vector) b.line('b_y = g[o_src];');
    });
    b.line('s_k[i_e] = b_x;');
    if (vector) b.line('s_g[i_e] = b_y;');
  });
  b.block('for (var i_e = i_c; i_e < BK * BV; i_e += C)', () => {
    b.line('let i_i = o_k0 + i_e / BV;');
    b.line('let i_col = o_c0 + i_e % BV;');
    b.line('s_h[i_e] = select(0.0, h[(o_st * K + min(i_i, K - 1u)) * V + min(i_col, V - 1u)], i_i < K && i_col < V);');
  });
  if (s.normalize) {
    b.block('for (var i_e = i_c; i_e < BK; i_e += C)', () => b.line('s_hz[i_e] = select(0.0, hz[o_st * K + min(o_k0 + i_e, K - 1u)], o_k0 + i_e < K);'));
  }
}

/** Scores of this K tile into b_a; b_q ends decayed to the chunk start (scale q~_t exp(G_t)). */
function emitTileScores(b: WgslBuilder, s: AdditiveShape): void {
  b.line('var b_q: array<f32, BK>;');
  b.block('for (var i_i = 0u; i_i < n_BK; i_i++)', () => {
    b.line('let o_q = o_tok * K + min(o_k0 + i_i, K - 1u);');
    b.line(`b_q[i_i] = select(0.0, SCALE * ${phi(s, 'q[o_q]')}, o_k0 + i_i < K);`);
  });
  if (s.decay.kind !== 'vector') {
    b.block('for (var i_s = 0u; i_s <= i_c; i_s++)', () => {
      b.line('var b_x = 0.0;');
      b.block('for (var i_i = 0u; i_i < n_BK; i_i++)', () => b.line('b_x += b_q[i_i] * s_k[i_s * BK + i_i];'));
      b.line('b_a[i_s] += b_x;');
    });
    if (s.decay.kind !== 'none') b.block('for (var i_i = 0u; i_i < n_BK; i_i++)', () => b.line('b_q[i_i] *= b_w;'));
    return;
  }
  b.line('// walk s backward from t: b_lg[i] = the gates of row i summed over (s, t]');
  b.line('var b_lg = array<f32, BK>(); // zeroed on every tile');
  b.block('for (var i_d = 0u; i_d <= i_c; i_d++)', () => {
    b.line('let i_s = i_c - i_d;');
    b.line('var b_x = 0.0;');
    b.block('for (var i_i = 0u; i_i < n_BK; i_i++)', () => {
      b.line('b_x += b_q[i_i] * s_k[i_s * BK + i_i] * exp(b_lg[i_i]);');
      b.line('b_lg[i_i] += s_g[i_s * BK + i_i];');
    });
    b.line('b_a[i_s] += b_x;');
  });
  b.block('for (var i_i = 0u; i_i < n_BK; i_i++)', () => b.line('b_q[i_i] *= exp(b_lg[i_i]);'));
}

/** b_o += b_q^T s_h (and b_den += b_q . s_hz). */
function emitTileState(b: WgslBuilder, s: AdditiveShape, bound: string): void {
  if (s.normalize) b.block('for (var i_i = 0u; i_i < n_BK; i_i++)', () => b.line('b_den += b_q[i_i] * s_hz[i_i];'));
  b.block(`for (var i_j = 0u; i_j < ${bound}; i_j++)`, () => {
    b.line(`var b_acc = ${valueZero(s)};`);
    b.block('for (var i_i = 0u; i_i < n_BK; i_i++)', () => b.line(`b_acc += b_q[i_i] * ${loadValue(s, 's_h', 'i_i * BV + i_j * VW')};`));
    b.line('b_o[i_j] += b_acc;');
  });
}

/** Scalar and fixed decay: b_a[s] *= exp(gates summed over (s, t]); normalized, b_den += sum_s b_a[s]. */
function emitScoreDecay(b: WgslBuilder, s: AdditiveShape): void {
  const k = s.decay.kind;
  if (k === 'scalar' || k === 'fixed') {
    b.line('var b_lg = 0.0;');
    b.block('for (var i_d = 0u; i_d <= i_c; i_d++)', () => {
      b.line('let i_s = i_c - i_d;');
      b.line('b_a[i_s] *= exp(b_lg);');
      if (s.normalize) b.line('b_den += b_a[i_s];');
      b.line(`b_lg += ${k === 'fixed' ? 'b_lam' : 's_g[i_s]'};`);
    });
  } else if (s.normalize) {
    b.block('for (var i_s = 0u; i_s <= i_c; i_s++)', () => b.line('b_den += b_a[i_s];'));
  }
}

/** v in slabs of BS tokens: b_o += sum_{s <= t} b_a[s] v_s. */
function emitValueSlabs(b: WgslBuilder, s: AdditiveShape, bound: string): void {
  b.block('for (var i_sl = 0u; i_sl < n_NSL; i_sl++)', () => {
    b.line('let o_s0 = i_sl * BS;');
    b.line('workgroupBarrier();');
    b.block('for (var i_e = i_c; i_e < BS * BV; i_e += C)', () => {
      b.line('let i_s = o_s0 + i_e / BV;');
      b.line('let i_col = o_c0 + i_e % BV;');
      b.line('let o_v = ((i_b * T + o_t0 + min(i_s, n_tok - 1u)) * H + i_h) * V + min(i_col, V - 1u);');
      b.line('s_v[i_e] = select(0.0, v[o_v], i_s < n_tok && i_col < V);');
    });
    b.line('workgroupBarrier();');
    b.block('for (var i_s = o_s0; i_s < min(o_s0 + BS, i_c + 1u); i_s++)', () => {
      b.line('let b_x = b_a[i_s];');
      b.block(`for (var i_j = 0u; i_j < ${bound}; i_j++)`, () => b.line(`b_o[i_j] += b_x * ${loadValue(s, 's_v', '(i_s - o_s0) * BV + i_j * VW')};`));
    });
  });
}

function emitBody(b: WgslBuilder, s: AdditiveShape, t: OutputTiles, folded: boolean): void {
  emitWgIndex(b, folded, s.unrollK === true, ['NKT', 'BK', 'NSL']);
  emitIndices(b, s, t);
  const bound = (s.V / valueWidth(s.V)) % t.BG !== 0 ? 'm_g' : 'BG';
  b.line('var b_a: array<f32, C>;');
  b.line(`var b_o: array<${valueType(s)}, BG>;`);
  if (s.normalize) b.line('var b_den = EPS;');
  emitScalarGates(b, s);
  b.block('for (var i_kt = 0u; i_kt < n_NKT; i_kt++)', () => {
    b.line('let o_k0 = i_kt * BK;');
    b.line('workgroupBarrier();');
    emitLoadKTile(b, s);
    b.line('workgroupBarrier();');
    emitTileScores(b, s);
    emitTileState(b, s, bound);
  });
  emitScoreDecay(b, s);
  emitValueSlabs(b, s, bound);
  b.block('if (m_live)', () => {
    b.block(`for (var i_j = 0u; i_j < ${bound}; i_j++)`, () => {
      b.line('let o_out = o_tok * V + o_c0 + i_j * VW;');
      b.line(`let b_out = b_o[i_j]${s.normalize ? ' / b_den' : ''};`);
      storeValue(b, s, 'o', 'o_out', 'b_out');
    });
  });
}

function sharedDecls(s: AdditiveShape, t: OutputTiles, C: number): string[] {
  const decls = [`var<workgroup> s_k: array<f32, ${C * t.BK}>;`];
  if (s.decay.kind === 'vector') decls.push(`var<workgroup> s_g: array<f32, ${C * t.BK}>;`);
  if (s.decay.kind === 'scalar') decls.push(`var<workgroup> s_g: array<f32, ${C}>;`);
  decls.push(`var<workgroup> s_h: array<f32, ${t.BK * t.BV}>;`);
  if (s.normalize) decls.push(`var<workgroup> s_hz: array<f32, ${t.BK}>;`);
  decls.push(`var<workgroup> s_v: array<f32, ${t.BS * t.BV}>;`);
  return decls;
}

/** `chunk_o_wg`: chunkwise outputs from the chunk states h/hz, tiles in workgroup memory. */
export function wgOutputKernel(name: string, s: AdditiveShape, chunks: Chunking): Kernel {
  const { B, T, H, K, V } = s;
  const t = outputTiles(s, chunks.C);
  if (!t) throw new Error(`${name}: no workgroup tiles fit chunk ${chunks.C} (the planner checks wgProblem first)`);
  const grid = wgGrid(B * H * chunks.NC * t.NVT, s.maxGroupsPerDim);
  const bindings = [input('q', B * T * H * K), input('k', B * T * H * K), input('v', B * T * H * V), ...gateBindings(s), input('h', B * H * chunks.NC * K * V)];
  if (s.normalize) bindings.push(input('hz', B * H * chunks.NC * K));
  bindings.push(output('o', B * T * H * V));
  const G = s.decay.kind === 'none' ? '' : ' exp(G_t - G_s)';
  const num = `(scale q~_t)^T h_n + sum_{s=n*C..t}${G} (scale q~_t . k~_s) v_s`;
  return buildKernel({
    name,
    summary: `o_t = ${s.normalize ? `(${num}) / (same with hz_n, k~_s; + eps)` : num}, phi = ${s.feature}, decay ${s.decay.kind}; k~, v, h_n tiles shared in workgroup memory`,
    bindings,
    consts: [
      ...shapeConsts(s),
      ['C', chunks.C],
      ['NC', chunks.NC],
      ['BG', t.BG],
      ['NVT', t.NVT],
      ['BV', t.BV],
      ['BK', t.BK],
      ['NKT', t.NKT],
      ['BS', t.BS],
      ['NSL', t.NSL],
      ...grid.consts,
    ],
    fconsts: floatConsts(s),
    helpers: [...decayDecls(s), ...featureHelpers(s), sharedDecls(s, t, chunks.C).join('\n')],
    workgroupSize: [chunks.C, 1, 1],
    dispatch: grid.dispatch,
    dispatchFormula: grid.folded ? 'B*H*NC*NVT folded as GRID_X x ceil(NWG/GRID_X)' : 'B*H*NC*NVT',
    builtins: ['lid', 'wid'],
    body: (b) => emitBody(b, s, t, grid.folded),
  });
}
