/**
 * loadArtifacts(dir) -> the two programs of a compiled artifact directory (`loom compile`):
 * `manifest.json` (format `loom-manifest/2`) and the `.wgsl` files it names, validated on the way
 * in. Every problem is a LoomError (LOOM5005) naming the file and the field. Prefill windows of
 * other widths come from the spec the manifest names, compiled again on first use (`specWindows`).
 */
import type { ScheduleChoice } from '../compiler/check/spec.ts';
import type { ProgramSpec, Step } from '../compiler/codegen/program.ts';
import type { Manifest, ManifestProgram } from '../compiler/emit/manifest.ts';
import type { DeviceProfile } from '../compiler/plan/device.ts';
import { diag, LoomError } from '../grammar/diagnostics.ts';
import { errorCode, hostFiles, type Files } from './host.ts';
import { memoryFiles } from './memory-files.ts';
import { layoutOf, type SessionLayout, type StateDecl } from './session.ts';

const MANIFEST_NAME = 'manifest.json';
const FORMAT: Manifest['format'] = 'loom-manifest/2';

export interface Artifacts {
  /** The directory, absolute. */
  dir: string;
  manifest: Manifest;
  model: string;
  vocab: number;
  /** B and T of the forward program; the step program runs `[B, 1]`. */
  dims: { B: number; T: number };
  weights: { name: string; shape: number[] }[];
  states: StateDecl[];
  forward: ProgramSpec;
  /** Null when a mixer is not causal; `noDecode` says which. */
  step: ProgramSpec | null;
  noDecode: string | null;
  /** The prefill programs of other window widths (Model's prefill); absent: none, windows of T and steps. */
  windows?: WindowSource;
}

/**
 * The prefill program over `[B, width]` (1 < width < T) of the model whose forward program runs
 * `[B, T]`: the same spec, options and device, compiled at T = width (the planner plans each
 * width on its own). Null when it cannot be had: a Model then prefills with windows of T and steps.
 */
export type WindowSource = (width: number) => SessionLayout | null | Promise<SessionLayout | null>;

/** What the forward program was compiled from and with: a window program is the same at another T. */
export interface WindowCompile {
  text: string;
  path: string;
  batch: number;
  schedule?: ScheduleChoice;
  device: DeviceProfile;
  weights?: 'f16';
}

/**
 * The window programs of a spec, compiled on demand. The compiler is imported when the first one
 * is needed: the runtime's other paths load none of its code.
 */
export function compileWindows(c: WindowCompile): (width: number) => Promise<SessionLayout> {
  return async (width) => {
    const { compileSource } = await import('../compiler/pipeline.ts');
    const r = compileSource(c.text, c.path, { batch: c.batch, seq: width, schedule: c.schedule, device: c.device, mode: 'prefill', ...(c.weights ? { weights: c.weights } : {}) });
    if (!r.ok) throw new LoomError(r.diagnostics.map((d) => ({ ...d, file: d.file ?? (d.span ? c.path : undefined) })));
    return layoutOf(r.compiled);
  };
}

/** A program's kernels and buffers as text, to compare a recompiled program with a directory's. */
const programKey = (p: ProgramSpec) => JSON.stringify([p.buffers.map((b) => [b.name, b.elem, b.elements, b.alias]), p.steps.map((s) => [s.kernel.entryPoint, s.kernel.wgsl, s.kernel.dispatch, s.args])]);

/**
 * The window programs of an artifact directory, from the spec its manifest names compiled with
 * the manifest's options. Checked once, on first use: the spec must be readable and compile at
 * the directory's own T to exactly its forward program (a spec edited since, or planned with a
 * device profile the manifest does not record, gives null: windows of T and steps).
 */
function specWindows(dir: string, m: Manifest, forward: ProgramSpec, files: Files): WindowSource {
  let checked: Promise<((width: number) => Promise<SessionLayout>) | null> | undefined;
  const check = async () => {
    const path = files.resolve(dir, m.source);
    let text: string;
    try {
      text = files.readText(path);
    } catch {
      return null;
    }
    const o = m.options;
    const compile = compileWindows({ text, path, batch: o.batch, ...(o.schedule ? { schedule: o.schedule } : {}), device: o.device, ...(o.weights ? { weights: o.weights } : {}) });
    const same = await compile(o.seq).then((l) => programKey(l.program) === programKey(forward), () => false);
    return same ? compile : null;
  };
  return async (width) => {
    const compile = await (checked ??= check());
    return compile && compile(width);
  };
}

function fail(file: string, message: string): never {
  throw new LoomError([diag('bad-artifact', { message: `${file}: ${message}` }, { file })]);
}

const isInt = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 0;
const isShape = (v: unknown): v is number[] => Array.isArray(v) && v.every(isInt);

/** Checks the fields this loader relies on; the manifest's other fields are informational. */
function validate(m: unknown, file: string): Manifest {
  if (typeof m !== 'object' || m === null) fail(file, 'is not a JSON object');
  const x = m as Record<string, unknown>;
  if (x.format !== FORMAT) fail(file, `format is ${JSON.stringify(x.format)}, expected '${FORMAT}' (recompile with this version of loom)`);
  if (typeof x.model !== 'string') fail(file, "'model' must be a string");
  if (!isInt(x.vocab) || x.vocab === 0) fail(file, "'vocab' must be a positive integer");
  const named = (key: string, extra: (e: Record<string, unknown>) => boolean) => {
    const list = x[key];
    if (!Array.isArray(list) || !list.every((e) => typeof e?.name === 'string' && isShape(e.shape) && extra(e))) fail(file, `'${key}' must be a list of { name, shape${key === 'states' ? ', input, output' : ''} }`);
  };
  named('weights', () => true);
  named('states', (e) => typeof e.input === 'string' && typeof e.output === 'string' && (e.maxPositions === undefined || isInt(e.maxPositions)));
  const programs = x.programs as Record<string, unknown> | undefined;
  for (const p of ['forward', 'step']) {
    if (p === 'step' && programs?.step === null) {
      if (typeof x.noDecode !== 'string') fail(file, "'programs.step' is null without a 'noDecode' reason");
      continue;
    }
    const prog = programs?.[p] as Record<string, unknown> | undefined;
    if (!prog || !Array.isArray(prog.buffers) || !Array.isArray(prog.kernels)) fail(file, `'programs.${p}' must have 'buffers' and 'kernels' lists`);
    const dims = prog.dims as Record<string, unknown> | undefined;
    if (!isInt(dims?.B) || !isInt(dims?.T)) fail(file, `'programs.${p}.dims' must be { B, T }`);
  }
  return m as Manifest;
}

/** Reads a file of the artifact directory by its relative path (from disk, or from memory). */
type Reader = (relative: string) => string;

function kernelsOf(dir: string, file: string, m: ManifestProgram, which: string, readFile: Reader, files: Files): Step[] {
  const buffers = new Map(m.buffers.map((b) => [b.name, b]));
  return m.kernels.map((k, i) => {
    const where = `programs.${which}.kernels[${i}]`;
    if (typeof k?.file !== 'string' || typeof k.entryPoint !== 'string' || !Array.isArray(k.bindings) || !Array.isArray(k.dispatch) || !k.dispatch.every(isInt)) {
      fail(file, `${where} must have file, entryPoint, dispatch and bindings`);
    }
    if (k.file.split('/').includes('..') || k.file.startsWith('/')) fail(file, `${where}.file '${k.file}' is outside the artifact directory`);
    let wgsl: string;
    try {
      wgsl = readFile(k.file);
    } catch (e) {
      fail(files.join(dir, k.file), `cannot read kernel '${k.name}' (${where}): ${errorCode(e)}`);
    }
    for (const b of k.bindings) {
      if (!buffers.has(b.buffer)) fail(file, `${where} (${k.name}) binds '${b.buffer}', which is not a buffer of programs.${which}`);
    }
    return {
      kernel: { name: k.name, wgsl, entryPoint: k.entryPoint, workgroupSize: k.workgroupSize, dispatch: k.dispatch, dispatchFormula: k.dispatchFormula, bindings: k.bindings.map((b) => ({ name: b.name, access: b.access, elem: b.elem, elements: b.elements })) },
      args: k.bindings.map((b) => b.buffer),
    };
  });
}

function programOf(dir: string, file: string, m: ManifestProgram, which: string, readFile: Reader, files: Files): ProgramSpec {
  for (const need of ['tokens', 'logits']) if (!m.buffers.some((b) => b.name === need)) fail(file, `programs.${which} has no '${need}' buffer`);
  const buffers = new Map(m.buffers.map((b) => [b.name, b]));
  for (const b of m.buffers) {
    if (b.alias !== undefined && (!buffers.has(b.alias) || buffers.get(b.alias)!.alias !== undefined || buffers.get(b.alias)!.elements !== b.elements)) {
      fail(file, `buffer '${b.name}' of programs.${which} aliases '${b.alias}', which is not a buffer of the same size`);
    }
  }
  return { buffers: m.buffers.map((b) => ({ name: b.name, elem: b.elem, elements: b.elements, role: b.role, ...(b.alias ? { alias: b.alias } : {}) })), steps: kernelsOf(dir, file, m, which, readFile, files) };
}

/** Reads and validates an artifact directory (a path, or a `file:` URL such as `new URL('.', import.meta.url)`). */
export function loadArtifacts(where: string | URL, files: Files = hostFiles()): Artifacts {
  const dir = files.resolve(typeof where === 'string' ? where : files.fromUrl(where));
  return parseArtifacts(dir, (relative) => files.readText(files.join(dir, relative)), true, files);
}

/**
 * The artifacts of an in-memory directory: the files `emitArtifacts` returns, by relative path
 * (`loom generate` compiles a spec and runs it without writing a directory).
 */
export function artifactsFromFiles(texts: ReadonlyMap<string, string>, dir = '(in memory)'): Artifacts {
  return parseArtifacts(dir, (relative) => {
    const text = texts.get(relative);
    if (text === undefined) throw Object.assign(new Error('no such file'), { code: 'ENOENT' });
    return text;
  }, false, memoryFiles());
}

function parseArtifacts(dir: string, readFile: Reader, onDisk: boolean, files: Files): Artifacts {
  const file = files.join(dir, MANIFEST_NAME);
  let text: string;
  try {
    text = readFile(MANIFEST_NAME);
  } catch (e) {
    const code = (e as { code?: string }).code;
    fail(file, code === 'ENOENT' ? `no such file${onDisk ? ': is this a directory written by `loom compile`?' : ''}` : (e as Error).message);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    fail(file, `is not valid JSON: ${(e as Error).message}`);
  }
  const manifest = validate(json, file);
  const { programs } = manifest;
  const forward = programOf(dir, file, programs.forward, 'forward', readFile, files);
  const step = programs.step ? programOf(dir, file, programs.step, 'step', readFile, files) : null;
  if (programs.step && (programs.step.dims.T !== 1 || programs.step.dims.B !== programs.forward.dims.B)) fail(file, `programs.step.dims must be { B: ${programs.forward.dims.B}, T: 1 }`);
  const { model, vocab, weights, states } = manifest;
  const windows = onDisk && step && typeof manifest.source === 'string' && manifest.options?.device ? { windows: specWindows(dir, manifest, forward, files) } : {};
  return { dir, manifest, model, vocab, dims: { ...programs.forward.dims }, weights, states, forward, step, noDecode: manifest.noDecode ?? null, ...windows };
}

/** The session layouts of the two programs. */
export function layouts(a: Artifacts): { forward: SessionLayout; step: SessionLayout | null } {
  const base = { vocab: a.vocab, weights: a.weights, states: a.states };
  return { forward: { ...base, program: a.forward, dims: a.dims }, step: a.step ? { ...base, program: a.step, dims: { B: a.dims.B, T: 1 } } : null };
}
