import * as fs from 'node:fs';
import * as os from 'node:os';
import * as nodePath from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LoomError } from '../../grammar/diagnostics.ts';
import { MAX_FILE_BYTES, readSafetensors, writeSafetensors } from '../../runtime/safetensors.ts';

const dir = fs.mkdtempSync(nodePath.join(os.tmpdir(), 'loom-st-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
let fileCount = 0;

function tmpFile(): string {
  return nodePath.join(dir, `f${fileCount++}.safetensors`);
}

/** A file from a raw header text (padded to 8 unless told otherwise) and raw data bytes. */
function rawFile(header: string, data: number[] | Uint8Array = [], headerLen?: bigint): string {
  const json = Buffer.from(header, 'utf8');
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(headerLen ?? BigInt(json.length));
  const path = tmpFile();
  fs.writeFileSync(path, Buffer.concat([prefix, json, Buffer.from(data)]));
  return path;
}

function file(header: Record<string, unknown>, data: number[] | Uint8Array = []): string {
  return rawFile(JSON.stringify(header), data);
}

/** Little-endian bytes of u16 values. */
function u16(...xs: number[]): number[] {
  return xs.flatMap((x) => [x & 0xff, x >> 8]);
}

function f32Bytes(...xs: number[]): number[] {
  return Array.from(new Uint8Array(Float32Array.from(xs).buffer));
}

function badWeights(path: string): LoomError {
  try {
    readSafetensors(path);
  } catch (e) {
    expect(e).toBeInstanceOf(LoomError);
    const err = e as LoomError;
    expect(err.diagnostics).toHaveLength(1);
    expect(err.diagnostics[0].name).toBe('bad-weights');
    expect(err.diagnostics[0].code).toBe(5001);
    expect(err.message).toContain(path);
    return err;
  }
  throw new Error(`reading ${path} did not fail`);
}

describe('writeSafetensors / readSafetensors', () => {
  it('round-trips f32 and i32 tensors and metadata', () => {
    const path = tmpFile();
    const w = Float32Array.from([1.5, -2, 3.25, 0, 1e-30, 65504]);
    const ids = Int32Array.from([7, -1, 2147483647, -2147483648]);
    writeSafetensors(path, { 'layer.w': { dtype: 'F32', shape: [2, 3], data: w }, ids: { dtype: 'I32', shape: [4], data: ids } }, { format: 'pt', loom: 'v1' });
    const r = readSafetensors(path);
    expect([...r.tensors.keys()].sort()).toEqual(['ids', 'layer.w']);
    const lw = r.tensors.get('layer.w')!;
    expect(lw.dtype).toBe('F32');
    expect(lw.shape).toEqual([2, 3]);
    expect(lw.data).toBeInstanceOf(Float32Array);
    expect(Array.from(lw.data)).toEqual(Array.from(w));
    const ri = r.tensors.get('ids')!;
    expect(ri.data).toBeInstanceOf(Int32Array);
    expect(Array.from(ri.data)).toEqual(Array.from(ids));
    expect(r.metadata).toEqual({ format: 'pt', loom: 'v1' });
    expect(fs.readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });

  it('round-trips scalars and empty tensors', () => {
    const path = tmpFile();
    writeSafetensors(path, { s: { dtype: 'F32', shape: [], data: Float32Array.of(2) }, e: { dtype: 'F32', shape: [0, 3], data: new Float32Array(0) } });
    const r = readSafetensors(path);
    expect(r.tensors.get('s')!.shape).toEqual([]);
    expect(Array.from(r.tensors.get('s')!.data)).toEqual([2]);
    expect(r.tensors.get('e')!.data.length).toBe(0);
    expect(r.metadata).toEqual({});
  });

  it('pads the header with spaces to a multiple of 8 bytes', () => {
    for (const name of ['a', 'ab', 'abc', 'abcd', 'abcde', 'abcdef', 'abcdefg', 'abcdefgh']) {
      const path = tmpFile();
      writeSafetensors(path, { [name]: { dtype: 'F32', shape: [1], data: Float32Array.of(1) } });
      const bytes = fs.readFileSync(path);
      const n = Number(bytes.readBigUInt64LE(0));
      expect(n % 8).toBe(0);
      const header = bytes.subarray(8, 8 + n).toString('utf8');
      expect(header).toMatch(/^\{.*\} *$/);
      expect(header.length - header.trimEnd().length).toBeLessThan(8);
      expect(bytes.length).toBe(8 + n + 4);
    }
  });

  it('writes the exact byte layout: sorted names, metadata first, consecutive offsets', () => {
    const path = tmpFile();
    writeSafetensors(path, { b: { dtype: 'F32', shape: [2], data: Float32Array.of(1, -2) }, a: { dtype: 'I32', shape: [1], data: Int32Array.of(7) } }, { k: 'v' });
    const json = '{"__metadata__":{"k":"v"},"a":{"dtype":"I32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}';
    expect(json.length).toBe(133); // padded to 136 with three spaces
    const want = Buffer.concat([
      Buffer.from([136, 0, 0, 0, 0, 0, 0, 0]),
      Buffer.from(json + '   ', 'utf8'),
      Buffer.from([7, 0, 0, 0]), // a = 7 (i32 LE)
      Buffer.from([0x00, 0x00, 0x80, 0x3f]), // 1.0f
      Buffer.from([0x00, 0x00, 0x00, 0xc0]), // -2.0f
    ]);
    expect(fs.readFileSync(path).equals(want)).toBe(true);
  });

  it('replaces an existing file atomically and leaves it intact when the write fails', () => {
    const path = tmpFile();
    writeSafetensors(path, { x: { dtype: 'F32', shape: [1], data: Float32Array.of(1) } });
    writeSafetensors(path, { x: { dtype: 'F32', shape: [1], data: Float32Array.of(2) } });
    expect(Array.from(readSafetensors(path).tensors.get('x')!.data)).toEqual([2]);
    const before = fs.readFileSync(path);
    expect(() => writeSafetensors(path, { x: { dtype: 'F32', shape: [2], data: Float32Array.of(3) } })).toThrow(/tensor 'x': shape \[2\] needs 2 values, got 1/);
    expect(() => writeSafetensors(path, { x: { dtype: 'F32', shape: [1], data: Float32Array.of(NaN) } })).toThrow(/tensor 'x': value at index 0 is NaN/);
    expect(() => writeSafetensors(path, { x: { dtype: 'I32', shape: [1], data: Float32Array.of(1) } })).toThrow(/dtype I32 needs a Int32Array/);
    expect(fs.readFileSync(path).equals(before)).toBe(true);
    // a failure in the middle of the write (the target is a directory) removes the temporary file
    const asDir = tmpFile();
    fs.mkdirSync(asDir);
    expect(() => writeSafetensors(asDir, { x: { dtype: 'F32', shape: [1], data: Float32Array.of(1) } })).toThrow();
    expect(fs.readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });
});

describe('dtype conversion', () => {
  it('decodes F16 bit patterns', () => {
    // 1.0, -2.5, ~0.1, smallest subnormal 2^-24, largest subnormal 1023 * 2^-24, -0, 65504 (max)
    const path = file({ h: { dtype: 'F16', shape: [7], data_offsets: [0, 14] } }, u16(0x3c00, 0xc100, 0x2e66, 0x0001, 0x03ff, 0x8000, 0x7bff));
    const t = readSafetensors(path).tensors.get('h')!;
    expect(t.dtype).toBe('F16');
    expect(t.data).toBeInstanceOf(Float32Array);
    expect(Array.from(t.data)).toEqual([1, -2.5, 0.0999755859375, 2 ** -24, 1023 * 2 ** -24, -0, 65504]);
  });

  it('decodes BF16 bit patterns', () => {
    // 1.0, -2.5, ~0.1, smallest subnormal 2^-133, 3.0
    const path = file({ b: { dtype: 'BF16', shape: [5], data_offsets: [0, 10] } }, u16(0x3f80, 0xc020, 0x3dcd, 0x0001, 0x4040));
    const t = readSafetensors(path).tensors.get('b')!;
    expect(Array.from(t.data)).toEqual([1, -2.5, 0.10009765625, 2 ** -133, 3]);
  });

  it('rejects F16 and BF16 infinities and NaN, naming the tensor and index', () => {
    const inf = file({ h: { dtype: 'F16', shape: [3], data_offsets: [0, 6] } }, u16(0x3c00, 0x3c00, 0x7c00));
    expect(badWeights(inf).message).toMatch(/tensor 'h': value at index 2 is Infinity/);
    const ninf = file({ h: { dtype: 'F16', shape: [1], data_offsets: [0, 2] } }, u16(0xfc00));
    expect(badWeights(ninf).message).toMatch(/tensor 'h': value at index 0 is -Infinity/);
    const nan = file({ h: { dtype: 'F16', shape: [2], data_offsets: [0, 4] } }, u16(0x0000, 0x7e00));
    expect(badWeights(nan).message).toMatch(/tensor 'h': value at index 1 is NaN/);
    const bf = file({ b: { dtype: 'BF16', shape: [2], data_offsets: [0, 4] } }, u16(0x7f80, 0x3f80));
    expect(badWeights(bf).message).toMatch(/tensor 'b': value at index 0 is Infinity/);
  });

  it('converts F64 to float32 and rejects values out of float32 range', () => {
    const ok = file({ d: { dtype: 'F64', shape: [2], data_offsets: [0, 16] } }, new Uint8Array(Float64Array.of(0.1, -3).buffer));
    expect(Array.from(readSafetensors(ok).tensors.get('d')!.data)).toEqual([Math.fround(0.1), -3]);
    const big = file({ d: { dtype: 'F64', shape: [2], data_offsets: [0, 16] } }, new Uint8Array(Float64Array.of(1, 1e300).buffer));
    expect(badWeights(big).message).toMatch(/tensor 'd': value 1e\+300 at index 1 does not fit in float32/);
  });

  it('converts I64 to Int32Array with a range check', () => {
    const ok = file({ i: { dtype: 'I64', shape: [3], data_offsets: [0, 24] } }, new Uint8Array(BigInt64Array.of(5n, -3n, -2147483648n).buffer));
    const t = readSafetensors(ok).tensors.get('i')!;
    expect(t.data).toBeInstanceOf(Int32Array);
    expect(Array.from(t.data)).toEqual([5, -3, -2147483648]);
    const big = file({ i: { dtype: 'I64', shape: [2], data_offsets: [0, 16] } }, new Uint8Array(BigInt64Array.of(0n, 1n << 40n).buffer));
    expect(badWeights(big).message).toMatch(/tensor 'i': I64 value 1099511627776 at index 1 does not fit in int32/);
  });
});

describe('hostile files', () => {
  const ok = { dtype: 'F32', shape: [2], data_offsets: [0, 8] };
  const data = f32Bytes(1, 2);

  it('a file shorter than 8 bytes', () => {
    const path = tmpFile();
    fs.writeFileSync(path, Buffer.from([1, 0, 0]));
    expect(badWeights(path).message).toMatch(/the file is 3 bytes, shorter than the 8-byte header length/);
  });

  it('a missing file', () => {
    expect(badWeights(nodePath.join(dir, 'nope.safetensors')).message).toMatch(/cannot open the weights file \(ENOENT\)/);
    expect(badWeights(dir).message).toMatch(/: not a regular file/);
  });

  it('a header length larger than the file, or over 100 MB', () => {
    const long = rawFile('{}', [], 1000n);
    expect(badWeights(long).message).toMatch(/header length 1000 is larger than the rest of the file \(2 bytes\)/);
    const huge = rawFile('{}', [], 200_000_000n);
    expect(badWeights(huge).message).toMatch(/header length 200000000 is over the 100000000-byte limit/);
    const u64 = rawFile('{}', [], 0xffffffffffffffffn);
    expect(badWeights(u64).message).toMatch(/header length 18446744073709551615 is over/);
  });

  it('a file over 8 GiB is refused without being read', () => {
    const path = tmpFile();
    fs.writeFileSync(path, '');
    fs.truncateSync(path, MAX_FILE_BYTES + 1); // sparse: takes no disk space
    expect(badWeights(path).message).toMatch(/the file is 8589934593 bytes, over the 8589934592-byte \(8 GiB\) limit; refusing to read it/);
  });

  it('a header that is not JSON, or not an object', () => {
    expect(badWeights(rawFile('{"a": ', data)).message).toMatch(/the header is not valid JSON/);
    expect(badWeights(rawFile('[1, 2]')).message).toMatch(/the header is not a JSON object/);
    expect(badWeights(rawFile('null')).message).toMatch(/the header is not a JSON object/);
    expect(badWeights(rawFile('"x"')).message).toMatch(/the header is not a JSON object/);
    const notUtf8 = rawFile('{"', [0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d], 8n);
    expect(badWeights(notUtf8).message).toMatch(/the header is not valid UTF-8/);
  });

  it('an entry that is not an object, or lacks dtype, shape or data_offsets', () => {
    expect(badWeights(file({ w: [1, 2] }, data)).message).toMatch(/tensor 'w': the entry is not an object/);
    expect(badWeights(file({ w: { shape: [2], data_offsets: [0, 8] } }, data)).message).toMatch(/tensor 'w': the entry has no dtype/);
    expect(badWeights(file({ w: { dtype: 'F32', data_offsets: [0, 8] } }, data)).message).toMatch(/tensor 'w': the entry has no shape/);
    expect(badWeights(file({ w: { dtype: 'F32', shape: [2] } }, data)).message).toMatch(/tensor 'w': the entry has no data_offsets/);
  });

  it('an unknown dtype', () => {
    const path = file({ w: { ...ok, dtype: 'Q4_K' } }, data);
    expect(badWeights(path).message).toMatch(/tensor 'w': unsupported dtype "Q4_K" \(supported: F16, BF16, F32, F64, I32, I64\)/);
    expect(badWeights(file({ w: { ...ok, dtype: 3 } }, data)).message).toMatch(/tensor 'w': unsupported dtype 3/);
  });

  it('a shape with negative or non-integer dimensions', () => {
    expect(badWeights(file({ w: { ...ok, shape: [-2] } }, data)).message).toMatch(/tensor 'w': shape \[-2\] is not a list of non-negative integers/);
    expect(badWeights(file({ w: { ...ok, shape: [2.5] } }, data)).message).toMatch(/tensor 'w': shape \[2.5\] is not/);
    expect(badWeights(file({ w: { ...ok, shape: '2' } }, data)).message).toMatch(/tensor 'w': shape "2" is not/);
  });

  it('data_offsets that are malformed or out of range', () => {
    expect(badWeights(file({ w: { ...ok, data_offsets: [0] } }, data)).message).toMatch(/tensor 'w': data_offsets \[0\] is not a pair/);
    expect(badWeights(file({ w: { ...ok, data_offsets: [-8, 0] } }, data)).message).toMatch(/tensor 'w': data_offsets \[-8,0\] is not a pair/);
    expect(badWeights(file({ w: { ...ok, data_offsets: [4, 12] } }, data)).message).toMatch(/tensor 'w': data_offsets \[4, 12\] are out of range of the 8-byte data buffer/);
    expect(badWeights(file({ w: { ...ok, data_offsets: [8, 0] } }, data)).message).toMatch(/tensor 'w': data_offsets \[8, 0\] end before they begin/);
  });

  it('a byte length that does not match the shape and dtype', () => {
    const path = file({ w: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, data);
    expect(badWeights(path).message).toMatch(/tensor 'w': F32 \[3\] needs 12 bytes, data_offsets give 8/);
    const f16 = file({ w: { dtype: 'F16', shape: [2], data_offsets: [0, 8] } }, data);
    expect(badWeights(f16).message).toMatch(/tensor 'w': F16 \[2\] needs 4 bytes, data_offsets give 8/);
  });

  it('overlapping tensors', () => {
    const path = file({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, data);
    expect(badWeights(path).message).toMatch(/tensor 'b' \[4, 8\] overlaps tensor 'a' \[0, 8\]/);
  });

  it('duplicate names', () => {
    const header = '{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"v":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}';
    expect(badWeights(rawFile(header, data)).message).toMatch(/tensor 'w' appears more than once in the header/);
    // a key spelled with an escape is the same name
    const escaped = '{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"\\u0077":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}';
    expect(badWeights(rawFile(escaped, data)).message).toMatch(/tensor 'w' appears more than once/);
    // the same name nested inside entries or metadata is not a duplicate
    const nested = '{"__metadata__":{"w":"x","\\"w":"y"},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}';
    expect(readSafetensors(rawFile(nested, data)).metadata).toEqual({ w: 'x', '"w': 'y' });
  });

  it('NaN or Inf in an F32 tensor, naming the first bad index', () => {
    const path = file({ ok: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, w: { dtype: 'F32', shape: [3], data_offsets: [4, 16] } }, f32Bytes(0, 1, NaN, Infinity));
    expect(badWeights(path).message).toMatch(/tensor 'w': value at index 1 is NaN/);
    const inf = file({ w: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, f32Bytes(-Infinity, 1));
    expect(badWeights(inf).message).toMatch(/tensor 'w': value at index 0 is -Infinity/);
  });

  it('metadata that is not a map of strings', () => {
    expect(badWeights(file({ __metadata__: { n: 3 } })).message).toMatch(/__metadata__ entry 'n' is not a string/);
    expect(badWeights(file({ __metadata__: ['a'] })).message).toMatch(/__metadata__ is not an object/);
  });
});
