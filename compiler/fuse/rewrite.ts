/**
 * The one rewrite engine: runs a table of named rules over a graph in topological order, then
 * drops nodes no output depends on. Rules see the node with its inputs already rewritten.
 */
import { GraphBuilder } from '../ir/builder.ts';
import { mapNodeInputs, nodeInputs, opOf, type Graph, type Node, type NodeOp } from '../ir/graph.ts';

export interface RewriteCtx {
  /** Nodes of the graph being built (inputs of the current node are here). */
  node(id: number): Node;
  /** How many nodes of the input graph read the node that became `id` (outputs count as readers). */
  uses(id: number): number;
}

export interface Rule {
  name: string;
  /** A replacement op for `n` (same type), or undefined when the rule does not apply. */
  rewrite(n: Node & NodeOp, ctx: RewriteCtx): NodeOp | undefined;
}

function useCounts(g: Graph): number[] {
  const uses = new Array<number>(g.nodes.length).fill(0);
  for (const n of g.nodes) for (const i of nodeInputs(n)) uses[i]++;
  for (const id of Object.values(g.outputs)) uses[id]++;
  return uses;
}

/** Applies `rules` (first match wins, repeatedly on the same node) and removes dead nodes. */
export function rewriteGraph(g: Graph, rules: readonly Rule[]): Graph {
  const oldUses = useCounts(g);
  const b = new GraphBuilder(g.dims);
  const newId = new Map<number, number>();
  const newUses = new Map<number, number>();
  for (const w of g.weights) b.weight(w.name, [...w.shape], w.init, -1);
  const ctx: RewriteCtx = { node: (id) => b.node(id), uses: (id) => newUses.get(id) ?? 0 };
  const inits = new Map(g.weights.map((w) => [w.name, w.init]));
  for (const n of g.nodes) {
    let op = mapNodeInputs(opOf(n), (i) => newId.get(i)!);
    for (let changed = true; changed; ) {
      changed = false;
      for (const rule of rules) {
        const candidate = { ...op, id: -1, type: n.type, layer: n.layer, label: n.label } as Node;
        const next = rule.rewrite(candidate, ctx);
        if (next) {
          op = next;
          changed = true;
          break;
        }
      }
    }
    const id = op.op === 'weight' ? b.weight(op.name, [...n.type.shape], inits.get(op.name)!, n.layer) : b.add(op, n.type, n.label, n.layer);
    newId.set(n.id, id);
    newUses.set(id, (newUses.get(id) ?? 0) + oldUses[n.id]);
  }
  const outputs = Object.fromEntries(Object.entries(g.outputs).map(([k, v]) => [k, newId.get(v)!]));
  return eliminateDead({ ...b.finish(), outputs });
}

/** Keeps only nodes that an output depends on (weights of removed nodes are dropped too). */
export function eliminateDead(g: Graph): Graph {
  const live = new Set<number>(Object.values(g.outputs));
  for (let i = g.nodes.length - 1; i >= 0; i--) if (live.has(i)) for (const j of nodeInputs(g.nodes[i])) live.add(j);
  const b = new GraphBuilder(g.dims);
  const newId = new Map<number, number>();
  const inits = new Map(g.weights.map((w) => [w.name, w.init]));
  for (const n of g.nodes) {
    if (!live.has(n.id)) continue;
    const op = mapNodeInputs(opOf(n), (i) => newId.get(i)!);
    const id = op.op === 'weight' ? b.weight(op.name, [...n.type.shape], inits.get(op.name)!, n.layer) : b.add(op, n.type, n.label, n.layer);
    newId.set(n.id, id);
  }
  for (const [k, v] of Object.entries(g.outputs)) b.output(k, newId.get(v)!);
  return b.finish();
}
