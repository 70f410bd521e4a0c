/**
 * Device faults as Loom errors. Dawn reports a lost device through the `device.lost` promise and
 * validation and out-of-memory errors through error scopes or, outside any scope, the
 * `uncapturederror` event. Here each device gets a watcher at creation: once lost, every call
 * that would touch it throws LOOM6004 ("device lost: <reason>; create a new session") instead of
 * hanging; errors the implementation reports become LOOM6005 naming the operation.
 */
import { diag, LoomError } from '../grammar/diagnostics.ts';

interface Health {
  /** `reason: message` once the device is lost. */
  lost: string | null;
  /** Called with the loss description when the device is lost (pending `unlessLost` calls). */
  waiters: Set<(reason: string) => void>;
  /** Errors raised outside any error scope since the last `takeUncaptured`. */
  uncaptured: string[];
}

const watched = new WeakMap<GPUDevice, Health>();

/** Starts watching a freshly created device. */
export function watchDevice(device: GPUDevice): void {
  const h: Health = { lost: null, uncaptured: [], waiters: new Set() };
  void device.lost.then((info) => {
    const reason = `${info.reason || 'unknown'}${info.message ? ` (${info.message.trim()})` : ''}`;
    h.lost = reason;
    for (const w of h.waiters) w(reason);
    h.waiters.clear();
  });
  device.addEventListener('uncapturederror', (ev) => {
    const err = (ev as GPUUncapturedErrorEvent).error;
    h.uncaptured.push(`${err.constructor?.name ?? 'GPUError'}: ${err.message}`);
  });
  watched.set(device, h);
}

function health(device: GPUDevice): Health {
  let h = watched.get(device);
  if (!h) {
    watchDevice(device);
    h = watched.get(device)!;
  }
  return h;
}

/** The loss description, or null while the device is usable. */
export function lostReason(device: GPUDevice): string | null {
  return health(device).lost;
}

export function deviceLostError(reason: string): LoomError {
  return new LoomError([diag('device-lost', { reason })]);
}

/** Throws LOOM6004 when the device is lost. */
export function assertAlive(device: GPUDevice): void {
  const lost = health(device).lost;
  if (lost !== null) throw deviceLostError(lost);
}

/**
 * `work`, unless the device is lost first: then LOOM6004 instead of waiting forever. Each call
 * registers a waiter only while `work` is pending (no reaction piles up on a promise that never
 * settles: a decode loop makes thousands of these calls).
 */
export function unlessLost<T>(device: GPUDevice, work: Promise<T>): Promise<T> {
  const h = health(device);
  return new Promise<T>((resolve, reject) => {
    const onLost = (reason: string) => {
      work.catch(() => undefined); // it may still reject later; nobody is waiting for it
      reject(deviceLostError(reason));
    };
    if (h.lost !== null) return onLost(h.lost);
    h.waiters.add(onLost);
    work.then(
      (value) => {
        h.waiters.delete(onLost);
        resolve(value);
      },
      (error: unknown) => {
        h.waiters.delete(onLost);
        reject(h.lost !== null ? deviceLostError(h.lost) : error); // a call failing because the device went
      },
    );
  });
}

/** Errors raised outside any error scope since the last call, as one LOOM6005 (or null). */
export function takeUncaptured(device: GPUDevice, what: string): LoomError | null {
  const h = health(device);
  if (h.uncaptured.length === 0) return null;
  const messages = h.uncaptured.splice(0);
  return new LoomError([diag('device-error', { message: `${what}: the WebGPU implementation reported ${messages.join('; ')}` })]);
}

/**
 * Runs `fn` inside 'out-of-memory' and 'validation' error scopes; an error in either becomes
 * LOOM6005 naming `what` (after `onError` has released what `fn` made).
 */
export async function scoped<T>(device: GPUDevice, what: string, fn: () => T, onError?: () => void): Promise<T> {
  // fn must be synchronous: another caller's push between ours and our pops would swap scopes.
  assertAlive(device);
  device.pushErrorScope('out-of-memory');
  device.pushErrorScope('validation');
  let result: { value: T } | { error: unknown };
  try {
    result = { value: fn() };
  } catch (error) {
    result = { error };
  }
  // Both pops now, synchronously after fn: scopes are a per-device stack shared by every caller.
  const popped = [device.popErrorScope(), device.popErrorScope()];
  const [validation, oom] = await unlessLost(device, Promise.all(popped));
  const problems = [oom && `out of memory: ${oom.message}`, validation && `validation error: ${validation.message}`].filter(Boolean);
  if (problems.length) {
    onError?.();
    throw new LoomError([diag('device-error', { message: `${what}: ${problems.join('; ')}` })]);
  }
  if ('error' in result) throw result.error;
  return result.value;
}
