/**
 * Which kernel variant the recurrence's chunkwise schedule runs: `register` (barrier-free, the
 * candidate without a variant name, `chunkwise(C)`) or `workgroup` (tiles in workgroup memory,
 * `chunkwise(C)/workgroup`), by device class:
 *   - GPU-class adapters the runtime identified: workgroup, register where workgroup is not
 *     supported (the register row says why it lost);
 *   - CPU adapters and the unknown default profile: register; the workgroup rows are left out,
 *     so plans, goldens and `loom explain` stay as they were.
 * A variant `loom tune` measured competes on its time on every device. Pure.
 */
import type { Candidate } from './cost.ts';
import { gpuClass, type DeviceProfile } from './device.ts';

export const WORKGROUP = 'workgroup';

/** Why the register variant lost on a GPU-class adapter. */
export const GPU_PREFERS_WORKGROUP = 'GPU-class adapter: the workgroup-memory variant runs instead (loom tune measures both)';

/**
 * The candidates with the device class's preference applied: for every chunk size listed with
 * both variants, an unmeasured workgroup row is dropped on CPU adapters and the default profile,
 * and on GPU-class adapters an unmeasured register row loses to a supported workgroup row.
 */
export function preferChunkVariant(cands: readonly Candidate[], device: DeviceProfile): Candidate[] {
  const gpu = gpuClass(device);
  const out: Candidate[] = [];
  for (const c of cands) {
    const wgRow = cands.find((x) => x.schedule === 'chunkwise' && x.chunk === c.chunk && x.variant === WORKGROUP);
    const regRow = cands.find((x) => x.schedule === 'chunkwise' && x.chunk === c.chunk && x.variant === undefined);
    if (c.schedule !== 'chunkwise' || !wgRow || !regRow || c.measuredMs !== undefined) out.push(c);
    else if (c === wgRow) {
      if (gpu) out.push(c);
    } else if (!gpu || !wgRow.ok) out.push(c);
    else out.push({ schedule: c.schedule, chunk: c.chunk, ok: false, reason: GPU_PREFERS_WORKGROUP });
  }
  return out;
}
