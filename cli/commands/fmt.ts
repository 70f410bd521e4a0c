/**
 * `loom fmt FILE... [--check]`: rewrites each file in the canonical form of `grammar/format.ts`.
 *
 * A file is rewritten only when its text changes, through a temporary file in the same folder
 * renamed over it (a reader never sees half a file). `--check` writes nothing, lists the files
 * that would change on stdout and exits 1 when there is one. A file that does not parse is never
 * written: its diagnostics go to stderr and the exit status is 1.
 */
import { renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { diag, LoomError } from '../../grammar/diagnostics.ts';
import type { Diagnostic } from '../../grammar/diagnostics.ts';
import { format } from '../../grammar/format.ts';
import { printDiagnostics, readSpec, usageError } from '../io.ts';
import type { Io } from '../io.ts';
import type { CommandDef } from '../command.ts';

export const fmtCommand: CommandDef = {
  name: 'fmt',
  args: '[files...]',
  summary: 'rewrite .loom specs in canonical form',
  details: 'Exit status: 0 done (or, with --check, nothing to change); 1 a file does not parse or cannot be written, or --check found files to change.',
  options: [{ flag: 'check', help: 'write nothing; list the files that would change (exit 1 when there is one)' }],
  run: (files, v, io) => fmt(files, v.check === true, io),
};

export async function fmt(files: string[], check: boolean, io: Io): Promise<number> {
  if (files.length === 0) throw usageError('fmt: expected one or more .loom files');
  const diagnostics: Diagnostic[] = [];
  let changed = 0;
  for (const path of files) {
    const outcome = formatOne(path, check);
    if (outcome === 'changed') {
      changed++;
      io.out(check ? `${path}\n` : `formatted ${path}\n`);
    } else if (outcome !== 'unchanged') diagnostics.push(...outcome);
  }
  if (diagnostics.length) printDiagnostics(io, diagnostics);
  return diagnostics.length > 0 || (check && changed > 0) ? 1 : 0;
}

/** Formats one file (writing it unless `check`): whether it changed, or why it could not be. */
function formatOne(path: string, check: boolean): 'changed' | 'unchanged' | Diagnostic[] {
  let text: string;
  try {
    text = readSpec(path);
  } catch (e) {
    if (e instanceof LoomError) return e.diagnostics;
    throw e;
  }
  const result = format(text, path);
  if (result.text === undefined) return result.diagnostics;
  if (result.text === text) return 'unchanged';
  const failure = check ? undefined : replaceFile(path, result.text);
  return failure ? [failure] : 'changed';
}

/**
 * Writes `text` to a temporary file beside `path` (same mode) and renames it over `path`; on
 * failure the temporary file is removed and `path` is untouched.
 */
function replaceFile(path: string, text: string): Diagnostic | undefined {
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.fmt-tmp`);
  try {
    writeFileSync(temp, text, { mode: statSync(path).mode });
    renameSync(temp, path);
    return undefined;
  } catch (e) {
    rmSync(temp, { force: true });
    return diag('file-error', { message: `cannot write '${path}': ${(e as Error).message}` });
  }
}
