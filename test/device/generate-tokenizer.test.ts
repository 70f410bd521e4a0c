/**
 * `generate` with a checkpoint tokenizer (a SentencePiece-style one built in
 * test/helpers/tokenizers.ts) on a tiny causal model whose vocab (300) is larger than the
 * tokenizer's (275): ids are sampled below the tokenizer's vocabulary, the streamed text is the
 * decode of the prompt and the tokens past the prompt's text, and an EOS id ends generation
 * without its text. One model, B = 1, T = 16, to keep lavapipe's compiles short.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileInMemory } from '../../cli/open-model.ts';
import { generate, type GenerateOptions } from '../../runtime/generate.ts';
import { deviceProfile } from '../../runtime/gpu.ts';
import { Model } from '../../runtime/model.ts';
import { encodePrompt, tokenizerFromFiles } from '../../runtime/tokenizer.ts';
import { seededWeights } from '../../runtime/weights.ts';
import { sentencePieceFiles } from '../helpers/tokenizers.ts';
import { gpu } from './gpu.ts';

const SPEC = `model tok_gen {
  vocab  = 300
  dim    = 32
  heads  = 2
  layers = 1
  mixer gdn = gated_delta { head_dim = 16 }
  block {
    x = x + gdn(rmsnorm(x))
  }
}
`;

const tok = tokenizerFromFiles(sentencePieceFiles());
let model: Model;

beforeAll(async () => {
  const g = await gpu();
  const { pair, artifacts } = compileInMemory(SPEC, 'tok-gen.loom', { batch: 1, seq: 16, device: deviceProfile(g) });
  model = await Model.create(g, artifacts, seededWeights(pair.forward.graph.weights, 11));
}, 120_000);
afterAll(() => model?.destroy());

describe('generate with a checkpoint tokenizer', () => {
  const prompt = encodePrompt(tok, 'hello world €');
  const run = async (eos: number[], o: Partial<GenerateOptions> = {}) => {
    const pieces: string[] = [];
    const r = await generate(model, prompt, { maxTokens: 20, temperature: 3, topK: 0, topP: 1, seed: 4, tokenizer: { ...tok, eos }, onText: (t) => pieces.push(t), ...o });
    return { ...r, pieces };
  };

  it('samples below the tokenizer vocabulary and streams the decode of prompt + tokens past the prompt', { timeout: 120_000 }, async () => {
    expect([...prompt]).toEqual([...tok.encode('hello world €')]);
    expect(prompt[0]).toBe(1); // BOS from add_bos_token
    const r = await run([]);
    expect(r.stop).toBe('max-tokens');
    expect(r.tokens).toHaveLength(20);
    for (const id of r.tokens) expect(id).toBeLessThan(tok.vocabSize);
    expect(r.pieces.join('')).toBe(r.text);
    expect(r.text).toBe(tok.decode([...prompt, ...r.tokens]).slice(tok.decode(prompt).length));
  });

  it('greedy ids are the argmax of the logits over the tokenizer vocabulary', { timeout: 120_000 }, async () => {
    const r = await run([], { temperature: 0, maxTokens: 3 });
    model.reset();
    const V = model.dims.vocab;
    let logits = (await model.prefill(prompt)).subarray((prompt.length - 1) * V);
    for (let i = 0; i < 3; i++) {
      let best = 0;
      for (let v = 1; v < tok.vocabSize; v++) if (logits[v] > logits[best]) best = v;
      expect(r.tokens[i], `token ${i}`).toBe(best);
      logits = await model.step(Int32Array.of(best));
    }
  });

  it('stops at the first of any EOS id, which is kept in tokens but not in the text', { timeout: 120_000 }, async () => {
    const all = await run([]);
    const eos = all.tokens[5];
    const k = all.tokens.indexOf(eos);
    const r = await run([tok.vocabSize + 7, eos]);
    expect(r.stop).toBe('eos');
    expect(r.tokens).toEqual(all.tokens.slice(0, k + 1)); // the same draws up to the stop
    expect(r.text).toBe(tok.decode([...prompt, ...r.tokens.slice(0, k)]).slice(tok.decode(prompt).length));
    expect(r.pieces.join('')).toBe(r.text);
  });
});
