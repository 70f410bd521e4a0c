/**
 * compileArtifacts(spec text, options) -> the two programs of an artifact directory, and
 * emitFiles(programs, options, module) -> its files: one `.wgsl` per kernel (the step program's
 * under `step/`), `manifest.json` (format `loom-manifest/2`, see manifest.ts) and, with `--emit ts`,
 * the typed module `model.ts` that `module` writes (emit.ts's emitArtifacts passes emit-ts.ts's,
 * which needs ts-morph: the browser's compiler leaves it out). Pure and deterministic: the same
 * spec and options give byte-identical files (no timestamps, no absolute paths; the device profile
 * is an option, not a probe).
 */
import { LoomInternalError, type Diagnostic } from '../../grammar/diagnostics.ts';
import type { ScheduleChoice } from '../check/spec.ts';
import { nonCausalMixer, noDecodeMessage } from '../mixers/family-op.ts';
import { compileSource, type Compiled } from '../pipeline.ts';
import type { DeviceProfile } from '../plan/device.ts';
import type { WeightDtype } from '../plan/weight-dtype.ts';
import { elemBytes } from '../codegen/kernel.ts';
import {
  MANIFEST,
  MANIFEST_FORMAT,
  MODULE_FILE,
  STEP_DIR,
  type EmitKind,
  type Manifest,
  type ManifestProgram,
  type ManifestState,
} from './manifest.ts';

export { MANIFEST, MANIFEST_FORMAT, MODULE_FILE, STEP_DIR } from './manifest.ts';
export type { EmitKind, Manifest } from './manifest.ts';

export interface EmitOptions {
  batch: number;
  seq: number;
  /** Forces one schedule on the forward program; the step program keeps the spec's decode plan. */
  schedule?: ScheduleChoice;
  device: DeviceProfile;
  emit: readonly EmitKind[];
  /** Module specifier of Loom's runtime in the generated module (default `loom/runtime`). */
  runtimeImport: string;
  /** The spec path stored in the manifest: relative to the artifact directory, `/`-separated. */
  source: string;
  /** `f16`: the matmuls' weights stored as f16 (`--weights-dtype`; the device needs shader-f16). Default f32. */
  weights?: WeightDtype;
}

export const DEFAULT_RUNTIME_IMPORT = 'loom/runtime';

/**
 * `forward` over `[B, T]` (prefill plan) and `step` over `[B, 1]` (decode plan); `step` is null,
 * with `noDecode` saying why, when a mixer is not causal.
 */
export interface CompiledPair {
  forward: Compiled;
  step: Compiled | null;
  noDecode?: string;
}

export type PairResult = { ok: true; pair: CompiledPair } | { ok: false; diagnostics: Diagnostic[] };

export function compileArtifacts(text: string, path: string, o: EmitOptions): PairResult {
  const weights = o.weights === 'f16' ? { weights: o.weights } : {};
  const forward = compileSource(text, path, { batch: o.batch, seq: o.seq, schedule: o.schedule, device: o.device, mode: 'prefill', ...weights });
  if (!forward.ok) return { ok: false, diagnostics: forward.diagnostics };
  const acausal = nonCausalMixer(forward.compiled.spec);
  if (acausal) return { ok: true, pair: { forward: forward.compiled, step: null, noDecode: noDecodeMessage(acausal) } };
  const step = compileSource(text, path, { batch: o.batch, seq: 1, device: o.device, mode: 'decode', ...weights });
  if (!step.ok) return { ok: false, diagnostics: step.diagnostics };
  return { ok: true, pair: { forward: forward.compiled, step: step.compiled } };
}

/** Longest file name stem written; file systems refuse names over 255 bytes, and spec names have no limit. */
const MAX_STEM = 96;
const KEEP = 40;

/** FNV-1a of a string, as 8 hex digits: a short stable tag for a shortened name. */
function tag(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h.toString(16).padStart(8, '0');
}

/**
 * A kernel name as a file name: `L0.attn.chunk_h` -> `L0.attn.chunk_h.wgsl`. Names from long spec
 * identifiers keep their first and last 40 characters around a hash of the whole name.
 */
export function kernelFile(name: string, folder = ''): string {
  let stem = name.replace(/[^A-Za-z0-9_.-]/g, '_');
  if (stem.length > MAX_STEM) stem = `${stem.slice(0, KEEP)}-${tag(name)}-${stem.slice(-KEEP)}`;
  return `${folder ? `${folder}/` : ''}${stem}.wgsl`;
}

function programEntry(c: Compiled, folder: string, files: Map<string, string>): ManifestProgram {
  const { program, plan, fused } = c;
  const kernels = program.steps.map((s) => {
    const file = kernelFile(s.kernel.name, folder);
    if (files.has(file) && files.get(file) !== s.kernel.wgsl) throw new LoomInternalError('emit', `two different kernels would be written to ${file}`);
    files.set(file, s.kernel.wgsl);
    return {
      name: s.kernel.name,
      file,
      entryPoint: s.kernel.entryPoint,
      workgroupSize: s.kernel.workgroupSize,
      dispatch: s.kernel.dispatch,
      dispatchFormula: s.kernel.dispatchFormula,
      bindings: s.kernel.bindings.map((b, i) => ({ binding: i, name: b.name, access: b.access, elem: b.elem, elements: b.elements, buffer: s.args[i] })),
    };
  });
  return {
    dims: { ...fused.dims },
    mode: plan.mode,
    schedules: plan.mixers.map((m) => ({ layer: m.layer, mixer: m.label, schedule: m.schedule, chunk: m.chunk || null, source: m.source, why: m.why })),
    buffers: program.buffers.map((b) => ({ name: b.name, role: b.role, elem: b.elem, elements: b.elements, bytes: b.elements * elemBytes(b.elem), ...(b.alias ? { alias: b.alias } : {}) })),
    kernels,
  };
}

/** The recurrent states: the graph's state_in nodes with the buffers they are read from and written to. */
export function stateEntries(c: Compiled): ManifestState[] {
  const { graph } = c;
  const states: ManifestState[] = [];
  const limits = new Map<number, number>(); // KV-cache state_in node -> max_len
  for (const n of graph.nodes) if (n.op === 'attention' && n.kc0 !== null && n.knobs.window === null) limits.set(n.kc0, n.knobs.maxLen);
  // A family op with a linear KV cache (causal softplus attention) says how many positions it holds.
  for (const n of graph.nodes) if (n.op === 'family' && typeof n.attrs.maxPositions === 'number') for (const i of n.inputs) if (graph.nodes[i].op === 'state_in' && /\.[kv]_cache$/.test((graph.nodes[i] as { name: string }).name)) limits.set(i, n.attrs.maxPositions);
  for (const n of graph.nodes) {
    if (n.op !== 'state_in') continue;
    if (!(n.name in graph.outputs)) continue;
    const max = limits.get(n.id);
    states.push({ name: n.name, shape: [...n.type.shape], input: n.label, output: n.name, ...(max === undefined ? {} : { maxPositions: max }) });
  }
  return states;
}

/** Two-space JSON with arrays of numbers kept on one line (shapes, dispatch sizes). */
export function manifestText(m: Manifest): string {
  return JSON.stringify(m, null, 2).replace(/\[\s*(-?[\d.e+-]+(?:,\s*-?[\d.e+-]+)*)\s*\]/g, (_, body: string) => `[${body.split(/,\s*/).join(', ')}]`) + '\n';
}

export function emitFiles(pair: CompiledPair, o: EmitOptions, module?: (m: Manifest) => string): Map<string, string> {
  const files = new Map<string, string>();
  const { forward, step } = pair;
  const programs = { forward: programEntry(forward, '', files), step: step ? programEntry(step, STEP_DIR, files) : null };
  const ts = o.emit.includes('ts');
  const manifest: Manifest = {
    format: MANIFEST_FORMAT,
    model: forward.spec.name,
    source: o.source,
    options: {
      batch: o.batch,
      seq: o.seq,
      schedule: o.schedule ?? null,
      emit: [...o.emit],
      runtimeImport: ts ? o.runtimeImport : null,
      ...(o.weights === 'f16' ? { weights: 'f16' as const } : {}),
      device: { name: o.device.name, isCpu: o.device.isCpu, limits: { ...o.device.limits } },
    },
    vocab: forward.spec.vocab,
    weights: forward.graph.weights.map((w) => ({ name: w.name, shape: [...w.shape] })),
    states: stateEntries(forward),
    programs,
    ...(pair.noDecode ? { noDecode: pair.noDecode } : {}),
    files: [],
  };
  if (ts && !module) throw new LoomInternalError('emit', '--emit ts needs the module writer (compiler/emit/emit.ts)');
  if (ts) files.set(MODULE_FILE, module!(manifest));
  manifest.files = [...files.keys()].sort();
  files.set(MANIFEST, manifestText(manifest));
  return new Map([...files.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
