/**
 * The workgroup-tiled variant of the parallel schedule (for GPUs): a workgroup of WGQ invocations
 * takes WGQ consecutive queries of one (b, h) and walks the keys they need in tiles of KT, each
 * tile loaded once into workgroup memory by all its invocations (barrier), then read by every
 * query with the online softmax: key/value traffic drops WGQ-fold against `rows`. Loop bounds are
 * workgroup-uniform (positions come through workgroupUniformLoad), so the barriers are legal.
 * On CPU adapters barriers and workgroup memory are slow, and the planner prefers `rows`.
 */
import type { Kernel } from '../../../codegen/kernel.ts';
import { buildKernel, ceilDiv, type WgslBuilder, rolledBound } from '../../../codegen/wgsl.ts';
import { attnConsts, attnInputs, emitKeyUpdate, emitQueryLoad, output, type AttnShape } from './common.ts';

/** Queries (invocations) per workgroup. */
export const TILE_QUERIES = 64;

/** Keys per tile: as many as fit the workgroup memory, at most 64. Pure. */
export function tileKeys(D: number, DV: number, workgroupBytes: number): number {
  return Math.min(64, Math.floor(workgroupBytes / ((D + DV) * 4)));
}

function emitLoadTile(b: WgslBuilder, s: AttnShape, buf: 'k' | 'v'): void {
  const E = buf === 'k' ? 'D' : 'DV';
  const cache = buf === 'k' ? 'kc0' : 'vc0';
  b.block(`for (var i_e = lid.x; i_e < KT * ${E}; i_e += WGQ)`, () => {
    b.line(`let i_j = i_j0 + i_e / ${E};`);
    b.line(`let i_i = i_e % ${E};`);
    b.line('var b_x = 0.0;');
    if (s.knobs.causal) {
      b.line(`if (i_j < i_p0) { b_x = ${cache}[((i_b * HKV + i_hk) * W + i_j % W) * ${E} + i_i]; }`);
      b.line(`else if (i_j < i_end) { b_x = ${buf}[((i_b * T + i_j - i_p0) * HKV + i_hk) * ${E} + i_i]; }`);
    } else {
      b.line(`if (i_j < i_end) { b_x = ${buf}[((i_b * T + i_j) * HKV + i_hk) * ${E} + i_i]; }`);
    }
    b.line(`s_${buf}[i_e] = b_x;`);
  });
}

/** The key range [i_first, i_end) of the workgroup's queries, in absolute positions (t without a cache). */
function emitBlockRange(b: WgslBuilder, s: AttnShape): void {
  const w = s.knobs.window !== null;
  if (s.knobs.causal) {
    b.block('if (lid.x == 0u)', () => b.line('s_pos = u32(pos[i_b]);'));
    b.line('let i_p0 = workgroupUniformLoad(&s_pos);');
    b.line('let i_pa = i_p0 + wid.x * WGQ;');
    b.line('let i_p = i_p0 + i_t;');
    b.line(w ? 'let i_first = select(0u, i_pa + 1u - WINDOW, i_pa + 1u > WINDOW);' : 'let i_first = 0u;');
    b.line('let i_end = i_p0 + min(T, (wid.x + 1u) * WGQ);');
  } else {
    b.line('let i_ta = wid.x * WGQ;');
    b.line('let i_p = i_t;');
    b.line(w ? 'let i_first = select(0u, i_ta + 1u - WINDOW, i_ta + 1u > WINDOW);' : 'let i_first = 0u;');
    b.line(w ? 'let i_end = min(T, i_ta + WGQ - 1u + WINDOW);' : 'let i_end = T;');
  }
}

/** The mask of key position i_j for query position i_p (beyond the block's range). */
function keyMask(s: AttnShape): string | null {
  const k = s.knobs;
  if (k.causal) return k.window === null ? 'i_j <= i_p' : 'i_j <= i_p && i_p - i_j < WINDOW';
  return k.window === null ? null : 'select(i_j - i_p, i_p - i_j, i_p >= i_j) < WINDOW';
}

function emitBody(b: WgslBuilder, s: AttnShape): void {
  b.line('// workgroup = (query block, b*H + h); invocation = one query of the block');
  b.line('let i_bh = wid.y;');
  b.line('let i_b = i_bh / H;');
  b.line('let i_h = i_bh % H;');
  b.line('let i_hk = i_h / GROUP;');
  b.line('let i_t = wid.x * WGQ + lid.x;');
  b.line('let m_live = i_t < T;');
  b.line(rolledBound('D', 'lid'));
  b.line(rolledBound('DV', 'lid'));
  emitQueryLoad(b, '((i_b * T + min(i_t, T - 1u)) * H + i_h)');
  emitBlockRange(b, s);
  b.block('for (var i_j0 = i_first; i_j0 < i_end; i_j0 += KT)', () => {
    emitLoadTile(b, s, 'k');
    emitLoadTile(b, s, 'v');
    b.line('workgroupBarrier();');
    b.block('if (m_live)', () => {
      b.block('for (var i_jj = 0u; i_jj < min(KT, i_end - i_j0); i_jj++)', () => {
        b.line('let i_j = i_j0 + i_jj;');
        const mask = keyMask(s);
        const update = () => {
          b.line('let o_k = i_jj;');
          emitKeyUpdate(b, 's_k', 's_v');
        };
        if (mask === null) update();
        else b.block(`if (${mask})`, update);
      });
    });
    b.line('workgroupBarrier();');
  });
  b.block('if (m_live)', () => {
    b.line('let b_inv = 1.0 / b_l;');
    b.line('let o_o = ((i_b * T + i_t) * H + i_h) * DV;');
    b.block('for (var i_i = 0u; i_i < n_DV; i_i++)', () => b.line('o[o_o + i_i] = b_acc[i_i] * b_inv;'));
  });
}

export function tiledKernel(name: string, s: AttnShape, workgroupBytes: number): Kernel {
  const k = s.knobs;
  const KT = tileKeys(k.headDim, k.valueDim, workgroupBytes);
  const shared = [`var<workgroup> s_k: array<f32, ${KT * k.headDim}>;`, `var<workgroup> s_v: array<f32, ${KT * k.valueDim}>;`];
  if (k.causal) shared.push('var<workgroup> s_pos: u32;');
  const blocks = ceilDiv(s.T, TILE_QUERIES);
  return buildKernel({
    name,
    summary: `softmax attention (${k.causal ? 'causal' : 'bidirectional'}${k.window === null ? '' : `, window ${k.window}`}), WGQ queries per workgroup sharing key/value tiles of KT in workgroup memory, online softmax`,
    bindings: [...attnInputs(s), output('o', s.B * s.T * k.heads * k.valueDim)],
    consts: [...attnConsts(s), ['WGQ', TILE_QUERIES], ['KT', KT]],
    fconsts: [['SCALE', k.scale]],
    helpers: shared,
    workgroupSize: [TILE_QUERIES, 1, 1],
    dispatch: [blocks, s.B * k.heads, 1],
    dispatchFormula: 'ceil(T/WGQ) x B*H',
    builtins: ['lid', 'wid'],
    body: (b) => emitBody(b, s),
  });
}
