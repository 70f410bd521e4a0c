/** Messages between the page and its two workers (compile-worker.ts, gpu-worker.ts). Plain data only. */
import type { DeviceProfile } from '../../compiler/plan/device.ts';

/** A diagnostic placed in the editor: offsets into the text, and its rendered form. */
export interface PlacedDiagnostic {
  from: number;
  to: number;
  line: number;
  col: number;
  severity: 'error' | 'warning';
  /** `LOOM1002 expected ... but found ...` */
  message: string;
}

export interface CompileView {
  name: string;
  /** What `loom explain` prints for the spec (without the IR). */
  plan: string;
  /** The graph after each compiler pass. */
  passes: { pass: string; text: string }[];
  kernels: { name: string; wgsl: string; dispatch: string }[];
  /** The spec has a step program (every mixer causal): generation is possible. */
  decodes: boolean;
  compileMs: number;
}

export type CompileRequest =
  | { id: number; kind: 'compile'; text: string; path: string; batch: number; seq: number; device?: DeviceProfile; mode: 'prefill' | 'decode' }
  | { id: number; kind: 'fmt'; text: string; path: string };

export type CompileReply =
  | { id: number; kind: 'compile'; diagnostics: PlacedDiagnostic[]; rendered: string; view?: CompileView }
  | { id: number; kind: 'fmt'; text?: string; diagnostics: PlacedDiagnostic[]; rendered: string };

export interface KernelTime { name: string; ms: number }

export type GpuRequest =
  | { kind: 'init' }
  | { kind: 'run'; text: string; path: string; batch: number; seq: number; seed: number; timeKernels: boolean }
  | { kind: 'generate'; text?: string; path: string; prompt: string; maxTokens: number; temperature: number; seed: number }
  | { kind: 'open-checkpoint'; files: File[] }
  | { kind: 'checkpoint-logits'; prompt: string }
  /** Destroys the device, as a driver reset would lose it (the browser tests check the page's message). */
  | { kind: 'lose-device' };

export type GpuReply =
  | { kind: 'ready'; adapter: string; profile: DeviceProfile; timestamps: boolean; f16: boolean }
  | { kind: 'no-gpu'; message: string }
  | { kind: 'lost'; message: string }
  | { kind: 'progress'; text: string }
  | { kind: 'error'; message: string }
  | { kind: 'run'; model: string; kernels: number; ms: number; relErr: number; checkMs: number; times: KernelTime[]; timing: 'timestamps' | 'wall' | 'none'; schedules: string[] }
  | { kind: 'token'; text: string }
  | { kind: 'generated'; tokens: number; prefillMs: number; decodeMs: number; stop: string }
  | { kind: 'checkpoint'; name: string; spec: string; tokenizer: string; vocab: number }
  | { kind: 'logits'; ids: number[]; logits: Float32Array; top: { id: number; text: string; logit: number }[] };
