/**
 * chunk_h_wg, the workgroup-memory form of chunk_h (state.ts), for GPUs. A workgroup per
 * (b, h, tile of BR state rows, tile of BCG column groups), one invocation per (row i, column
 * group) of the tile. It walks the chunks in order, stores h_n (the state before chunk n) and runs
 * the recurrence S_t[i] = exp(g_t[i]) S_{t-1}[i] + k~_t[i] v_t over the chunk's tokens in slabs of
 * BT: each slab's k~ rows, v columns and decay factors exp(g) are loaded into workgroup memory
 * once (barrier) and read by every invocation of the tile, so k~ is read from global memory
 * once per column tile instead of once per column group, v once per row tile instead of once per
 * row, and each exp(g) is taken once per workgroup. The walk is the recurrence itself (every
 * factor <= 1), as in the register variant.
 */
import type { Kernel } from '../../../codegen/kernel.ts';
import { buildKernel, type WgslBuilder } from '../../../codegen/wgsl.ts';
import {
  decayDecls,
  emitFixedGate,
  featureHelpers,
  gateBindings,
  input,
  loadValue,
  output,
  phi,
  shapeConsts,
  storeValue,
  type AdditiveShape,
} from './common.ts';
import type { Chunking } from './state.ts';
import { emitWgIndex, stateTiles, wgGrid, type StateTiles } from './wg-tiles.ts';

function emitIndices(b: WgslBuilder, s: AdditiveShape): void {
  b.line('// workgroup = (b, h, row tile, column tile); invocation = (row i, column group g)');
  b.line('let i_ct = i_wg % NCT;');
  b.line('let i_rt = (i_wg / NCT) % NRT;');
  b.line('let i_bh = i_wg / (NCT * NRT);');
  b.line('let i_b = i_bh / H;');
  b.line('let i_h = i_bh % H;');
  b.line('let i_r = lid.x / BCG;');
  b.line('let i_cg = lid.x % BCG;');
  b.line('let i_i = i_rt * BR + i_r;');
  b.line('let i_g = i_ct * BCG + i_cg;');
  b.line('let m_live = i_i < K && i_g < VG;');
  b.line('let i_ic = min(i_i, K - 1u);');
  b.line('let o_col = min(i_g, VG - 1u) * VW;');
  b.line('let o_state = (i_bh * K + i_ic) * V + o_col;');
  emitFixedGate(b, s);
  if (s.decay.kind === 'fixed') b.line('let b_d = exp(b_lam);');
}

/** Slab [o_s0, o_s0 + BT) of chunk n into workgroup memory: k~ rows of the tile, v columns, exp(g). */
function emitLoadSlab(b: WgslBuilder, s: AdditiveShape): void {
  const tok = '(i_b * T + o_t0 + min(i_s, n_tok - 1u)) * H + i_h';
  b.block('for (var i_e = lid.x; i_e < BT * BR; i_e += BR * BCG)', () => {
    b.line('let i_s = o_s0 + i_e / BR;');
    b.line('let i_row = i_rt * BR + i_e % BR;');
    b.line('let m_x = i_s < n_tok && i_row < K;');
    b.line(`let o_k = (${tok}) * K + min(i_row, K - 1u);`);
    b.line(`s_k[i_e] = select(0.0, ${phi(s, 'k[o_k]')}, m_x);`);
    if (s.decay.kind === 'vector') b.line('s_d[i_e] = select(1.0, exp(g[o_k]), m_x);');
  });
  b.block('for (var i_e = lid.x; i_e < BT * BCV; i_e += BR * BCG)', () => {
    b.line('let i_s = o_s0 + i_e / BCV;');
    b.line('let i_col = i_ct * BCV + i_e % BCV;');
    b.line(`let o_v = (${tok}) * V + min(i_col, V - 1u);`);
    b.line('s_v[i_e] = select(0.0, v[o_v], i_s < n_tok && i_col < V);');
  });
  if (s.decay.kind === 'scalar') {
    b.block('for (var i_e = lid.x; i_e < BT; i_e += BR * BCG)', () => {
      b.line('let i_s = o_s0 + i_e;');
      b.line(`s_d[i_e] = select(1.0, exp(g[${tok}]), i_s < n_tok);`);
    });
  }
}

/** The recurrence over the slab's tokens, from workgroup memory. */
function emitWalk(b: WgslBuilder, s: AdditiveShape): void {
  b.line('let n_s = select(0u, min(BT, n_tok - o_s0), o_s0 < n_tok);');
  b.block('for (var i_s = 0u; i_s < n_s; i_s++)', () => {
    b.line('let b_k = s_k[i_s * BR + i_r];');
    const kv = `b_k * ${loadValue(s, 's_v', 'i_s * BCV + i_cg * VW')}`;
    if (s.decay.kind === 'none') {
      b.line(`b_s += ${kv};`);
      if (s.normalize) b.line('b_z += b_k;');
      return;
    }
    if (s.decay.kind === 'scalar') b.line('let b_d = s_d[i_s];');
    if (s.decay.kind === 'vector') b.line('let b_d = s_d[i_s * BR + i_r];');
    b.line(`b_s = b_d * b_s + ${kv};`);
    if (s.normalize) b.line('b_z = b_d * b_z + b_k;');
  });
}

function emitBody(b: WgslBuilder, s: AdditiveShape, folded: boolean): void {
  emitWgIndex(b, folded, s.unrollK === true, ['NSL']);
  emitIndices(b, s);
  b.line(`var b_s = ${loadValue(s, 's0', 'o_state')};`);
  if (s.normalize) b.line('var b_z = z0[i_bh * K + i_ic];');
  b.block('for (var i_n = 0u; i_n < NC; i_n++)', () => {
    b.line('// h_n = the state before chunk n');
    b.line('let o_hrow = (i_bh * NC + i_n) * K + i_ic;');
    b.block('if (m_live)', () => {
      b.line('let o_h = o_hrow * V + o_col;');
      storeValue(b, s, 'h', 'o_h', 'b_s');
      if (s.normalize) b.line('if (i_g == 0u) { hz[o_hrow] = b_z; }');
    });
    b.line('let o_t0 = i_n * C;');
    b.line('let n_tok = min(C, T - o_t0);');
    b.block('for (var i_sl = 0u; i_sl < n_NSL; i_sl++)', () => {
      b.line('let o_s0 = i_sl * BT;');
      b.line('workgroupBarrier();');
      emitLoadSlab(b, s);
      b.line('workgroupBarrier();');
      emitWalk(b, s);
    });
  });
  b.block('if (m_live)', () => {
    storeValue(b, s, 'S', 'o_state', 'b_s');
    if (s.normalize) b.line('if (i_g == 0u) { z[i_bh * K + i_i] = b_z; }');
  });
}

function sharedDecls(s: AdditiveShape, t: StateTiles): string {
  const decls = [`var<workgroup> s_k: array<f32, ${t.BT * t.BR}>;`, `var<workgroup> s_v: array<f32, ${t.BT * t.BCV}>;`];
  if (s.decay.kind === 'vector') decls.push(`var<workgroup> s_d: array<f32, ${t.BT * t.BR}>;`);
  if (s.decay.kind === 'scalar') decls.push(`var<workgroup> s_d: array<f32, ${t.BT}>;`);
  return decls.join('\n');
}

/** `chunk_h_wg`: chunk states h_n (and hz_n) and the final S (z), slabs in workgroup memory. */
export function wgStateKernel(name: string, s: AdditiveShape, chunks: Chunking): Kernel {
  const { B, T, H, K, V } = s;
  const t = stateTiles(s, chunks.C);
  const grid = wgGrid(B * H * t.NRT * t.NCT, s.maxGroupsPerDim);
  const bindings = [input('k', B * T * H * K), input('v', B * T * H * V), ...gateBindings(s), input('s0', B * H * K * V)];
  if (s.normalize) bindings.push(input('z0', B * H * K));
  bindings.push(output('h', B * H * chunks.NC * K * V));
  if (s.normalize) bindings.push(output('hz', B * H * chunks.NC * K));
  bindings.push(output('S', B * H * K * V));
  if (s.normalize) bindings.push(output('z', B * H * K));
  const what = s.decay.kind === 'none' ? `S = s0 + sum_t k~_t v_t^T${s.normalize ? ', z alike' : ''}` : `S_t = D_t S_{t-1} + k~_t v_t^T${s.normalize ? ', z alike' : ''} (decay ${s.decay.kind})`;
  return buildKernel({
    name,
    summary: `chunk states h_n = state before chunk n (C = ${chunks.C}), and final ${what}; k~, v slabs shared in workgroup memory`,
    bindings,
    consts: [
      ...shapeConsts(s),
      ['C', chunks.C],
      ['NC', chunks.NC],
      ['BR', t.BR],
      ['BCG', t.BCG],
      ['BCV', t.BCV],
      ['NRT', t.NRT],
      ['NCT', t.NCT],
      ['BT', t.BT],
      ['NSL', t.NSL],
      ...grid.consts,
    ],
    helpers: [...decayDecls(s), ...featureHelpers(s), sharedDecls(s, t)],
    workgroupSize: [t.BR * t.BCG, 1, 1],
    dispatch: grid.dispatch,
    dispatchFormula: grid.folded ? 'B*H*NRT*NCT folded as GRID_X x ceil(NWG/GRID_X)' : 'B*H*NRT*NCT',
    builtins: ['lid', 'wid'],
    body: (b) => emitBody(b, s, grid.folded),
  });
}
