/**
 * Model weights: seeded initialisation from a model's weight declarations, loading and saving
 * them as safetensors with every declared tensor checked by name and shape, and the upload to a
 * device tensor by tensor.
 *
 * A `WeightProvider` gives tensors one at a time in Loom's names and layouts, as f32 values or
 * f16 bit patterns: over a checkpoint file (`openLoomWeights`, fla-weights.ts `openCheckpoint`:
 * each tensor read at its offset and converted when asked for) or over arrays in memory
 * (`weightProvider` of a Map or record). `uploadWeights` reads, writes and drops one tensor at a
 * time, waiting for the device every FLUSH_BYTES so that its staging copies are freed as it goes:
 * the whole checkpoint is never in host memory.
 */
import { diag, LoomError } from '../grammar/diagnostics.ts';
import type { Diagnostic } from '../grammar/diagnostics.ts';
import { numel } from '../compiler/ir/graph.ts';
import type { WeightDecl } from '../compiler/ir/graph.ts';
import { Rng } from './random.ts';
import { openWeights } from './safetensors-index.ts';
import { writeSafetensors, type FloatElem, type WriteTensor } from './safetensors.ts';
import { toF16Checked } from './f16.ts';
import { hostFiles, type Files } from './host.ts';

/** Tensors one at a time, in Loom's names and layouts. */
export interface WeightProvider {
  /** The tensors it gives. */
  readonly names: readonly string[];
  /** A tensor's shape in Loom's layout (`[n]` for arrays in memory, which carry no shape). */
  shape(name: string): readonly number[];
  /** How it is stored ('F32', 'F16', 'BF16', 'F64'): what `--weights-dtype auto` decides from. */
  dtype(name: string): string;
  /**
   * One tensor as f32 values or as f16 bit patterns (`as` 'f16'; a value beyond f16's range is
   * refused, LOOM5001). From a file it is a new array, which the caller drops after use.
   */
  read(name: string, as: FloatElem): Float32Array | Uint16Array;
  /** Makes a tensor readable by `read` where files are read asynchronously (a browser's Blobs); absent in memory. */
  prefetch?(name: string): Promise<void>;
  /** Closes the files it reads (a no-op in memory). */
  close(): void;
}

export type Weights = Readonly<Record<string, Float32Array>> | ReadonlyMap<string, Float32Array> | WeightProvider;

export function isWeightProvider(w: Weights): w is WeightProvider {
  return typeof (w as WeightProvider).read === 'function' && typeof (w as WeightProvider).shape === 'function';
}

/** `w` itself when it is a provider; otherwise a provider over its f32 arrays (converted to f16 on read when asked). */
export function weightProvider(w: Weights): WeightProvider {
  if (isWeightProvider(w)) return w;
  const map: ReadonlyMap<string, Float32Array> = w instanceof Map ? w : new Map(Object.entries(w));
  const get = (name: string) => map.get(name) ?? fail(`no weight '${name}'`);
  return {
    names: [...map.keys()],
    shape: (name) => [get(name).length],
    dtype: () => 'F32',
    read: (name, as) => (as === 'f32' ? get(name) : toF16Checked(`weight '${name}'`, get(name))),
    close: () => {},
  };
}

/** Every tensor of `p` in memory as f32 (the reference needs them all; uploads do not). */
export function readAll(p: WeightProvider, names: readonly string[] = p.names): Map<string, Float32Array> {
  return new Map(names.map((n) => [n, p.read(n, 'f32') as Float32Array]));
}

function fail(message: string): never {
  throw new LoomError([diag('bad-weights', { message })]);
}

/**
 * The provider against a program's weights before anything is compiled or read: every name it
 * gives declared (LOOM5001; `owner` names the model; null: others are ignored), every declaration
 * given (LOOM5002) with numel(shape) values (LOOM5003). All problems together.
 */
export function checkProvided(decls: readonly { name: string; shape: readonly number[] }[], p: WeightProvider, owner: string | null): void {
  const declared = new Set(decls.map((w) => w.name));
  const extra = owner === null ? [] : p.names.filter((k) => !declared.has(k)).sort();
  const errors: Diagnostic[] = extra.length ? [diag('bad-weights', { message: `${extra.map((n) => `'${n}'`).join(', ')} are not weights of ${owner}` })] : [];
  const given = new Set(p.names);
  for (const w of decls) {
    if (!given.has(w.name)) errors.push(diag('missing-weight', { name: w.name, shape: shapeText(w.shape) }));
    else if (numel(p.shape(w.name)) !== numel(w.shape)) errors.push(diag('weight-shape', { name: w.name, found: `${numel(p.shape(w.name))} elements`, expected: shapeText(w.shape) }));
  }
  if (errors.length) throw new LoomError(errors);
}

/** Bytes written to the device between waits for it: Dawn frees the staging copy of written data once the queue has done it. */
export const FLUSH_BYTES = 64 * 1024 * 1024;

/** Where an upload writes: a device buffer per weight, and a wait for the queue. */
export interface WeightSink {
  write(name: string, data: Float32Array | Uint16Array): void;
  flush(): Promise<void>;
}

/**
 * Uploads `targets` (each weight's name, how its buffer stores it and its element count) from `p`
 * one tensor at a time: read, write, drop, and a flush every FLUSH_BYTES and at the end, so the
 * host holds one tensor (and at most FLUSH_BYTES of staging) at a time. `onProgress(doneBytes,
 * totalBytes)` counts the bytes the device stores, from (0, total) on.
 */
export async function uploadWeights(
  p: WeightProvider,
  targets: readonly { name: string; elem: FloatElem; elements: number }[],
  sink: WeightSink,
  onProgress?: (doneBytes: number, totalBytes: number) => void,
): Promise<void> {
  const bytes = (t: { elem: FloatElem; elements: number }) => t.elements * (t.elem === 'f16' ? 2 : 4);
  const total = targets.reduce((a, t) => a + bytes(t), 0);
  let done = 0;
  let pending = 0;
  onProgress?.(0, total);
  for (const t of targets) {
    await p.prefetch?.(t.name);
    sink.write(t.name, p.read(t.name, t.elem));
    done += bytes(t);
    pending += bytes(t);
    if (pending >= FLUSH_BYTES) {
      await sink.flush();
      pending = 0;
    }
    onProgress?.(done, total);
  }
  await sink.flush();
}

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
 * Opens the declared weights in a safetensors file or a sharded checkpoint (a path ending in
 * `.index.json`) as a provider. Every declaration must be present with its exact shape (LOOM5002
 * missing-weight, LOOM5003 weight-shape) and as a float tensor; a tensor nobody declared is an
 * error too (LOOM5001 bad-weights). All problems are reported together, from the headers alone; no
 * tensor data is read until the provider's `read`. Close it when done.
 */
/** How many problems of a weights file are listed one by one before they become one summary. */
const LISTED_PROBLEMS = 6;

/**
 * The problems of a weights file as they are when few, else one summary (LOOM5001): how many
 * tensors are missing, mis-shaped or not the model's, the first few, and the naming the file uses,
 * since a file that fits nothing is usually another model's checkpoint.
 */
export function summarizeWeightErrors(errors: Diagnostic[], path: string, naming: string): Diagnostic[] {
  if (errors.length <= LISTED_PROBLEMS) return errors;
  const count = (name: string) => errors.filter((d) => d.name === name).length;
  const first = errors.slice(0, 3).map((d) => `  ${d.message}`).join('\n');
  const message = `${path} does not hold this model's weights: ${count('missing-weight')} tensors missing, ${count('weight-shape')} of the wrong shape, ${count('bad-weights')} other problems (tensors the model does not have, wrong dtypes); its names were read as ${naming}. Is it another model's checkpoint? The first problems:\n${first}`;
  return [diag('bad-weights', { message }, { file: path })];
}

export function openLoomWeights(decls: readonly WeightDecl[], path: string, files: Files = hostFiles()): WeightProvider {
  const source = openWeights(path, files);
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
    if (errors.length > 0) throw new LoomError(summarizeWeightErrors(errors, path, "Loom's names"));
  } catch (e) {
    source.close();
    throw e;
  }
  const entry = (name: string) => source.entries.get(name) ?? fail(`${path}: no tensor '${name}'`);
  return { names: decls.map((d) => d.name), shape: (n) => entry(n).shape, dtype: (n) => entry(n).dtype, read: (n, as) => source.readFloat(n, as), prefetch: (n) => source.prefetch(n), close: () => source.close() };
}

/** The declared weights of a safetensors file or sharded checkpoint, all read into memory as f32 (`openLoomWeights`). */
export function loadWeights(decls: readonly WeightDecl[], path: string, files: Files = hostFiles()): Map<string, Float32Array> {
  const p = openLoomWeights(decls, path, files);
  try {
    return readAll(p);
  } finally {
    p.close();
  }
}

/** Writes the declared weights as F32 safetensors; each must be present with numel(shape) values. */
export function saveWeights(
  path: string,
  decls: readonly WeightDecl[],
  weights: ReadonlyMap<string, Float32Array>,
  metadata?: Record<string, string>,
  files: Files = hostFiles(),
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
  writeSafetensors(path, tensors, metadata, files);
}
