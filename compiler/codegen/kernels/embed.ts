/**
 * Token embedding gather: `out[n, :] = table[ids[n], :]`, one invocation per output element.
 *
 * Ids are validated on the host; the kernel still never reads outside the table. An id outside
 * [0, V) writes NaN to its whole row, so the bug is loud downstream instead of silently reading
 * a neighbouring row.
 */
import { LoomInternalError } from '../../../grammar/diagnostics.ts';
import type { Kernel } from '../kernel.ts';
import { buildKernel } from '../wgsl.ts';
import { flatDispatch, flatIndex, needsGuard } from './elementwise.ts';

const WG = 64;

/** Bits of a quiet NaN. WGSL rejects NaN constants, so the kernel ORs in the bad id at runtime. */
const QNAN_BITS = 0x7fc00000;

/** `table f32[V*D], ids i32[N] -> out f32[N*D]`. */
export function embedKernel(o: { name: string; tokens: number; vocab: number; dim: number }): Kernel {
  const { tokens: N, vocab: V, dim: D } = o;
  for (const [what, v] of [['tokens', N], ['vocab', V], ['dim', D]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new LoomInternalError('codegen', `${o.name}: ${what} = ${v} must be a positive integer`);
  }
  if (V > 0x7fffffff) throw new LoomInternalError('codegen', `${o.name}: vocab ${V} does not fit an i32 id`);
  const total = N * D;
  const { dispatch, formula } = flatDispatch(total, WG, 'N*D');
  const index = flatIndex(dispatch, 'gid', WG);
  return buildKernel({
    name: o.name,
    summary: 'out[n, :] = table[ids[n], :]; an id outside [0, V) makes its row NaN',
    bindings: [
      { name: 'table', access: 'read', elem: 'f32', elements: V * D },
      { name: 'ids', access: 'read', elem: 'i32', elements: N },
      { name: 'out', access: 'read_write', elem: 'f32', elements: total },
    ],
    consts: [['V', V], ['D', D], ['ND', total], ['QNAN_BITS', QNAN_BITS], ...index.consts],
    workgroupSize: [WG, 1, 1],
    dispatch,
    dispatchFormula: formula,
    body: (b) => {
      b.line(`let i_el = ${index.expr};`);
      if (needsGuard(dispatch, WG, total)) b.line('if (i_el >= ND) { return; }');
      b.line('let i_tok = i_el / D;');
      b.line('let i_d = i_el % D;');
      b.line('let i_id = ids[i_tok];');
      b.block('if (i_id < 0 || u32(i_id) >= V)', () => {
        b.line('// Quiet-NaN bits OR anything stay a NaN; the id keeps it a runtime value.');
        b.line('out[i_el] = bitcast<f32>(QNAN_BITS | bitcast<u32>(i_id));');
        b.line('return;');
      });
      b.line('out[i_el] = table[u32(i_id) * D + i_d];');
    },
  });
}
