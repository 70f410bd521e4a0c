/**
 * Hostile and large weight files beyond the single-file header cases of safetensors.test.ts:
 * sharded checkpoints (an index over several files), truncated files, tensors in any order,
 * nested duplicate keys, and files of several GiB (sparse, so no disk is used) that are opened
 * and read by offset without being loaded whole.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as nodePath from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { WeightDecl } from '../../compiler/ir/graph.ts';
import { LoomError } from '../../grammar/diagnostics.ts';
import { openWeights } from '../../runtime/safetensors-index.ts';
import { openSafetensors, readSafetensors, writeSafetensors, type WriteTensor } from '../../runtime/safetensors.ts';
import { loadWeights } from '../../runtime/weights.ts';

const root = fs.mkdtempSync(nodePath.join(os.tmpdir(), 'loom-shards-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
let dirCount = 0;

function freshDir(): string {
  const d = nodePath.join(root, `d${dirCount++}`);
  fs.mkdirSync(d);
  return d;
}

const f32 = (shape: number[], start: number): WriteTensor => ({ dtype: 'F32', shape, data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => start + i) });

/** Writes shards (file -> tensors) and an index over them (or the given index text). */
function checkpoint(shards: Record<string, Record<string, WriteTensor>>, weightMap?: Record<string, string> | string): string {
  const dir = freshDir();
  const map: Record<string, string> = {};
  for (const [file, tensors] of Object.entries(shards)) {
    writeSafetensors(nodePath.join(dir, file), tensors);
    for (const name of Object.keys(tensors)) map[name] = file;
  }
  const index = nodePath.join(dir, 'model.safetensors.index.json');
  const text = typeof weightMap === 'string' ? weightMap : JSON.stringify({ metadata: { total_size: 0 }, weight_map: weightMap ?? map });
  fs.writeFileSync(index, text);
  return index;
}

function loomError(fn: () => unknown): LoomError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(LoomError);
    expect((e as LoomError).diagnostics[0].code).toBeGreaterThanOrEqual(5001);
    return e as LoomError;
  }
  throw new Error('expected a LoomError');
}

const decls: WeightDecl[] = [
  { name: 'embed.weight', shape: [4, 2], init: { kind: 'normal', std: 1 } },
  { name: 'layers.0.attn.q.weight', shape: [2, 2], init: { kind: 'normal', std: 1 } },
  { name: 'norm_f.weight', shape: [2], init: { kind: 'ones' } },
];

const twoShards = () => ({
  'model-00001-of-00002.safetensors': { 'embed.weight': f32([4, 2], 0), 'norm_f.weight': f32([2], 100) },
  'model-00002-of-00002.safetensors': { 'layers.0.attn.q.weight': f32([2, 2], 50) },
});

describe('sharded checkpoints (model.safetensors.index.json)', () => {
  it('loads every tensor from its shard', () => {
    const index = checkpoint(twoShards());
    const w = loadWeights(decls, index);
    expect(Array.from(w.get('embed.weight')!)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(Array.from(w.get('layers.0.attn.q.weight')!)).toEqual([50, 51, 52, 53]);
    expect(Array.from(w.get('norm_f.weight')!)).toEqual([100, 101]);
    const source = openWeights(index);
    expect(source.entries.get('layers.0.attn.q.weight')!.file).toMatch(/model-00002-of-00002\.safetensors$/);
    source.close();
  });

  it('a missing shard names the shard and the tensors it should hold', () => {
    const index = checkpoint(twoShards());
    fs.rmSync(nodePath.join(nodePath.dirname(index), 'model-00002-of-00002.safetensors'));
    const err = loomError(() => loadWeights(decls, index));
    expect(err.message).toContain(index);
    expect(err.message).toMatch(/shard 'model-00002-of-00002\.safetensors' \(.*\) does not exist; it should hold 'layers\.0\.attn\.q\.weight'/);
  });

  it('a tensor of the map missing from its shard', () => {
    const map = { 'embed.weight': 'a.safetensors', 'norm_f.weight': 'a.safetensors', 'layers.0.attn.q.weight': 'a.safetensors' };
    const index = checkpoint({ 'a.safetensors': { 'embed.weight': f32([4, 2], 0), 'norm_f.weight': f32([2], 0) } }, map);
    expect(loomError(() => loadWeights(decls, index)).message).toMatch(/shard 'a\.safetensors' has no tensor 'layers\.0\.attn\.q\.weight', which the weight map puts there/);
  });

  it('a tensor in a shard that the map does not name, or puts in another shard', () => {
    const shards = twoShards();
    const map = { 'embed.weight': 'model-00001-of-00002.safetensors', 'layers.0.attn.q.weight': 'model-00002-of-00002.safetensors' };
    const index = checkpoint(shards, map);
    expect(loomError(() => loadWeights(decls, index)).message).toMatch(/shard 'model-00001-of-00002\.safetensors' holds 'norm_f\.weight', which the weight map does not name/);
    const both = checkpoint({ 'a.safetensors': { x: f32([1], 0) }, 'b.safetensors': { x: f32([1], 1), y: f32([1], 2) } }, { x: 'a.safetensors', y: 'b.safetensors' });
    expect(loomError(() => openWeights(both)).message).toMatch(/shard 'b\.safetensors' holds 'x', which the weight map puts in 'a\.safetensors'/);
  });

  it('an index that is not JSON, lacks weight_map, repeats a key or points outside its directory', () => {
    const bad = (text: string) => loomError(() => openWeights(checkpoint({ 'a.safetensors': { x: f32([1], 0) } }, text))).message;
    expect(bad('{"weight_map": ')).toMatch(/model\.safetensors\.index\.json: the index is not valid JSON/);
    expect(bad('{"metadata": {}}')).toMatch(/expected \{"weight_map": \{tensor name: shard file, \.\.\.\}\}/);
    expect(bad('{"weight_map": {}}')).toMatch(/the weight map is empty/);
    expect(bad('{"weight_map": {"x": 3}}')).toMatch(/tensor 'x' maps to 3, not a shard file name/);
    expect(bad('{"weight_map": {"x": "a.safetensors", "x": "a.safetensors"}}')).toMatch(/key 'x' appears more than once in 'weight_map'/);
    expect(bad('{"weight_map": {"x": "../a.safetensors"}}')).toMatch(/tensor 'x' maps to shard '\.\.\/a\.safetensors', which is outside the index's directory/);
    expect(bad('{"weight_map": {"x": "/etc/passwd"}}')).toMatch(/outside the index's directory/);
    expect(loomError(() => openWeights(nodePath.join(root, 'none.safetensors.index.json'))).message).toMatch(/cannot open the weights index \(ENOENT\)/);
  });

  it('shape and dtype problems name the shard file', () => {
    const index = checkpoint({ 'a.safetensors': { 'embed.weight': f32([2, 4], 0), 'norm_f.weight': f32([2], 0) }, 'b.safetensors': { 'layers.0.attn.q.weight': { dtype: 'I32', shape: [2, 2], data: Int32Array.of(1, 2, 3, 4) } } });
    const err = loomError(() => loadWeights(decls, index));
    expect(err.diagnostics.map((d) => d.code)).toEqual([5003, 5001]);
    expect(err.message).toMatch(/tensor 'embed\.weight' has shape \[2, 4\], the model needs \[4, 2\] \(in .*a\.safetensors\)/);
    expect(err.message).toMatch(/b\.safetensors: tensor 'layers\.0\.attn\.q\.weight' is I32, the model needs a float tensor/);
  });
});

describe('truncated files, tensor order, nested duplicates', () => {
  it('a file cut short in its data names the tensor and says it may be truncated', () => {
    const path = nodePath.join(freshDir(), 'w.safetensors');
    writeSafetensors(path, { a: f32([4], 0), b: f32([4], 0) });
    fs.truncateSync(path, fs.statSync(path).size - 3);
    expect(loomError(() => readSafetensors(path)).message).toMatch(/tensor 'b': data_offsets \[16, 32\] are out of range of the 29-byte data buffer \(is the file truncated\?\)/);
    fs.truncateSync(path, 20);
    expect(loomError(() => readSafetensors(path)).message).toMatch(/header length \d+ is larger than the rest of the file \(12 bytes\)/);
  });

  it('a file that shrinks after its header was read names the tensor being read', () => {
    const path = nodePath.join(freshDir(), 'w.safetensors');
    writeSafetensors(path, { a: f32([4], 0), b: f32([4], 0) });
    const reader = openSafetensors(path);
    try {
      fs.truncateSync(path, fs.statSync(path).size - 8);
      expect(Array.from(reader.read('a').data)).toEqual([0, 1, 2, 3]);
      expect(loomError(() => reader.read('b')).message).toMatch(/w\.safetensors: tensor 'b': the file ended early \(wanted 16 bytes at offset \d+\)/);
    } finally {
      reader.close();
    }
  });

  it('tensors stored out of header order are read from their own offsets', () => {
    const header = JSON.stringify({ b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] }, a: { dtype: 'BF16', shape: [2], data_offsets: [0, 4] } });
    const path = nodePath.join(freshDir(), 'w.safetensors');
    const prefix = Buffer.alloc(8);
    prefix.writeBigUInt64LE(BigInt(header.length));
    const bf16 = Buffer.from([0x80, 0x3f, 0x20, 0xc0]); // 1.0, -2.5
    fs.writeFileSync(path, Buffer.concat([prefix, Buffer.from(header), bf16, Buffer.from(new Float32Array([7]).buffer)]));
    const r = readSafetensors(path);
    expect(Array.from(r.tensors.get('a')!.data)).toEqual([1, -2.5]);
    expect(Array.from(r.tensors.get('b')!.data)).toEqual([7]);
  });

  it('a key repeated inside one tensor entry', () => {
    const header = '{"w":{"dtype":"F32","shape":[1],"dtype":"I32","data_offsets":[0,4]}}';
    const path = nodePath.join(freshDir(), 'w.safetensors');
    const prefix = Buffer.alloc(8);
    prefix.writeBigUInt64LE(BigInt(header.length));
    fs.writeFileSync(path, Buffer.concat([prefix, Buffer.from(header), Buffer.alloc(4)]));
    expect(loomError(() => readSafetensors(path)).message).toMatch(/key 'dtype' appears more than once in the header entry 'w'/);
  });
});

describe('files of several GiB', () => {
  /** A sparse file of `bytes` bytes whose header declares `header`; only the header is written. */
  function sparse(bytes: number, header: Record<string, unknown>): string {
    const path = nodePath.join(freshDir(), 'big.safetensors');
    const json = Buffer.from(JSON.stringify(header));
    const prefix = Buffer.alloc(8);
    prefix.writeBigUInt64LE(BigInt(json.length));
    fs.writeFileSync(path, Buffer.concat([prefix, json]));
    fs.truncateSync(path, bytes);
    return path;
  }

  it('a 6 GiB file is opened from its header and one small tensor is read by offset, not the file', () => {
    const total = 6 * 1024 ** 3;
    const hugeElems = 1024 ** 3; // 4 GiB of F32
    const header = { huge: { dtype: 'F32', shape: [1024, 1024, 1024], data_offsets: [0, hugeElems * 4] }, small: { dtype: 'F32', shape: [4], data_offsets: [hugeElems * 4, hugeElems * 4 + 16] } };
    const path = sparse(total, header);
    const rss = process.memoryUsage().rss;
    const t0 = performance.now();
    const reader = openSafetensors(path);
    try {
      expect(reader.entries.get('huge')).toEqual({ dtype: 'F32', shape: [1024, 1024, 1024] });
      expect(Array.from(reader.read('small').data)).toEqual([0, 0, 0, 0]);
    } finally {
      reader.close();
    }
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(process.memoryUsage().rss - rss).toBeLessThan(64 * 1024 ** 2);
  });

  it('loading a model from a huge file with a wrong shape fails from the header, before any data is read', () => {
    const path = sparse(5 * 1024 ** 3, { 'embed.weight': { dtype: 'F32', shape: [1024, 1024, 1024], data_offsets: [0, 4 * 1024 ** 3] } });
    const rss = process.memoryUsage().rss;
    const err = loomError(() => loadWeights([{ name: 'embed.weight', shape: [4, 2], init: { kind: 'ones' } }], path));
    expect(err.message).toMatch(/tensor 'embed\.weight' has shape \[1024, 1024, 1024\], the model needs \[4, 2\]/);
    expect(process.memoryUsage().rss - rss).toBeLessThan(64 * 1024 ** 2);
  });
});
