/**
 * `loom generate SPEC --prompt TEXT [--weights FILE] [--seed S] [--max-tokens N] [--temperature X]
 * [--top-k K] [--top-p P] [--seq T] [--schedule S]`: byte-level text generation. The prompt is
 * prefilled with the planner's prefill schedule (windows of T, then of powers of two), every next
 * token comes from `step`; the text streams to stdout as it is decoded, statistics go to stderr at
 * the end, so the output can be piped. Progress of a long prefill is shown on stderr when it is a
 * terminal.
 */
import { diag, LoomError } from '../../grammar/diagnostics.ts';
import { encodeBytes, generate } from '../../runtime/generate.ts';
import { acquireGpu, deviceProfile } from '../../runtime/gpu.ts';
import { Model } from '../../runtime/model.ts';
import { seededWeights } from '../../runtime/weights.ts';
import { openCheckpoint } from '../../runtime/fla-weights.ts';
import { checkTokenizerVocab, encodePrompt } from '../../runtime/tokenizer.ts';
import { checkpointTokenizer } from '../../runtime/checkpoint-dir.ts';
import { join } from 'node:path';
import { checkpointAt, processIo, readSpec, specWarnings, usageError, type Io } from '../io.ts';
import { compileInMemory } from '../open-model.ts';
import type { CommandDef, Values } from '../command.ts';
import { commonOptions, OPTION, weightsDtype } from '../options.ts';
import { compileTimer, progressBar, showProgress } from '../progress.ts';

function number(v: unknown, fallback: number, flag: string, ok: (x: number) => boolean, what: string): number {
  if (v === undefined) return fallback;
  const x = Number(v);
  if (String(v).trim() === '' || !ok(x)) throw usageError(`${flag} must be ${what}, got '${v}'`);
  return x;
}

export const generateCommand: CommandDef = {
  name: 'generate',
  args: '<spec-or-dir>',
  summary: "text generation from a .loom spec (bytes) or a checkpoint directory (its tokenizer.json): prefill the prompt, then step; the text on stdout as it is decoded, statistics on stderr",
  options: [
    { flag: 'prompt', value: 'TEXT', help: 'the text to continue (required)' },
    { flag: 'max-tokens', value: 'N', help: 'tokens to generate at most (default 64)' },
    { flag: 'temperature', value: 'X', help: 'sampling temperature; 0: greedy, the most likely token each step (default 1)' },
    { flag: 'top-k', value: 'K', help: 'sample among the K most likely tokens; 0: all (default 0)' },
    { flag: 'top-p', value: 'P', help: 'sample among the most likely tokens whose probabilities sum to P, in (0, 1] (default 1)' },
    OPTION.seed,
    OPTION.weights,
    OPTION.weightsFormat,
    OPTION.weightsDtype,
    { ...OPTION.seq, help: 'the prefill window T: the prompt runs in windows of T, then of powers of two (default 128)' },
    { ...OPTION.batch, help: 'generate runs one sequence: 1 (default 1)' },
    OPTION.schedule,
    OPTION.strict,
  ],
  run: ([spec], v, io) => generateText(spec, v, io),
};

/** `loom generate SPEC` on its option values (by long name). */
export async function generateText(spec: string, values: Values, io: Io): Promise<number> {
  const common = commonOptions(spec, values);
  if (values.prompt === undefined) throw usageError('generate: --prompt TEXT is required');
  if (common.batch !== 1) throw usageError(`generate: runs one sequence; --batch must be 1, got ${common.batch}`);
  const maxTokens = number(values['max-tokens'], 64, '--max-tokens', (x) => Number.isInteger(x) && x >= 1, 'a positive integer');
  const temperature = number(values.temperature, 1, '--temperature', (x) => Number.isFinite(x) && x >= 0, 'a number >= 0 (0: greedy)');
  const topK = number(values['top-k'], 0, '--top-k', (x) => Number.isInteger(x) && x >= 0, 'an integer >= 0 (0: all tokens)');
  const topP = number(values['top-p'], 1, '--top-p', (x) => x > 0 && x <= 1, 'a number in (0, 1]');
  const seq = common.seq;

  const checkpoint = checkpointAt(common.spec);
  common.weights ??= checkpoint?.weights;
  specWarnings(io, common.spec, common.strict);
  const gpu = await acquireGpu();
  const weightDtype = weightsDtype(values['weights-dtype'], common.weights, deviceProfile(gpu));
  const text = readSpec(common.spec);
  const { pair, artifacts } = compileInMemory(text, common.spec, { batch: 1, seq, schedule: common.schedule, device: deviceProfile(gpu), ...(weightDtype === 'f16' ? { weights: weightDtype } : {}) });
  if (!pair.step) throw new LoomError([diag('no-decode', { message: `${pair.noDecode}; generate needs a causal model` })]);
  const tokenizer = checkpoint ? checkpointTokenizer(checkpoint) : undefined;
  if (tokenizer) checkTokenizerVocab(tokenizer, artifacts.vocab, join(checkpoint!.dir, 'tokenizer.json'));
  const prompt = tokenizer ? encodePrompt(tokenizer, String(values.prompt)) : encodeBytes(String(values.prompt), artifacts.vocab, `model '${artifacts.model}'`);
  const decls = pair.forward.graph.weights;
  // Loom's names or fla's / HF's, read tensor by tensor as the model uploads them.
  const weights = common.weights ? openCheckpoint(pair.forward.spec, decls, common.weights, common.weightsFormat) : seededWeights(decls, common.seed);
  const [bar, onLoad] = [progressBar('compiling pipelines', 'items', showProgress(io, false)), progressBar('loading weights', 'bytes', showProgress(io, false))];
  const onCompile = compileTimer(bar);
  const model = await Model.create(gpu, artifacts, weights, { onCompile, onLoad }).finally(() => (bar.stop(), onLoad.stop(), weights instanceof Map || weights.close()));
  const tty = io === processIo && process.stderr.isTTY;
  try {
    // The prompt's window programs compile now, so that the prefill time is the prefill's alone.
    const windows = progressBar('compiling window programs', 'items', showProgress(io, false));
    const t0 = performance.now();
    windows(0, 1);
    const windowPipelines = await model.prepare(prompt.length).finally(() => (windows(1, 1), windows.stop()));
    const compileMs = onCompile.ms + (performance.now() - t0);
    const r = await generate(model, prompt, {
      maxTokens, temperature, topK, topP, seed: common.seed, tokenizer,
      onText: (t) => io.out(t),
      onProgress: tty ? (done, total) => process.stderr.write(`\rprefill ${done}/${total} windows and steps${done === total ? '\n' : ''}`) : undefined,
    });
    const rate = (n: number, ms: number) => (ms > 0 ? `${((n * 1000) / ms).toFixed(1)} tokens/s` : 'n/a');
    const steps = r.tokens.length - 1;
    const schedules = pair.forward.plan.mixers.map((m) => (m.schedule === 'chunkwise' ? `chunkwise(${m.chunk})` : m.schedule));
    if (tty && process.stdout.isTTY) io.out('\n'); // the text itself, unchanged, when piped
    io.err(
      [
        `model     ${artifacts.model}${checkpoint ? ` (${checkpoint.kind}, imported from ${checkpoint.configPath})` : ''}, ${common.weights ? `weights ${common.weights}` : `seeded weights (seed ${common.seed})`}`,
        `compile   ${onCompile.pipelines + windowPipelines} pipelines in ${(compileMs / 1000).toFixed(2)} s`,
        `prompt    ${r.promptTokens} tokens (${tokenizer ? tokenizer.name : 'bytes'})`,
        `prefill   ${r.promptTokens} tokens in ${r.prefillMs.toFixed(1)} ms, ${rate(r.promptTokens, r.prefillMs)} (windows of ${model.windowWidths(r.promptTokens).join('+')}, T=${seq} [${[...new Set(schedules)].join(', ') || 'no mixer'}])`,
        `decode    ${steps} steps in ${r.decodeMs.toFixed(1)} ms, ${rate(steps, r.decodeMs)}`,
        ...(r.stop === 'eos' ? [`stopped   at the end-of-sequence token after ${r.tokens.length} tokens`] : []),
        ...(r.stoppedAt ? [`stopped   after ${r.tokens.length} of ${maxTokens} tokens: the KV cache holds max_len = ${r.stoppedAt.maxLen} positions`] : []),
        `sampling  ${temperature === 0 ? 'greedy' : `temperature ${temperature}${topK ? `, top-k ${topK}` : ''}${topP < 1 ? `, top-p ${topP}` : ''}, seed ${common.seed}`}; ${r.tokens.length} tokens`,
      ].join('\n') + '\n',
    );
  } finally {
    model.destroy();
  }
  return 0;
}
