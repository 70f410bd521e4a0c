/**
 * A byte-level BPE `tokenizer.json` (the GPT-2 / LLaMA-3 kind) with the three special tokens
 * `<unk>` 0, `<s>` 1, `</s>` 2, then one token per byte (ids 3..258) and no merges: random weights
 * make learned merges meaningless, and the file exercises the same tokenizer code as a real one.
 */

/** GPT-2's printable stand-in for each byte: printable Latin-1 bytes map to themselves, the rest above U+0100. */
export function byteChars(): string[] {
  const keep = (b: number) => (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
  let next = 256;
  return Array.from({ length: 256 }, (_, b) => String.fromCodePoint(keep(b) ? b : next++));
}

export function byteLevelTokenizerJson(vocabSize: number): string {
  const special = ['<unk>', '<s>', '</s>'];
  if (vocabSize < special.length + 256) throw new RangeError(`a byte-level tokenizer needs a vocabulary of at least 259, got ${vocabSize}`);
  const vocab: Record<string, number> = {};
  special.forEach((s, i) => (vocab[s] = i));
  byteChars().forEach((c, b) => (vocab[c] = special.length + b));
  const added = special.map((content, id) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }));
  return JSON.stringify({
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }],
      special_tokens: { '<s>': { id: '<s>', ids: [1], tokens: ['<s>'] } },
    },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab, merges: [] },
  });
}
