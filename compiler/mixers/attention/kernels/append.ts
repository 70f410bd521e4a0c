/**
 * The KV-cache update (causal attention): cache `[B, HKV, W, E]` after this window, position j in
 * slot j mod W. One invocation per cache element: slot s holds, after the window, the latest
 * position p = last - ((last - s) mod W) with last = pos[b] + T - 1; it is new (from x, this
 * window's keys or values `[B, T, HKV, E]`) when p >= pos[b], i.e. when (last - s) mod W < T, and
 * otherwise kept from cache0. The same kernel serves keys (E = D) and values (E = DV).
 */
import type { Kernel } from '../../../codegen/kernel.ts';
import { buildKernel } from '../../../codegen/wgsl.ts';
import { output, threadGrid, WG } from './common.ts';

export interface AppendShape {
  B: number;
  T: number;
  HKV: number;
  /** Cache slots. */
  W: number;
  /** Elements per key or value. */
  E: number;
  maxGroupsPerDim: number;
}

export function appendKernel(name: string, s: AppendShape): Kernel {
  const n = s.B * s.HKV * s.W * s.E;
  const grid = threadGrid(n, 'B*HKV*W*E', s.maxGroupsPerDim);
  const f = (name: string, elements: number) => ({ name, access: 'read' as const, elem: 'f32' as const, elements });
  return buildKernel({
    name,
    summary: 'KV-cache append: slot s of the ring holds position j = s (mod W); this window writes positions pos .. pos+T-1',
    bindings: [f('cache0', n), f('x', s.B * s.T * s.HKV * s.E), f('pos', s.B), output('cache', n)],
    consts: [['B', s.B], ['T', s.T], ['HKV', s.HKV], ['W', s.W], ['E', s.E], ...grid.consts],
    workgroupSize: [WG, 1, 1],
    dispatch: grid.dispatch,
    dispatchFormula: grid.formula,
    body: (b) => {
      b.line(grid.folded ? 'let i_thread = gid.y * (GRID_X * WG) + gid.x;' : 'let i_thread = gid.x;');
      b.line('if (i_thread >= N) { return; }');
      b.line('let i_e = i_thread % E;');
      b.line('let i_s = (i_thread / E) % W;');
      b.line('let i_bh = i_thread / (E * W);');
      b.line('let i_b = i_bh / HKV;');
      b.line('let i_last = u32(pos[i_b]) + T - 1u;');
      b.line('// how many positions before the last one this slot was written');
      b.line('let i_back = (i_last % W + W - i_s) % W;');
      b.block('if (i_back < T)', () => b.line('cache[i_thread] = x[((i_b * T + T - 1u - i_back) * HKV + i_bh % HKV) * E + i_e];'));
      b.block('else', () => b.line('cache[i_thread] = cache0[i_thread];'));
    },
  });
}
