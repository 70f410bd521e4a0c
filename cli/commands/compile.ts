/**
 * `loom compile SPEC -o DIR [--emit wgsl,ts] [--runtime-import SPECIFIER]`: writes the artifact
 * directory of a model: the forward program over [B, T] and the step program over [B, 1] (one
 * .wgsl per kernel, the step program's under step/), manifest.json and, with --emit ts, the typed
 * module model.ts. Never overwrites files it did not write without --force; each file goes to a
 * temporary name and is renamed.
 */
import { accessSync, constants, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { compileArtifacts, DEFAULT_RUNTIME_IMPORT, emitArtifacts, MANIFEST, type CompiledPair, type EmitKind, type EmitOptions } from '../../compiler/emit/emit.ts';
import { DEFAULT_PROFILE } from '../../compiler/plan/device.ts';
import { diag, LoomError } from '../../grammar/diagnostics.ts';
import { acquireGpu, deviceProfile, probeAdapter } from '../../runtime/gpu.ts';
import { readSpec, specWarnings, usageError, type Io } from '../io.ts';
import type { WeightDtype } from '../../compiler/plan/weight-dtype.ts';
import type { CommandDef, Values } from '../command.ts';
import { commonOptions, OPTION, SPEC_OPTIONS, weightsDtype } from '../options.ts';

/** What the manifest of an earlier `loom compile` in a directory says: its model, spec and files. */
export interface PreviousCompile {
  model: string;
  /** The spec's absolute path (the manifest stores it relative to the directory). */
  source: string;
  files: Set<string>;
}

/** The earlier compile in `dir` (manifest format 1 or 2), or null when no manifest of loom's is there. */
export function previousCompile(dir: string): PreviousCompile | null {
  try {
    const m = JSON.parse(readFileSync(join(dir, MANIFEST), 'utf8'));
    const listed: unknown[] = m.format === 'loom-manifest/2' ? (m.files ?? []) : m.format === 'loom-manifest/1' ? (m.kernels ?? []).map((k: { file?: unknown }) => k.file) : [];
    const files = new Set(listed.filter((f): f is string => typeof f === 'string' && !f.split('/').includes('..')));
    if (!files.size) return null;
    files.add(MANIFEST);
    return { model: String(m.model), source: typeof m.source === 'string' ? resolve(dir, m.source) : '', files };
  } catch {
    return null; // no manifest of ours: nothing in dir is ours
  }
}

/** A LOOM6003 about an output path, from the error Node gave: what went wrong, in words. */
export function outputPathError(what: string, path: string, e: unknown): LoomError {
  const code = (e as NodeJS.ErrnoException).code ?? '';
  const why: Record<string, string> = {
    ENOENT: 'no such file or directory', ENOTDIR: 'a part of the path is a file, not a directory', EACCES: 'permission denied', EPERM: 'operation not permitted',
    EROFS: 'read-only file system', ENOSPC: 'no space left on the device', EISDIR: 'is a directory', EEXIST: 'a file of that name is in the way', ENAMETOOLONG: 'name too long',
  };
  return new LoomError([diag('file-error', { message: `compile: cannot ${what} ${path}: ${why[code] ?? (e as Error).message}${code ? ` (${code})` : ''}` })]);
}

/** Every file under `dir`, relative, `/`-separated; none when `dir` does not exist. */
function listFiles(dir: string, prefix = ''): string[] {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' && !prefix) return [];
    throw outputPathError('read the output directory', dir, e);
  }
  return entries.flatMap((e) => (e.isDirectory() ? listFiles(join(dir, e.name), `${prefix}${e.name}/`) : [`${prefix}${e.name}`]));
}

/** Refuses an output path that is a file, and a directory this process cannot read or write into. */
export function checkOutputDir(dir: string): void {
  let st;
  try {
    st = statSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return; // made when written
    throw outputPathError('use the output directory', dir, e);
  }
  if (!st.isDirectory()) throw new LoomError([diag('file-error', { message: `compile: -o ${dir} is a file, not a directory; name a directory (new, or one loom compiled this model into)` })]);
  try {
    accessSync(dir, constants.R_OK | constants.W_OK | constants.X_OK);
  } catch (e) {
    throw outputPathError('read and write in the output directory', dir, e);
  }
}

/** The first few names, files other than kernels first (manifest.json, model.ts: the ones a user misses). */
function few(names: readonly string[]): string {
  const sorted = [...names].sort((a, b) => Number(a.endsWith('.wgsl')) - Number(b.endsWith('.wgsl')));
  return `${sorted.slice(0, 4).join(', ')}${names.length > 4 ? `, ... (${names.length - 4} more)` : ''}`;
}

/**
 * Why writing `files` (the compile of `model` from the spec `source`, absolute) into a directory
 * holding `present` would lose a user's files, or null when it would not: the directory holds
 * another model's compile (its manifest names another model or spec), or files loom did not
 * write (dotfiles aside: loom neither writes nor removes those; and the spec being compiled). Says what would be overwritten
 * and deleted, with counts and the first few names.
 */
export function outputRefusal(dir: string, present: readonly string[], files: ReadonlySet<string>, previous: PreviousCompile | null, model: string, source: string): string | null {
  const ours = previous?.files ?? new Set<string>();
  const overwrite = present.filter((f) => files.has(f));
  const remove = present.filter((f) => ours.has(f) && !files.has(f));
  const effects = [overwrite.length ? `overwrite ${overwrite.length} (${few(overwrite)})` : '', remove.length ? `delete ${remove.length} (${few(remove)})` : ''].filter(Boolean).join(' and ');
  const would = effects ? `; writing '${model}' there would ${effects}` : '';
  if (previous && (previous.model !== model || previous.source !== source)) {
    const mine = present.filter((f) => ours.has(f));
    return `compile: ${dir} holds ${mine.length} compiled files of another model ('${previous.model}' from ${previous.source || 'an unknown spec'})${would}; use --force to replace them, or choose another directory`;
  }
  // The spec being compiled may live in its output directory: it is the user's input, never written over.
  const spec = source ? relative(resolve(dir), source).split(sep).join('/') : '';
  const foreign = present.filter((f) => !ours.has(f) && !(f === spec && !files.has(f)) && !f.split('/').some((part) => part.startsWith('.')));
  if (!foreign.length) return null;
  const clobber = foreign.filter((f) => files.has(f));
  const lost = clobber.length ? `; writing '${model}' there would overwrite ${clobber.length === foreign.length ? 'all of them' : `${clobber.length} of them (${few(clobber)})`}` : '';
  return `compile: ${dir} has files loom did not write (${foreign.length}: ${few(foreign)})${lost}; use --force to write there anyway, or choose another directory`;
}

/**
 * Writes `files` into `dir`, refusing (LOOM6006) a directory holding another model's compile or
 * files loom did not write unless `force` (`identity`: the model and its spec, absolute; absent:
 * only foreign files are refused); removes the files of the earlier compile this one no longer has.
 */
export function writeArtifacts(dir: string, files: ReadonlyMap<string, string>, force: boolean, identity?: { model: string; source: string }): void {
  checkOutputDir(dir);
  const previous = previousCompile(dir);
  const ours = previous?.files ?? new Set<string>();
  if (!force) {
    const present = listFiles(dir);
    const id = identity ?? { model: previous?.model ?? '', source: previous?.source ?? '' };
    const refusal = outputRefusal(dir, present, new Set(files.keys()), previous, id.model, id.source);
    if (refusal) throw new LoomError([diag('would-overwrite', { message: refusal })]);
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
      throw outputPathError('write', target, e);
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

export interface CompileOptions {
  spec: string;
  dir: string;
  batch: number;
  seq: number;
  schedule?: EmitOptions['schedule'];
  emit: EmitKind[];
  runtimeImport: string;
  weights: WeightDtype;
  force: boolean;
}

export const compileCommand: CommandDef = {
  name: 'compile',
  args: '<spec>',
  summary: 'write one .wgsl per kernel of the forward and step programs and manifest.json to a directory',
  options: [
    { flag: 'out', short: 'o', value: 'DIR', help: 'the directory to write (required): new, or one loom compiled this model into' },
    ...SPEC_OPTIONS,
    { flag: 'emit', value: 'KINDS', help: 'wgsl | wgsl,ts: ts also writes model.ts, a typed module over the runtime (default wgsl)' },
    { flag: 'runtime-import', value: 'M', help: `the module model.ts imports the runtime from (default ${DEFAULT_RUNTIME_IMPORT})` },
    { ...OPTION.weightsDtype, help: "auto | f32 | f16: how the matmuls' weights are stored on the device (default auto: f32, as compile reads no weights)" },
    { flag: 'force', help: 'write into a directory that holds another model\'s compile or files loom did not write' },
  ],
  run: ([spec], v, io) => fromOptions(spec, v, io),
};

async function fromOptions(spec: string, values: Values, io: Io): Promise<number> {
  const common = commonOptions(spec, values);
  const dir = values.out as string | undefined;
  if (!dir) throw usageError('compile: missing -o DIR (where to write the kernels and manifest.json)');
  specWarnings(io, common.spec, common.strict);
  const o = { spec: common.spec, dir, batch: common.batch, seq: common.seq, schedule: common.schedule, emit: parseEmit(values.emit), runtimeImport: parseRuntimeImport(values['runtime-import']), weights: weightsDtype(values['weights-dtype']), force: Boolean(values.force) };
  return compile(o, io);
}

/** `loom compile` without its argument parsing. */
export async function compile(o: CompileOptions, io: Io): Promise<number> {
  const { dir, emit, weights } = o;
  checkOutputDir(dir); // a file or an unwritable directory: said before compiling
  // Plan for the adapter of this machine when there is one; otherwise for WebGPU's default limits.
  const device = (await probeAdapter()) ? deviceProfile(await acquireGpu()) : DEFAULT_PROFILE;
  // f16 weights: refused for an adapter without shader-f16 (LOOM4022); allowed for the default
  // profile (no adapter here), recorded in the manifest, and refused by the runtime on such a device.
  const options: EmitOptions = { batch: o.batch, seq: o.seq, schedule: o.schedule, device, emit, runtimeImport: o.runtimeImport, source: sourceFor(o.spec, dir), ...(weights === 'f16' ? { weights } : {}) };
  const { pair, files } = compileFiles(o.spec, options);
  writeArtifacts(dir, files, o.force, { model: pair.forward.spec.name, source: resolve(o.spec) });
  const schedules = pair.forward.plan.mixers.map((m) => `L${m.layer}:${m.schedule}${m.chunk ? `(${m.chunk})` : ''}`).join(' ');
  const step = pair.step ? `${pair.step.program.steps.length} step kernels` : 'no step program';
  io.out(`wrote ${pair.forward.program.steps.length} forward kernels and ${step}, ${emit.includes('ts') ? 'model.ts and ' : ''}${MANIFEST} to ${dir} (${schedules})\n`);
  if (pair.noDecode) io.out(`note: ${pair.noDecode}, so no step program was built\n`);
  if (weights === 'f16') io.out(`note: ${f16Note(pair)}\n`);
  return 0;
}
