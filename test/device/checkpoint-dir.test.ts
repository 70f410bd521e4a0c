/**
 * A checkpoint directory as the unit (config.json, model.safetensors in fla's names,
 * tokenizer.json and its configs): `openPretrained` and `loom generate DIR` against the float64
 * reference written from fla's code, and the directory's bad inputs as located, coded errors.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../cli/main.ts';
import { generate } from '../../runtime/generate.ts';
import { prefillWidths } from '../../runtime/model.ts';
import { openPretrained } from '../../runtime/open.ts';
import { tokenizerFromFiles } from '../../runtime/tokenizer.ts';
import { expectClose } from '../helpers/compare.ts';
import { CONFIGS, synthesize, writeCheckpoint } from '../helpers/fla-checkpoint.ts';
import { flaForward } from '../helpers/fla-reference.ts';
import { BL_SPECIAL, byteLevelFiles } from '../helpers/tokenizers.ts';
import { gpu } from './gpu.ts';

const root = mkdtempSync(join(tmpdir(), 'loom-ckdir-'));
// The byte-level test tokenizer has 267 ids (256 bytes, 8 merges, 3 special tokens).
const config = { ...CONFIGS.gla, vocab_size: 320, bos_token_id: BL_SPECIAL.begin, eos_token_id: BL_SPECIAL.end };
const ck = synthesize('gla', 11, false, config);

/** A checkpoint directory as downloaded: every file, each replaceable. */
function checkpointDir(name: string, files: Record<string, string | null> = {}): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  const tok = byteLevelFiles();
  const all: Record<string, string | null> = {
    'config.json': JSON.stringify(config),
    'tokenizer.json': tok.tokenizerJson,
    'tokenizer_config.json': tok.tokenizerConfig!,
    'generation_config.json': JSON.stringify({ bos_token_id: BL_SPECIAL.begin, eos_token_id: BL_SPECIAL.end }),
    ...files,
  };
  for (const [f, text] of Object.entries(all)) if (text !== null) writeFileSync(join(dir, f), text);
  if (!('model.safetensors' in files)) writeCheckpoint(join(dir, 'model.safetensors'), ck);
  return dir;
}

function capture() {
  let out = '';
  let err = '';
  return { io: { out: (t: string) => (out += t), err: (t: string) => (err += t) }, get out() { return out; }, get err() { return err; } };
}

/** Greedy continuation by the float64 reference: argmax over the tokenizer's ids, stopping at EOS. */
function referenceGreedy(prompt: Int32Array, n: number, vocab: number): number[] {
  const seq = [...prompt];
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const logits = flaForward('gla', ck, config as Record<string, number>, Int32Array.from(seq), 1, seq.length);
    const last = logits.subarray((seq.length - 1) * config.vocab_size);
    let best = 0;
    for (let j = 1; j < vocab; j++) if (last[j] > last[best]) best = j;
    out.push(best);
    if (best === BL_SPECIAL.end) break;
    seq.push(best);
  }
  return out;
}

describe('checkpoint directories', () => {
  const good = checkpointDir('good');

  it('openPretrained prefills in windows and generates the reference greedy continuation', async () => {
    const { model, tokenizer } = await openPretrained(await gpu(), good, { seq: 8 });
    try {
      const prompt = tokenizer.encode('hello world, hello there');
      expect(prompt[0]).toBe(BL_SPECIAL.begin);
      expect(prompt.length).toBeGreaterThan(8);
      // At T = 8 the prompt runs as a window of 8 and one per binary digit of the rest; logits within f32 rounding of float64
      // (relative 1e-5: sums of 64..256 products per matmul, measured ~5e-7).
      const logits = await model.prefill(prompt);
      expectClose('prefill logits', logits, flaForward('gla', ck, config as Record<string, number>, prompt, 1, prompt.length), 1e-5);
      // Argmax over random weights: a tie within f32 rounding is possible in principle; the seed
      // gives a margin above 1e-3 at every step here.
      const r = await generate(model, prompt, { maxTokens: 6, temperature: 0, topK: 0, topP: 1, seed: 0, tokenizer });
      expect(r.tokens).toEqual(referenceGreedy(prompt, 6, tokenizer.vocabSize));
    } finally {
      model.destroy();
    }
  });

  it('loom generate DIR streams the tokenizer text of that continuation', async () => {
    const tok = tokenizerFromFiles(byteLevelFiles());
    const prompt = tok.encode('hello world, hello');
    const want = referenceGreedy(prompt, 6, tok.vocabSize).filter((id) => id !== BL_SPECIAL.end);
    const c = capture();
    expect(await main(['generate', good, '--prompt', 'hello world, hello', '--temperature', '0', '--max-tokens', '6', '--seq', '8'], c.io), c.err).toBe(0);
    expect(c.out).toBe(tok.decode(want));
    expect(c.err).toContain(`prompt    ${prompt.length} tokens (tokenizer ${join(good, 'tokenizer.json')})`);
    expect(c.err).toContain(`windows of ${prefillWidths(prompt.length, 8, true).join('+')}, T=8`);
  });

  const bad: [string, Record<string, string | null>, string[], RegExp][] = [
    ['no config.json', { 'config.json': null }, ['--prompt', 'hi'], /LOOM6011.*no config\.json/],
    ['a tokenizer of an unknown model type', { 'tokenizer.json': JSON.stringify({ model: { type: 'Magic', vocab: {} } }) }, ['--prompt', 'hi'], /LOOM5020.*Magic/],
    ['a tokenizer larger than vocab_size', { 'config.json': JSON.stringify({ ...config, vocab_size: 256 }) }, ['--prompt', 'hi'], /LOOM5021.*267.*256/],
    ['a prompt of no tokens', { 'tokenizer_config.json': JSON.stringify({ add_bos_token: false }) }, ['--prompt', ''], /LOOM5022/],
  ];
  for (const [what, files, args, message] of bad) {
    it(`refuses ${what} with a coded error, exit 1, nothing written`, async () => {
      const dir = checkpointDir(what.replace(/\W+/g, '-'), files);
      const before = readdirSync(dir).sort();
      const c = capture();
      expect(await main(['generate', dir, ...args], c.io)).toBe(1);
      expect(c.err).toMatch(message);
      expect(c.err).not.toMatch(/\n +at /);
      expect(readdirSync(dir).sort()).toEqual(before);
    });
  }

  it("refuses another model's weights in one summary error", async () => {
    const dir = checkpointDir('other-model', { 'model.safetensors': null });
    writeCheckpoint(join(dir, 'model.safetensors'), synthesize('delta_net', 1));
    const c = capture();
    expect(await main(['run', dir, '--text', 'hi'], c.io)).toBe(1);
    expect(c.err).toMatch(/LOOM50\d\d/);
    // One summary, not a line per tensor: the file names fla tensors the model does not have.
    expect(c.err.split('\n').filter((l) => /error LOOM/.test(l)).length).toBeLessThanOrEqual(3);
    rmSync(dir, { recursive: true });
  });
});
