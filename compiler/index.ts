/**
 * `loom/compiler`: the compiler's API for programs. `readSpecFile` gives what a compiled model's
 * weights are built from (its checked spec and weight declarations, for `seededWeights`,
 * `loadWeights` and `loadCheckpoint` of `loom/runtime`); `compileSource` and `compileArtifacts`
 * are the pipeline `loom compile` runs. The same without Node's file reading: compiler/browser.ts.
 */
import '../runtime/node/host.ts'; // Node's host (runtime/host.ts): the disk, Dawn
import { diag, LoomError } from '../grammar/diagnostics.ts';
import { errorCode, hostFiles, type Files } from '../runtime/host.ts';
import type { ModelSpec } from './check/spec.ts';
import type { WeightDecl } from './ir/graph.ts';
import { specOf } from './browser.ts';

export * from './browser.ts';
export { emitArtifacts } from './emit/emit.ts';

/**
 * The checked spec of a `.loom` file and the declarations of its weights (name, shape,
 * initialiser; the same for every batch and window). Throws a LoomError with the spec's
 * diagnostics, or LOOM6003 when the file cannot be read.
 */
export function readSpecFile(path: string, files: Files = hostFiles()): { spec: ModelSpec; decls: readonly WeightDecl[] } {
  let text: string;
  try {
    text = files.readText(path);
  } catch (e) {
    const reason = errorCode(e) === 'ENOENT' ? 'no such file' : (e as Error).message;
    throw new LoomError([diag('file-error', { message: `cannot read spec '${path}': ${reason}` })]);
  }
  return specOf(text, path);
}
