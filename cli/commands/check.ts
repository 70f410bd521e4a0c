/**
 * `loom check DIR [--update] [--yes] [--spec FILE] [--seed N]`: regression-tests an artifact
 * directory against the current compiler and spec. It re-emits the directory into memory with
 * the options its manifest records, prints a unified diff per changed, added or removed file,
 * then runs the directory's own kernels (from disk) on the adapter, forward and step program,
 * against the float64 reference. Exit status: 0 all equal and within 1e-4; 1 a file differs (or
 * a usage or manifest error); 2 only the numeric check failed. `--update` rewrites the directory
 * after a confirmation on a terminal, or with `--yes`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { parseArgs } from 'node:util';
import { diffArtifacts, type FileDiff } from '../../compiler/emit/diff.ts';
import { MANIFEST, MANIFEST_FORMAT, type EmitOptions, type Manifest } from '../../compiler/emit/emit.ts';
import type { CompiledPair } from '../../compiler/emit/emit.ts';
import { diag, LoomError } from '../../grammar/diagnostics.ts';
import { loadArtifacts } from '../../runtime/artifacts.ts';
import { acquireGpu } from '../../runtime/gpu.ts';
import { Model } from '../../runtime/model.ts';
import { interpretGraph } from '../../runtime/reference/interpret.ts';
import { bufferNames } from '../../compiler/codegen/assemble.ts';
import { seededWeights } from '../../runtime/weights.ts';
import { usageError, type Io } from '../io.ts';
import { compileFiles, writeArtifacts } from './compile.ts';
import { randomTokens, relativeError } from './run.ts';
import { storedWeights } from '../../runtime/f16.ts';

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
  lines: string[];
  ok: boolean;
}

/** Graph ops whose value is a kernel's output buffer (weights, inputs and state views are not). */
const KERNEL_OPS = new Set(['embed', 'matmul', 'matmul_part', 'rmsnorm', 'l2norm', 'feature_map', 'conv1d', 'conv_tail', 'length_norm', 'outer', 'flip', 'head_dot', 'cos_reweight', 'angle_scan', 'rotate', 'elementwise', 'linear_attn', 'family']);

/**
 * Every kernel of the forward program on its own: each output buffer after the run against the
 * float64 value of the same node of the fused graph.
 */
async function kernelErrors(model: Model, pair: CompiledPair, weights: ReadonlyMap<string, Float32Array>, tokens: Int32Array): Promise<[string, number][]> {
  const fused = pair.forward.fused;
  const names = bufferNames(fused);
  const nodes = fused.nodes.filter((n) => KERNEL_OPS.has(n.op));
  const got = await model.readForwardBuffers(nodes.map((n) => names[n.id]));
  const ref = interpretGraph(fused, weights, tokens).values;
  return nodes.filter((n) => names[n.id] in got).map((n) => [`kernel ${n.label}`, relativeError(got[names[n.id]], ref.get(n.id)!)]);
}

/** Runs the directory's kernels (from disk) against the float64 reference of the re-compiled graphs. */
async function checkNumerics(dir: string, pair: CompiledPair, seed: number): Promise<NumericResult> {
  const artifacts = loadArtifacts(dir);
  const decls = pair.forward.graph.weights;
  const same = artifacts.weights.length === decls.length && decls.every((d, i) => artifacts.weights[i].name === d.name && artifacts.weights[i].shape.join() === d.shape.join());
  if (!same) return { ok: false, lines: ['numeric   the directory\'s weights differ from the spec\'s: not run'] };
  // The reference runs on the weights as the directory stores them (f16 ones rounded: --weights-dtype f16).
  const weights = storedWeights(seededWeights(decls, seed), artifacts.forward.buffers);
  const { B, T } = artifacts.dims;
  const tokens = randomTokens(seed, B * T, artifacts.vocab);
  const next = randomTokens(seed + 1, B, artifacts.vocab);
  const model = await Model.create(await acquireGpu(), artifacts, weights, { keepActivations: true });
  const errors: [string, number][] = [];
  try {
    const out = await model.forward(tokens);
    const ref = interpretGraph(pair.forward.graph, weights, tokens).outputs;
    errors.push(['forward logits', relativeError(out.logits, ref.logits)]);
    errors.push(...(await kernelErrors(model, pair, weights, tokens)));
    for (const [name, v] of Object.entries(out.states)) errors.push([`forward ${name}`, relativeError(v, ref[name])]);
    // The step program continues from the reference's own final state (none without decode).
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
  const bad = errors.filter(([, e]) => !(e < TOLERANCE));
  const worst = errors.reduce((a, b) => (b[1] > a[1] || !Number.isFinite(b[1]) ? b : a));
  const lines = [`numeric   ${errors.length - bad.length}/${errors.length} outputs within ${TOLERANCE} of the float64 reference (worst: ${worst[0]} ${worst[1].toExponential(2)})`];
  for (const [name, e] of bad) lines.push(`  FAILED  ${name}: rms(out-ref)/rms(ref) = ${e}`);
  return { ok: bad.length === 0, lines };
}

function parse(args: string[]) {
  try {
    const { values, positionals } = parseArgs({
      args,
      options: { update: { type: 'boolean' }, yes: { type: 'boolean' }, spec: { type: 'string' }, seed: { type: 'string' } },
      allowPositionals: true,
      strict: true,
    });
    if (positionals.length !== 1) throw new Error(`expected one artifact directory, got ${positionals.length ? positionals.join(' ') : 'none'}`);
    const seed = values.seed === undefined ? 0 : Number(values.seed);
    if (!Number.isInteger(seed) || seed < 0) throw new Error(`--seed must be a non-negative integer, got '${values.seed}'`);
    return { dir: positionals[0], update: Boolean(values.update), yes: Boolean(values.yes), spec: values.spec, seed };
  } catch (e) {
    throw usageError(`check: ${(e as Error).message}`);
  }
}

function printDiffs(io: Io, diffs: FileDiff[]): void {
  for (const d of diffs) io.out(`${d.kind.padEnd(8)} ${d.file}\n${d.patch}\n`);
}

export async function checkCommand(args: string[], io: Io): Promise<number> {
  const o = parse(args);
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
  const numeric = await checkNumerics(o.dir, pair, o.seed).catch((e: unknown) => {
    if (e instanceof LoomError) return { ok: false, lines: [`numeric   not run: ${e.message}`] };
    throw e;
  });
  const filesLine = diffs.length === 0 ? `files     ${files.size} files identical to the current compiler's output` : `files     ${diffs.length} of ${new Set([...files.keys(), ...onDisk.keys()]).size} files differ${updated ? ' (rewritten)' : ''}: ${diffs.map((d) => d.file).join(', ')}`;
  io.out([`check     ${o.dir} (${manifest.model}, ${manifest.source})`, filesLine, ...numeric.lines].join('\n') + '\n');
  if (diffs.length && !updated) return 1;
  return numeric.ok ? 0 : 2;
}
