/**
 * GraphBuilder: the only way to create graph nodes. Nodes are interned: adding a node that is
 * structurally equal to an existing one (same op, attributes and inputs) returns the existing id.
 */
import { LoomInternalError } from '../../grammar/diagnostics.ts';
import type { Graph, Node, NodeOp, TensorType, WeightDecl, WeightInit } from './graph.ts';

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

  output(name: string, id: number): void {
    this.outputs[name] = id;
  }

  finish(): Graph {
    return { dims: this.dims, nodes: [...this.nodes], weights: [...this.weights.values()], outputs: { ...this.outputs } };
  }
}
