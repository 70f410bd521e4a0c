/** Reading specs and printing diagnostics: the only place diagnostics become text. */
import { readFileSync } from 'node:fs';
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

export function readSpec(path: string): string {
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
