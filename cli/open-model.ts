/**
 * A spec compiled into its two programs and opened as a Model without writing an artifact
 * directory: `loom generate` and the session tests use it. The artifacts carry the spec's window
 * programs (`Artifacts.windows`: the same spec and options at other widths, compiled on first use).
 */
import type { ScheduleChoice } from '../compiler/check/spec.ts';
import { compileArtifacts, DEFAULT_RUNTIME_IMPORT, emitArtifacts, type CompiledPair } from '../compiler/emit/emit.ts';
import type { DeviceProfile } from '../compiler/plan/device.ts';
import type { WeightDtype } from '../compiler/plan/weight-dtype.ts';
import { LoomError } from '../grammar/diagnostics.ts';
import { artifactsFromFiles, compileWindows, type Artifacts } from '../runtime/artifacts.ts';

export interface OpenOptions {
  batch: number;
  seq: number;
  schedule?: ScheduleChoice;
  device: DeviceProfile;
  /** `f16`: the matmuls' weights stored as f16 (`--weights-dtype f16`). */
  weights?: WeightDtype;
}

/**
 * The forward (prefill plan) and step (decode plan) programs of `text` as in-memory artifacts,
 * with the prefill programs of other window widths at hand.
 */
export function compileInMemory(text: string, path: string, o: OpenOptions): { pair: CompiledPair; artifacts: Artifacts } {
  const options = { ...o, emit: ['wgsl'] as const, runtimeImport: DEFAULT_RUNTIME_IMPORT, source: path };
  const r = compileArtifacts(text, path, options);
  if (!r.ok) throw new LoomError(r.diagnostics.map((d) => ({ ...d, file: d.file ?? (d.span ? path : undefined) })));
  const artifacts = artifactsFromFiles(emitArtifacts(r.pair, options));
  if (!r.pair.step) return { pair: r.pair, artifacts };
  const windows = compileWindows({ text, path, batch: o.batch, schedule: o.schedule, device: o.device, ...(o.weights === 'f16' ? { weights: 'f16' as const } : {}) });
  return { pair: r.pair, artifacts: { ...artifacts, windows } };
}
