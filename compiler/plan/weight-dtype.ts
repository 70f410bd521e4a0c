/**
 * Which weights are stored as f16 on the device (`--weights-dtype f16`, or `auto` with a 16-bit
 * checkpoint on an adapter with shader-f16: `chooseWeightDtype`): the projections, whose
 * reading bounds decode on GPUs. A weight is stored f16 only when every reader of it is a matmul
 * reading it as a weight (`w`, `w2`, or a part's) and that matmul has every one of its weights f16;
 * a table read by `embed` too (a tied LM head), norm weights (a matmul's fused `g`, `rmsnorm`),
 * epilogue inputs and every mixer parameter stay f32. Pure.
 */
import { diag, type Diagnostic } from '../../grammar/diagnostics.ts';
import { matmulProducts, nodeInputs, type Graph, type Node } from '../ir/graph.ts';
import type { DeviceProfile } from './device.ts';

export type WeightDtype = 'f32' | 'f16';

/** The weight node ids a matmul reads as weights (`w`, `w2` of each product). */
function projectionWeights(n: Node & { op: 'matmul' }): number[] {
  return matmulProducts(n).flatMap((p) => (p.w2 === undefined ? [p.w] : [p.w, p.w2]));
}

/**
 * The matmul nodes whose weights are all stored f16, and for each other matmul why not (the
 * first weight it reads that another node reads otherwise, by name).
 */
export function f16Matmuls(g: Graph): { f16: Set<number>; why: Map<number, string> } {
  const matmuls = g.nodes.filter((n): n is Node & { op: 'matmul' } => n.op === 'matmul');
  // Every read of every node: (reader, as a projection weight?).
  const reads = new Map<number, { reader: Node; asWeight: boolean }[]>();
  const note = (id: number, reader: Node, asWeight: boolean) => reads.set(id, [...(reads.get(id) ?? []), { reader, asWeight }]);
  for (const n of g.nodes) {
    const own = n.op === 'matmul' ? projectionWeights(n) : [];
    const rest = [...nodeInputs(n)];
    for (const w of own) rest.splice(rest.indexOf(w), 1);
    for (const w of own) note(w, n, true);
    for (const i of rest) note(i, n, false);
  }
  const why = new Map<number, string>();
  const name = (id: number) => (g.nodes[id].op === 'weight' ? (g.nodes[id] as { name: string }).name : g.nodes[id].label);
  const f16 = new Set(matmuls.map((m) => m.id));
  // A matmul loses f16 when one of its weights has another kind of reader or a reader without f16;
  // repeated until nothing changes (a weight shared by two matmuls follows the stricter one).
  for (let changed = true; changed; ) {
    changed = false;
    for (const m of matmuls) {
      if (!f16.has(m.id)) continue;
      for (const w of projectionWeights(m)) {
        if (g.nodes[w].op !== 'weight') {
          why.set(m.id, `its weight operand ${name(w)} is computed, not a parameter`);
          f16.delete(m.id);
          changed = true;
          break;
        }
        const other = (reads.get(w) ?? []).find((r) => !r.asWeight || !f16.has(r.reader.id));
        if (other) {
          const how = other.asWeight ? `matmul ${other.reader.label}, which keeps f32 weights` : other.reader.label === other.reader.op ? other.reader.op : `${other.reader.op} ${other.reader.label}`;
          why.set(m.id, `${name(w)} is also read by ${how}`);
          f16.delete(m.id);
          changed = true;
          break;
        }
      }
    }
  }
  return { f16, why };
}

/** `--weights-dtype`: `auto` (the default) decides from the checkpoint and the adapter. */
export type WeightDtypeRequest = 'auto' | WeightDtype;

/**
 * How the matmul weights are stored. `f32`/`f16` as asked (f16 on an adapter without shader-f16
 * is refused later, LOOM4022). `auto`: f16 when the checkpoint's float tensors are all 16-bit
 * (F16 or BF16: storing them f16 loses nothing of F16 and, BF16 being exact in f16's normal range,
 * only BF16's values below 2^-14) and the adapter has shader-f16; f32 for an F32 (or mixed)
 * checkpoint, for seeded weights (`checkpointDtypes` null) and when the adapter lacks shader-f16
 * or is unknown (`adapterHasF16` undefined). Pure.
 */
export function chooseWeightDtype(requested: WeightDtypeRequest, checkpointDtypes: readonly string[] | null, adapterHasF16: boolean | undefined): { dtype: WeightDtype; why: string } {
  if (requested !== 'auto') return { dtype: requested, why: `--weights-dtype ${requested}` };
  if (checkpointDtypes === null) return { dtype: 'f32', why: 'auto: seeded weights are f32' };
  const wide = checkpointDtypes.filter((d) => d !== 'F16' && d !== 'BF16');
  if (checkpointDtypes.length === 0 || wide.length) return { dtype: 'f32', why: `auto: the checkpoint has ${wide.join(', ') || 'no float'} tensors` };
  if (adapterHasF16 !== true) return { dtype: 'f32', why: `auto: ${checkpointDtypes.join('/')} checkpoint, but the adapter ${adapterHasF16 === false ? 'lacks' : 'may lack'} shader-f16` };
  return { dtype: 'f16', why: `auto: ${checkpointDtypes.join('/')} checkpoint and an adapter with shader-f16` };
}

/** LOOM4022 when f16 weights are asked for on a device known to lack shader-f16; the unknown profile may. */
export function checkWeightDtype(dtype: WeightDtype, device: DeviceProfile): Diagnostic[] {
  if (dtype !== 'f16' || device.shaderF16 !== false) return [];
  return [diag('no-shader-f16', { what: '--weights-dtype f16', device: `the adapter ${device.name}`, hint: 'use --weights-dtype f32, or auto (the default), which chooses f32 there' })];
}
