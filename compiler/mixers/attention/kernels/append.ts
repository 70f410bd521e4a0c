/**
 * The KV-cache update (causal attention), in place: cache `[B, HKV, W, E]` keeps position j in slot
 * j mod W, and this window's keys or values x `[B, T, HKV, E]` are written to the slots of
 * positions pos[b] .. pos[b]+T-1. One invocation per (b, head, token, element) of the window, so the
 * cost follows the window, not the cache's capacity; when T > W only the last W tokens are written
 * (earlier ones would land in slots later tokens overwrite). Runs after the attention kernels of the
 * window, which read the cache as it was. The same kernel serves keys (E = D) and values (E = DV).
 */
import type { Kernel } from '../../../codegen/kernel.ts';
import { buildKernel } from '../../../codegen/wgsl.ts';
import { input, output, threadGrid, WG } from './common.ts';

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
  const n = s.B * s.T * s.HKV * s.E;
  const grid = threadGrid(n, 'B*T*HKV*E', s.maxGroupsPerDim);
  return buildKernel({
    name,
    summary: 'KV-cache append in place: slot j mod W of the ring holds position j; this window writes positions pos .. pos+T-1',
    bindings: [input('x', n), input('pos', s.B), output('cache', s.B * s.HKV * s.W * s.E)],
    consts: [['B', s.B], ['T', s.T], ['HKV', s.HKV], ['W', s.W], ['E', s.E], ...grid.consts],
    workgroupSize: [WG, 1, 1],
    dispatch: grid.dispatch,
    dispatchFormula: grid.formula,
    body: (b) => {
      b.line(grid.folded ? 'let i_thread = gid.y * (GRID_X * WG) + gid.x;' : 'let i_thread = gid.x;');
      b.line('if (i_thread >= N) { return; }');
      b.line('let i_e = i_thread % E;');
      b.line('let i_h = (i_thread / E) % HKV;');
      b.line('let i_t = (i_thread / (E * HKV)) % T;');
      b.line('let i_b = i_thread / (E * HKV * T);');
      b.line('// a token W or more before the window\'s end lands in a slot a later token overwrites');
      b.line('if (i_t + W < T) { return; }');
      b.line('let i_slot = (u32(pos[i_b]) + i_t) % W;');
      b.line('cache[((i_b * HKV + i_h) * W + i_slot) * E + i_e] = x[i_thread];');
    },
  });
}
