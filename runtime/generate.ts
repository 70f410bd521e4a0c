/**
 * Text generation on a Model: token sampling (temperature, top-k, top-p; temperature 0 is greedy)
 * and the loop (prefill the prompt with the planner's prefill schedule, then `step`), streaming
 * the text as complete characters through a tokenizer's decoder (runtime/tokenizer.ts; the
 * byte-level one by default) and stopping at any of its EOS ids. Sampling is deterministic for a
 * seed.
 */
import { diag, LoomError } from '../grammar/diagnostics.ts';
import type { Model, PrefillOptions } from './model.ts';
import { Rng } from './random.ts';
import { BYTE_VOCAB, byteTokenizer, type Tokenizer } from './tokenizer.ts';

export { BYTE_VOCAB };

export interface SamplingOptions {
  /** 0: greedy (argmax, lowest id on ties); otherwise logits are divided by it. */
  temperature: number;
  /** Keep the k most likely tokens (0: all). */
  topK: number;
  /** Keep the smallest set of most likely tokens whose probability reaches p (1: all). */
  topP: number;
}

/** The UTF-8 bytes of `text` as token ids; the model's vocabulary must hold every byte. */
export function encodeBytes(text: string, vocab: number, model = 'the model'): Int32Array {
  if (vocab < BYTE_VOCAB) throw new LoomError([diag('bad-tokens', { message: `the byte-level tokenizer needs a vocabulary of at least ${BYTE_VOCAB} tokens; ${model} has vocab = ${vocab}` })]);
  return Int32Array.from(new TextEncoder().encode(text));
}

/** Index of the largest of the first `n` values (the lowest index on ties). */
function argmax(logits: ArrayLike<number>, n: number): number {
  let best = 0;
  for (let i = 1; i < n; i++) if (logits[i] > logits[best]) best = i;
  return best;
}

/**
 * One token from `logits` over ids [0, n): greedy at temperature 0, else a draw from the softmax
 * of logits / temperature restricted to the top k, then to the top p of probability mass
 * (candidates ordered by probability, ties by lower id). Uses one `rng.next()` per draw.
 */
export function sampleToken(logits: ArrayLike<number>, n: number, o: SamplingOptions, rng: Rng): number {
  if (o.temperature === 0) return argmax(logits, n);
  const ids = Array.from({ length: n }, (_, i) => i).sort((a, b) => logits[b] - logits[a] || a - b);
  const k = o.topK > 0 ? Math.min(o.topK, n) : n;
  const top = ids.slice(0, k);
  const max = logits[top[0]];
  const weights = top.map((i) => Math.exp((logits[i] - max) / o.temperature));
  const total = weights.reduce((a, b) => a + b, 0);
  let keep = top.length;
  if (o.topP < 1) {
    let mass = 0;
    for (keep = 0; keep < top.length; ) {
      mass += weights[keep++] / total;
      if (mass >= o.topP) break;
    }
  }
  const kept = weights.slice(0, keep);
  let u = rng.next() * kept.reduce((a, b) => a + b, 0);
  for (let j = 0; j < keep; j++) {
    u -= kept[j];
    if (u < 0) return top[j];
  }
  return top[keep - 1];
}

export interface GenerateOptions extends SamplingOptions, Pick<PrefillOptions, 'onProgress'> {
  maxTokens: number;
  seed: number;
  /** Called with each piece of decoded text as soon as it forms complete characters. */
  onText?: (text: string) => void;
  /**
   * Turns the sampled ids into text and says which ids end generation; only ids below both its
   * `vocabSize` and the model's vocab are sampled. Default: the byte-level tokenizer (ids < 256,
   * no EOS).
   */
  tokenizer?: TokenDecoding;
}

/** The parts of a Tokenizer that generation uses. */
export type TokenDecoding = Pick<Tokenizer, 'name' | 'vocabSize' | 'eos' | 'streamDecoder'>;

export interface GenerateResult {
  /** The sampled token ids, in order. */
  tokens: number[];
  text: string;
  promptTokens: number;
  prefillMs: number;
  decodeMs: number;
  /** Why generation stopped: `maxTokens` reached, an EOS id sampled (the last of `tokens`), or a full KV cache. */
  stop: 'max-tokens' | 'eos' | 'max-len';
  /** Set when generation stopped before `maxTokens` because a KV cache holds no more positions. */
  stoppedAt?: { maxLen: number };
}

/**
 * Generates up to `maxTokens` tokens after `prompt` on a B = 1 model from zero state: the prompt
 * through `prefill` (windows of T, then steps), each next token through `step`, until an EOS id of
 * the tokenizer (its text is not emitted) or a full KV cache.
 */
export async function generate(model: Model, prompt: Int32Array, o: GenerateOptions): Promise<GenerateResult> {
  const { B, vocab } = model.dims;
  if (B !== 1) throw new LoomError([diag('bad-tokens', { message: `generate runs one sequence: the model must be compiled with B = 1, not ${B}` })]);
  const tok = o.tokenizer ?? byteTokenizer();
  if (prompt.length === 0) throw new LoomError([diag('empty-prompt', { tokenizer: tok.name })]);
  const rng = Rng.forName(o.seed, 'generate');
  const decoder = tok.streamDecoder(prompt);
  const eos = new Set(tok.eos);
  const n = Math.min(vocab, tok.vocabSize);
  model.reset();
  const t0 = performance.now();
  let logits = await model.prefill(prompt, { onProgress: o.onProgress, logits: 'last' });
  const prefillMs = performance.now() - t0;
  // A global KV cache holds max_len positions: the prompt and every token fed back must fit.
  const maxLen = Math.min(...model.artifacts.states.map((s) => s.maxPositions ?? Infinity));
  const budget = Math.min(o.maxTokens, maxLen - prompt.length + 1);
  const tokens: number[] = [];
  let text = '';
  let stop: GenerateResult['stop'] = budget < o.maxTokens ? 'max-len' : 'max-tokens';
  const t1 = performance.now();
  for (let i = 0; i < budget; i++) {
    const id = sampleToken(logits, n, o, rng);
    tokens.push(id);
    if (eos.has(id)) {
      stop = 'eos';
      break;
    }
    const piece = decoder.push(id);
    if (piece) {
      text += piece;
      o.onText?.(piece);
    }
    if (i + 1 < budget) logits = await model.step(Int32Array.of(id));
  }
  const rest = decoder.end();
  if (rest) {
    text += rest;
    o.onText?.(rest);
  }
  const stopped = stop === 'max-len' ? { stoppedAt: { maxLen } } : {};
  return { tokens, text, promptTokens: prompt.length, prefillMs, decodeMs: performance.now() - t1, stop, ...stopped };
}
