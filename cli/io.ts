/** Reading specs and printing diagnostics: the only place diagnostics become text. */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { isDirectory, readCheckpointDir, type CheckpointDir } from '../runtime/checkpoint-dir.ts';
import { checkSource } from '../compiler/pipeline.ts';
import { codeLabel, diag, hasErrors, LoomError, strict, type Diagnostic } from '../grammar/diagnostics.ts';
import { renderDiagnostics } from '../grammar/render.ts';

export interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
}

export const processIo: Io = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
};

/** Sources read so far, so diagnostics can show the offending line. */
export const sources = new Map<string, string>();

/** Checkpoint directories read so far, by the path given on the command line. */
const checkpoints = new Map<string, CheckpointDir>();

/**
 * The checkpoint directory at `path` (runtime/checkpoint-dir.ts), or undefined when `path` is not
 * a directory. Its config is imported in memory; the spec text stands under `path` in `sources`.
 */
export function checkpointAt(path: string): CheckpointDir | undefined {
  if (!isDirectory(path)) return undefined;
  let cp = checkpoints.get(path);
  if (cp) return cp;
  const config = join(path, 'config.json');
  if (existsSync(config) && statSync(config).size < 16 * 1024 * 1024) sources.set(config, readFileSync(config, 'utf8')); // for the import's located errors
  cp = readCheckpointDir(path);
  checkpoints.set(path, cp);
  sources.set(path, cp.specText);
  return cp;
}

/** The text of a spec file, or the spec imported from a checkpoint directory's config.json. */
export function readSpec(path: string): string {
  const cp = checkpointAt(path);
  if (cp) return cp.specText;
  try {
    const text = readFileSync(path, 'utf8');
    sources.set(path, text);
    return text;
  } catch (e) {
    const reason = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message;
    throw new LoomError([diag('file-error', { message: `cannot read spec '${path}': ${reason}` })]);
  }
}

export function printDiagnostics(io: Io, diagnostics: Diagnostic[]): void {
  io.err(renderDiagnostics(diagnostics, sources));
  const errors = diagnostics.filter((d) => d.severity === 'error').length;
  if (errors > 1) io.err(`${errors} errors\n`);
}

/**
 * The warnings of the spec at `path` (compiler/check/lint.ts), for a command about to compile it:
 * printed on stderr, or with `asErrors` (`--strict`) thrown as errors. A spec with errors is left
 * to the compile, which reports them together with its warnings.
 */
export function specWarnings(io: Io, path: string, asErrors: boolean): void {
  const { diagnostics } = checkSource(readSpec(path), path);
  if (!diagnostics.length || hasErrors(diagnostics)) return;
  if (asErrors) throw new LoomError(strict(diagnostics));
  printDiagnostics(io, diagnostics);
}

/** Usage errors of the command line (LOOM6001). */
export function usageError(message: string): LoomError {
  return new LoomError([diag('bad-option', { message })]);
}

export { codeLabel };
