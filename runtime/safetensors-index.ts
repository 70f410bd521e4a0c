/**
 * Sharded safetensors checkpoints: `model.safetensors.index.json` is
 * `{"metadata"?: {...}, "weight_map": {tensor name: shard file}}`, the shards being safetensors
 * files in the index's directory. `openWeights(path)` opens either a single file or an index and
 * gives one view over every tensor, with no tensor data read until `read(name)`.
 *
 * An index is checked against its shards before anything is read: a shard that is missing or
 * outside the index's directory, a tensor of the map missing from its shard, and a tensor of a
 * shard the map does not name (or names in another shard) are errors naming the index, the shard
 * and the tensors. Every problem is a LoomError (LOOM5001 bad-weights).
 */
import { diag, LoomError } from '../grammar/diagnostics.ts';
import { errorCode, hostFiles, type Files } from './host.ts';
import { duplicateKey, openSafetensors, type FloatElem, type SafetensorsReader, type SafetensorsTensor, type TensorInfo } from './safetensors.ts';

/** How a sharded checkpoint's index file name ends. */
export const INDEX_SUFFIX = '.index.json';
/** Largest index file accepted (real ones are well under a megabyte). */
export const MAX_INDEX_BYTES = 64 * 1024 * 1024;
/** How many names an error lists before it says "and N more". */
const LISTED = 5;

/** Tensors of one file or of every shard of an index, read on demand. */
export interface WeightSource {
  /** The path given: a .safetensors file or an index. */
  path: string;
  /** Every tensor with its dtype, shape and the file that holds it. */
  entries: ReadonlyMap<string, TensorInfo & { file: string }>;
  read(name: string): SafetensorsTensor;
  /** A float tensor as f32 values or f16 bit patterns (SafetensorsReader.readFloat). */
  readFloat(name: string, as: FloatElem): Float32Array | Uint16Array;
  /** Makes a tensor readable where reading is asynchronous (a Blob outside a worker). */
  prefetch(name: string): Promise<void>;
  close(): void;
}

function fail(message: string): never {
  throw new LoomError([diag('bad-weights', { message })]);
}

function listed(names: readonly string[]): string {
  const shown = names.slice(0, LISTED).map((n) => `'${n}'`).join(', ');
  return names.length > LISTED ? `${shown} and ${names.length - LISTED} more` : shown;
}

/** The index text, read with a size check first. */
function readIndexText(path: string, files: Files): string {
  let size: number;
  try {
    const st = files.stat(path);
    if (!st.isFile) fail(`${path}: not a regular file`);
    size = st.size;
  } catch (e) {
    if (e instanceof LoomError) throw e;
    fail(`${path}: cannot open the weights index (${errorCode(e)})`);
  }
  if (size > MAX_INDEX_BYTES) fail(`${path}: the index is ${size} bytes, over the ${MAX_INDEX_BYTES}-byte limit`);
  return files.readText(path);
}

/** The weight map of an index: tensor name -> shard file name, validated. */
export function parseIndex(path: string, text: string, files: Files = hostFiles()): Map<string, string> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    fail(`${path}: the index is not valid JSON (${(e as Error).message})`);
  }
  const map = (json as Record<string, unknown> | null)?.weight_map;
  if (typeof json !== 'object' || json === null || Array.isArray(json) || typeof map !== 'object' || map === null || Array.isArray(map)) {
    fail(`${path}: expected {"weight_map": {tensor name: shard file, ...}}`);
  }
  const dup = duplicateKey(text);
  if (dup) fail(`${path}: key '${dup.key}' appears more than once${dup.parent ? ` in '${dup.parent}'` : ''}`);
  const out = new Map<string, string>();
  for (const [name, shard] of Object.entries(map)) {
    if (typeof shard !== 'string' || shard === '') fail(`${path}: tensor '${name}' maps to ${JSON.stringify(shard)}, not a shard file name`);
    if (files.isAbsolute(shard) || shard.split(/[\\/]/).includes('..') || shard.includes('\0')) {
      fail(`${path}: tensor '${name}' maps to shard '${shard}', which is outside the index's directory`);
    }
    out.set(name, shard);
  }
  if (out.size === 0) fail(`${path}: the weight map is empty`);
  return out;
}

/** Every shard of the map opened (headers only); a missing shard names the tensors it should hold. */
function openShards(path: string, map: ReadonlyMap<string, string>, files: Files): Map<string, SafetensorsReader> {
  const shards = new Map<string, SafetensorsReader>();
  try {
    for (const shard of [...new Set(map.values())].sort()) {
      const file = files.join(files.dirname(path), shard);
      if (!exists(files, file)) {
        const wanted = [...map].filter(([, s]) => s === shard).map(([n]) => n);
        fail(`${path}: shard '${shard}' (${file}) does not exist; it should hold ${listed(wanted)}`);
      }
      shards.set(shard, openSafetensors(file, files));
    }
  } catch (e) {
    for (const r of shards.values()) r.close();
    throw e;
  }
  return shards;
}

function exists(files: Files, path: string): boolean {
  try {
    files.stat(path);
    return true;
  } catch {
    return false;
  }
}

/** The map and the shards' own headers must agree tensor by tensor. */
function checkAgreement(path: string, map: ReadonlyMap<string, string>, shards: ReadonlyMap<string, SafetensorsReader>): void {
  const problems: string[] = [];
  for (const [shard, reader] of shards) {
    const missing = [...map].filter(([n, s]) => s === shard && !reader.entries.has(n)).map(([n]) => n);
    if (missing.length) problems.push(`shard '${shard}' has no tensor ${listed(missing)}, which the weight map puts there`);
    const unmapped = [...reader.entries.keys()].filter((n) => !map.has(n));
    if (unmapped.length) problems.push(`shard '${shard}' holds ${listed(unmapped)}, which the weight map does not name`);
    const elsewhere = [...reader.entries.keys()].filter((n) => map.has(n) && map.get(n) !== shard);
    if (elsewhere.length) problems.push(`shard '${shard}' holds ${listed(elsewhere)}, which the weight map puts in ${listed(elsewhere.map((n) => map.get(n)!))}`);
  }
  if (problems.length) fail(`${path}: ${problems.join('; ')}`);
}

/** Opens a sharded checkpoint from its index: every shard's header read and checked, no data. */
export function openShardedSafetensors(path: string, files: Files = hostFiles()): WeightSource {
  const map = parseIndex(path, readIndexText(path, files), files);
  const shards = openShards(path, map, files);
  try {
    checkAgreement(path, map, shards);
  } catch (e) {
    for (const r of shards.values()) r.close();
    throw e;
  }
  const entries = new Map<string, TensorInfo & { file: string }>();
  for (const [name, shard] of [...map].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    entries.set(name, { ...shards.get(shard)!.entries.get(name)!, file: shards.get(shard)!.path });
  }
  const shardOf = (name: string) => {
    const shard = map.get(name);
    if (shard === undefined) fail(`${path}: no tensor '${name}' in the weight map`);
    return shards.get(shard)!;
  };
  return {
    path,
    entries,
    read: (name) => shardOf(name).read(name),
    readFloat: (name, as) => shardOf(name).readFloat(name, as),
    prefetch: (name) => shardOf(name).prefetch(name),
    close: () => shards.forEach((r) => r.close()),
  };
}

/** A single `.safetensors` file, or a sharded checkpoint when `path` ends with `.index.json`. */
export function openWeights(path: string, files: Files = hostFiles()): WeightSource {
  if (path.endsWith(INDEX_SUFFIX)) return openShardedSafetensors(path, files);
  const reader = openSafetensors(path, files);
  const entries = new Map([...reader.entries].map(([n, info]) => [n, { ...info, file: path }]));
  return { path, entries, read: (name) => reader.read(name), readFloat: (name, as) => reader.readFloat(name, as), prefetch: (name) => reader.prefetch(name), close: () => reader.close() };
}

/**
 * The dtypes of a checkpoint's float tensors, from its headers alone (`--weights-dtype auto`),
 * leaving out RoPE's inverse frequencies (`*.inv_freq`, derived buffers some checkpoints keep in
 * F32 beside 16-bit weights).
 */
export function checkpointDtypes(path: string, files: Files = hostFiles()): string[] {
  const src = openWeights(path, files);
  try {
    return [...new Set([...src.entries].filter(([n]) => !n.endsWith('.inv_freq')).map(([, e]) => e.dtype).filter((d) => d.startsWith('F') || d === 'BF16'))].sort();
  } finally {
    src.close();
  }
}
