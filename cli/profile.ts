/**
 * The device profile the commands plan with: the adapter plus its cached calibration and `loom tune`
 * measurements (runtime/tune-cache.ts). The first use on an adapter calibrates (a few seconds) and
 * caches it; LOOM_CALIBRATE=0 never calibrates (plans use the class constants), LOOM_CACHE_DIR
 * moves the cache.
 */
import type { DeviceProfile } from '../compiler/plan/device.ts';
import type { Gpu } from '../runtime/gpu.ts';
import { loadProfile } from '../runtime/tune-cache.ts';
import type { Io } from './io.ts';

export async function commandProfile(gpu: Gpu, io: Io, calibrate?: 'always', quick = false): Promise<DeviceProfile> {
  const mode = calibrate ?? (process.env.LOOM_CALIBRATE === '0' ? 'never' : 'missing');
  const tty = process.stderr.isTTY === true;
  let shown = false;
  const profile = await loadProfile(gpu, {
    calibrate: mode,
    quick,
    progress: (what) => {
      if (!tty) return;
      shown = true;
      io.err(`\r\x1b[K${what}${mode === 'missing' ? ' (first use on this adapter: measuring its rates once)' : ''}`);
    },
    warn: (m) => io.err(`loom: warning: ${m}\n`),
  });
  if (shown) io.err('\r\x1b[K');
  return profile;
}

/** `[#####.....] 5/10 what` on one stderr line, when stderr is a terminal. */
export function progressBar(io: Io): (done: number, total: number, what: string) => void {
  if (process.stderr.isTTY !== true) return () => {};
  return (done, total, what) => {
    const width = 24;
    const full = total ? Math.round((done / total) * width) : width;
    const line = `[${'#'.repeat(full)}${'.'.repeat(width - full)}] ${done}/${total} ${what}`;
    io.err(done >= total && what === 'done' ? '\r\x1b[K' : `\r\x1b[K${line.slice(0, (process.stderr.columns || 100) - 1)}`);
  };
}
