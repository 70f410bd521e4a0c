/**
 * The manifest of a compiled artifact directory (`manifest.json`, format `loom-manifest/2`): two
 * programs over shared weights, `forward` for `[B, T]` (prefill plan) and `step` for `[B, 1]`
 * (decode plan), with every kernel's file, entry point, workgroup size, dispatch and bindings,
 * plus the weights, the recurrent states, the spec path and the compile options, so `loom check`
 * can re-emit the directory. Plain data: the runtime reads it (`runtime/artifacts.ts`).
 */
import type { ScheduleChoice } from '../check/spec.ts';
import type { BufferRole } from '../codegen/program.ts';
import type { ElemType } from '../codegen/kernel.ts';
import type { DeviceProfile } from '../plan/device.ts';
import type { Mode } from '../plan/plan.ts';
import type { Schedule } from '../ir/graph.ts';

export const MANIFEST = 'manifest.json';
export const MANIFEST_FORMAT = 'loom-manifest/2';
/** The generated TypeScript module (`--emit ts`). */
export const MODULE_FILE = 'model.ts';
/** Folder of the step program's kernels. */
export const STEP_DIR = 'step';
/** What `loom compile --emit` may write besides the manifest. */
export type EmitKind = 'wgsl' | 'ts';

export interface ManifestOptions {
  batch: number;
  seq: number;
  /** `--schedule` (forward program only), or null for the spec's own schedule. */
  schedule: ScheduleChoice | null;
  emit: EmitKind[];
  /** Module specifier the generated module imports the runtime from (`--emit ts` only). */
  runtimeImport: string | null;
  /**
   * `f16` when compiled with `--weights-dtype f16` (absent: f32): the matmul weights' buffers are
   * `elem: 'f16'`, and the runtime refuses the directory on a device without shader-f16 (LOOM4022).
   */
  weights?: 'f16';
  /** The device profile planned for; `loom check` re-plans for the same one. */
  device: DeviceProfile;
}

export interface ManifestBinding {
  binding: number;
  name: string;
  access: 'read' | 'read_write';
  elem: ElemType;
  elements: number;
  /** The program buffer bound here. */
  buffer: string;
}

export interface ManifestKernel {
  name: string;
  /** Path relative to the artifact directory, `/`-separated. */
  file: string;
  entryPoint: string;
  workgroupSize: [number, number, number];
  dispatch: [number, number, number];
  dispatchFormula: string;
  bindings: ManifestBinding[];
}

export interface ManifestBuffer {
  name: string;
  role: BufferRole;
  elem: ElemType;
  elements: number;
  bytes: number;
  /** The buffer this name refers to (a state updated in place), when it has no memory of its own. */
  alias?: string;
}

export interface ManifestSchedule {
  layer: number;
  mixer: string;
  schedule: Schedule;
  chunk: number | null;
  source: string;
  why: string;
}

export interface ManifestProgram {
  dims: { B: number; T: number };
  mode: Mode;
  schedules: ManifestSchedule[];
  buffers: ManifestBuffer[];
  kernels: ManifestKernel[];
}

export interface ManifestState {
  /** `L0.attn.S` */
  name: string;
  shape: number[];
  /** Buffer the carried value is written to before a run (`L0.attn.S0`). */
  input: string;
  /** Buffer the final value is read from after a run (`L0.attn.S`). */
  output: string;
  /** A global attention KV cache: the positions it holds (max_len); the runtime refuses more. */
  maxPositions?: number;
}

export interface Manifest {
  format: typeof MANIFEST_FORMAT;
  model: string;
  /** The spec, relative to the artifact directory, `/`-separated. */
  source: string;
  options: ManifestOptions;
  vocab: number;
  weights: { name: string; shape: number[] }[];
  states: ManifestState[];
  /** `step` is null when the model has a non-causal mixer (then `noDecode` says which). */
  programs: { forward: ManifestProgram; step: ManifestProgram | null };
  /** Why the model has no step program: `mixer 'f' (fnet) is not causal: decode is not defined`. */
  noDecode?: string;
  /** Every file of the directory besides the manifest, sorted. */
  files: string[];
}
