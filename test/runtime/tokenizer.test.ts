/**
 * Tokenizers from checkpoint files (pure, no device): the ids of small SentencePiece-style and
 * byte-level BPE tokenizers built in test/helpers/tokenizers.ts, derived by hand from their merges;
 * BOS per config; byte fallback coming back whole through the streaming decoder; EOS lists; the
 * coded errors; and the byte-level tokenizer unchanged.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeBytes } from '../../runtime/generate.ts';
import { byteTokenizer, checkTokenizerVocab, encodePrompt, tokenizerFromFiles, type Tokenizer } from '../../runtime/tokenizer.ts';
import { BL_ID, BL_SPECIAL, byteLevelFiles, byteToUnicode, sentencePieceFiles, SP_ID } from '../helpers/tokenizers.ts';

const sp = tokenizerFromFiles(sentencePieceFiles());
const bl = tokenizerFromFiles(byteLevelFiles());
/** A byte-fallback token: ids 3..258 are <0x00>..<0xFF>. */
const BYTE = (b: number) => 3 + b;

/** Feeds `ids` one at a time after `context`; returns the pieces and what `end` gave. */
function stream(tok: Tokenizer, ids: number[], context: number[] = []): { pieces: string[]; rest: string } {
  const d = tok.streamDecoder(context);
  const pieces = ids.map((id) => d.push(id));
  return { pieces, rest: d.end() };
}

describe('SentencePiece-style BPE with byte fallback (LLaMA-2, Mistral)', () => {
  it('encodes by the merges, in rank order, with <s> in front', () => {
    // 'hello world' is normalized to '▁hello▁world' (one '▁' prepended, the space replaced) and
    // split into characters ▁ h e l l o ▁ w o r l d. The lowest-ranked pair present merges first:
    // 'l l' (rank 0) joins the ll of hello only (the l of world has a d after it), then '▁ h',
    // '▁h e', '▁he ll', '▁hell o' build ▁hello; 'o r', '▁ w', '▁w or' build ▁wor; l and d stay.
    const want = [1, SP_ID('▁hello'), SP_ID('▁wor'), SP_ID('l'), SP_ID('d')];
    expect(want).toEqual([1, 271, 274, 262, 266]); // pieces start at 259, after <unk> <s> </s> and 256 byte tokens
    expect([...sp.encode('hello world')]).toEqual(want);
    expect(sp.decode(want)).toBe('hello world');
  });

  it('gives the same ids with a Metaspace pre-tokenizer (prepend_scheme first) as with the normalizer', () => {
    const ms = tokenizerFromFiles(sentencePieceFiles({ style: 'metaspace' }));
    for (const text of ['hello world', 'hello  wor€ld', 'd']) expect([...ms.encode(text)], text).toEqual([...sp.encode(text)]);
  });

  it('adds BOS as tokenizer_config.json says, else as the post-processor says', () => {
    const noBos = tokenizerFromFiles(sentencePieceFiles({ tokenizerConfig: { add_bos_token: false, bos_token: '<s>' } }));
    expect([...noBos.encode('hello')]).toEqual([SP_ID('▁hello')]);
    expect(noBos.bos).toBe(1); // still known: a caller can put it in front itself
    // No add_bos_token: the TemplateProcessing post-processor ('<s>' $A) puts it in front.
    const template = tokenizerFromFiles(sentencePieceFiles({ tokenizerConfig: { bos_token: '<s>' } }));
    expect([...template.encode('hello')]).toEqual([1, SP_ID('▁hello')]);
  });

  it('a character outside the vocabulary goes through byte fallback and comes back whole, one token at a time', () => {
    // '€' is U+20AC = E2 82 AC in UTF-8; no piece holds it, so the fallback writes its three bytes.
    const ids = [...sp.encode('d€')];
    expect(ids).toEqual([1, SP_ID('▁'), SP_ID('d'), BYTE(0xe2), BYTE(0x82), BYTE(0xac)]); // '▁d' is no piece: ▁ and d apart
    expect(sp.decode(ids)).toBe('d€');
    const { pieces, rest } = stream(sp, ids.slice(1));
    // The leading '▁' of a sequence's first piece is not text (the decoder's Strip), as in a full decode.
    expect(pieces).toEqual(['', 'd', '', '', '€']);
    expect(rest).toBe('');
  });

  it('keeps the space of the first generated piece when the prompt is the context', () => {
    const prompt = [...sp.encode('hello')];
    const gen = [SP_ID('▁wor'), SP_ID('l'), SP_ID('d'), SP_ID('▁'), BYTE(0xe2), BYTE(0x82), BYTE(0xac)];
    expect(stream(sp, gen, prompt).pieces).toEqual([' wor', 'l', 'd', ' ', '', '', '€']);
  });

  it('emits a byte that no later byte completes as U+FFFD, as a UTF-8 decoder does', () => {
    expect(stream(sp, [BYTE(0xe2), SP_ID('h')]).pieces).toEqual(['', '\uFFFDh']);
    expect(stream(sp, [SP_ID('h'), BYTE(0xe2), BYTE(0x82)])).toEqual({ pieces: ['h', '', ''], rest: '\uFFFD' });
  });

  it('streams any text back exactly: the pieces, joined, are the decode of prompt + generated minus the prompt', () => {
    const alphabet = ['h', 'e', 'l', 'o', ' ', 'w', 'r', 'd', '€', 'é', '😀', '\u4e16'];
    const text = fc.array(fc.constantFrom(...alphabet), { minLength: 1, maxLength: 24 }).map((a) => a.join(''));
    fc.assert(
      fc.property(text, text, (a, b) => {
        for (const tok of [sp, bl]) {
          const prompt = [...tok.encode(a)];
          const all = [...tok.encode(a + b)];
          if (prompt.some((id, i) => id !== all[i])) continue; // the split at a|b changed the merges
          const { pieces, rest } = stream(tok, all.slice(prompt.length), prompt);
          for (const p of pieces) expect(p).not.toContain('\uFFFD');
          expect(pieces.join('') + rest).toBe(tok.decode(all).slice(tok.decode(prompt).length));
        }
      }),
      { numRuns: 150, seed: 13 },
    );
  });
});

describe('byte-level BPE (GPT-2, LLaMA-3)', () => {
  it('encodes by the merges over byte characters, with the template BOS', () => {
    // The pre-tokenizer splits 'hello world' into 'hello' and ' world', and writes each byte as its
    // character: ' world' is 'Ġworld'. 'hello': 'h e' (rank 3) and 'l l' (rank 4) apply, then
    // 'he ll', 'hell o'. 'Ġworld': 'Ġ w' (rank 0), 'o r' (1), 'Ġw or' (2); l and d stay single
    // bytes, and a single byte's id is its value here.
    const want = [BL_SPECIAL.begin, BL_ID('hello'), BL_ID('Ġwor'), 0x6c, 0x64];
    expect(want).toEqual([264, 262, 258, 108, 100]);
    expect([...bl.encode('hello world')]).toEqual(want);
    expect(bl.decode(want)).toBe('hello world');
    expect(bl.vocabSize).toBe(256 + 8 + 3); // bytes, merges, added tokens
  });

  it('a merge that splits a UTF-8 sequence still decodes to the whole character, once', () => {
    const t = byteToUnicode();
    // '€' = E2 82 AC: the characters â (0xE2 is printable), Ĥ (0x82, the 37th non-printable byte:
    // U+0100 + 36) and ¬ (0xAC). The merge 'â Ĥ' joins the first two bytes into one token.
    expect([t[0xe2], t[0x82], t[0xac], t[0x20]]).toEqual(['â', 'Ĥ', '¬', 'Ġ']);
    const ids = [...bl.encode('€')];
    expect(ids).toEqual([BL_SPECIAL.begin, BL_ID('âĤ'), 0xac]);
    expect(stream(bl, ids.slice(1), ids.slice(0, 1)).pieces).toEqual(['', '€']);
    // a 4-byte character as four single-byte tokens: nothing until the fourth
    expect(stream(bl, [0xf0, 0x9f, 0x98, 0x80], [BL_ID('hello')]).pieces).toEqual(['', '', '', '😀']);
  });

  it('adds no BOS when tokenizer_config.json sets add_bos_token false (Qwen style)', () => {
    const q = tokenizerFromFiles(byteLevelFiles({ tokenizerConfig: { add_bos_token: false, bos_token: null, eos_token: '<|end_of_text|>' } }));
    expect([...q.encode('hello')]).toEqual([BL_ID('hello')]);
    expect(q.bos).toBeUndefined();
  });
});

describe('BOS and EOS ids', () => {
  it('takes generation_config.json first, a list of EOS ids included', () => {
    const t = tokenizerFromFiles(byteLevelFiles({ generationConfig: { bos_token_id: BL_SPECIAL.begin, eos_token_id: [BL_SPECIAL.end, BL_SPECIAL.eot] }, config: { eos_token_id: 7 } }));
    expect(t.bos).toBe(264);
    expect(t.eos).toEqual([265, 266]);
  });

  it('then config.json, then the tokens tokenizer_config.json names; null means absent', () => {
    const fromConfig = tokenizerFromFiles(sentencePieceFiles({ generationConfig: { eos_token_id: null }, config: { bos_token_id: 1, eos_token_id: 2 } }));
    expect([fromConfig.bos, fromConfig.eos]).toEqual([1, [2]]);
    expect([sp.bos, sp.eos]).toEqual([1, [2]]); // from '<s>' and '</s>' in tokenizer_config.json
    expect(bl.eos).toEqual([BL_SPECIAL.end]); // '<|end_of_text|>'
    const objects = tokenizerFromFiles(byteLevelFiles({ tokenizerConfig: { eos_token: { content: '<|eot_id|>', __type: 'AddedToken' } } }));
    expect(objects.eos).toEqual([BL_SPECIAL.eot]);
  });

  it('the byte-level tokenizer has none and decodes as UTF-8 bytes', () => {
    const b = byteTokenizer();
    expect([b.bos, b.eos, b.vocabSize]).toEqual([undefined, [], 256]);
    expect([...b.encode('aé€')]).toEqual([...encodeBytes('aé€', 256)]);
    // its stream is a streaming UTF-8 decoder, invalid bytes included
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (bytes) => {
        const { pieces, rest } = stream(b, [...bytes]);
        expect(pieces.join('') + rest).toBe(new TextDecoder().decode(bytes));
      }),
      { numRuns: 200, seed: 5 },
    );
  });
});

describe('errors', () => {
  const files = sentencePieceFiles();

  it('LOOM5020: tokenizer.json that is not JSON, or of a model type Loom does not read, naming the file', () => {
    expect(() => tokenizerFromFiles({ tokenizerJson: '{"model": ' }, { tokenizerJson: 'ckpt/tokenizer.json' })).toThrow(/LOOM5020: ckpt\/tokenizer\.json: not valid JSON/);
    const wordLevel = JSON.stringify({ ...JSON.parse(files.tokenizerJson), model: { type: 'WordLevel', vocab: { a: 0 }, unk_token: 'a' } });
    expect(() => tokenizerFromFiles({ tokenizerJson: wordLevel }, { tokenizerJson: 'ckpt/tokenizer.json' })).toThrow(/LOOM5020: ckpt\/tokenizer\.json: model\.type "WordLevel" is not a tokenizer model Loom reads \(BPE, Unigram, WordPiece\)/);
    expect(() => tokenizerFromFiles({ tokenizerJson: '[]' })).toThrow(/LOOM5020: tokenizer\.json: expected a JSON object/);
    expect(() => tokenizerFromFiles({ ...files, generationConfig: 'eos = 2' }, { generationConfig: 'ckpt/generation_config.json' })).toThrow(/LOOM5020: ckpt\/generation_config\.json: not valid JSON/);
    expect(() => tokenizerFromFiles({ ...files, generationConfig: '{"eos_token_id": "x"}' })).toThrow(/LOOM5020: generation_config\.json: eos_token_id must be a token id or a list of token ids, got "x"/);
    const badDecoder = JSON.stringify({ ...JSON.parse(files.tokenizerJson), decoder: { type: 'Mystery' } });
    expect(() => tokenizerFromFiles({ tokenizerJson: badDecoder })).toThrow(/LOOM5020: tokenizer\.json: cannot build the tokenizer: Unknown Decoder type: Mystery/);
  });

  it('LOOM5021: a vocabulary, added tokens included, larger than the model vocab_size, naming both numbers', () => {
    const t = tokenizerFromFiles(sentencePieceFiles({ extraAdded: 2 })); // 275 tokens + 2 added = ids 0..276
    expect(t.vocabSize).toBe(277);
    expect(() => checkTokenizerVocab(t, 277, 'ckpt/tokenizer.json')).not.toThrow();
    expect(() => checkTokenizerVocab(t, 276, 'ckpt/tokenizer.json')).toThrow(/LOOM5021: ckpt\/tokenizer\.json: the tokenizer has 277 tokens \(ids 0\.\.276, added tokens included\), more than the model's vocab_size = 276/);
    const farEos = tokenizerFromFiles({ ...files, generationConfig: '{"eos_token_id": [2, 300]}' });
    expect(() => checkTokenizerVocab(farEos, 280, 'g.json')).toThrow(/LOOM5021: g\.json: BOS\/EOS id 300 is outside the model's vocab_size = 280/);
  });

  it('LOOM5022: a prompt that encodes to zero tokens', () => {
    expect(() => encodePrompt(byteTokenizer(), '')).toThrow(/LOOM5022: the prompt encodes to zero tokens with the byte-level tokenizer/);
    const noBos = tokenizerFromFiles(sentencePieceFiles({ tokenizerConfig: { add_bos_token: false } }), { tokenizerJson: 'ckpt/tokenizer.json' });
    expect(() => encodePrompt(noBos, '')).toThrow(/LOOM5022: .*with tokenizer ckpt\/tokenizer\.json/);
    expect([...encodePrompt(sp, '')]).toEqual([1]); // BOS alone is a prompt
  });

  it('LOOM5020 when add_bos_token is set but no file names the BOS token', () => {
    expect(() => tokenizerFromFiles(sentencePieceFiles({ tokenizerConfig: { add_bos_token: true } }))).toThrow(/LOOM5020: tokenizer_config\.json: sets add_bos_token but no file names the BOS token/);
  });
});
