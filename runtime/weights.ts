/**
 * Model weights: seeded initialisation from a model's weight declarations, and loading and saving
 * them as safetensors with every declared tensor checked by name and shape.
 */
import { diag, LoomError } from '../grammar/diagnostics.ts';
import type { Diagnostic } from '../grammar/diagnostics.ts';
import { numel } from '../compiler/ir/graph.ts';
import type { WeightDecl } from '../compiler/ir/graph.ts';
import { Rng } from './random.ts';
import { readSafetensors, writeSafetensors } from './safetensors.ts';
import type { WriteTensor } from './safetensors.ts';

function shapeText(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/**
 * One Float32Array per declaration: normal(0, std), ones or zeros. Each weight draws from its own
 * stream `Rng.forName(seed, name)`, so adding or reordering weights never changes the others.
 */
export function seededWeights(decls: readonly WeightDecl[], seed: number): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  for (const d of decls) {
    const n = numel(d.shape);
    switch (d.init.kind) {
      case 'normal':
        out.set(d.name, Rng.forName(seed, d.name).normals(n, d.init.std));
        break;
      case 'ones':
        out.set(d.name, new Float32Array(n).fill(1));
        break;
      case 'zeros':
        out.set(d.name, new Float32Array(n));
        break;
    }
  }
  return out;
}

/**
 * Reads the declared weights from a safetensors file. Every declaration must be present with
 * its exact shape (LOOM5002 missing-weight, LOOM5003 weight-shape) and as a float tensor; a tensor
 * nobody declared is an error too (LOOM5001 bad-weights). All problems are reported together.
 */
export function loadWeights(decls: readonly WeightDecl[], path: string): Map<string, Float32Array> {
  const { tensors } = readSafetensors(path);
  const errors: Diagnostic[] = [];
  const out = new Map<string, Float32Array>();
  for (const d of decls) {
    const t = tensors.get(d.name);
    if (!t) {
      errors.push(diag('missing-weight', { name: d.name, shape: `${shapeText(d.shape)} (in ${path})` }, { file: path }));
    } else if (!sameShape(t.shape, d.shape)) {
      const expected = `${shapeText(d.shape)} (in ${path})`;
      errors.push(diag('weight-shape', { name: d.name, found: shapeText(t.shape), expected }, { file: path }));
    } else if (!(t.data instanceof Float32Array)) {
      errors.push(diag('bad-weights', { message: `${path}: tensor '${d.name}' is ${t.dtype}, the model needs a float tensor` }, { file: path }));
    } else {
      out.set(d.name, t.data);
    }
  }
  const declared = new Set(decls.map((d) => d.name));
  const extra = [...tensors.keys()].filter((n) => !declared.has(n)).sort();
  if (extra.length > 0) {
    const names = extra.map((n) => `'${n}'`).join(', ');
    errors.push(diag('bad-weights', { message: `${path}: tensor(s) ${names} are not weights of the model` }, { file: path }));
  }
  if (errors.length > 0) throw new LoomError(errors);
  return out;
}

/** Writes the declared weights as F32 safetensors; each must be present with numel(shape) values. */
export function saveWeights(
  path: string,
  decls: readonly WeightDecl[],
  weights: ReadonlyMap<string, Float32Array>,
  metadata?: Record<string, string>,
): void {
  const tensors: Record<string, WriteTensor> = {};
  for (const d of decls) {
    const w = weights.get(d.name);
    const where = `${path}: cannot save weight '${d.name}' ${shapeText(d.shape)}`;
    if (!w) throw new LoomError([diag('bad-weights', { message: `${where}: no value given` })]);
    if (w.length !== numel(d.shape)) {
      throw new LoomError([diag('bad-weights', { message: `${where}: got ${w.length} values, need ${numel(d.shape)}` })]);
    }
    tensors[d.name] = { dtype: 'F32', shape: [...d.shape], data: w };
  }
  writeSafetensors(path, tensors, metadata);
}
