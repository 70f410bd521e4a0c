/**
 * Tokenizers for generation: text to token ids, ids back to text, and the checkpoint's BOS/EOS.
 *
 * Two kinds. `byteTokenizer()`: token id = a byte of the UTF-8 text, vocabulary 256, no BOS or
 * EOS (specs without a checkpoint). `tokenizerFromFiles(texts)`: a Hugging Face `tokenizer.json`
 * (BPE with or without byte fallback, byte-level BPE, Unigram, WordPiece) run by the
 * `@huggingface/tokenizers` library, with BOS/EOS from `generation_config.json`, `config.json`,
 * `tokenizer_config.json` and `special_tokens_map.json`. The parsing is a pure function of the file
 * texts; `loadTokenizer(dir)` only reads them.
 *
 * Streaming decoders emit complete characters only: a character whose UTF-8 bytes arrive over
 * several tokens (byte-fallback pieces `<0xE2><0x82><0xAC>`, or byte-level BPE tokens that split a
 * sequence) comes out once, whole. Problems are LoomErrors naming the file: LOOM5020 (unreadable
 * or unsupported tokenizer files), LOOM5021 (`checkTokenizerVocab`), LOOM5022 (`encodePrompt`).
 */
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { diag, LoomError } from '../grammar/diagnostics.ts';
import { errorCode, hostFiles, type Files } from './host.ts';

export const BYTE_VOCAB = 256;

/** Turns token ids, one at a time, into text made of complete characters. */
export interface TextStream {
  /** The text that the id completes ('' while a character is still incomplete). */
  push(id: number): string;
  /** Whatever is left at the end (an incomplete sequence comes out as U+FFFD). */
  end(): string;
}

export interface Tokenizer {
  /** What it is, for messages: `the byte-level tokenizer` or `tokenizer DIR/tokenizer.json`. */
  readonly name: string;
  /** Ids it can produce and decode: the largest id (added tokens included) + 1. */
  readonly vocabSize: number;
  /** The id that starts a sequence, when the checkpoint names one. */
  readonly bos?: number;
  /** Ids that end generation (any of them); empty for the byte tokenizer. */
  readonly eos: readonly number[];
  /** The ids of `text`, with BOS in front when the checkpoint's config says so. */
  encode(text: string): Int32Array;
  /** The text of `ids` (special tokens left out). */
  decode(ids: ArrayLike<number>): string;
  /** A decoder for ids that follow `context` (the prompt: its last tokens decide leading spaces). */
  streamDecoder(context?: ArrayLike<number>): TextStream;
}

/** The tokenizer of specs without a checkpoint: one token per UTF-8 byte. */
export function byteTokenizer(): Tokenizer {
  return {
    name: 'the byte-level tokenizer',
    vocabSize: BYTE_VOCAB,
    eos: [],
    encode: (text) => Int32Array.from(new TextEncoder().encode(text)),
    decode: (ids) => new TextDecoder('utf-8').decode(Uint8Array.from(Array.from(ids))),
    streamDecoder() {
      const d = new TextDecoder('utf-8');
      return { push: (id) => d.decode(Uint8Array.of(id), { stream: true }), end: () => d.decode() };
    },
  };
}

/** The texts of a checkpoint's tokenizer files; only `tokenizer.json` is required. */
export interface TokenizerFiles {
  tokenizerJson: string;
  tokenizerConfig?: string;
  generationConfig?: string;
  config?: string;
  specialTokensMap?: string;
}

const FILE_NAMES: Record<keyof TokenizerFiles, string> = {
  tokenizerJson: 'tokenizer.json',
  tokenizerConfig: 'tokenizer_config.json',
  generationConfig: 'generation_config.json',
  config: 'config.json',
  specialTokensMap: 'special_tokens_map.json',
};

/** Tokenizer models the library runs (`model.type` in tokenizer.json). */
const MODEL_TYPES = ['BPE', 'Unigram', 'WordPiece'];

type Json = Record<string, unknown>;

function fail(name: 'bad-tokenizer' | 'tokenizer-vocab', file: string, message: string): never {
  throw new LoomError([diag(name, { file, message }, { file })]);
}

function parseObject(text: string, file: string): Json {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    return fail('bad-tokenizer', file, `not valid JSON (${(e as Error).message})`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail('bad-tokenizer', file, 'expected a JSON object');
  return v as Json;
}

/** A token named in a config: a string, or an AddedToken object `{content: ...}`. */
function tokenText(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && typeof (v as Json).content === 'string') return (v as Json).content as string;
  return undefined;
}

/** Ids of a `*_token_id` field: a number, a list of numbers, or null/absent (undefined). */
function idList(v: unknown, field: string, file: string): number[] | undefined {
  if (v === undefined || v === null) return undefined;
  const ids = Array.isArray(v) ? v : [v];
  if (!ids.every((x) => Number.isInteger(x) && x >= 0)) fail('bad-tokenizer', file, `${field} must be a token id or a list of token ids, got ${JSON.stringify(v)}`);
  return ids as number[];
}

/**
 * A tokenizer from the texts of a checkpoint's files; `names` are the paths the errors name
 * (default: the bare file names). BOS/EOS ids come from generation_config.json, then config.json,
 * then the token named in tokenizer_config.json or special_tokens_map.json. BOS is added when
 * tokenizer_config.json sets `add_bos_token` (true or false decides); without it, the
 * post-processor of tokenizer.json decides (a TemplateProcessing that starts with `<s>`).
 */
export function tokenizerFromFiles(files: TokenizerFiles, names: Partial<Record<keyof TokenizerFiles, string>> = {}): Tokenizer {
  const name = (k: keyof TokenizerFiles) => names[k] ?? FILE_NAMES[k];
  const file = name('tokenizerJson');
  const json = parseObject(files.tokenizerJson, file);
  const model = json.model as Json | undefined;
  if (!model || typeof model !== 'object') fail('bad-tokenizer', file, 'has no `model` (a tokenizer.json names its model: BPE, Unigram, WordPiece)');
  if (!MODEL_TYPES.includes(model.type as string)) fail('bad-tokenizer', file, `model.type ${JSON.stringify(model.type ?? null)} is not a tokenizer model Loom reads (${MODEL_TYPES.join(', ')})`);
  const opt = (k: keyof TokenizerFiles): Json => (files[k] === undefined ? {} : parseObject(files[k], name(k)));
  const tc = opt('tokenizerConfig');
  const gc = opt('generationConfig');
  const mc = opt('config');
  const sm = opt('specialTokensMap');
  let inner: HfTokenizer;
  try {
    const full = { normalizer: null, pre_tokenizer: null, post_processor: null, decoder: null, added_tokens: [], ...json };
    inner = new HfTokenizer(full, { ...tc, clean_up_tokenization_spaces: tc.clean_up_tokenization_spaces ?? false });
  } catch (e) {
    return fail('bad-tokenizer', file, `cannot build the tokenizer: ${(e as Error).message}`);
  }
  const vocabSize = inner.model!.vocab.length;
  const tokenId = (k: 'bos_token' | 'eos_token') => {
    const text = tokenText(tc[k]) ?? tokenText(sm[k]);
    return text === undefined ? undefined : inner.token_to_id(text);
  };
  const fromToken = (k: 'bos_token' | 'eos_token') => {
    const id = tokenId(k);
    return id === undefined ? undefined : [id];
  };
  const bos = (idList(gc.bos_token_id, 'bos_token_id', name('generationConfig')) ?? idList(mc.bos_token_id, 'bos_token_id', name('config')) ?? fromToken('bos_token'))?.[0];
  const eos = [...new Set(idList(gc.eos_token_id, 'eos_token_id', name('generationConfig')) ?? idList(mc.eos_token_id, 'eos_token_id', name('config')) ?? fromToken('eos_token') ?? [])];
  const addBos = tc.add_bos_token;
  if (addBos === true && bos === undefined) fail('bad-tokenizer', name('tokenizerConfig'), 'sets add_bos_token but no file names the BOS token (bos_token, bos_token_id)');
  const known = (ids: ArrayLike<number>) => Array.from(ids).filter((id) => inner.id_to_token(id) !== undefined);
  const decode = (ids: ArrayLike<number>) => {
    const k = known(ids);
    return k.length ? inner.decode(k, { skip_special_tokens: true }) : '';
  };
  return {
    name: `tokenizer ${file}`,
    vocabSize,
    ...(bos === undefined ? {} : { bos }),
    eos,
    encode(text) {
      const e = inner.encode(text, { add_special_tokens: typeof addBos !== 'boolean' });
      const bad = e.ids.findIndex((id) => id === undefined);
      if (bad >= 0) throw new LoomError([diag('bad-tokens', { message: `${file} cannot encode '${e.tokens[bad]}': not in its vocabulary, and it has no byte fallback or unknown token` })]);
      return Int32Array.from(addBos === true ? [bos!, ...e.ids] : e.ids);
    },
    decode,
    streamDecoder: (context = []) => streamDecoder(decode, context),
  };
}

/** Tokens of the prompt kept in front of the generated ones: enough for a leading space to show. */
const CONTEXT = 4;
/** Tokens a character can take at most (4 UTF-8 bytes, at least one per token), with slack; past it, a U+FFFD is real. */
const MAX_PENDING = 8;

/**
 * Decodes a window of ids (the last few context ids, then the new ones) each time one arrives and
 * emits the text past what was emitted, holding back a trailing U+FFFD (the decoders' rendering of
 * an incomplete UTF-8 sequence) until the next id completes it. When the window's text is
 * complete, the window shrinks back to its last CONTEXT ids, so each push decodes a few ids.
 */
function streamDecoder(decode: (ids: number[]) => string, context: ArrayLike<number>): TextStream {
  let ids = Array.from(context).slice(-CONTEXT);
  let done = decode(ids).length;
  let pending = 0;
  const take = (text: string, end: number) => {
    const piece = end > done ? text.slice(done, end) : '';
    done = Math.max(done, end);
    return piece;
  };
  return {
    push(id) {
      ids.push(id);
      pending++;
      const text = decode(ids);
      let end = text.length;
      if (pending <= MAX_PENDING) while (end > done && text.charCodeAt(end - 1) === 0xfffd) end--;
      const piece = take(text, end);
      if (end === text.length) {
        pending = 0;
        if (ids.length > CONTEXT) {
          ids = ids.slice(-CONTEXT);
          done = decode(ids).length;
        }
      }
      return piece;
    },
    end() {
      const text = decode(ids);
      return take(text, text.length);
    },
  };
}

/**
 * Refuses a tokenizer that can produce ids the model has no embedding for: its vocabulary (added
 * tokens included) or its BOS/EOS ids beyond the model's `vocab`. `file` is what the error names.
 */
export function checkTokenizerVocab(tok: Tokenizer, vocab: number, file: string): void {
  if (tok.vocabSize > vocab) fail('tokenizer-vocab', file, `the tokenizer has ${tok.vocabSize} tokens (ids 0..${tok.vocabSize - 1}, added tokens included), more than the model's vocab_size = ${vocab}`);
  const special = [...(tok.bos === undefined ? [] : [tok.bos]), ...tok.eos].filter((id) => id >= vocab);
  if (special.length) fail('tokenizer-vocab', file, `BOS/EOS id ${special[0]} is outside the model's vocab_size = ${vocab}`);
}

/** The ids of a prompt; LOOM5022 when it encodes to none (an empty text without BOS). */
export function encodePrompt(tok: Tokenizer, text: string): Int32Array {
  const ids = tok.encode(text);
  if (ids.length === 0) throw new LoomError([diag('empty-prompt', { tokenizer: tok.name })]);
  return ids;
}

/**
 * Reads a checkpoint directory's tokenizer.json and, when present, tokenizer_config.json,
 * generation_config.json, config.json and special_tokens_map.json.
 */
export function loadTokenizer(dir: string, files: Files = hostFiles()): Tokenizer {
  const texts: Partial<TokenizerFiles> = {};
  const names: Partial<Record<keyof TokenizerFiles, string>> = {};
  for (const [k, f] of Object.entries(FILE_NAMES) as [keyof TokenizerFiles, string][]) {
    const path = (names[k] = files.join(dir, f));
    try {
      texts[k] = files.readText(path);
    } catch (e) {
      if (k !== 'tokenizerJson' && (e as { code?: string }).code === 'ENOENT') continue;
      fail('bad-tokenizer', path, `cannot read (${errorCode(e)})`);
    }
  }
  return tokenizerFromFiles(texts as TokenizerFiles, names);
}
