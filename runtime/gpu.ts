/**
 * Device acquisition: the host's adapter (Dawn, the npm package `webgpu`, in Node:
 * runtime/node/dawn.ts; navigator.gpu in a browser), with errors that say what to install instead
 * of failing inside the native layer, and the planner's view of the device.
 */
import type { DeviceLimits, DeviceProfile } from '../compiler/plan/device.ts';
import { diag, LoomError } from '../grammar/diagnostics.ts';
import { lostReason, watchDevice } from './device-health.ts';
import { host } from './host.ts';

export type { DeviceLimits } from '../compiler/plan/device.ts';

export interface AdapterDescription {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** Dawn backend name when known (`vulkan`, `opengles`). */
  backend: string;
  /** True for CPU adapters (lavapipe, SwiftShader, llvmpipe): the planner prefers barrier-free kernels. */
  isCpu: boolean;
}

export interface Gpu {
  device: GPUDevice;
  adapter: AdapterDescription;
  features: string[];
  limits: DeviceLimits;
}

const LIMIT_NAMES: (keyof DeviceLimits)[] = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxStorageBuffersPerShaderStage',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupsPerDimension',
];

export const INSTALL_HINT =
  'No WebGPU adapter was found (tried Vulkan, then OpenGL ES). Dawn needs a Vulkan driver: on a machine without a GPU install ' +
  "Mesa's lavapipe (Mesa 24 or newer) and the Vulkan loader. On Debian/Ubuntu run " +
  '`sudo bash scripts/setup-adapter.sh` from the Loom checkout (on Debian 12 it adds ' +
  'bookworm-backports and runs `apt-get install -t bookworm-backports mesa-vulkan-drivers libvulkan1`); ' +
  'elsewhere install your GPU vendor\'s Vulkan driver.';

const CPU_ADAPTER = /llvmpipe|lavapipe|swiftshader|software|cpu/i;

export function describe(adapter: GPUAdapter): AdapterDescription {
  const info = adapter.info;
  const text = `${info.vendor} ${info.architecture} ${info.device} ${info.description}`;
  return {
    vendor: info.vendor ?? '',
    architecture: info.architecture ?? '',
    device: info.device ?? '',
    description: info.description ?? '',
    backend: '',
    isCpu: CPU_ADAPTER.test(text),
  };
}

/** Finds an adapter and describes it, or returns null when there is none (the host's: Dawn in Node, navigator.gpu in a browser). */
export async function probeAdapter(): Promise<{ adapter: GPUAdapter; info: AdapterDescription } | null> {
  return host().probeAdapter();
}

let shared: Promise<Gpu> | undefined;

/**
 * The process-wide device. Requests the adapter's full storage limits (the defaults are smaller
 * than most adapters allow). Throws a LoomError with install instructions when there is no adapter.
 * Once that device is lost, the next call opens a new one (sessions on the old one refuse calls).
 */
export async function acquireGpu(): Promise<Gpu> {
  const current = shared && (await shared.catch(() => undefined));
  if (current && lostReason(current.device) !== null) shared = undefined;
  shared ??= createGpu();
  return shared;
}

/** A device of its own (not the process-wide one), e.g. to isolate a session or to test faults. */
export async function createGpu(): Promise<Gpu> {
  const found = await probeAdapter();
  if (!found) throw new LoomError([diag('no-adapter', { message: host().noAdapter })]);
  return openDevice(found.adapter, found.info);
}

/** A device of `adapter` with its full storage limits, and shader-f16 and timestamp-query when it has them. */
export async function openDevice(adapter: GPUAdapter, info: AdapterDescription): Promise<Gpu> {
  const requiredLimits: Record<string, number> = {};
  for (const name of LIMIT_NAMES) requiredLimits[name] = adapter.limits[name];
  const features = [...adapter.features] as string[];
  const wanted = ['timestamp-query', 'shader-f16'].filter((f) => features.includes(f)) as GPUFeatureName[];
  const device = await adapter.requestDevice({ requiredLimits, requiredFeatures: wanted });
  watchDevice(device); // loss and uncaptured errors become LoomErrors (device-health.ts)
  const limits = Object.fromEntries(LIMIT_NAMES.map((n) => [n, device.limits[n]])) as unknown as DeviceLimits;
  return { device, adapter: info, features, limits };
}

/** The planner's view of a device. */
export function deviceProfile(gpu: Gpu): DeviceProfile {
  const a = gpu.adapter;
  const name = [a.description || a.device || a.vendor || 'adapter', a.backend ? `(${a.backend})` : ''].filter(Boolean).join(' ');
  return { name, isCpu: a.isCpu, limits: gpu.limits, ...(a.isCpu ? {} : { unrollLoops: true }), shaderF16: gpu.device.features.has('shader-f16') };
}
