/**
 * GraphBuilder: the only way to create graph nodes. Nodes are interned: adding a node that is
 * structurally equal to an existing one (same op, attributes and inputs) returns the existing id.
 */
import { LoomInternalError } from '../../grammar/diagnostics.ts';
import type { Graph, Node, NodeOp, TensorType, WeightDecl, WeightInit } from './graph.ts';

/** Name of the state holding each sequence's absolute position (see `GraphBuilder.position`). */
export const POSITION_STATE = 'pos';

function key(op: NodeOp, type: TensorType): string {
  return JSON.stringify([op, type.shape, type.dtype]);
}

export class GraphBuilder {
  private readonly nodes: Node[] = [];
  private readonly interned = new Map<string, number>();
  private readonly weights = new Map<string, WeightDecl>();
  private readonly outputs: Record<string, number> = {};
  private readonly labels = new Set<string>();

  constructor(readonly dims: { B: number; T: number }) {}

  /** Adds (or finds) a node. `label` and `layer` describe the first occurrence. */
  add(op: NodeOp, type: TensorType, label: string, layer: number): number {
    const k = key(op, type);
    const found = this.interned.get(k);
    if (found !== undefined) return found;
    const id = this.nodes.length;
    // Labels name buffers and kernels, so they are unique: a repeated one gets a suffix (`L0.add.1`).
    let unique = label;
    for (let i = 1; this.labels.has(unique); i++) unique = `${label}.${i}`;
    this.labels.add(unique);
    this.nodes.push(Object.freeze({ ...op, id, type: Object.freeze({ ...type, shape: Object.freeze([...type.shape]) }), label: unique, layer }) as Node);
    this.interned.set(k, id);
    return id;
  }

  /** A parameter tensor node; declares the weight (same name twice must agree on shape). */
  weight(name: string, shape: number[], init: WeightInit, layer: number): number {
    const prev = this.weights.get(name);
    if (prev && JSON.stringify(prev.shape) !== JSON.stringify(shape)) {
      throw new LoomInternalError('lower', `weight ${name} declared with shapes [${prev.shape}] and [${shape}]`);
    }
    if (!prev) this.weights.set(name, { name, shape, init });
    return this.add({ op: 'weight', name }, { shape, dtype: 'f32' }, name, layer);
  }

  node(id: number): Node {
    const n = this.nodes[id];
    if (!n) throw new LoomInternalError('lower', `no node ${id}`);
    return n;
  }

  /**
   * Absolute positions: a `[B]` f32 node holding how many tokens each sequence consumed before
   * this window (state `pos`, zeros on a fresh sequence), so token t of the window sits at
   * `pos[b] + t`. The first call also adds the graph output `pos` = pos + T, which carries it to
   * the next call like any recurrent state. Exact up to 2^24 tokens.
   */
  position(): number {
    const { B, T } = this.dims;
    const type: TensorType = { shape: [B], dtype: 'f32' };
    const pos = this.add({ op: 'state_in', name: POSITION_STATE }, type, `${POSITION_STATE}0`, -1);
    if (!(POSITION_STATE in this.outputs)) {
      const expr = { kind: 'fn', fn: 'add', args: [{ kind: 'in', index: 0 }, { kind: 'const', value: T }] } as const;
      this.output(POSITION_STATE, this.add({ op: 'elementwise', expr, inputs: [pos] }, type, POSITION_STATE, -1));
    }
    return pos;
  }

  output(name: string, id: number): void {
    this.outputs[name] = id;
  }

  finish(): Graph {
    return { dims: this.dims, nodes: [...this.nodes], weights: [...this.weights.values()], outputs: { ...this.outputs } };
  }
}
