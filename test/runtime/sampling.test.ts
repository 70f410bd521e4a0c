/** Token sampling and the byte tokenizer: pure, no device. */
import { describe, expect, it } from 'vitest';
import { encodeBytes, sampleToken, type SamplingOptions } from '../../runtime/generate.ts';
import { Rng } from '../../runtime/random.ts';

const greedy: SamplingOptions = { temperature: 0, topK: 0, topP: 1 };
const plain: SamplingOptions = { temperature: 1, topK: 0, topP: 1 };

/** Counts of `draws` samples from `logits`. */
function histogram(logits: number[], o: SamplingOptions, draws: number, seed = 1): number[] {
  const rng = new Rng(seed);
  const counts = logits.map(() => 0);
  for (let i = 0; i < draws; i++) counts[sampleToken(logits, logits.length, o, rng)]++;
  return counts;
}

describe('sampleToken', () => {
  it('temperature 0 is the argmax (the lowest id on ties) and draws nothing', () => {
    const rng = new Rng(5);
    expect(sampleToken([0.1, 3, -2, 3], 4, greedy, rng)).toBe(1);
    expect(rng.next()).toBe(new Rng(5).next());
  });

  it('considers only the first n ids', () => {
    expect(sampleToken([0, 1, 2, 9], 3, greedy, new Rng(0))).toBe(2);
    expect(histogram([0, 0, 50], { ...plain }, 200).slice(0, 2)).toEqual([0, 0]);
  });

  it('top-k = 1 is greedy at any temperature', () => {
    const rng = new Rng(3);
    const logits = [0.5, 0.2, 0.49, -1, 0.1];
    for (let i = 0; i < 50; i++) expect(sampleToken(logits, 5, { temperature: 2.5, topK: 1, topP: 1 }, rng)).toBe(0);
  });

  it('draws from softmax(logits / temperature)', () => {
    const logits = [0, Math.log(2), Math.log(4)]; // p = 1/7, 2/7, 4/7
    const n = 14000;
    const counts = histogram(logits, plain, n);
    const want = [1 / 7, 2 / 7, 4 / 7];
    counts.forEach((c, i) => expect(Math.abs(c / n - want[i]), `p[${i}]`).toBeLessThan(0.015));
    // temperature 2 flattens: p ∝ 1, sqrt(2), 2
    const flat = histogram(logits, { ...plain, temperature: 2 }, n, 2);
    const z = 1 + Math.SQRT2 + 2;
    flat.forEach((c, i) => expect(Math.abs(c / n - [1, Math.SQRT2, 2][i] / z), `T=2 p[${i}]`).toBeLessThan(0.015));
  });

  it('top-p keeps the smallest head of the distribution reaching p; top-k keeps k', () => {
    const logits = [Math.log(4), 0, Math.log(2)]; // p = 4/7, 1/7, 2/7
    expect(histogram(logits, { ...plain, topP: 0.5 }, 500)).toEqual([500, 0, 0]);
    const two = histogram(logits, { ...plain, topP: 0.8 }, 3000); // 4/7 < 0.8 <= 6/7: ids 0 and 2
    expect(two[1]).toBe(0);
    expect(Math.abs(two[0] / 3000 - 2 / 3)).toBeLessThan(0.03);
    expect(histogram(logits, { ...plain, topK: 2 }, 500)[1]).toBe(0);
  });

  it('is reproducible for a seed and differs across seeds', () => {
    const logits = Array.from({ length: 64 }, (_, i) => Math.sin(i));
    const run = (seed: number) => {
      const rng = Rng.forName(seed, 'generate');
      return Array.from({ length: 40 }, () => sampleToken(logits, 64, plain, rng));
    };
    expect(run(7)).toEqual(run(7));
    expect(run(7)).not.toEqual(run(8));
  });
});

describe('encodeBytes', () => {
  it('is the UTF-8 bytes of the text', () => {
    expect([...encodeBytes('aé€', 256)]).toEqual([0x61, 0xc3, 0xa9, 0xe2, 0x82, 0xac]);
  });
  it('refuses a vocabulary smaller than 256, naming the model and its vocab', () => {
    expect(() => encodeBytes('a', 64, "model 'tiny'")).toThrow(/LOOM5004.*at least 256 tokens; model 'tiny' has vocab = 64/);
  });
});
