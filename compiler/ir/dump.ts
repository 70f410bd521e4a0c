/** The one deterministic printer of graphs, for `loom explain --ir` and internal errors. */
import { matmulProducts, nodeInputs, type EwExpr, type Graph, type MatmulProductOp, type Node } from './graph.ts';
import { familyOpOf } from '../mixers/family-op.ts';

export function ewToString(e: EwExpr): string {
  if (e.kind === 'in') return `$${e.index}`;
  if (e.kind === 'const') return String(e.value);
  return `${e.fn}(${e.args.map(ewToString).join(', ')})`;
}

function attrs(n: Node): string {
  switch (n.op) {
    case 'weight':
    case 'state_in':
      return ` '${n.name}'`;
    case 'matmul':
      return `${n.transposeW ? ' W^T' : ''}${n.norm ? ` rmsnorm(%${n.norm.weight}) eps=${n.norm.eps}` : ''}`;
    case 'matmul_part':
      return ` part ${n.index}`;
    case 'rmsnorm':
      return ` eps=${n.eps}${n.group ? ` group=${n.group}` : ''}`;
    case 'l2norm':
      return ` eps=${n.eps} group=${n.group}`;
    case 'elementwise':
      return ` ${ewToString(n.expr)}`;
    case 'feature_map': {
      const { kind, ...rest } = n.map;
      return ` ${kind} group=${n.group}${Object.entries(rest).map(([k, v]) => ` ${k}=${typeof v === 'number' ? Number(v.toPrecision(6)) : JSON.stringify(v)}`).join('')}`;
    }
    case 'flip':
      return n.shift ? ` shift=${n.shift}` : '';
    case 'cos_reweight':
      return ` group=${n.group} max_len=${n.maxLen}`;
    case 'angle_scan':
      return ` D=${n.group} theta=${n.theta}`;
    case 'rotate':
      return ` D=${n.group}`;
    case 'head_dot':
      return ` group=${n.group}`;
    case 'outer':
      return ` ${n.heads}x${n.width}`;
    case 'length_norm':
      return ` group=${n.group}`;
    case 'conv1d':
      return n.activation ? ` act=${n.activation}` : '';
    case 'linear_attn': {
      const k = n.knobs;
      return ` H=${k.heads} K=${k.keyDim} V=${k.valueDim} phi=${k.feature}${k.normalize ? ' normalized' : ''} scale=${Number(k.scale.toPrecision(6))}`;
    }
    case 'softmax':
      return ` group=${n.group}`;
    case 'rope':
      return ` D=${n.group} theta=${n.theta}`;
    case 'attention': {
      const k = n.knobs;
      const mask = `${k.causal ? 'causal' : 'bidirectional'}${k.window ? ` window=${k.window}` : ''}`;
      return ` H=${k.heads} Hkv=${k.kvHeads} D=${k.headDim} Dv=${k.valueDim} ${mask} scale=${Number(k.scale.toPrecision(6))}${k.causal && !k.window ? ` max_len=${k.maxLen}` : ''}`;
    }
    case 'family':
      return ` ${n.family}${familyOpOf(n.family).describe(n.attrs)}`;
    case 'state_out':
      return ` ${n.which} '${n.name}'`;
    default:
      return '';
  }
}

/** `x, w [, w2] [then expr [inputs]]`, then `; w ...` for each further part. */
function matmulArgs(n: Node & { op: 'matmul' }): string {
  const product = (p: MatmulProductOp, first: boolean) => {
    const ws = [p.w, ...(p.w2 === undefined ? [] : [p.w2])].map((i) => `%${i}`).join(' & ');
    const then = p.epilogue ? ` then ${ewToString(p.epilogue.expr)}${p.epilogue.inputs.length ? ` [${p.epilogue.inputs.map((i) => `%${i}`).join(', ')}]` : ''}` : '';
    return `${first ? '' : '; '}${ws}${then}`;
  };
  return `%${n.x}, ${matmulProducts(n).map((p, i) => product(p, i === 0)).join('')}`;
}

export function dumpGraph(g: Graph): string {
  const lines = [`graph B=${g.dims.B} T=${g.dims.T}: ${g.nodes.length} nodes, ${g.weights.length} weights`];
  for (const n of g.nodes) {
    const ins = n.op === 'matmul' ? matmulArgs(n) : nodeInputs(n).map((i) => `%${i}`).join(', ');
    lines.push(`  %${n.id} = ${n.op}(${ins})${attrs(n)} : ${n.type.dtype}[${n.type.shape.join(', ')}]  # ${n.label}`);
  }
  for (const [name, id] of Object.entries(g.outputs)) lines.push(`  out ${name} = %${id}`);
  return lines.join('\n') + '\n';
}
