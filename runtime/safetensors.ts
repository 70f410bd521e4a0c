/**
 * The safetensors file format, read and written with full validation.
 *
 * Layout: an 8-byte little-endian u64 header length N, then N bytes of UTF-8 JSON
 * `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__"?: {str: str}}`, then the
 * byte buffer. Offsets are relative to the start of the buffer; values are little-endian.
 *
 * Reading converts F16, BF16 and F64 to Float32Array and I64 to Int32Array (range checked);
 * `readFloat(name, 'f16')` gives a float tensor as f16 bit patterns instead (F16 as stored, BF16
 * and F32 converted by runtime/f16.ts, a value beyond f16's range refused). Writing takes F32,
 * I32, F16 and BF16 (bit patterns), each tensor's data given or produced when it is written. Every problem is a `LoomError` with a 'bad-weights' diagnostic naming the file and the tensor.
 * The header is read with bounded positioned reads and validated (duplicate keys, offsets in range
 * and not overlapping, in any order; byte lengths matching dtype and shape) before any tensor data
 * is read; each tensor is then read on its own at its offset, so a file is never loaded whole.
 * Sharded checkpoints (`model.safetensors.index.json`) are read by safetensors-index.ts.
 */
import { diag, LoomError } from '../grammar/diagnostics.ts';
import { beyondF16, bf16ToF16, f16NonFinite, f16Value, fromF16, toF16Checked } from './f16.ts';
import { errorCode, hostFiles, type ByteSource, type Files } from './host.ts';

export type TensorData = Float32Array | Int32Array;

export interface SafetensorsTensor {
  dtype: string;
  shape: number[];
  data: TensorData;
}

/** What the device stores a float weight as: f32 values or f16 bit patterns. */
export type FloatElem = 'f32' | 'f16';

export type WriteData = TensorData | Uint16Array;

export interface WriteTensor {
  /** F16 and BF16 data are bit patterns (Uint16Array). */
  dtype: 'F32' | 'I32' | 'F16' | 'BF16';
  shape: number[];
  data: WriteData;
}

/** A tensor whose data is produced when it is written (a large file: one tensor in memory at a time). */
export type LazyTensor = Omit<WriteTensor, 'data'> & { data: () => WriteData };

/** Largest file `readSafetensors` accepts. */
export const MAX_FILE_BYTES = 8 * 1024 ** 3;
/** Largest JSON header `readSafetensors` accepts. */
export const MAX_HEADER_BYTES = 100 * 1000 * 1000;

const DTYPE_BYTES: Readonly<Record<string, number>> = { F16: 2, BF16: 2, F32: 4, F64: 8, I32: 4, I64: 8 };
const METADATA_KEY = '__metadata__';
const HOST_LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function fail(message: string): never {
  throw new LoomError([diag('bad-weights', { message })]);
}

function numelOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

// ---------------------------------------------------------------------------------------------
// Writing

/** Reverses the bytes of each `width`-byte element in place (little-endian data on a big-endian host). */
function swapBytes(bytes: Uint8Array, width: number): Uint8Array {
  for (let i = 0; i + width <= bytes.length; i += width) bytes.subarray(i, i + width).reverse();
  return bytes;
}

function tensorBytes(data: WriteData): Uint8Array {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return HOST_LE ? bytes : swapBytes(bytes.slice(), data.BYTES_PER_ELEMENT);
}

const WRITE_ARRAY = { F32: Float32Array, I32: Int32Array, F16: Uint16Array, BF16: Uint16Array } as const;

function checkWriteTensor(path: string, name: string, t: WriteTensor | LazyTensor): void {
  const where = `${path}: tensor '${name}'`;
  if (name === METADATA_KEY) fail(`${where}: the name ${METADATA_KEY} is reserved`);
  if (!(t.dtype in WRITE_ARRAY)) fail(`${where}: cannot write dtype ${t.dtype}`);
  if (!t.shape.every((d) => Number.isInteger(d) && d >= 0)) fail(`${where}: bad shape [${t.shape.join(', ')}]`);
}

/** A tensor's data (produced now when given as a function), checked against its dtype and shape. */
function writeData(path: string, name: string, t: WriteTensor | LazyTensor): WriteData {
  const where = `${path}: tensor '${name}'`;
  const data = typeof t.data === 'function' ? t.data() : t.data;
  const wantArray = WRITE_ARRAY[t.dtype];
  if (!(data instanceof wantArray)) fail(`${where}: dtype ${t.dtype} needs a ${wantArray.name}`);
  const n = numelOf(t.shape);
  if (data.length !== n) fail(`${where}: shape [${t.shape.join(', ')}] needs ${n} values, got ${data.length}`);
  const value = (i: number) => (t.dtype === 'F16' ? f16Value(data[i]) : t.dtype === 'BF16' ? bf16ToNumber(data[i]) : data[i]);
  const bad = t.dtype === 'I32' ? -1 : data.findIndex((_, i) => !Number.isFinite(value(i)));
  if (bad >= 0) fail(`${where}: value at index ${bad} is ${value(bad)}`);
  return data;
}

/** The JSON header, padded with spaces to a multiple of 8 bytes. */
function headerBytes(names: string[], tensors: Record<string, WriteTensor | LazyTensor>, metadata?: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) {
    const sorted: Record<string, string> = {};
    for (const k of Object.keys(metadata).sort()) sorted[k] = String(metadata[k]);
    header[METADATA_KEY] = sorted;
  }
  let offset = 0;
  for (const name of names) {
    const t = tensors[name];
    const end = offset + numelOf(t.shape) * DTYPE_BYTES[t.dtype];
    header[name] = { dtype: t.dtype, shape: [...t.shape], data_offsets: [offset, end] };
    offset = end;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const padded = new Uint8Array(Math.ceil(json.length / 8) * 8).fill(0x20);
  padded.set(json);
  return padded;
}

/**
 * Writes `tensors` (names sorted, data in that order) to `path`, replacing it whole or not at all
 * (on disk: written to `path.tmp-<pid>` and renamed). Data given as arrays is checked before
 * anything is written; data given as a function is produced (and checked) as its tensor is
 * written, so a large file never needs all in memory.
 */
export function writeSafetensors(path: string, tensors: Record<string, WriteTensor | LazyTensor>, metadata?: Record<string, string>, files: Files = hostFiles()): void {
  const names = Object.keys(tensors).sort();
  for (const name of names) checkWriteTensor(path, name, tensors[name]);
  for (const name of names) if (typeof tensors[name].data !== 'function') writeData(path, name, tensors[name]);
  const header = headerBytes(names, tensors, metadata);
  const prefix = new Uint8Array(8);
  new DataView(prefix.buffer).setBigUint64(0, BigInt(header.length), true);
  files.write(path, (function* () {
    yield prefix;
    yield header;
    for (const name of names) yield tensorBytes(writeData(path, name, tensors[name]));
  })());
}

// ---------------------------------------------------------------------------------------------
// Reading: the header

interface Entry {
  name: string;
  dtype: string;
  shape: number[];
  begin: number;
  end: number;
}

/**
 * The first key that appears twice in one object of a valid JSON text (JSON.parse keeps the last
 * silently), with the key of the object that holds it ('' at the top level).
 */
export function duplicateKey(text: string): { key: string; parent: string } | null {
  const stack: { keys: Set<string> | null; name: string; expectKey: boolean }[] = [];
  let lastKey = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    const top = stack[stack.length - 1];
    if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      if (top?.keys && top.expectKey) {
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        if (top.keys.has(key)) return { key, parent: top.name };
        top.keys.add(key);
        top.expectKey = false;
        lastKey = key;
      }
      i = j;
    } else if (c === '{' || c === '[') {
      stack.push({ keys: c === '{' ? new Set() : null, name: lastKey, expectKey: c === '{' });
    } else if (c === '}' || c === ']') {
      stack.pop();
    } else if (c === ',' && top?.keys) {
      top.expectKey = true;
    }
  }
  return null;
}

function parseHeaderJson(path: string, text: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    fail(`${path}: the header is not valid JSON (${(e as Error).message})`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    fail(`${path}: the header is not a JSON object`);
  }
  const dup = duplicateKey(text);
  if (dup && dup.parent === '') fail(`${path}: tensor '${dup.key}' appears more than once in the header`);
  if (dup) fail(`${path}: key '${dup.key}' appears more than once in the header entry '${dup.parent}'`);
  return parsed as Record<string, unknown>;
}

function parseMetadata(path: string, raw: unknown): Record<string, string> {
  if (raw === undefined) return {};
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail(`${path}: ${METADATA_KEY} is not an object`);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (typeof v !== 'string') fail(`${path}: ${METADATA_KEY} entry '${k}' is not a string`);
    out[k] = v;
  }
  return out;
}

function parseEntry(path: string, name: string, raw: unknown, bufferBytes: number): Entry {
  const where = `${path}: tensor '${name}'`;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail(`${where}: the entry is not an object`);
  const { dtype, shape, data_offsets: offsets } = raw as Record<string, unknown>;
  if (dtype === undefined) fail(`${where}: the entry has no dtype`);
  if (shape === undefined) fail(`${where}: the entry has no shape`);
  if (offsets === undefined) fail(`${where}: the entry has no data_offsets`);
  if (typeof dtype !== 'string' || !(dtype in DTYPE_BYTES)) {
    fail(`${where}: unsupported dtype ${JSON.stringify(dtype)} (supported: ${Object.keys(DTYPE_BYTES).join(', ')})`);
  }
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
    fail(`${where}: shape ${JSON.stringify(shape)} is not a list of non-negative integers`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isInteger(o) && o >= 0)) {
    fail(`${where}: data_offsets ${JSON.stringify(offsets)} is not a pair of non-negative integers`);
  }
  const [begin, end] = offsets as [number, number];
  if (begin > end) fail(`${where}: data_offsets [${begin}, ${end}] end before they begin`);
  if (end > bufferBytes) {
    fail(`${where}: data_offsets [${begin}, ${end}] are out of range of the ${bufferBytes}-byte data buffer (is the file truncated?)`);
  }
  const want = numelOf(shape as number[]) * DTYPE_BYTES[dtype];
  if (end - begin !== want) {
    fail(`${where}: ${dtype} [${(shape as number[]).join(', ')}] needs ${want} bytes, data_offsets give ${end - begin}`);
  }
  return { name, dtype, shape: shape as number[], begin, end };
}

function checkOverlaps(path: string, entries: Entry[]): void {
  const sorted = entries.filter((e) => e.end > e.begin).sort((a, b) => a.begin - b.begin);
  for (let i = 1; i < sorted.length; i++) {
    const [a, b] = [sorted[i - 1], sorted[i]];
    if (b.begin < a.end) {
      fail(`${path}: tensor '${b.name}' [${b.begin}, ${b.end}] overlaps tensor '${a.name}' [${a.begin}, ${a.end}]`);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Reading: the data

function readExact(src: ByteSource, path: string, length: number, position: number): Uint8Array {
  const out = src.read(position, length);
  if (out.length < length) fail(`${path}: the file ended early (wanted ${length} bytes at offset ${position})`);
  return out;
}

const F32_SCRATCH = new Float32Array(1);
const U32_SCRATCH = new Uint32Array(F32_SCRATCH.buffer);

function bf16ToNumber(h: number): number {
  U32_SCRATCH[0] = h << 16;
  return F32_SCRATCH[0];
}

/**
 * A float tensor's little-endian bytes (a buffer of its own, aligned) as f32 values or f16 bits,
 * converted in place where the sizes allow (F32 -> f32, F16 -> f16, BF16 -> f16 reuse the bytes).
 */
function decodeFloat(where: string, dtype: string, bytes: Uint8Array, n: number, as: FloatElem = 'f32'): Float32Array | Uint16Array {
  if (!HOST_LE) swapBytes(bytes, DTYPE_BYTES[dtype]);
  const bad = (i: number, x: number): never => fail(`${where}: value at index ${i} is ${x}`);
  if (dtype === 'F32' || dtype === 'F64') {
    const src = dtype === 'F32' ? new Float32Array(bytes.buffer, bytes.byteOffset, n) : new Float64Array(bytes.buffer, bytes.byteOffset, n);
    const out = src instanceof Float32Array ? src : new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const x = src[i];
      if (x - x !== 0) bad(i, x); // NaN or infinite
      if (out !== src && ((out[i] = x), out[i] - out[i] !== 0)) fail(`${where}: value ${x} at index ${i} does not fit in float32`);
    }
    return as === 'f32' ? out : toF16Checked(where, out);
  }
  const h = new Uint16Array(bytes.buffer, bytes.byteOffset, n);
  const bf = dtype === 'BF16';
  for (let i = 0; i < n; i++) if (bf ? (h[i] & 0x7f80) === 0x7f80 : f16NonFinite(h[i])) bad(i, bf ? bf16ToNumber(h[i]) : f16Value(h[i]));
  if (as === 'f16') {
    for (let i = 0; bf && i < n; i++) {
      const b = bf16ToF16(h[i]);
      if (f16NonFinite(b)) beyondF16(where, i, bf16ToNumber(h[i]));
      h[i] = b;
    }
    return h;
  }
  if (!bf) return fromF16(h, n);
  const out = new Uint32Array(n);
  for (let i = 0; i < n; i++) out[i] = h[i] << 16;
  return new Float32Array(out.buffer);
}

function decodeInt(where: string, dtype: string, bytes: Uint8Array, n: number): Int32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    if (dtype === 'I32') {
      out[i] = view.getInt32(i * 4, true);
      continue;
    }
    const x = view.getBigInt64(i * 8, true);
    if (x < -2147483648n || x > 2147483647n) fail(`${where}: I64 value ${x} at index ${i} does not fit in int32`);
    out[i] = Number(x);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------

export interface SafetensorsFile {
  tensors: Map<string, SafetensorsTensor>;
  metadata: Record<string, string>;
}

/**
 * A file whose first 8 bytes cannot be a header length (text, another format): said as such, with
 * those bytes when they are printable, and the impossible length `why` gives.
 */
function notSafetensors(path: string, prefix: Uint8Array, why: string): string {
  const text = String.fromCharCode(...prefix);
  const shown = /^[\x20-\x7e\t\r\n]*$/.test(text) ? ` (${JSON.stringify(text)})` : '';
  return `${path} is not a safetensors file: its first 8 bytes${shown} are not a header length (${why})`;
}

function readHeader(src: ByteSource, path: string, fileBytes: number): { header: Record<string, unknown>; dataStart: number } {
  if (fileBytes < 8) fail(`${path}: the file is ${fileBytes} bytes, shorter than the 8-byte header length`);
  const prefix = readExact(src, path, 8, 0);
  const n = new DataView(prefix.buffer).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES)) fail(notSafetensors(path, prefix, `the header length ${n} is over the ${MAX_HEADER_BYTES}-byte limit`));
  if (n > BigInt(fileBytes - 8)) fail(notSafetensors(path, prefix, `the header length ${n} is larger than the rest of the file (${fileBytes - 8} bytes)`));
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(readExact(src, path, Number(n), 8));
  } catch (e) {
    if (e instanceof LoomError) throw e;
    fail(`${path}: the header is not valid UTF-8`);
  }
  return { header: parseHeaderJson(path, text), dataStart: 8 + Number(n) };
}

/** A tensor's header entry: what it is, before any of its data is read. */
export interface TensorInfo {
  dtype: string;
  shape: number[];
}

/**
 * An open safetensors file whose header is read and validated; tensor data is read on demand,
 * one tensor at a time, at its offset. Close it when done.
 */
export interface SafetensorsReader {
  path: string;
  entries: ReadonlyMap<string, TensorInfo>;
  metadata: Record<string, string>;
  read(name: string): SafetensorsTensor;
  /** A float tensor as f32 values or f16 bit patterns (see decodeFloat); an integer one is refused. */
  readFloat(name: string, as: FloatElem): Float32Array | Uint16Array;
  /** Makes a tensor's bytes readable where reading is asynchronous (ByteSource.prefetch). */
  prefetch(name: string): Promise<void>;
  close(): void;
}

/** The reader of a safetensors file's bytes (its header read and validated now); `path` names it in errors. */
export function safetensorsReader(src: ByteSource, path: string): SafetensorsReader {
  if (!src.isFile) fail(`${path}: not a regular file`);
  const fileBytes = src.size;
  if (fileBytes > MAX_FILE_BYTES) {
    fail(`${path}: the file is ${fileBytes} bytes, over the ${MAX_FILE_BYTES}-byte (8 GiB) limit; refusing to read it`);
  }
  const { header, dataStart } = readHeader(src, path, fileBytes);
  const metadata = parseMetadata(path, header[METADATA_KEY]);
  const list = Object.entries(header)
    .filter(([name]) => name !== METADATA_KEY)
    .map(([name, raw]) => parseEntry(path, name, raw, fileBytes - dataStart));
  checkOverlaps(path, list);
  const byName = new Map(list.map((e) => [e.name, e]));
  let open = true;
  const raw = (name: string, float = false) => {
    const e = byName.get(name);
    if (!e) fail(`${path}: no tensor '${name}'`);
    if (!open) throw new Error(`${path}: read after close`);
    const where = `${path}: tensor '${e.name}'`;
    const isInt = e.dtype === 'I32' || e.dtype === 'I64';
    if (float && isInt) fail(`${where} is ${e.dtype}, not a float tensor`);
    const bytes = readExact(src, where, e.end - e.begin, dataStart + e.begin); // names the tensor if the file shrank
    return { e, where, bytes, n: numelOf(e.shape), isInt };
  };
  return {
    path,
    entries: new Map(list.map((e) => [e.name, { dtype: e.dtype, shape: e.shape }])),
    metadata,
    read(name: string): SafetensorsTensor {
      const { e, where, bytes, n, isInt } = raw(name);
      const data = isInt ? decodeInt(where, e.dtype, bytes, n) : (decodeFloat(where, e.dtype, bytes, n) as Float32Array);
      return { dtype: e.dtype, shape: e.shape, data };
    },
    readFloat(name: string, as: FloatElem): Float32Array | Uint16Array {
      const { e, where, bytes, n } = raw(name, true);
      return decodeFloat(where, e.dtype, bytes, n, as);
    },
    async prefetch(name: string): Promise<void> {
      const e = byName.get(name);
      if (e && src.prefetch) await src.prefetch(dataStart + e.begin, e.end - e.begin);
    },
    close(): void {
      if (open) src.close();
      open = false;
    },
  };
}

/**
 * Opens a safetensors file and validates its header: at most 8 + MAX_HEADER_BYTES bytes are read
 * (with positioned reads on a file handle), no tensor data until `read(name)`.
 */
export function openSafetensors(path: string, files: Files = hostFiles()): SafetensorsReader {
  let src: ByteSource;
  try {
    src = files.open(path);
  } catch (e) {
    fail(`${path}: cannot open the weights file (${errorCode(e)})`);
  }
  try {
    return safetensorsReader(src, path);
  } catch (e) {
    src.close();
    throw e;
  }
}

/**
 * Reads and validates a safetensors file. Float tensors come back as Float32Array (from F32,
 * F16, BF16, F64; NaN and Inf are rejected), integer tensors as Int32Array (from I32, I64).
 */
export function readSafetensors(path: string, files: Files = hostFiles()): SafetensorsFile {
  const reader = openSafetensors(path, files);
  try {
    const tensors = new Map<string, SafetensorsTensor>();
    for (const name of reader.entries.keys()) tensors.set(name, reader.read(name));
    return { tensors, metadata: reader.metadata };
  } finally {
    reader.close();
  }
}
