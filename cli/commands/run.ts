/**
 * `loom run SPEC`: a forward pass over random token ids on this machine's adapter; with --check
 * the float64 reference runs the same graph and the error ratio of the logits is reported.
 */
import { readFileSync } from 'node:fs';
import type { Compiled } from '../../compiler/pipeline.ts';
import { diag, LoomError } from '../../grammar/diagnostics.ts';
import { acquireGpu } from '../../runtime/gpu.ts';
import { randomTokens } from '../../runtime/random.ts';
import { interpretGraph } from '../../runtime/reference/interpret.ts';
import { nonFiniteError, relativeError } from '../../runtime/check-finite.ts';
import { Session, type ForwardResult } from '../../runtime/session.ts';
import { writeSafetensors } from '../../runtime/safetensors.ts';
import { readAll, seededWeights, type WeightProvider } from '../../runtime/weights.ts';
import { openCheckpoint } from '../../runtime/fla-weights.ts';
import { build } from '../build.ts';
import { join } from 'node:path';
import { checkpointTokenizer } from '../../runtime/checkpoint-dir.ts';
import { byteTokenizer, checkTokenizerVocab, encodePrompt, type Tokenizer } from '../../runtime/tokenizer.ts';
import { checkpointAt, specWarnings, usageError, type Io } from '../io.ts';
import type { CommandDef, Values } from '../command.ts';
import { commonOptions, OPTION, SPEC_OPTIONS, weightsDtype, type CommonOptions } from '../options.ts';
import { storedWeights } from '../../runtime/f16.ts';
import { commandProfile } from '../profile.ts';
import { compileTimer, progressBar, showProgress } from '../progress.ts';

/** Re-exported for `loom check`, the benchmarks and tests. */
export { randomTokens, relativeError };


/**
 * Token ids from `IDS.json`: `[[id, ...], ...]`, one list per sequence, equal lengths. Ids are
 * checked against the vocabulary later, by the session.
 */
export function readIds(path: string): { ids: Int32Array; batch: number; seq: number } {
  const bad = (message: string) => new LoomError([diag('bad-tokens', { message: `${path}: ${message}` })]);
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw bad((e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : `not JSON: ${(e as Error).message}`);
  }
  if (!Array.isArray(data) || data.length === 0 || !data.every((row) => Array.isArray(row))) throw bad('expected [[id, ...], ...] (one list of token ids per sequence)');
  const rows = data as unknown[][];
  const seq = rows[0].length;
  if (seq === 0) throw bad('sequence 0 is empty');
  const ids = new Int32Array(rows.length * seq);
  for (const [b, row] of rows.entries()) {
    if (row.length !== seq) throw bad(`sequence ${b} has ${row.length} ids, sequence 0 has ${seq}; all must have the same length`);
    for (const [t, id] of row.entries()) {
      if (!Number.isInteger(id) || (id as number) < 0 || (id as number) > 0x7fffffff) throw bad(`id at [${b}][${t}] is ${JSON.stringify(id)}, not a non-negative integer`);
      ids[b * seq + t] = id as number;
    }
  }
  return { ids, batch: rows.length, seq };
}

/** `--text`: the tokenizer's ids of the text, as one sequence. */
function textIds(tokenizer: Tokenizer, text: string): { ids: Int32Array; batch: number; seq: number } {
  const ids = encodePrompt(tokenizer, text);
  return { ids, batch: 1, seq: ids.length };
}

/** The most likely token after the last position of `[1, T, vocab]` logits, and its text. */
function nextToken(tokenizer: Tokenizer, logits: Float32Array, vocab: number): { id: number; text: string } {
  const last = logits.subarray(logits.length - vocab);
  let id = 0;
  for (let i = 1; i < Math.min(vocab, tokenizer.vocabSize); i++) if (last[i] > last[id]) id = i;
  return { id, text: tokenizer.decode([id]) };
}

/** The checkpoint opened (read tensor by tensor as the session uploads it), or seeded weights. */
export function weightsFor(c: Compiled, o: CommonOptions): Map<string, Float32Array> | WeightProvider {
  return o.weights ? openCheckpoint(c.spec, c.graph.weights, o.weights, o.weightsFormat) : seededWeights(c.graph.weights, o.seed);
}

/** `12 of 20 weights`: how many weight buffers the program stores f16. */
function f16Count(c: Compiled): string {
  const weights = c.program.buffers.filter((b) => b.role === 'weight');
  return `${weights.filter((b) => b.elem === 'f16').length} of ${weights.length} weights`;
}

export const runCommand: CommandDef = {
  name: 'run',
  args: '<spec-or-dir>',
  summary: 'a forward pass of a .loom spec or a checkpoint directory (config.json and weights) on random token ids, --ids or --text',
  details: `A checkpoint directory's config.json is imported in memory (as loom import does) and its weights and tokenizer.json are used.
Exit status: 0 done; 1 an error; 2 a usage error, or --check found rms(out-ref)/rms(ref) over 1e-4.`,
  options: [
    ...SPEC_OPTIONS,
    OPTION.weights,
    OPTION.weightsFormat,
    OPTION.seed,
    OPTION.weightsDtype,
    { flag: 'ids', value: 'FILE', help: 'token ids from a JSON file [[id, ...], ...], one list per sequence (sets --batch and --seq)' },
    { flag: 'text', value: 'TEXT', help: "tokens of this text (the checkpoint's tokenizer.json, else bytes); prints the most likely next token" },
    { flag: 'check', help: 'also run the float64 reference and report rms(out-ref)/rms(ref) (exit 2 over 1e-4)' },
    { flag: 'check-finite', help: 'run kernel by kernel and stop at the first output with NaN or Inf, naming the layer, kernel and index (LOOM5006)' },
    { flag: 'out', value: 'FILE', help: 'write the logits [B, T, vocab] (float32) to a .safetensors file' },
    { ...OPTION.json, help: 'print exactly one JSON object on stdout: adapter, model, batch, seq, schedules, kernels, ms, relErr' },
  ],
  run: ([spec], v, io) => run(spec, v, io),
};

/** `loom run SPEC` on its option values (by long name). */
export async function run(spec: string, values: Values, io: Io): Promise<number> {
  const common = commonOptions(spec, values);
  const checkpoint = checkpointAt(common.spec);
  common.weights ??= checkpoint?.weights;
  if (values.ids !== undefined && values.text !== undefined) throw usageError('run: --ids and --text both give the tokens; use one');
  const tokenizer = values.text === undefined ? undefined : ((checkpoint && checkpointTokenizer(checkpoint)) ?? byteTokenizer());
  const given = values.ids ? readIds(String(values.ids)) : tokenizer ? textIds(tokenizer, String(values.text)) : undefined;
  if (given) Object.assign(common, { batch: given.batch, seq: given.seq });
  specWarnings(io, common.spec, common.strict);
  const gpu = await acquireGpu();
  const profile = await commandProfile(gpu, io);
  const dtype = weightsDtype(values['weights-dtype'], common.weights, profile);
  const compiled = build(common, profile, dtype);
  if (tokenizer) checkTokenizerVocab(tokenizer, compiled.spec.vocab, checkpoint ? join(checkpoint.dir, 'tokenizer.json') : `model '${compiled.spec.name}'`);
  const source = weightsFor(compiled, common);
  const tokens = given?.ids ?? randomTokens(common.seed, common.batch * common.seq, compiled.spec.vocab);
  const bars = showProgress(io, values.json);
  const [bar, onLoad] = [progressBar('compiling pipelines', 'items', bars), progressBar('loading weights', 'bytes', bars)];
  const onCompile = compileTimer(bar);
  const close = () => source instanceof Map || source.close();
  const session = await Session.create(gpu, compiled, source, { onCompile, onLoad }).catch((e) => (close(), Promise.reject(e))).finally(() => (bar.stop(), onLoad.stop()));
  let result: ForwardResult;
  let weights = new Map<string, Float32Array>();
  try {
    // --check-finite: kernel by kernel first, stopping at the first NaN or Inf (LOOM5006).
    const bad = values['check-finite'] ? await session.firstNonFinite(tokens) : null;
    if (bad) throw nonFiniteError(bad);
    await session.forward(tokens); // warm-up: the first dispatch of each pipeline compiles it
    result = await session.forward(tokens);
    // --check: the float64 reference needs every weight on the host (the upload held one at a time).
    if (values.check) weights = source instanceof Map ? source : readAll(source);
  } finally {
    session.destroy();
    close();
  }
  if (values.out) {
    const logits = { dtype: 'F32' as const, shape: [common.batch, common.seq, compiled.spec.vocab], data: result.logits };
    writeSafetensors(String(values.out), { logits }, { model: compiled.spec.name, schedules: compiled.plan.mixers.map((m) => m.schedule).join(',') });
  }
  let relErr: number | null = null;
  // f16 weights: --check compares with the reference over the weights as stored (rounded to f16),
  // which checks the kernels; relErrF32 is the error against the f32 weights, what f16 storage costs.
  let relErrF32: number | null = null;
  if (values.check) {
    const ref = interpretGraph(compiled.graph, storedWeights(weights, compiled.program.buffers), tokens);
    relErr = relativeError(result.logits, ref.outputs.logits);
    if (dtype === 'f16') relErrF32 = relativeError(result.logits, interpretGraph(compiled.graph, weights, tokens).outputs.logits);
  }
  const schedules = compiled.plan.mixers.map((m) => (m.schedule === 'chunkwise' ? `chunkwise(${m.chunk})` : m.schedule));
  const next = tokenizer ? nextToken(tokenizer, result.logits, compiled.spec.vocab) : null;
  const adapter = compiled.plan.device.name;
  if (values.json) {
    io.out(
      JSON.stringify({
        adapter,
        model: compiled.spec.name,
        batch: common.batch,
        seq: common.seq,
        schedules,
        kernels: compiled.program.steps.length,
        ms: Number(result.ms.toFixed(3)),
        relErr: relErr === null ? null : Number.isFinite(relErr) ? relErr : 'Infinity',
        ...(dtype === 'f16' ? { weights: 'f16', relErrF32: relErrF32 === null ? null : Number.isFinite(relErrF32) ? relErrF32 : 'Infinity' } : {}),
        ...(values['check-finite'] ? { finite: true } : {}),
        ...(next ? { next } : {}),
      }) + '\n',
    );
  } else {
    const lines = [
      `model     ${compiled.spec.name} (${compiled.spec.layers} layers, dim ${compiled.spec.dim}, vocab ${compiled.spec.vocab})`,
      `adapter   ${adapter}`,
      `input     B=${common.batch} T=${common.seq}, ${common.weights ? `weights ${common.weights}` : `seeded weights (seed ${common.seed})`}${dtype === 'f16' ? `, ${f16Count(compiled)} stored f16` : ''}`,
      ...compiled.plan.mixers.map((m) => `layer ${m.layer}   ${m.label}: ${schedules[compiled.plan.mixers.indexOf(m)]}  (${m.why})`),
      `compile   ${onCompile.pipelines} pipelines in ${(onCompile.ms / 1000).toFixed(2)} s`,
      `forward   ${result.ms.toFixed(2)} ms, ${compiled.program.steps.length} kernels in one submission`,
    ];
    if (next) lines.push(`next      token ${next.id} ${JSON.stringify(next.text)} (the most likely after the ${common.seq} tokens of --text, ${tokenizer!.name})`);
    if (values['check-finite']) lines.push(`finite    every output of the ${compiled.program.steps.length} kernels is finite`);
    if (relErr !== null) lines.push(`check     rms(out-ref)/rms(ref) = ${relErr.toExponential(3)} against the float64 reference${dtype === 'f16' ? ' (over the f16-rounded weights)' : ''} ${relErr < 1e-4 ? '(ok)' : '(TOO LARGE)'}`);
    if (relErrF32 !== null) lines.push(`f16 cost  rms(out-ref)/rms(ref) = ${relErrF32.toExponential(3)} against the float64 reference over the f32 weights`);
    io.out(lines.join('\n') + '\n');
  }
  return relErr !== null && !(relErr < 1e-4) ? 2 : 0;
}
