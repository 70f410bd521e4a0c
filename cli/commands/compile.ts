/**
 * `loom compile SPEC -o DIR [--emit wgsl,ts] [--runtime-import SPECIFIER]`: writes the artifact
 * directory of a model: the forward program over [B, T] and the step program over [B, 1] (one
 * .wgsl per kernel, the step program's under step/), manifest.json and, with --emit ts, the typed
 * module model.ts. Never overwrites files it did not write without --force; each file goes to a
 * temporary name and is renamed.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { compileArtifacts, DEFAULT_RUNTIME_IMPORT, emitArtifacts, MANIFEST, type CompiledPair, type EmitKind, type EmitOptions } from '../../compiler/emit/emit.ts';
import { DEFAULT_PROFILE } from '../../compiler/plan/device.ts';
import { diag, LoomError } from '../../grammar/diagnostics.ts';
import { acquireGpu, deviceProfile, probeAdapter } from '../../runtime/gpu.ts';
import { readSpec, usageError, type Io } from '../io.ts';
import { parseCommand, weightsDtype, WEIGHTS_DTYPE } from '../options.ts';

/** Files a previous `loom compile` wrote into `dir` (from its manifest, format 1 or 2). */
export function previousOutputs(dir: string): Set<string> {
  const files = new Set<string>();
  try {
    const m = JSON.parse(readFileSync(join(dir, MANIFEST), 'utf8'));
    const listed: unknown[] = m.format === 'loom-manifest/2' ? (m.files ?? []) : m.format === 'loom-manifest/1' ? (m.kernels ?? []).map((k: { file?: unknown }) => k.file) : [];
    if (!listed.length) return files;
    for (const f of listed) if (typeof f === 'string') files.add(f);
    files.add(MANIFEST);
  } catch {
    // no manifest of ours: nothing in dir is ours
  }
  return files;
}

/** Every file under `dir`, relative, `/`-separated. */
function listFiles(dir: string, prefix = ''): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? listFiles(join(dir, e.name), `${prefix}${e.name}/`) : [`${prefix}${e.name}`]));
}

/** Writes `files` into `dir`, refusing to overwrite foreign files unless `force`; removes our stale files. */
export function writeArtifacts(dir: string, files: ReadonlyMap<string, string>, force: boolean): void {
  const ours = previousOutputs(dir);
  if (!force) {
    const foreign = listFiles(dir).filter((f) => files.has(f) && !ours.has(f));
    if (foreign.length) throw usageError(`compile: ${dir} has files loom did not write (${foreign.slice(0, 3).join(', ')}); use --force to overwrite them`);
  }
  for (const [name, text] of files) {
    const target = join(dir, ...name.split('/'));
    const tmp = join(dirname(target), `.${basename(target)}.tmp-${process.pid}`);
    try {
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(tmp, text);
      renameSync(tmp, target);
    } catch (e) {
      rmSync(tmp, { force: true });
      throw new LoomError([diag('file-error', { message: `compile: cannot write ${target}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` })]);
    }
  }
  // Files of an earlier compile that this one no longer has.
  for (const stale of ours) if (!files.has(stale) && existsSync(join(dir, stale))) unlinkSync(join(dir, stale));
}

/** Spec text -> the artifact files; diagnostics become a LoomError. */
export function compileFiles(specPath: string, o: EmitOptions): { pair: CompiledPair; files: Map<string, string> } {
  const r = compileArtifacts(readSpec(specPath), specPath, o);
  if (!r.ok) throw new LoomError(r.diagnostics.map((d) => ({ ...d, file: d.file ?? (d.span ? specPath : undefined) })));
  return { pair: r.pair, files: emitArtifacts(r.pair, o) };
}

function parseEmit(v: unknown): EmitKind[] {
  const kinds = String(v ?? 'wgsl').split(',').map((s) => s.trim());
  const bad = kinds.find((k) => k !== 'wgsl' && k !== 'ts');
  if (bad !== undefined) throw usageError(`--emit: '${bad}' is not an output kind; expected wgsl, ts or wgsl,ts`);
  return kinds.includes('ts') ? ['wgsl', 'ts'] : ['wgsl'];
}

/** A module specifier goes into generated code: plain printable text only. */
function parseRuntimeImport(v: unknown): string {
  const s = v === undefined ? DEFAULT_RUNTIME_IMPORT : String(v);
  if (!s || /['"`\\\s]|[^\x20-\x7e]/.test(s)) throw usageError(`--runtime-import: '${s}' is not a module specifier (no quotes, backslashes or spaces)`);
  return s;
}

/** The spec path as the manifest stores it: relative to the artifact directory, `/`-separated. */
export function sourceFor(spec: string, dir: string): string {
  return relative(resolve(dir), resolve(spec)).split(sep).join('/');
}

/** What --weights-dtype f16 did: how many weights went f16, and that the device must have shader-f16. */
function f16Note(pair: CompiledPair): string {
  const f16 = pair.forward.program.buffers.filter((b) => b.role === 'weight' && b.elem === 'f16');
  const weights = pair.forward.program.buffers.filter((b) => b.role === 'weight');
  return `${f16.length} of ${weights.length} weights stored as f16 (the matmuls' projections); the device running these kernels must have the WebGPU feature shader-f16`;
}

export async function compileCommand(args: string[], io: Io): Promise<number> {
  const { common, values } = parseCommand('compile', args, {
    out: { type: 'string', short: 'o' },
    force: { type: 'boolean' },
    emit: { type: 'string' },
    'runtime-import': { type: 'string' },
    ...WEIGHTS_DTYPE,
  });
  const dir = values.out as string | undefined;
  if (!dir) throw usageError('compile: missing -o DIR (where to write the kernels and manifest.json)');
  const emit = parseEmit(values.emit);
  const runtimeImport = parseRuntimeImport(values['runtime-import']);
  // Plan for the adapter of this machine when there is one; otherwise for WebGPU's default limits.
  const device = (await probeAdapter()) ? deviceProfile(await acquireGpu()) : DEFAULT_PROFILE;
  // f16 weights: refused for an adapter without shader-f16 (LOOM4022); allowed for the default
  // profile (no adapter here), recorded in the manifest, and refused by the runtime on such a device.
  const weights = weightsDtype(values['weights-dtype']);
  const options: EmitOptions = { batch: common.batch, seq: common.seq, schedule: common.schedule, device, emit, runtimeImport, source: sourceFor(common.spec, dir), ...(weights === 'f16' ? { weights } : {}) };
  const { pair, files } = compileFiles(common.spec, options);
  writeArtifacts(dir, files, Boolean(values.force));
  const schedules = pair.forward.plan.mixers.map((m) => `L${m.layer}:${m.schedule}${m.chunk ? `(${m.chunk})` : ''}`).join(' ');
  const step = pair.step ? `${pair.step.program.steps.length} step kernels` : 'no step program';
  io.out(`wrote ${pair.forward.program.steps.length} forward kernels and ${step}, ${emit.includes('ts') ? 'model.ts and ' : ''}${MANIFEST} to ${dir} (${schedules})\n`);
  if (pair.noDecode) io.out(`note: ${pair.noDecode}, so no step program was built\n`);
  if (weights === 'f16') io.out(`note: ${f16Note(pair)}\n`);
  return 0;
}
