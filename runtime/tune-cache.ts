/**
 * The per-adapter cache of calibration and `loom tune` measurements:
 * `$LOOM_CACHE_DIR/<adapter-hash>.json`, by default `$XDG_CACHE_HOME/loom` or `~/.cache/loom`.
 * A missing file is an empty cache; a malformed one is reported and replaced on the next write.
 */
import type { DeviceProfile } from '../compiler/plan/device.ts';
import type { Calibration, MeasuredTable } from '../compiler/plan/tuning.ts';
import { calibrate } from './calibrate.ts';
import { deviceProfile, type AdapterDescription, type Gpu } from './gpu.ts';
import { host, hostFiles, type Files } from './host.ts';
import { sha256Hex } from './sha256.ts';

export const CACHE_VERSION = 1;

export interface TuneCache {
  version: number;
  /** The adapter, in words (the file name is its hash). */
  adapter: string;
  calibration?: Calibration;
  measured: MeasuredTable;
}

type Env = Readonly<Record<string, string | undefined>>;

export function cacheDir(env: Env = host().env, files: Files = hostFiles()): string {
  if (env.LOOM_CACHE_DIR) return env.LOOM_CACHE_DIR;
  return files.join(env.XDG_CACHE_HOME || files.join(host().home(), '.cache'), 'loom');
}

/** Adapter identity: everything the adapter says about itself, hashed. Pure. */
export function adapterHash(a: AdapterDescription): string {
  const text = [a.vendor, a.architecture, a.device, a.description, a.backend].join('\n');
  return sha256Hex(text).slice(0, 16);
}

export function cachePath(gpu: Gpu, env: Env = host().env, files: Files = hostFiles()): string {
  return files.join(cacheDir(env, files), `${adapterHash(gpu.adapter)}.json`);
}

const isNum = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);

/** Parses a cache file's text; what is wrong with it instead, when it is not one of ours. Pure. */
export function parseCache(text: string, adapter: string): { cache: TuneCache; problem?: string } {
  const empty: TuneCache = { version: CACHE_VERSION, adapter, measured: {} };
  let x: unknown;
  try {
    x = JSON.parse(text);
  } catch (e) {
    return { cache: empty, problem: `not JSON (${(e as Error).message})` };
  }
  const o = x as Partial<TuneCache> | null;
  if (!o || typeof o !== 'object' || o.version !== CACHE_VERSION) return { cache: empty, problem: `not a version ${CACHE_VERSION} loom tune cache` };
  const measured: MeasuredTable = {};
  if (o.measured && typeof o.measured === 'object') {
    for (const [shape, row] of Object.entries(o.measured)) {
      if (!row || typeof row !== 'object') continue;
      const good = Object.entries(row).filter(([, m]) => m && isNum(m.ms) && m.ms > 0 && isNum(m.reps));
      if (good.length) measured[shape] = Object.fromEntries(good);
    }
  }
  const c = o.calibration;
  const calibration = c && isNum(c.flopsPerSec) && isNum(c.bytesPerSec) && isNum(c.dispatchSec) ? c : undefined;
  return { cache: { version: CACHE_VERSION, adapter, calibration, measured } };
}

export function readCache(path: string, adapter: string, files: Files = hostFiles()): { cache: TuneCache; problem?: string } {
  let text: string;
  try {
    text = files.readText(path);
  } catch {
    return { cache: { version: CACHE_VERSION, adapter, measured: {} } };
  }
  return parseCache(text, adapter);
}

/** Writes atomically (a temporary file renamed over the old one). */
export function writeCache(path: string, cache: TuneCache, files: Files = hostFiles()): void {
  files.mkdir(files.join(path, '..'));
  files.write(path, [new TextEncoder().encode(JSON.stringify(cache, null, 1) + '\n')]);
}

export interface LoadOptions {
  /** `missing`: calibrate when the cache has no calibration (first use); `always`; `never`. */
  calibrate?: 'missing' | 'always' | 'never';
  /** Reports what is being measured (the CLI prints it on stderr). */
  progress?: (what: string) => void;
  /** Calibrate with one short round per measurement (noisier). */
  quick?: boolean;
  /** Problems with the cache file (malformed, unwritable). */
  warn?: (message: string) => void;
}

/**
 * The planner's profile of this adapter with its cached calibration and measurements; calibrates
 * on first use (and stores it) unless told not to.
 */
export async function loadProfile(gpu: Gpu, o: LoadOptions = {}): Promise<DeviceProfile> {
  const base = deviceProfile(gpu);
  const path = cachePath(gpu);
  const { cache, problem } = readCache(path, base.name);
  if (problem) o.warn?.(`ignoring the tune cache ${path}: ${problem}`);
  const mode = o.calibrate ?? 'missing';
  if (mode === 'always' || (mode === 'missing' && !cache.calibration)) {
    cache.calibration = await calibrate(gpu, (what) => o.progress?.(`calibrating: ${what}`), o.quick);
    try {
      writeCache(path, cache);
    } catch (e) {
      o.warn?.(`cannot write the tune cache ${path}: ${(e as Error).message}`);
    }
  }
  return { ...base, calibration: cache.calibration, measured: cache.measured };
}
