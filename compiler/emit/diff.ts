/**
 * diffArtifacts(onDisk, fresh) -> one entry per file that differs between an artifact directory
 * and what the current compiler emits for it, with a unified diff (`diff` package). Pure.
 */
import { createTwoFilesPatch } from 'diff';

export interface FileDiff {
  file: string;
  /** changed: both have it; added: only the fresh emission; removed: only the directory. */
  kind: 'changed' | 'added' | 'removed';
  /** Unified diff from the directory's text (a/) to the fresh text (b/). */
  patch: string;
}

/** Files present in either map, sorted; `undefined` text means the file is absent on that side. */
export function diffArtifacts(onDisk: ReadonlyMap<string, string>, fresh: ReadonlyMap<string, string>): FileDiff[] {
  const names = [...new Set([...onDisk.keys(), ...fresh.keys()])].sort();
  const out: FileDiff[] = [];
  for (const file of names) {
    const a = onDisk.get(file);
    const b = fresh.get(file);
    if (a === b) continue;
    const kind = a === undefined ? 'added' : b === undefined ? 'removed' : 'changed';
    const patch = createTwoFilesPatch(
      a === undefined ? '/dev/null' : `a/${file}`,
      b === undefined ? '/dev/null' : `b/${file}`,
      a ?? '',
      b ?? '',
      'artifact directory',
      'current compiler',
      { context: 3 },
    );
    out.push({ file, kind, patch });
  }
  return out;
}
