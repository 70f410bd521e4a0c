/**
 * What the runtime needs from the platform it runs on, as small interfaces: files by path (texts,
 * and bytes at any offset, so safetensors are read tensor by tensor), the adapter, the environment.
 * One `Host` is set per process: Node's (runtime/node/host.ts: the disk, Dawn, process.env) by the
 * Node entry points (runtime/index.ts, compiler/index.ts, the CLI, bin/run-ts.js, the test setup),
 * the browser's (runtime/browser.ts: navigator.gpu, files in memory) by the browser entry. The
 * functions that take a path also take a `Files` (default: the host's); a browser passes the
 * files chosen from disk (runtime/memory-files.ts).
 */
import { diag, LoomError } from '../grammar/diagnostics.ts';
import type { AdapterDescription } from './gpu.ts';

/** A file's bytes, read at any offset: a file on disk, or a `File`/`Blob`. */
export interface ByteSource {
  readonly size: number;
  /** False for a directory or device opened as a file (on disk); true for a Blob. */
  readonly isFile: boolean;
  /** `length` bytes at `offset`, as a new array: fewer only where the file ends. */
  read(offset: number, length: number): Uint8Array;
  /** Makes a range readable by `read` where reading is asynchronous (a Blob outside a worker); absent where `read` always can. */
  prefetch?(offset: number, length: number): Promise<void>;
  close(): void;
}

/** Files by path, read synchronously. A failure throws an Error with a `code` ('ENOENT', ...), as Node's fs does. */
export interface Files {
  readText(path: string): string;
  stat(path: string): { size: number; isFile: boolean; isDirectory: boolean };
  /** The names in a directory. */
  list(dir: string): string[];
  open(path: string): ByteSource;
  /** Writes the chunks to `path`, replacing it whole or not at all. */
  write(path: string, chunks: Iterable<Uint8Array>): void;
  /** Creates a directory and its parents (nothing when it exists). */
  mkdir(path: string): void;
  join(...parts: string[]): string;
  dirname(path: string): string;
  basename(path: string): string;
  resolve(...parts: string[]): string;
  isAbsolute(path: string): boolean;
  /** The path of a `file:` URL. */
  fromUrl(url: URL): string;
}

export interface Host {
  files: Files;
  /** Environment variables (LOOM_CACHE_DIR, XDG_CACHE_HOME, ...). */
  env: Readonly<Record<string, string | undefined>>;
  /** The user's home directory. */
  home(): string;
  /** The adapter to run on, described, or null when there is none. */
  probeAdapter(): Promise<{ adapter: GPUAdapter; info: AdapterDescription } | null>;
  /** What to do when there is no adapter. */
  noAdapter: string;
}

/** The error code of a failed file operation, else its message. */
export const errorCode = (e: unknown): string => (e as { code?: string }).code ?? (e as Error).message;

let current: Host | undefined;

export function setHost(h: Host): void {
  current = h;
}

export function host(): Host {
  if (!current) throw new LoomError([diag('file-error', { message: "no platform set: import 'loom/runtime' (Node) or runtime/browser.ts (a browser) first" })]);
  return current;
}

export const hostFiles = (): Files => host().files;
