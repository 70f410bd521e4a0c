/**
 * The cost model: turns a schedule's operation counts into an estimated time on a device class.
 * Deliberately simple and pure; `loom tune` measurements will replace it where available.
 */
import type { Schedule } from '../ir/graph.ts';
import type { DeviceProfile } from './device.ts';

/** What a kernel family reports about one schedule (see linearAttnCost). */
export interface ScheduleCost {
  flops: number;
  bytes: number;
  /** Longest chain of dependent steps inside one invocation (e.g. T for recurrent). */
  serialSteps: number;
  /** Invocations that can run at once. */
  threads: number;
  /** Kernel dispatches, when more than one per schedule matters (each costs a launch). */
  dispatches?: number;
}

export interface Candidate {
  schedule: Schedule;
  chunk: number;
  /** Kernel variant, for ops that have several for one schedule (`family` ops: FNet's DFT or FFT). */
  variant?: string;
  ok: boolean;
  reason?: string;
  estimateMs?: number;
  /** Measured by `loom tune` on this adapter, when it was (compiler/plan/tuning.ts). */
  measuredMs?: number;
}

interface DeviceRates {
  flopsPerSec: number;
  bytesPerSec: number;
  /** Invocations needed to fill the device. */
  width: number;
  /** Cost of one dependent step of a single invocation. */
  stepSec: number;
  /** Cost of one kernel dispatch inside a submission. */
  dispatchSec: number;
}

/**
 * Rates per device class (a 2-core CPU adapter such as lavapipe, a discrete GPU), with the
 * adapter's calibrated compute, memory and dispatch rates in place of the constants when measured.
 */
export function deviceRates(d: DeviceProfile): DeviceRates {
  const base = d.isCpu
    ? { flopsPerSec: 1e10, bytesPerSec: 1e10, width: 64, stepSec: 2e-8, dispatchSec: 1e-4 }
    : { flopsPerSec: 2e13, bytesPerSec: 1e12, width: 65536, stepSec: 2e-9, dispatchSec: 5e-6 };
  const c = d.calibration;
  if (!c) return base;
  const rate = (x: number, fallback: number) => (Number.isFinite(x) && x > 0 ? x : fallback);
  return { ...base, flopsPerSec: rate(c.flopsPerSec, base.flopsPerSec), bytesPerSec: rate(c.bytesPerSec, base.bytesPerSec), dispatchSec: rate(c.dispatchSec, base.dispatchSec) };
}

/** Estimated milliseconds: compute at the occupancy the thread count allows, plus memory traffic. */
export function estimateMs(c: ScheduleCost, d: DeviceProfile): number {
  const r = deviceRates(d);
  const occupancy = Math.min(1, c.threads / r.width);
  const compute = c.flops / (r.flopsPerSec * occupancy);
  return (compute + c.bytes / r.bytesPerSec + c.serialSteps * r.stepSec + (c.dispatches ?? 0) * r.dispatchSec) * 1e3;
}

/** The supported candidate with the lowest estimate (ties: the earlier one). */
export function chooseCheapest(cands: readonly Candidate[]): Candidate | undefined {
  let best: Candidate | undefined;
  for (const c of cands) if (c.ok && (!best || c.estimateMs! < best.estimateMs!)) best = c;
  return best;
}
