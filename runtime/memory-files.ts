/**
 * `Files` in memory, by POSIX-style path: a browser's host files (the tune cache, state files), an
 * artifact directory compiled in memory, or a checkpoint directory chosen from disk
 * (`filesFromBlobs`), whose safetensors stay `File`s read tensor by tensor with `slice()`: each
 * range read ahead asynchronously (ByteSource.prefetch, which weight uploads await) or, in a
 * worker, synchronously with FileReaderSync. Nothing here needs a DOM.
 */
import { diag, LoomError } from '../grammar/diagnostics.ts';
import type { ByteSource, Files } from './host.ts';
import { MAX_HEADER_BYTES } from './safetensors.ts';

/** What is read of a `File` or `Blob` (the browser's, or Node's). */
export interface BlobLike {
  readonly size: number;
  slice(start?: number, end?: number): { arrayBuffer(): Promise<ArrayBuffer> };
}

/** A file in memory: its bytes, or a Blob with the bytes read ahead (`head`: its first bytes). */
export type Entry = Uint8Array | { blob: BlobLike; head?: Uint8Array };

type SyncReader = new () => { readAsArrayBuffer(b: unknown): ArrayBuffer };

/**
 * A Blob read at any offset: from its first bytes read ahead (`head`, kept) or the last range
 * prefetched, else with FileReaderSync where there is one (a worker).
 */
export function blobSource(blob: BlobLike, name: string, head: Uint8Array = new Uint8Array(0)): ByteSource {
  let ahead: { offset: number; bytes: Uint8Array } = { offset: 0, bytes: new Uint8Array(0) };
  return {
    size: blob.size,
    isFile: true,
    read(offset, length) {
      const end = Math.min(offset + length, blob.size);
      if (ahead.offset === offset && ahead.bytes.length === end - offset) {
        const bytes = ahead.bytes; // handed over whole: a tensor is read once
        ahead = { offset: 0, bytes: new Uint8Array(0) };
        return bytes;
      }
      const r = [{ offset: 0, bytes: head }, ahead].find((r) => r.offset <= offset && end <= r.offset + r.bytes.length);
      if (r) return r.bytes.slice(offset - r.offset, end - r.offset);
      const Sync = (globalThis as { FileReaderSync?: SyncReader }).FileReaderSync;
      if (Sync) return new Uint8Array(new Sync().readAsArrayBuffer(blob.slice(offset, end)));
      throw new LoomError([diag('file-error', { message: `${name}: bytes ${offset}..${end} were not read ahead (outside a worker a File is read asynchronously: prefetch first)` })]);
    },
    async prefetch(offset, length) {
      ahead = { offset, bytes: new Uint8Array(await blob.slice(offset, offset + length).arrayBuffer()) };
    },
    close: () => void (ahead = { offset: 0, bytes: new Uint8Array(0) }),
  };
}

function bytesSource(bytes: Uint8Array): ByteSource {
  return { size: bytes.length, isFile: true, read: (offset, length) => bytes.slice(offset, offset + length), close: () => {} };
}

const missing = (path: string) => Object.assign(new Error(`no such file: ${path}`), { code: 'ENOENT' });

/** `a/./b/../c` -> `a/c`, as Node's `path.posix.normalize` (without a trailing `/`). */
function normalize(path: string): string {
  const abs = path.startsWith('/');
  const out: string[] = [];
  for (const s of path.split('/')) {
    if (s === '..' && out.length && out[out.length - 1] !== '..') out.pop();
    else if (s === '..' ? !abs : s && s !== '.') out.push(s);
  }
  return abs ? `/${out.join('/')}` : out.join('/') || '.';
}

/** Files in memory by path (written ones included): a browser's host files, or a chosen directory. */
export function memoryFiles(entries: Map<string, Entry> = new Map()): Files {
  const get = (path: string): Entry => {
    const e = entries.get(normalize(path));
    if (!e) throw missing(path);
    return e;
  };
  const children = (dir: string) => {
    const prefix = normalize(dir) === '.' ? '' : `${normalize(dir)}/`;
    return [...new Set([...entries.keys()].filter((k) => k.startsWith(prefix)).map((k) => k.slice(prefix.length).split('/')[0]))];
  };
  const join = (...parts: string[]) => normalize(parts.filter(Boolean).join('/'));
  return {
    readText(path) {
      const e = get(path);
      if (!(e instanceof Uint8Array)) throw Object.assign(new Error(`${path} was not read ahead`), { code: 'EAGAIN' });
      return new TextDecoder().decode(e);
    },
    stat(path) {
      const e = entries.get(normalize(path));
      if (e) return { size: e instanceof Uint8Array ? e.length : e.blob.size, isFile: true, isDirectory: false };
      if (children(path).length) return { size: 0, isFile: false, isDirectory: true };
      throw missing(path);
    },
    list(dir) {
      const names = children(dir);
      if (!names.length) throw missing(dir);
      return names;
    },
    open(path) {
      const e = get(path);
      return e instanceof Uint8Array ? bytesSource(e) : blobSource(e.blob, path, e.head);
    },
    write(path, chunks) {
      const list = [...chunks];
      const out = new Uint8Array(list.reduce((a, c) => a + c.length, 0));
      list.reduce((at, c) => (out.set(c, at), at + c.length), 0);
      entries.set(normalize(path), out);
    },
    mkdir: () => {},
    join,
    dirname: (path) => normalize(path).replace(/\/?[^/]*$/, '') || (path.startsWith('/') ? '/' : '.'),
    basename: (path) => normalize(path).split('/').pop() ?? '',
    resolve: (...parts) => normalize(`/${parts.slice(Math.max(0, parts.map((p) => p.startsWith('/')).lastIndexOf(true))).join('/')}`),
    isAbsolute: (path) => path.startsWith('/'),
    fromUrl: (url) => decodeURIComponent(url.pathname),
  };
}

/** A chosen file: its name and, from a directory input, its path below the chosen folder. */
export interface ChosenFile extends BlobLike {
  readonly name: string;
  readonly webkitRelativePath?: string;
}

/**
 * Files chosen from disk (an `<input type="file" multiple>` or a directory input) as a directory
 * `dir`: the JSON and text files read now, each safetensors file's header read now and its data
 * left in the File, read tensor by tensor later.
 */
export async function filesFromBlobs(chosen: ArrayLike<ChosenFile>): Promise<{ files: Files; dir: string }> {
  const list = Array.from(chosen);
  const tops = new Set(list.map((f) => (f.webkitRelativePath?.includes('/') ? f.webkitRelativePath.split('/')[0] : '')));
  const dir = tops.size === 1 && !tops.has('') ? [...tops][0] : 'checkpoint';
  const entries = new Map<string, Entry>();
  const read = async (b: BlobLike, start: number, end: number) => new Uint8Array(await b.slice(start, end).arrayBuffer());
  for (const f of list) {
    const path = normalize(f.webkitRelativePath?.startsWith(`${dir}/`) ? f.webkitRelativePath : `${dir}/${f.name}`);
    if (!f.name.endsWith('.safetensors')) entries.set(path, /\.(json|txt|loom)$/.test(f.name) ? await read(f, 0, f.size) : { blob: f });
    else {
      const n = f.size < 8 ? 0 : Number(new DataView((await read(f, 0, 8)).buffer).getBigUint64(0, true));
      entries.set(path, { blob: f, head: await read(f, 0, Math.min(f.size, 8 + Math.min(n, MAX_HEADER_BYTES))) });
    }
  }
  return { files: memoryFiles(entries), dir };
}
