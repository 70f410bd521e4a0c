/**
 * Model weights: seeded initialisation from a model's weight declarations, and loading and saving
 * them as safetensors with every declared tensor checked by name and shape.
 */
import { diag, LoomError } from '../grammar/diagnostics.ts';
import type { Diagnostic } from '../grammar/diagnostics.ts';
import { numel } from '../compiler/ir/graph.ts';
import type { WeightDecl } from '../compiler/ir/graph.ts';
import { Rng } from './random.ts';
import { openWeights } from './safetensors-index.ts';
import { writeSafetensors } from './safetensors.ts';
import type { WriteTensor } from './safetensors.ts';

function shapeText(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** The identity in each square matrix of the last two axes of `shape` (`[.., K, K]`). */
function eye(shape: readonly number[]): Float32Array {
  const K = shape[shape.length - 1];
  if (shape.length < 2 || shape[shape.length - 2] !== K) throw new RangeError(`eye init needs square trailing axes, got ${shapeText(shape)}`);
  const out = new Float32Array(numel(shape));
  for (let m = 0; m < out.length; m += K * K) for (let i = 0; i < K; i++) out[m + i * K + i] = 1;
  return out;
}

/**
 * One Float32Array per declaration: normal(0, std), ones, zeros or eye. Each weight draws from its own
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
      case 'eye':
        out.set(d.name, eye(d.shape));
        break;
    }
  }
  return out;
}

/**
 * Reads the declared weights from a safetensors file or a sharded checkpoint (a path ending in
 * `.index.json`). Every declaration must be present with its exact shape (LOOM5002 missing-weight,
 * LOOM5003 weight-shape) and as a float tensor; a tensor nobody declared is an error too (LOOM5001
 * bad-weights). All problems are reported together, from the headers alone: no tensor data is read
 * unless every name and shape fits; then each tensor is read at its offset and converted to f32.
 */
export function loadWeights(decls: readonly WeightDecl[], path: string): Map<string, Float32Array> {
  const source = openWeights(path);
  try {
    const errors: Diagnostic[] = [];
    for (const d of decls) {
      const t = source.entries.get(d.name);
      if (!t) {
        errors.push(diag('missing-weight', { name: d.name, shape: `${shapeText(d.shape)} (in ${path})` }, { file: path }));
      } else if (!sameShape(t.shape, d.shape)) {
        const expected = `${shapeText(d.shape)} (in ${t.file})`;
        errors.push(diag('weight-shape', { name: d.name, found: shapeText(t.shape), expected }, { file: t.file }));
      } else if (t.dtype.startsWith('I')) {
        errors.push(diag('bad-weights', { message: `${t.file}: tensor '${d.name}' is ${t.dtype}, the model needs a float tensor` }, { file: t.file }));
      }
    }
    const declared = new Set(decls.map((d) => d.name));
    const extra = [...source.entries.keys()].filter((n) => !declared.has(n)).sort();
    if (extra.length > 0) {
      const names = extra.map((n) => `'${n}'`).join(', ');
      errors.push(diag('bad-weights', { message: `${path}: tensor(s) ${names} are not weights of the model` }, { file: path }));
    }
    if (errors.length > 0) throw new LoomError(errors);
    return new Map(decls.map((d) => [d.name, source.read(d.name).data as Float32Array]));
  } finally {
    source.close();
  }
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
