/**
 * `loom check DIR [--update] [--yes] [--spec FILE] [--seed N]`: regression-tests an artifact
 * directory against the current compiler and spec. It re-emits the directory into memory with
 * the options its manifest records, prints a unified diff per changed, added or removed file,
 * then runs the directory's own kernels (from disk) on the adapter against the float64
 * reference: each kernel alone on the reference's inputs (cli/kernel-check.ts), so a changed
 * kernel fails alone, then the forward and step programs end to end. WGSL that does not compile
 * is a located LOOM5007 on the kernel's file. The summary names the changed files first, then the
 * failing kernels' files. Exit status: 0 all equal and within 1e-4; 1 a file differs (or a usage
 * or manifest error); 2 only the numeric check failed. `--update` rewrites the directory after a
 * confirmation on a terminal, or with `--yes`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline/promises';
import type { ProgramSpec } from '../../compiler/codegen/program.ts';
import { diffArtifacts, type FileDiff } from '../../compiler/emit/diff.ts';
import { MANIFEST, MANIFEST_FORMAT, type CompiledPair, type EmitOptions, type Manifest } from '../../compiler/emit/emit.ts';
import type { Graph } from '../../compiler/ir/graph.ts';
import { diag, LoomError, type Diagnostic } from '../../grammar/diagnostics.ts';
import { artifactsFromFiles, loadArtifacts, type Artifacts } from '../../runtime/artifacts.ts';
import { storedWeights } from '../../runtime/f16.ts';
import { acquireGpu, type Gpu } from '../../runtime/gpu.ts';
import { Model } from '../../runtime/model.ts';
import { ShaderCompileError } from '../../runtime/program.ts';
import { interpretGraph } from '../../runtime/reference/interpret.ts';
import { seededWeights } from '../../runtime/weights.ts';
import type { CommandDef } from '../command.ts';
import { printDiagnostics, sources, usageError, type Io } from '../io.ts';
import { nonNegativeInt, OPTION } from '../options.ts';
import { checkKernels } from '../kernel-check.ts';
import { compileFiles, writeArtifacts } from './compile.ts';
import { randomTokens, relativeError } from './run.ts';

const TOLERANCE = 1e-4;

function manifestError(file: string, message: string): LoomError {
  return new LoomError([diag('bad-artifact', { message: `${file}: ${message}` }, { file })]);
}

/** The manifest's compile options; anything missing or malformed is an error naming the file. */
function readManifest(dir: string): { manifest: Manifest; file: string } {
  const file = join(dir, MANIFEST);
  let m: Manifest;
  try {
    m = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw manifestError(file, err.code === 'ENOENT' ? 'no such file: is this a directory written by `loom compile`?' : `cannot be read: ${err.message}`);
  }
  if (m?.format !== MANIFEST_FORMAT) throw manifestError(file, `format is ${JSON.stringify(m?.format)}, expected '${MANIFEST_FORMAT}'`);
  const o = m.options;
  if (typeof m.source !== 'string' || !o || !Number.isInteger(o.batch) || !Number.isInteger(o.seq) || !Array.isArray(o.emit) || !o.device?.limits) {
    throw manifestError(file, "needs 'source' and 'options' { batch, seq, emit, device } to re-emit the directory");
  }
  if (!Array.isArray(m.files) || !m.files.every((f) => typeof f === 'string' && !f.split('/').includes('..'))) throw manifestError(file, "'files' must list the directory's files");
  return { manifest: m, file };
}

function readIfPresent(path: string): string | undefined {
  return existsSync(path) ? readFileSync(path, 'utf8') : undefined;
}

async function confirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    const answer = await rl.question(question);
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}

interface NumericResult {
  /** The per-kernel and end-to-end lines. */
  lines: string[];
  ok: boolean;
  /** Files of the kernels that fail (program order), and diagnostics of those that do not compile. */
  failing: string[];
  diagnostics: Diagnostic[];
}

/** Located LOOM5007 diagnostics for WGSL that Dawn refused, on the kernel's file (shown by line). */
function wgslDiagnostics(e: ShaderCompileError, file: string): Diagnostic[] {
  sources.set(file, e.kernel.wgsl);
  const what = `kernel '${e.kernel.name}' does not compile`;
  if (!e.located.length) return [diag('bad-wgsl', { message: `${what}: ${e.message.split('\n').slice(1).join('; ')}` }, { file })];
  return e.located.map((m) => diag('bad-wgsl', { message: `${what}: ${m.text}` }, { file, span: { start: m.offset, end: m.offset + Math.max(1, m.length), line: m.line, col: m.col } }));
}

interface ProgramCheck {
  which: 'forward' | 'step';
  disk: ProgramSpec;
  trusted: ProgramSpec;
  fused: Graph;
  values: ReadonlyMap<number, ArrayLike<number>>;
}

/** The directory's kernels one by one (cli/kernel-check.ts), as lines naming each failing kernel's file. */
async function perKernel(gpu: Gpu, dir: string, manifest: Manifest, programs: ProgramCheck[], changed: ReadonlySet<string>): Promise<NumericResult> {
  const failed: { file: string; line: string }[] = [];
  const diagnostics: Diagnostic[] = [];
  let count = 0;
  let worst: [string, number] = ['', 0];
  for (const p of programs) {
    const files = manifest.programs[p.which]!.kernels.map((k) => k.file);
    for (const r of await checkKernels(gpu, p.disk, p.trusted, p.fused, p.values)) {
      count++;
      const file = files[r.index];
      const tag = `${file}${changed.has(file) ? ' (changed)' : ''}: kernel ${r.kernel} of the ${p.which} program`;
      const bad = r.errors.filter(([, e]) => !(e < TOLERANCE));
      if (r.compileError) {
        diagnostics.push(...wgslDiagnostics(r.compileError, join(dir, file)));
        failed.push({ file, line: `${tag} does not compile (LOOM5007 above)` });
      } else if (r.skipped) failed.push({ file, line: `${tag} not run: ${r.skipped}` });
      else if (bad.length) failed.push({ file, line: `${tag}: ${bad.map(([b, e]) => `${b} ${e.toExponential(2)}`).join(', ')}` });
      else for (const [b, e] of r.errors) if (e >= worst[1]) worst = [b === r.kernel ? b : `${r.kernel} (${b})`, e];
    }
  }
  // Changed files first, then program order.
  failed.sort((a, b) => Number(changed.has(b.file)) - Number(changed.has(a.file)));
  const lines = [`kernels   ${count - failed.length}/${count} kernels within ${TOLERANCE} of the float64 reference, each alone on the reference's inputs (worst passing: ${worst[0] || 'none'} ${worst[1].toExponential(2)})`];
  lines.push(...failed.map((f) => `  FAILED  ${f.line}`));
  return { ok: failed.length === 0, lines, failing: failed.map((f) => f.file), diagnostics };
}

/** The programs run as a whole, as before: logits and final states, then a step from the carried state. */
async function endToEnd(gpu: Gpu, artifacts: Artifacts, pair: CompiledPair, weights: ReadonlyMap<string, Float32Array>, tokens: Int32Array, next: Int32Array): Promise<[string, number][]> {
  const errors: [string, number][] = [];
  const model = await Model.create(gpu, artifacts, weights);
  try {
    const out = await model.forward(tokens);
    const ref = interpretGraph(pair.forward.graph, weights, tokens).outputs;
    errors.push(['forward logits', relativeError(out.logits, ref.logits)]);
    for (const [name, v] of Object.entries(out.states)) errors.push([`forward ${name}`, relativeError(v, ref[name])]);
    if (pair.step) {
      const carried = Object.fromEntries(artifacts.states.map((s) => [s.name, Float32Array.from(ref[s.name])]));
      model.writeState(carried);
      const logits = await model.step(next);
      const refStep = interpretGraph(pair.step.graph, weights, next, new Map(Object.entries(carried))).outputs;
      errors.push(['step logits', relativeError(logits, refStep.logits)]);
      for (const [name, v] of Object.entries(await model.readState())) errors.push([`step ${name}`, relativeError(v, refStep[name])]);
    }
  } finally {
    model.destroy();
  }
  return errors;
}

/**
 * Runs the directory's kernels (from disk) against the float64 reference of the re-compiled
 * graphs: each kernel alone on the reference's inputs, then both programs end to end.
 * `files`: the re-emitted directory (its kernels are the trusted ones when the manifests agree).
 */
async function checkNumerics(dir: string, pair: CompiledPair, files: ReadonlyMap<string, string>, seed: number, changed: ReadonlySet<string>): Promise<NumericResult> {
  const artifacts = loadArtifacts(dir);
  const decls = pair.forward.graph.weights;
  const same = artifacts.weights.length === decls.length && decls.every((d, i) => artifacts.weights[i].name === d.name && artifacts.weights[i].shape.join() === d.shape.join());
  if (!same) return { ok: false, failing: [], diagnostics: [], lines: ['numeric   the directory\'s weights differ from the spec\'s: not run'] };
  // The reference runs on the weights as the directory stores them (f16 ones rounded: --weights-dtype f16).
  const weights = storedWeights(seededWeights(decls, seed), artifacts.forward.buffers);
  const { B, T } = artifacts.dims;
  const tokens = randomTokens(seed, B * T, artifacts.vocab);
  const next = randomTokens(seed + 1, B, artifacts.vocab);
  const gpu = await acquireGpu();
  // A changed manifest may change the programs' structure: then the directory's own kernels make the
  // values no reference node holds (a changed kernel among them can fail the kernels after it).
  const trusted = changed.has(MANIFEST) ? artifacts : artifactsFromFiles(files, dir);
  const programs: ProgramCheck[] = [{ which: 'forward', disk: artifacts.forward, trusted: trusted.forward, fused: pair.forward.fused, values: interpretGraph(pair.forward.fused, weights, tokens).values }];
  if (pair.step && artifacts.step && trusted.step) {
    const final = interpretGraph(pair.forward.graph, weights, tokens).outputs;
    const carried = new Map(artifacts.states.map((s) => [s.name, Float32Array.from(final[s.name])]));
    programs.push({ which: 'step', disk: artifacts.step, trusted: trusted.step, fused: pair.step.fused, values: interpretGraph(pair.step.fused, weights, next, carried).values });
  }
  const kernels = await perKernel(gpu, dir, artifacts.manifest, programs, changed);
  const lines = [...kernels.lines];
  let ok = kernels.ok;
  try {
    const errors = await endToEnd(gpu, artifacts, pair, weights, tokens, next);
    const bad = errors.filter(([, e]) => !(e < TOLERANCE));
    const worst = errors.reduce((a, b) => (b[1] > a[1] || !Number.isFinite(b[1]) ? b : a));
    lines.push(`end-to-end ${errors.length - bad.length}/${errors.length} outputs within ${TOLERANCE} of the float64 reference (worst: ${worst[0]} ${worst[1].toExponential(2)})`);
    for (const [name, e] of bad) lines.push(`  FAILED  ${name}: rms(out-ref)/rms(ref) = ${e}`);
    ok &&= bad.length === 0;
  } catch (e) {
    if (!(e instanceof ShaderCompileError)) throw e;
    lines.push(`end-to-end not run: kernel ${e.kernel.name} does not compile`);
    ok = false;
  }
  return { ...kernels, ok, lines };
}

function printDiffs(io: Io, diffs: FileDiff[]): void {
  for (const d of diffs) io.out(`${d.kind.padEnd(8)} ${d.file}\n${d.patch}\n`);
}

export interface CheckOptions {
  dir: string;
  update: boolean;
  yes: boolean;
  spec?: string;
  seed: number;
}

export const checkCommand: CommandDef = {
  name: 'check',
  args: '<dir>',
  summary: 're-emit a compiled directory and diff every file, then run its kernels, each alone and then whole, against the float64 reference',
  details: `Exit status: 0 every file identical and every output within ${TOLERANCE} of the reference; 1 a file differs (or an error); 2 only the numbers differ (or a usage error).`,
  options: [
    { flag: 'update', help: 'rewrite the directory with the current compiler\'s output (asks first on a terminal)' },
    { flag: 'yes', help: 'with --update: rewrite without asking' },
    { flag: 'spec', value: 'FILE', help: 'the spec to re-emit from (default: the one the manifest names)' },
    { ...OPTION.seed, help: 'seed of the random weights and token ids of the numeric check (default 0)' },
  ],
  run: ([dir], v, io) => check({ dir, update: v.update === true, yes: v.yes === true, spec: v.spec as string | undefined, seed: nonNegativeInt(v.seed, 0, '--seed') }, io),
};

/**
 * `loom check` without its argument parsing. The summary names the files that differ from the
 * re-emitted ones first, then the files of the kernels that fail on their own.
 */
export async function check(o: CheckOptions, io: Io): Promise<number> {
  const { manifest, file } = readManifest(o.dir);
  const spec = o.spec ?? resolve(o.dir, manifest.source);
  if (!existsSync(spec)) throw manifestError(file, `names the spec '${manifest.source}' (${spec}), which does not exist; pass --spec FILE`);
  const { options: m } = manifest;
  const options: EmitOptions = { batch: m.batch, seq: m.seq, schedule: m.schedule ?? undefined, device: m.device, emit: m.emit, runtimeImport: m.runtimeImport ?? '', source: manifest.source, ...(m.weights === 'f16' ? { weights: m.weights } : {}) };
  const { pair, files } = compileFiles(spec, options);
  const onDisk = new Map<string, string>();
  for (const name of [MANIFEST, ...manifest.files]) {
    const text = readIfPresent(join(o.dir, name));
    if (text !== undefined) onDisk.set(name, text);
  }
  const diffs = diffArtifacts(onDisk, files);
  printDiffs(io, diffs);
  let updated = false;
  if (diffs.length && o.update) {
    if (!o.yes && !(process.stdin.isTTY && process.stdout.isTTY)) throw usageError('check --update: not a terminal, so no one can confirm; pass --yes to rewrite the directory');
    if (o.yes || (await confirm(`rewrite ${diffs.length} file(s) in ${o.dir}? [y/N] `))) {
      writeArtifacts(o.dir, files, true);
      updated = true;
    }
  }
  const changed = new Set(updated ? [] : diffs.map((d) => d.file));
  const numeric = await checkNumerics(o.dir, pair, files, o.seed, changed).catch((e: unknown): NumericResult => {
    if (e instanceof LoomError) return { ok: false, failing: [], diagnostics: [], lines: [`numeric   not run: ${e.message}`] };
    throw e;
  });
  if (numeric.diagnostics.length) printDiagnostics(io, numeric.diagnostics);
  const filesLine = diffs.length === 0 ? `files     ${files.size} files identical to the current compiler's output` : `files     ${diffs.length} of ${new Set([...files.keys(), ...onDisk.keys()]).size} files differ${updated ? ' (rewritten)' : ''}: ${diffs.map((d) => d.file).join(', ')}`;
  const blame = [...new Set([...changed, ...numeric.failing])];
  const summary = blame.length ? `summary   ${[changed.size ? `changed: ${[...changed].join(', ')}` : '', numeric.failing.length ? `failing kernels: ${numeric.failing.join(', ')}` : ''].filter(Boolean).join('; ')}` : `summary   ${numeric.ok ? 'every file identical and every kernel and output within tolerance' : 'files identical; the whole programs differ from the reference (see end-to-end)'}`;
  io.out([`check     ${o.dir} (${manifest.model}, ${manifest.source})`, filesLine, ...numeric.lines, summary].join('\n') + '\n');
  if (diffs.length && !updated) return 1;
  return numeric.ok ? 0 : 2;
}
