/**
 * The compiler with nothing of Node's: every stage of the pipeline as a function of plain data
 * (parse -> check -> lower -> fuse -> plan -> assemble), the artifacts `loom compile` writes (as a
 * map of texts), `loom import`'s translation of config.json, `loom fmt`, and the diagnostics and
 * their rendering. compiler/index.ts (`loom/compiler`) adds reading a spec from a path.
 */
import { LoomError } from '../grammar/diagnostics.ts';
import type { ModelSpec } from './check/spec.ts';
import type { WeightDecl } from './ir/graph.ts';
import { lower } from './lower/lower.ts';
import { checkSource } from './pipeline.ts';

export { checkSource, compileSource, compileSpec, type CompileOptions, type CompileResult, type Compiled } from './pipeline.ts';
export { compileArtifacts, emitFiles, DEFAULT_RUNTIME_IMPORT, MANIFEST, type CompiledPair, type EmitOptions, type Manifest } from './emit/emit-files.ts';
export { parse, type ParseResult } from '../grammar/index.ts';
export { format, type FormatResult } from '../grammar/format.ts';
export { check } from './check/check.ts';
export { lower } from './lower/lower.ts';
export { fuse, fuseOptionsFor } from './fuse/fuse.ts';
export { plan, type Plan } from './plan/plan.ts';
export { assemble } from './codegen/assemble.ts';
export { dumpGraph } from './ir/dump.ts';
export { importConfig, IMPORT_KINDS } from './import/config.ts';
export type { ModelSpec } from './check/spec.ts';
export type { Graph, WeightDecl, WeightInit } from './ir/graph.ts';
export type { ProgramSpec } from './codegen/program.ts';
export { DEFAULT_LIMITS, DEFAULT_PROFILE, type DeviceProfile } from './plan/device.ts';
export { diag, LoomError, type Diagnostic } from '../grammar/diagnostics.ts';
export { formatLocation, renderDiagnostics, sortDiagnostics } from '../grammar/render.ts';
export { compileInMemory, openPretrained, type OpenOptions, type Pretrained, type PretrainedOptions } from '../runtime/open.ts';

/**
 * The checked spec of a `.loom` text and the declarations of its weights (name, shape,
 * initialiser; the same for every batch and window). Throws a LoomError with the spec's diagnostics.
 */
export function specOf(text: string, path: string): { spec: ModelSpec; decls: readonly WeightDecl[] } {
  const { spec, diagnostics } = checkSource(text, path);
  if (!spec) throw new LoomError(diagnostics.map((d) => ({ ...d, file: d.file ?? path })));
  return { spec, decls: lower(spec, { B: 1, T: 1 }).weights };
}
