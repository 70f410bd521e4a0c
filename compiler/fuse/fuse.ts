/**
 * Fusion: rewrite rules applied by the engine in rewrite.ts (elementwise chains, matmul
 * epilogues, SwiGLU's two products), then two graph passes (sibling projections merged into one
 * kernel, RMS norms moved into the matmuls that read them). Legality is decided by pure
 * predicates; profitability, where it depends on the device, by FuseOptions (fuseOptionsFor).
 */
import { epilogueBase, matmulProducts, nodeInputs, numel, opOf, type EwExpr, type MatmulProductOp, type Node, type NodeOp } from '../ir/graph.ts';
import type { Graph } from '../ir/graph.ts';
import { ewToString } from '../ir/dump.ts';
import { deviceRates } from '../plan/cost.ts';
import { DEFAULT_LIMITS } from '../plan/device.ts';
import { eliminateDead, rewriteGraph, type Rule } from './rewrite.ts';

/** Most inputs a fused elementwise kernel may read (one binding each, plus the output). */
export const MAX_EW_INPUTS = 6;

/** Replaces `$i` leaves of `e` through `f`. */
function substitute(e: EwExpr, f: (index: number) => EwExpr): EwExpr {
  if (e.kind === 'in') return f(e.index);
  if (e.kind === 'const') return e;
  return { ...e, args: e.args.map((a) => substitute(a, f)) };
}

/**
 * An elementwise node absorbs an elementwise producer that nobody else reads:
 * `mul(silu($0), $1)` instead of two kernels and an intermediate buffer.
 */
export const fuseElementwiseChain: Rule = {
  name: 'fuse-elementwise-chain',
  rewrite(n, ctx) {
    if (n.op !== 'elementwise') return undefined;
    for (const [slot, input] of n.inputs.entries()) {
      const p = ctx.node(input);
      if (p.op !== 'elementwise' || ctx.uses(input) !== 1) continue;
      // The producer's inputs take its slot, in order; inputs already read are shared.
      const inputs: number[] = [];
      const indexOf = (id: number) => {
        const at = inputs.indexOf(id);
        if (at >= 0) return at;
        inputs.push(id);
        return inputs.length - 1;
      };
      const ours = n.inputs.map((id, i) => (i === slot ? p.inputs.map(indexOf) : indexOf(id)));
      if (inputs.length > MAX_EW_INPUTS) continue;
      const inlined = substitute(p.expr, (i) => ({ kind: 'in', index: (ours[slot] as number[])[i] }));
      const expr = substitute(n.expr, (i) => (i === slot ? inlined : { kind: 'in', index: ours[i] as number }));
      return { op: 'elementwise', expr, inputs } satisfies NodeOp;
    }
    return undefined;
  },
};

/**
 * Storage buffers a kernel may bind: WebGPU's guaranteed minimum per shader stage. The rewrite
 * rules never produce a matmul kernel that needs more; the graph passes use the device's limit
 * (FuseOptions.maxStorageBuffers), this one when compiling for no particular device.
 */
export const MAX_STORAGE_BUFFERS = 8;

/** Storage buffers the kernel of a matmul op binds: x, the norm weight, then per product w, w2, epilogue inputs and out. */
export function matmulStorageBuffers(op: NodeOp & { op: 'matmul' }): number {
  const product = (p: MatmulProductOp) => 2 + (p.w2 === undefined ? 0 : 1) + (p.epilogue?.inputs.length ?? 0);
  return 1 + (op.norm ? 1 : 0) + matmulProducts(op).reduce((a, p) => a + product(p), 0);
}

const same = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((x, i) => x === b[i]);
const inp = (index: number): EwExpr => ({ kind: 'in', index });

/**
 * A matmul whose only reader is an elementwise node takes that node's expression as its epilogue
 * (`x + o W`, `logsigmoid(x W) / 16`): one kernel and no intermediate buffer. Legal when the
 * product is not broadcast by the consumer (same shape) and the kernel's buffers fit
 * MAX_STORAGE_BUFFERS. An existing epilogue composes.
 */
export const fuseMatmulEpilogue: Rule = {
  name: 'fuse-matmul-epilogue',
  rewrite(n, ctx) {
    if (n.op !== 'elementwise') return undefined;
    for (const [slot, input] of n.inputs.entries()) {
      const p = ctx.node(input);
      if (p.op !== 'matmul' || p.parts || ctx.uses(input) !== 1 || !same(p.type.shape, n.type.shape)) continue;
      // `$0` (and `$1`, a second product) stay; buffer inputs are numbered from `base`.
      const base = epilogueBase(p);
      const inputs: number[] = [];
      const indexOf = (id: number) => {
        const at = inputs.indexOf(id);
        if (at >= 0) return at + base;
        inputs.push(id);
        return inputs.length - 1 + base;
      };
      const inner = p.epilogue ? p.epilogue.inputs.map(indexOf) : [];
      const outer = n.inputs.map((id, i) => (i === slot ? 0 : indexOf(id)));
      const product: EwExpr = p.epilogue ? substitute(p.epilogue.expr, (i) => inp(i < base ? i : inner[i - base])) : inp(0);
      const expr = substitute(n.expr, (i) => (i === slot ? product : inp(outer[i])));
      const op = { ...(opOf(p) as NodeOp & { op: 'matmul' }), epilogue: { expr, inputs } };
      if (matmulStorageBuffers(op) > MAX_STORAGE_BUFFERS) continue;
      return op;
    }
    return undefined;
  },
};

/**
 * Two products of one x combined pointwise (SwiGLU's `silu(x Wg) * (x Wu)`): the matmul whose
 * epilogue reads the other product takes its weight as a second one (`w2`, `$1` in the epilogue)
 * and accumulates both in one loop: one kernel, x read once, no intermediate buffer. Legal when
 * the other product has no epilogue of its own, the same x, norm, layout and shape, and no other
 * reader.
 */
export const fuseSiblingProduct: Rule = {
  name: 'fuse-sibling-product',
  rewrite(n, ctx) {
    if (n.op !== 'matmul' || !n.epilogue || n.w2 !== undefined || n.parts) return undefined;
    const ins = n.epilogue.inputs;
    for (const [j, id] of ins.entries()) {
      const s = ctx.node(id);
      if (s.op !== 'matmul' || s.epilogue || s.parts || s.x !== n.x || s.transposeW !== n.transposeW) continue;
      if (JSON.stringify(s.norm) !== JSON.stringify(n.norm) || ctx.uses(id) !== 1 || !same(s.type.shape, n.type.shape)) continue;
      const rest = ins.filter((_, k) => k !== j);
      // `$0` stays, the sibling's `$(j+1)` becomes `$1`, the other inputs follow from `$2`.
      const expr = substitute(n.epilogue.expr, (i) => inp(i === 0 ? 0 : i === j + 1 ? 1 : 2 + rest.indexOf(ins[i - 1])));
      return { ...(opOf(n) as NodeOp & { op: 'matmul' }), w2: s.w, epilogue: { expr, inputs: rest } };
    }
    return undefined;
  },
};

export const FUSION_RULES: readonly Rule[] = [fuseElementwiseChain, fuseMatmulEpilogue, fuseSiblingProduct];

/** A matmul with its own output only, which the register-tiled kernel can tile (N, or K for W^T, a multiple of 4). */
function mergeable(g: Graph, n: Node): n is Node & { op: 'matmul' } {
  if (n.op !== 'matmul' || n.parts) return false;
  const K = g.nodes[n.x].type.shape.at(-1)!;
  return n.transposeW ? K % 4 === 0 : n.type.shape.at(-1)! % 4 === 0;
}

/**
 * Sibling projections into one kernel: matmuls of the same x (and norm and layout) become one
 * matmul node computing each product into its own buffer (the first keeps its node, the others
 * become `matmul_part` nodes): q, k, v (and gate) projections read x and compute its norm once
 * and take one dispatch. A sibling joins a group when the epilogue inputs it reads exist before
 * the group's first node and the kernel's buffers stay within the limit; only siblings
 * the register-tiled kernel can tile are merged, so merging never costs a group its best variant.
 * Pure: a new graph.
 */
export function mergeSiblingMatmuls(g: Graph, maxStorageBuffers = MAX_STORAGE_BUFFERS): Graph {
  const byKey = new Map<string, (Node & { op: 'matmul' })[]>();
  for (const n of g.nodes) {
    if (!mergeable(g, n)) continue;
    const key = JSON.stringify([n.x, n.norm ?? null, n.transposeW]);
    byKey.set(key, [...(byKey.get(key) ?? []), n]);
  }
  const replace = new Map<number, NodeOp>();
  for (let pending of byKey.values()) {
    while (pending.length > 1) {
      const [first, ...others] = pending;
      let op: NodeOp & { op: 'matmul' } = opOf(first) as NodeOp & { op: 'matmul' };
      const members: Node[] = [];
      const left: (Node & { op: 'matmul' })[] = [];
      for (const s of others) {
        const product = matmulProducts(s)[0];
        const candidate = { ...op, parts: [...(op.parts ?? []), product] };
        const early = (product.epilogue?.inputs ?? []).every((i) => i < first.id);
        // A norm the group may take in front (fuseNorms, after this pass) needs its weight bound too.
        const reserve = wholeRowNorm(g, first.x) ? 1 : 0;
        if (early && matmulStorageBuffers(candidate) + reserve <= maxStorageBuffers) {
          op = candidate;
          members.push(s);
        } else left.push(s);
      }
      if (members.length) {
        replace.set(first.id, op);
        for (const [i, s] of members.entries()) replace.set(s.id, { op: 'matmul_part', group: first.id, index: i + 1 });
      }
      pending = left;
    }
  }
  return replace.size ? replaceOps(g, replace) : g;
}

/**
 * What fusion put into matmul node `id` of fused graph `g`, for `loom explain`:
 * `rmsnorm prologue, two weights, epilogue mul(silu($0), $1), also writes L0.attn.k`; empty when nothing.
 */
export function describeMatmulFusion(g: Graph, id: number): string {
  const n = g.nodes[id];
  if (n?.op !== 'matmul') return '';
  const parts = g.nodes.filter((m) => m.op === 'matmul_part' && m.group === id).map((m) => m.label);
  const what = [
    ...(n.norm ? ['rmsnorm prologue'] : []),
    ...(n.w2 !== undefined ? ['two weights'] : []),
    ...(n.epilogue ? [`epilogue ${ewToString(n.epilogue.expr)}`] : []),
    ...(parts.length ? [`also writes ${parts.join(', ')}`] : []),
  ];
  return what.join(', ');
}

/** Whether node `id` is an RMS norm over its whole last axis (what a matmul can compute in front). */
function wholeRowNorm(g: Graph, id: number): boolean {
  const n = g.nodes[id];
  return n.op === 'rmsnorm' && (n.group === undefined || n.group === n.type.shape.at(-1));
}

/**
 * What fusing one RMS norm costs and saves, for a device's profitability rule: the norm's rows
 * and width K, and the output columns of each kernel that would compute it (the sum over a merged
 * kernel's parts).
 */
export interface NormFusion {
  rows: number;
  K: number;
  readerColumns: readonly number[];
}

/**
 * RMS norm + matmul: every matmul reading an RMS norm over the whole row computes the norm itself,
 * in the loop over K it already runs (sum of squares beside the products, the norm weight scaling
 * the row's values, the reciprocal root applied to the accumulators), so the normalised tensor is
 * never stored and the norm's kernel goes. The residual add before the norm already ends the
 * preceding matmul (fuseMatmulEpilogue), so this is the norm + residual fusion.
 *
 * Legal when every reader of the norm is a matmul reading it as x, the norm is no graph output,
 * and each reader's kernel stays within `maxStorageBuffers`; done when `pays` (the device's rule)
 * says the arithmetic it adds to each reading kernel costs less than the norm's own kernel. Runs
 * after mergeSiblingMatmuls, so merged siblings count as one reading kernel. Pure.
 */
export function fuseNorms(g: Graph, o: { maxStorageBuffers: number; pays: (c: NormFusion) => boolean }): Graph {
  const replace = new Map<number, NodeOp>();
  for (const { norm, readers, fusion } of normCandidates(g)) {
    if (!o.pays(fusion)) continue;
    const ops = readers.map((r) => ({ ...(opOf(r) as NodeOp & { op: 'matmul' }), x: norm.x, norm: { weight: norm.weight, eps: norm.eps } }));
    if (ops.some((op) => matmulStorageBuffers(op) > o.maxStorageBuffers)) continue;
    for (const [i, r] of readers.entries()) replace.set(r.id, ops[i]);
  }
  return replace.size ? eliminateDead(replaceOps(g, replace)) : g;
}

/**
 * The norms fuseNorms may move into their readers: whole-row RMS norms, no graph output, read
 * only by matmuls as their x (once each), with what fusing each would cost (NormFusion).
 */
function normCandidates(g: Graph): { norm: Node & { op: 'rmsnorm' }; readers: Node[]; fusion: NormFusion }[] {
  const outputs = new Set(Object.values(g.outputs));
  const readersOf = new Map<number, Node[]>();
  for (const n of g.nodes) for (const i of new Set(nodeInputs(n))) readersOf.set(i, [...(readersOf.get(i) ?? []), n]);
  const out: { norm: Node & { op: 'rmsnorm' }; readers: Node[]; fusion: NormFusion }[] = [];
  for (const norm of g.nodes) {
    if (norm.op !== 'rmsnorm' || !wholeRowNorm(g, norm.id) || outputs.has(norm.id)) continue;
    const readers = readersOf.get(norm.id) ?? [];
    const asX = (r: Node) => r.op === 'matmul' && r.x === norm.id && nodeInputs(r).filter((i) => i === norm.id).length === 1;
    if (!readers.length || !readers.every(asX)) continue;
    const K = norm.type.shape.at(-1)!;
    out.push({ norm, readers, fusion: { rows: numel(norm.type.shape) / K, K, readerColumns: readers.map((r) => readerColumns(g, r)) } });
  }
  return out;
}

/** `g` with the ops of some nodes replaced (same ids, types, labels and layers). */
function replaceOps(g: Graph, replace: ReadonlyMap<number, NodeOp>): Graph {
  const nodes = g.nodes.map((n) => {
    const op = replace.get(n.id);
    return op ? (Object.freeze({ ...op, id: n.id, type: n.type, label: n.label, layer: n.layer }) as Node) : n;
  });
  return { ...g, nodes };
}

/**
 * How much to fuse: `none`; `pointwise` (elementwise chains and matmul epilogues only, what
 * Loom did before the norm, SwiGLU and sibling rules: the benchmark's middle row); `all`.
 */
export type FusionLevel = 'none' | 'pointwise' | 'all';

/** What the device changes about fusion: its storage-buffer limit, and when a norm is worth fusing. */
export interface FuseOptions {
  maxStorageBuffers: number;
  normPays: (c: NormFusion) => boolean;
}

/**
 * Whether fusing a norm pays on a CPU adapter, from the CPU class's constants (compiler/plan/cost.ts;
 * not the calibration, so that a device class compiles alike on every machine). The prologue adds
 * per 4x4 tile and step of K a multiply-add for the sum of squares and a multiply by the norm
 * weight on a vec4: 0.75 * rows * K * columns flops over the reading kernels; the norm's own
 * kernel costs a dispatch and a read and a write of rows * K floats. Measured on lavapipe, a
 * register4x4 matmul with the prologue ran 15-30% slower alone (bench/RESULTS.md): a window of
 * 1024 tokens keeps its norms, a decode step (a few rows) fuses them. Pure.
 */
export function cpuNormPays(c: NormFusion): boolean {
  const { prologueMs, kernelMs } = cpuNormCost(c);
  return prologueMs < kernelMs;
}

/** cpuNormPays's two estimates, in milliseconds: the prologue's added arithmetic and the norm's own kernel. */
export function cpuNormCost(c: NormFusion): { prologueMs: number; kernelMs: number } {
  const r = deviceRates({ name: 'cpu', isCpu: true, limits: DEFAULT_LIMITS });
  const extra = c.readerColumns.reduce((a, n) => a + 0.75 * c.rows * c.K * n, 0) / r.flopsPerSec;
  return { prologueMs: extra * 1e3, kernelMs: (r.dispatchSec + (8 * c.rows * c.K) / r.bytesPerSec) * 1e3 };
}

/**
 * The whole-row RMS norms of fused graph `g` that only matmuls read (as x) and that stayed
 * kernels of their own, with why, for `loom explain`. Pure.
 */
export function keptNorms(g: Graph, o: FuseOptions): { label: string; why: string }[] {
  return normCandidates(g).map(({ norm, readers, fusion }) => {
    const kernels = readers.length > 1 ? `${readers.length} reading kernels` : 'reading kernel';
    if (o.normPays(fusion)) return { label: norm.label, why: `a reading kernel would need more than ${o.maxStorageBuffers} storage buffers with the norm weight` };
    const { prologueMs, kernelMs } = cpuNormCost(fusion);
    return { label: norm.label, why: `computing it in its ${kernels} would add ~${prologueMs.toPrecision(2)} ms of arithmetic, its own kernel costs ~${kernelMs.toPrecision(2)} ms (CPU class estimates)` };
  });
}

/** Output columns of the kernel of matmul node `r`: its own and its parts'. */
function readerColumns(g: Graph, r: Node): number {
  return r.type.shape.at(-1)! + g.nodes.filter((m) => m.op === 'matmul_part' && m.group === r.id).reduce((a, m) => a + m.type.shape.at(-1)!, 0);
}

/**
 * Fusion options for a device class. Pure. The storage limit is the device's (the runtime
 * requests the adapter's own, lavapipe: 16). Norms are fused (recomputed per reading kernel) on
 * GPUs and the default profile, where removing the normalised tensor's write and read is what
 * counts, and on CPU adapters where cpuNormPays says so.
 */
export function fuseOptionsFor(device: { isCpu: boolean; limits: { maxStorageBuffersPerShaderStage: number } }): FuseOptions {
  return { maxStorageBuffers: Math.max(MAX_STORAGE_BUFFERS, device.limits.maxStorageBuffersPerShaderStage), normPays: device.isCpu ? cpuNormPays : () => true };
}

const DEFAULT_FUSE: FuseOptions = { maxStorageBuffers: MAX_STORAGE_BUFFERS, normPays: () => true };

export function fuse(g: Graph, level: FusionLevel = 'all', o: FuseOptions = DEFAULT_FUSE): Graph {
  if (level === 'none') return g;
  if (level === 'pointwise') return rewriteGraph(g, [fuseElementwiseChain, fuseMatmulEpilogue]);
  const merged = mergeSiblingMatmuls(rewriteGraph(g, FUSION_RULES), o.maxStorageBuffers);
  return fuseNorms(merged, { maxStorageBuffers: o.maxStorageBuffers, pays: o.normPays });
}
