/**
 * What the planner knows about a device: its limits and its class. Plain data, built by the
 * runtime from a real adapter or taken from the WebGPU defaults when compiling without one.
 */

/** The device limits the compiler and planner use. */
export interface DeviceLimits {
  maxStorageBufferBindingSize: number;
  maxBufferSize: number;
  maxStorageBuffersPerShaderStage: number;
  maxComputeWorkgroupStorageSize: number;
  maxComputeInvocationsPerWorkgroup: number;
  maxComputeWorkgroupSizeX: number;
  maxComputeWorkgroupsPerDimension: number;
}

import type { Calibration, MeasuredTable } from './tuning.ts';

export interface DeviceProfile {
  /** `llvmpipe (vulkan)`, or `webgpu-defaults` when compiled without an adapter. */
  name: string;
  /** CPU adapters (lavapipe, SwiftShader) reward barrier-free register-tiled kernels. */
  isCpu: boolean;
  limits: DeviceLimits;
  /** Rates measured on this adapter (runtime/calibrate.ts); the cost model uses them when present. */
  calibration?: Calibration;
  /** Times `loom tune` measured per layer shape and candidate; `auto` prefers them to estimates. */
  measured?: MeasuredTable;
  /**
   * A GPU-class adapter the runtime identified (runtime/gpu.ts deviceProfile): its mixer kernels may
   * use constant loop bounds over K, which the shader compiler unrolls into registers. Absent for
   * CPU adapters (LLVM's full unrolling made one lavapipe kernel take 28 s to compile) and for
   * `webgpu-defaults`, whose device class is unknown.
   */
  unrollLoops?: boolean;
  /**
   * Whether the device has the WebGPU feature `shader-f16` (f16 weights, `--weights-dtype f16`):
   * set by the runtime from the device it opened; absent for `webgpu-defaults`, where f16 weights
   * compile and the runtime refuses them on a device without the feature (LOOM4022).
   */
  shaderF16?: boolean;
}

/** Whether the mixer kernels get constant (unrollable) loop bounds over K on this device. Pure. */
export function unrollLoops(device: DeviceProfile): boolean {
  return device.unrollLoops === true && !device.isCpu;
}

/** The limits every WebGPU device guarantees (the spec's defaults). */
export const DEFAULT_LIMITS: DeviceLimits = {
  maxStorageBufferBindingSize: 134217728,
  maxBufferSize: 268435456,
  maxStorageBuffersPerShaderStage: 8,
  maxComputeWorkgroupStorageSize: 16384,
  maxComputeInvocationsPerWorkgroup: 256,
  maxComputeWorkgroupSizeX: 256,
  maxComputeWorkgroupsPerDimension: 65535,
};

export const DEFAULT_PROFILE: DeviceProfile = { name: 'webgpu-defaults', isCpu: false, limits: DEFAULT_LIMITS };

/**
 * A GPU-class adapter the runtime identified (runtime/gpu.ts deviceProfile sets `unrollLoops` for
 * exactly those): it gets the GPU kernel variants of the mixers (constant loop bounds over K, the
 * chunkwise schedule's workgroup-memory tiles). False for CPU adapters and `webgpu-defaults`. Pure.
 */
export function gpuClass(device: DeviceProfile): boolean {
  return device.unrollLoops === true && !device.isCpu;
}
