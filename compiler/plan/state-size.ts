/**
 * The decode memory of a model: every recurrent state the graph carries from one call to the next
 * (matrix states, normalisers, short-conv tails, KV caches, positions) with its size and how it
 * grows with the context. Pure: a function of the lowered graph (`loom explain --mode decode`).
 */
import type { Graph } from '../ir/graph.ts';

export type StateGrowth =
  /** A recurrent state: the same size at any context length. */
  | { kind: 'constant' }
  /** A global attention KV cache: holds every position so far, allocated for `maxLen`. */
  | { kind: 'kv-cache'; maxLen: number; bytesPerToken: number }
  /** A sliding-window KV cache: a ring of `window` slots. */
  | { kind: 'kv-ring'; window: number }
  /** Each sequence's absolute position. */
  | { kind: 'position' };

export interface StateSize {
  name: string;
  /** The layer, or -1 for model-wide states (`pos`). */
  layer: number;
  shape: readonly number[];
  elements: number;
  bytes: number;
  growth: StateGrowth;
}

/** The carried states of `graph` (state_in nodes with a matching output, once by name), in graph order. */
export function stateSizes(graph: Graph): StateSize[] {
  const caches = new Map<number, { window: number | null; maxLen: number }>(); // state_in id -> its attention
  for (const n of graph.nodes) {
    if (n.op !== 'attention') continue;
    for (const id of [n.kc0, n.vc0]) if (id !== null) caches.set(id, { window: n.knobs.window, maxLen: n.knobs.maxLen });
  }
  // Family ops with a KV cache (causal softplus attention: maxPositions; DiagAttention: a ring of cacheSlots).
  for (const n of graph.nodes) {
    if (n.op !== 'family' || typeof n.attrs.cacheSlots !== 'number') continue;
    const max = n.attrs.maxPositions;
    for (const id of n.inputs) {
      const s = graph.nodes[id];
      if (s.op === 'state_in' && /\.[kv]_cache$/.test(s.name)) caches.set(id, typeof max === 'number' ? { window: null, maxLen: max } : { window: n.attrs.cacheSlots, maxLen: n.attrs.cacheSlots });
    }
  }
  const seen = new Set<string>();
  return graph.nodes.flatMap((n) => {
    if (n.op !== 'state_in' || !(n.name in graph.outputs) || seen.has(n.name)) return [];
    seen.add(n.name);
    const shape = n.type.shape;
    const elements = shape.reduce((a, b) => a * b, 1);
    const bytes = elements * 4;
    const cache = caches.get(n.id);
    let growth: StateGrowth = { kind: 'constant' };
    if (cache && cache.window !== null) growth = { kind: 'kv-ring', window: cache.window };
    else if (cache) growth = { kind: 'kv-cache', maxLen: cache.maxLen, bytesPerToken: bytes / cache.maxLen };
    else if (n.layer < 0) growth = { kind: 'position' };
    return [{ name: n.name, layer: n.layer, shape, elements, bytes, growth }];
  });
}

/** How a state's size depends on the context, in words. */
export function growthText(g: StateGrowth): string {
  switch (g.kind) {
    case 'constant':
      return 'constant in context length';
    case 'kv-cache':
      return `grows with context up to max_len = ${g.maxLen} (${g.bytesPerToken} bytes per token; allocated for max_len)`;
    case 'kv-ring':
      return `constant: ring of ${g.window} window slots`;
    case 'position':
      return 'position per sequence, constant';
  }
}

/** The decode-state table `loom explain --mode decode` prints, and its totals. */
export function stateReport(states: readonly StateSize[], B: number): string[] {
  const kib = (n: number) => (n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`);
  const out = [`decode state, B=${B} (every state's leading dimension is the batch):`];
  const shape = (s: StateSize) => `[${s.shape.join(', ')}]`;
  const width = Math.max(0, ...states.map((s) => s.name.length));
  const shapeWidth = Math.max(0, ...states.map((s) => shape(s).length));
  const numWidth = Math.max(0, ...states.map((s) => String(s.bytes).length));
  const layers = [...new Set(states.map((s) => s.layer))].sort((a, b) => a - b);
  for (const layer of layers) {
    const mine = states.filter((s) => s.layer === layer);
    out.push(`  ${layer < 0 ? 'model' : `layer ${layer}`}: ${mine.reduce((a, s) => a + s.bytes, 0)} bytes`);
    for (const s of mine) {
      out.push(`    ${s.name.padEnd(width)}  ${shape(s).padEnd(shapeWidth)}  ${String(s.elements).padStart(numWidth)} elements ${String(s.bytes).padStart(numWidth)} bytes  ${growthText(s.growth)}`);
    }
  }
  const sum = (f: (s: StateSize) => boolean) => states.filter(f).reduce((a, s) => a + s.bytes, 0);
  const growing = states.filter((s) => s.growth.kind === 'kv-cache');
  const perToken = growing.reduce((a, s) => a + (s.growth.kind === 'kv-cache' ? s.growth.bytesPerToken : 0), 0);
  const total = sum(() => true);
  out.push(`  total ${total} bytes (${kib(total)}) in ${states.length} states: ${sum((s) => s.growth.kind !== 'kv-cache')} bytes constant in context length` +
    (growing.length ? `, ${sum((s) => s.growth.kind === 'kv-cache')} bytes of KV cache allocated for max_len, in use ${perToken} bytes per token of context` : ''));
  return out;
}
