/**
 * `loom compile SPEC -o DIR`: writes one .wgsl per kernel and manifest.json. Never overwrites
 * files it did not write without --force; each file goes to a temporary name and is renamed.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { emitArtifacts, MANIFEST, MANIFEST_FORMAT } from '../../compiler/emit/emit.ts';
import { acquireGpu, deviceProfile, probeAdapter } from '../../runtime/gpu.ts';
import { build } from '../build.ts';
import { usageError, type Io } from '../io.ts';
import { parseCommand } from '../options.ts';

/** Files a previous `loom compile` wrote into `dir` (from its manifest). */
function previousOutputs(dir: string): Set<string> {
  const files = new Set<string>();
  try {
    const m = JSON.parse(readFileSync(join(dir, MANIFEST), 'utf8'));
    if (m.format !== MANIFEST_FORMAT) return files;
    files.add(MANIFEST);
    for (const k of m.kernels ?? []) if (typeof k.file === 'string') files.add(k.file);
  } catch {
    // no manifest of ours: nothing in dir is ours
  }
  return files;
}

export async function compileCommand(args: string[], io: Io): Promise<number> {
  const { common, values } = parseCommand('compile', args, { out: { type: 'string', short: 'o' }, force: { type: 'boolean' } });
  const dir = values.out as string | undefined;
  if (!dir) throw usageError('compile: missing -o DIR (where to write the kernels and manifest.json)');
  // Plan for the adapter of this machine when there is one; otherwise for WebGPU's default limits.
  const device = (await probeAdapter()) ? deviceProfile(await acquireGpu()) : undefined;
  const compiled = build(common, device);
  const files = emitArtifacts(compiled);
  const ours = previousOutputs(dir);
  if (existsSync(dir) && !values.force) {
    const foreign = readdirSync(dir).filter((f) => files.has(f) && !ours.has(f));
    if (foreign.length) throw usageError(`compile: ${dir} has files loom did not write (${foreign.slice(0, 3).join(', ')}); use --force to overwrite them`);
  }
  mkdirSync(dir, { recursive: true });
  for (const [name, text] of files) {
    const tmp = join(dir, `.${name}.tmp-${process.pid}`);
    writeFileSync(tmp, text);
    renameSync(tmp, join(dir, name));
  }
  // Kernels of an earlier compile that this one no longer has.
  for (const stale of ours) if (!files.has(stale) && existsSync(join(dir, stale))) unlinkSync(join(dir, stale));
  const kernels = files.size - 1;
  io.out(`wrote ${kernels} kernels and ${MANIFEST} to ${dir} (${compiled.plan.mixers.map((m) => `L${m.layer}:${m.schedule}${m.chunk ? `(${m.chunk})` : ''}`).join(' ')})\n`);
  return 0;
}
