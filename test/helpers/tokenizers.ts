/**
 * Small tokenizer files of the two common kinds, built in code (nothing is downloaded), in the
 * schema Hugging Face's `tokenizers` writes to tokenizer.json.
 *
 * `sentencePieceFiles`: BPE with byte fallback as LLaMA-2 / Mistral ship it: ids 0..2 are
 * `<unk>`, `<s>`, `</s>`; ids 3..258 the byte tokens `<0x00>`..`<0xFF>` (id = 3 + byte); then
 * the pieces of PIECES, whose merges MERGES rank in list order. Spaces become '▁' (U+2581) and
 * one '▁' is put in front, either by a normalizer (Prepend + Replace, LLaMA-2) or by a Metaspace
 * pre-tokenizer with prepend_scheme 'first' (newer conversions); both give the same ids.
 *
 * `byteLevelFiles`: byte-level BPE as GPT-2 / LLaMA-3 ship it: ids 0..255 are the 256 bytes, each
 * written as the printable character GPT-2's byte-to-unicode table gives it (id = byte value
 * here), then the merges' results, then the added special tokens.
 */
import type { TokenizerFiles } from '../../runtime/tokenizer.ts';

export const SP_PIECES = ['▁', 'h', 'e', 'l', 'o', 'w', 'r', 'd', 'll', '▁h', '▁he', '▁hell', '▁hello', 'or', '▁w', '▁wor'];
/** Piece ids: after the 3 specials and the 256 byte tokens. */
export const SP_ID = (piece: string) => 259 + SP_PIECES.indexOf(piece);
export const SP_MERGES = ['l l', '▁ h', '▁h e', '▁he ll', '▁hell o', 'o r', '▁ w', '▁w or'];

const hex = (b: number) => `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`;
const special = (id: number, content: string) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });

export function sentencePieceFiles(o: { style?: 'normalizer' | 'metaspace'; tokenizerConfig?: object; generationConfig?: object; config?: object; extraAdded?: number } = {}): TokenizerFiles {
  const vocab: Record<string, number> = { '<unk>': 0, '<s>': 1, '</s>': 2 };
  for (let b = 0; b < 256; b++) vocab[hex(b)] = 3 + b;
  for (const p of SP_PIECES) vocab[p] = SP_ID(p);
  const added = [special(0, '<unk>'), special(1, '<s>'), special(2, '</s>')];
  for (let i = 0; i < (o.extraAdded ?? 0); i++) added.push(special(259 + SP_PIECES.length + i, `<extra_${i}>`));
  const metaspace = o.style === 'metaspace';
  const json = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: metaspace
      ? null
      : { type: 'Sequence', normalizers: [{ type: 'Prepend', prepend: '▁' }, { type: 'Replace', pattern: { String: ' ' }, content: '▁' }] },
    pre_tokenizer: metaspace ? { type: 'Metaspace', replacement: '▁', prepend_scheme: 'first', split: false } : null,
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '<s>', type_id: 1 } }, { Sequence: { id: 'B', type_id: 1 } }],
      special_tokens: { '<s>': { id: '<s>', ids: [1], tokens: ['<s>'] } },
    },
    decoder: {
      type: 'Sequence',
      decoders: [
        { type: 'Replace', pattern: { String: '▁' }, content: ' ' },
        { type: 'ByteFallback' },
        { type: 'Fuse' },
        { type: 'Strip', content: ' ', start: 1, stop: 0 },
      ],
    },
    model: { type: 'BPE', dropout: null, unk_token: '<unk>', continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: true, byte_fallback: true, ignore_merges: false, vocab, merges: SP_MERGES },
  };
  return {
    tokenizerJson: JSON.stringify(json),
    tokenizerConfig: JSON.stringify(o.tokenizerConfig ?? { add_bos_token: true, add_eos_token: false, bos_token: '<s>', eos_token: '</s>', unk_token: '<unk>', clean_up_tokenization_spaces: false, legacy: false }),
    ...(o.generationConfig ? { generationConfig: JSON.stringify(o.generationConfig) } : {}),
    ...(o.config ? { config: JSON.stringify(o.config) } : {}),
  };
}

/**
 * GPT-2's byte-to-unicode table: the printable bytes '!'..'~', '¡'..'¬', '®'..'ÿ' stand for
 * themselves; the other 68 bytes, in increasing order, get U+0100, U+0101, ... (so space 0x20 is
 * 'Ġ' U+0120, and 0x82 is 'Ĥ' U+0124).
 */
export function byteToUnicode(): string[] {
  const printable = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  let next = 0x100;
  return Array.from({ length: 256 }, (_, b) => (printable(b) ? String.fromCharCode(b) : String.fromCharCode(next++)));
}

/** Merges over byte characters; results get ids 256, 257, ... in this order. */
export const BL_MERGES = ['Ġ w', 'o r', 'Ġw or', 'h e', 'l l', 'he ll', 'hell o', 'â Ĥ'];
export const BL_ID = (piece: string) => 256 + BL_MERGES.findIndex((m) => m.replace(' ', '') === piece);
export const BL_SPECIAL = { begin: 256 + BL_MERGES.length, end: 257 + BL_MERGES.length, eot: 258 + BL_MERGES.length };

export function byteLevelFiles(o: { tokenizerConfig?: object; generationConfig?: object; config?: object } = {}): TokenizerFiles {
  const table = byteToUnicode();
  const vocab: Record<string, number> = {};
  table.forEach((c, b) => (vocab[c] = b));
  for (const m of BL_MERGES) vocab[m.replace(' ', '')] = BL_ID(m.replace(' ', ''));
  const json = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [special(BL_SPECIAL.begin, '<|begin_of_text|>'), special(BL_SPECIAL.end, '<|end_of_text|>'), special(BL_SPECIAL.eot, '<|eot_id|>')],
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: {
      type: 'Sequence',
      processors: [
        { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true },
        {
          type: 'TemplateProcessing',
          single: [{ SpecialToken: { id: '<|begin_of_text|>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
          pair: [{ SpecialToken: { id: '<|begin_of_text|>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '<|begin_of_text|>', type_id: 1 } }, { Sequence: { id: 'B', type_id: 1 } }],
          special_tokens: { '<|begin_of_text|>': { id: '<|begin_of_text|>', ids: [BL_SPECIAL.begin], tokens: ['<|begin_of_text|>'] } },
        },
      ],
    },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab, merges: BL_MERGES.map((m) => m.split(' ')) },
  };
  return {
    tokenizerJson: JSON.stringify(json),
    tokenizerConfig: JSON.stringify(o.tokenizerConfig ?? { bos_token: '<|begin_of_text|>', eos_token: '<|end_of_text|>', clean_up_tokenization_spaces: true }),
    ...(o.generationConfig ? { generationConfig: JSON.stringify(o.generationConfig) } : {}),
    ...(o.config ? { config: JSON.stringify(o.config) } : {}),
  };
}
