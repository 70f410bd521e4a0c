/**
 * `loom/compiler`: the compiler's API for programs. `readSpecFile` gives what a compiled model's
 * weights are built from (its checked spec and weight declarations, for `seededWeights`,
 * `loadWeights` and `loadCheckpoint` of `loom/runtime`); `compileSource` and `compileArtifacts`
 * are the pipeline `loom compile` runs.
 */
import { readFileSync } from 'node:fs';
import { diag, LoomError } from '../grammar/diagnostics.ts';
import type { ModelSpec } from './check/spec.ts';
import type { WeightDecl } from './ir/graph.ts';
import { lower } from './lower/lower.ts';
import { checkSource } from './pipeline.ts';

export { checkSource, compileSource, type CompileOptions, type CompileResult, type Compiled } from './pipeline.ts';
export { compileArtifacts, emitArtifacts, type EmitOptions } from './emit/emit.ts';
export type { ModelSpec } from './check/spec.ts';
export type { WeightDecl, WeightInit } from './ir/graph.ts';
export { DEFAULT_PROFILE, type DeviceProfile } from './plan/device.ts';
export { LoomError, type Diagnostic } from '../grammar/diagnostics.ts';
export { renderDiagnostics } from '../grammar/render.ts';
export { compileInMemory, openPretrained, type OpenOptions, type Pretrained, type PretrainedOptions } from '../runtime/open.ts';

/**
 * The checked spec of a `.loom` file and the declarations of its weights (name, shape,
 * initialiser; the same for every batch and window). Throws a LoomError with the spec's
 * diagnostics, or LOOM6003 when the file cannot be read.
 */
export function readSpecFile(path: string): { spec: ModelSpec; decls: readonly WeightDecl[] } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const reason = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message;
    throw new LoomError([diag('file-error', { message: `cannot read spec '${path}': ${reason}` })]);
  }
  const { spec, diagnostics } = checkSource(text, path);
  if (!spec) throw new LoomError(diagnostics.map((d) => ({ ...d, file: d.file ?? path })));
  return { spec, decls: lower(spec, { B: 1, T: 1 }).weights };
}
