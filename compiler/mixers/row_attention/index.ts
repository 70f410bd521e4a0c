/**
 * Family ops of the row-attention variants: softplus attention, DiagAttention (TransNormer)
 * and Linformer. Inputs q, k, v `[B, T, H*D]` (Linformer also E, F `[k, max_len]`), output
 * `[B, T, H*D]`. One kernel variant each (`rows`, see kernels.ts).
 */
import type { BufferDecl, Step } from '../../codegen/program.ts';
import type { FamilyAttrs, Node } from '../../ir/graph.ts';
import type { DeviceLimits } from '../../plan/device.ts';
import type { ScheduleCost } from '../../plan/cost.ts';
import type { FamilyBuffers, FamilyNode, FamilyOp, Support, WindowDims } from '../family-op.ts';
import { cacheAppendKernel, MAX_ROW, projectKernel, rowAttentionKernel, type KeyRange, type RowAttentionShape } from './kernels.ts';

const same = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((x, i) => x === b[i]);
const num = (a: FamilyAttrs, k: string) => a[k] as number;

/** The row-attention shape of a node for a window. */
export function rowShape(family: string, a: FamilyAttrs, d: WindowDims): RowAttentionShape {
  const H = num(a, 'heads');
  const D = num(a, 'headDim');
  const slots = (a.cacheSlots as number | undefined) ?? 0;
  const cache = slots ? { slots, ring: family === 'diag_attention' } : null;
  const base = { B: d.B, TQ: d.T, TK: d.T, H, DK: D, DV: D, scale: num(a, 'scale'), lengthScale: null, cache };
  if (family === 'softplus_attention') {
    const range: KeyRange = a.causal ? { kind: 'causal' } : { kind: 'all' };
    return { ...base, weight: 'softplus', range, lengthScale: num(a, 'lengthScale') || null };
  }
  if (family === 'diag_attention') return { ...base, weight: 'softmax', range: { kind: 'block', block: num(a, 'block'), causal: Boolean(a.causal) } };
  return { ...base, TK: num(a, 'proj'), weight: 'softmax', range: { kind: 'all' } };
}

function verify(n: FamilyNode, inputs: readonly Node[]): string | undefined {
  const [B, T, W] = n.type.shape;
  const a = n.attrs;
  const width = num(a, 'heads') * num(a, 'headDim');
  if (W !== width) return `output width ${W} != heads * head_dim = ${width}`;
  const want = [[B, T, width], [B, T, width], [B, T, width]];
  const slots = (a.cacheSlots as number | undefined) ?? 0;
  if (slots) want.push([B], [B, num(a, 'heads'), slots, num(a, 'headDim')], [B, num(a, 'heads'), slots, num(a, 'headDim')]);
  if (n.family === 'linformer') want.push([num(a, 'proj'), num(a, 'maxLen')], [num(a, 'proj'), num(a, 'maxLen')]);
  if (inputs.length !== want.length || !inputs.every((x, i) => same(x.type.shape, want[i]))) return `${n.family} inputs must be shaped ${JSON.stringify(want)}`;
  return undefined;
}

function supports(n: FamilyNode, d: WindowDims, limits: DeviceLimits): Support {
  const s = rowShape(n.family, n.attrs, d);
  if (s.DK > MAX_ROW) return { ok: false, reason: `head_dim = ${s.DK} > ${MAX_ROW}: each invocation keeps q and its output row in private arrays` };
  const max = Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize);
  const bytes = 4 * s.B * Math.max(s.TQ, s.TK) * s.H * s.DK;
  if (bytes > max) return { ok: false, reason: `q/k/v need ${bytes} bytes, over the device's ${max}-byte binding limit` };
  return { ok: true };
}

/** Keys each query reads, summed: the work of one pass. */
function pairs(s: RowAttentionShape): number {
  switch (s.range.kind) {
    case 'all':
      return s.TQ * s.TK;
    case 'causal':
      return (s.TQ * (s.TQ + 1)) / 2;
    case 'block':
      return s.TQ * Math.min(s.range.block, s.TQ);
  }
}

function cost(n: FamilyNode, d: WindowDims): ScheduleCost {
  const s = rowShape(n.family, n.attrs, d);
  const proj = n.family === 'linformer' ? 4 * s.B * s.TK * d.T * s.H * s.DK : 0;
  return { flops: s.B * s.H * pairs(s) * 2 * (s.DK + s.DV) + proj, bytes: 4 * s.B * s.H * pairs(s) * (s.DK + s.DV), serialSteps: s.TK * (s.DK + s.DV), threads: s.B * s.TQ * s.H, dispatches: n.family === 'linformer' ? 3 : 1 };
}

function program(n: FamilyNode, d: WindowDims, b: FamilyBuffers): { buffers: BufferDecl[]; steps: Step[] } {
  const s = rowShape(n.family, n.attrs, d);
  const [q, k, v, e, f] = b.inputs;
  if (s.cache) {
    const [pos, kc, vc] = b.inputs.slice(3);
    const kOut = b.states?.k_cache;
    const vOut = b.states?.v_cache;
    if (!kOut || !vOut) throw new Error(`${n.label}: a cached ${n.family} node needs its k_cache and v_cache outputs`);
    return {
      buffers: [],
      steps: [
        { kernel: rowAttentionKernel(`${n.label}.rows`, s), args: [q, k, v, pos, kc, vc, b.output] },
        // kOut and vOut alias kc and vc (inPlace): the append runs after the rows kernel read them.
        { kernel: cacheAppendKernel(`${n.label}.cache`, s), args: [k, v, pos, kOut, vOut] },
      ],
    };
  }
  if (n.family !== 'linformer') return { buffers: [], steps: [{ kernel: rowAttentionKernel(`${n.label}.rows`, s), args: [q, k, v, b.output] }] };
  const C = s.H * s.DK;
  const p = { B: d.B, T: d.T, P: s.TK, C, maxLen: num(n.attrs, 'maxLen') };
  const [kp, vp] = [`${n.label}.k_proj`, `${n.label}.v_proj`];
  return {
    buffers: [kp, vp].map((name) => ({ name, elem: 'f32', elements: d.B * s.TK * C, role: 'activation' })),
    steps: [
      { kernel: projectKernel(`${n.label}.project`, p), args: [k, e, kp] },
      { kernel: projectKernel(`${n.label}.project`, p), args: [v, f, vp] },
      { kernel: rowAttentionKernel(`${n.label}.rows`, s), args: [q, kp, vp, b.output] },
    ],
  };
}

function op(family: string, o: Pick<FamilyOp, 'causal' | 'describe'> & Partial<FamilyOp>): FamilyOp {
  return {
    family,
    verify,
    variants: () => ['rows'],
    supports: (n, _v, d, limits) => supports(n, d, limits),
    cost: (n, _v, d) => cost(n, d),
    program: (n, _v, d, b) => program(n, d, b),
    // The cache is appended in place after the rows kernel has read it: inputs q, k, v, pos, kc, vc.
    inPlace: (n): Record<string, number> => (n.attrs.cacheSlots ? { k_cache: 4, v_cache: 5 } : {}),
    ...o,
  };
}

export const SOFTPLUS_ATTENTION_OP = op('softplus_attention', {
  causal: (a) => Boolean(a.causal),
  describe: (a) => ` H=${a.heads} D=${a.headDim}${a.causal ? ` causal cache=${a.cacheSlots}` : ''}${a.lengthScale ? ` length_scale=${a.lengthScale}` : ''}`,
});

export const DIAG_ATTENTION_OP = op('diag_attention', {
  causal: (a) => Boolean(a.causal),
  describe: (a) => ` H=${a.heads} D=${a.headDim} block=${a.block}${a.causal ? ' causal (ring cache)' : ''}`,
});

export const LINFORMER_OP = op('linformer', {
  causal: () => false,
  describe: (a) => ` H=${a.heads} D=${a.headDim} k=${a.proj} max_len=${a.maxLen}`,
  maxLength: (a) => ({ maxLen: num(a, 'maxLen'), what: 'projections E and F' }),
});
