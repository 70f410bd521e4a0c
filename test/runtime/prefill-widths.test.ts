/** The widths of a prefill's calls (prefillWidths) and of a batched prefill's (sequenceCalls): pure, no device. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { prefillWidths, sequenceCalls } from '../../runtime/model.ts';

const isPow2 = (w: number) => Number.isInteger(Math.log2(w));

describe('prefillWidths', () => {
  it('runs windows of T, then one power of two per binary digit of the rest, largest first', () => {
    expect(prefillWidths(43, 128, true)).toEqual([32, 8, 2, 1]);
    expect(prefillWidths(37, 16, true)).toEqual([16, 16, 4, 1]);
    expect(prefillWidths(16, 16, true)).toEqual([16]);
    expect(prefillWidths(1, 16, true)).toEqual([1]);
    expect(prefillWidths(150, 100, true)).toEqual([100, 32, 16, 2]); // T need not be a power of two
  });

  it('without window programs: windows of T, then single steps', () => {
    expect(prefillWidths(37, 16, false)).toEqual([16, 16, 1, 1, 1, 1, 1]);
    expect(prefillWidths(5, 16, false)).toEqual([1, 1, 1, 1, 1]);
  });

  it('covers n exactly in at most floor(n / T) + floor(log2 T) + 1 calls, each T or a power of two below it', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5000 }), fc.integer({ min: 1, max: 300 }), (n, T) => {
        const w = prefillWidths(n, T, true);
        expect(w.reduce((a, b) => a + b, 0)).toBe(n);
        expect(w.every((x) => x === T || (x < T && isPow2(x)))).toBe(true);
        expect(w.length).toBeLessThanOrEqual(Math.floor(n / T) + Math.floor(Math.log2(T)) + 1);
        if (n <= T) expect(w.length).toBeLessThanOrEqual(Math.ceil(Math.log2(n)) + 1);
        expect(w.slice(1).every((x, i) => x <= w[i])).toBe(true);
      }),
    );
  });
});

describe('sequenceCalls', () => {
  it('each call is the widest window the longest remaining prompt allows, run by the rows that have that many left', () => {
    expect(sequenceCalls([37, 5], 16, true)).toEqual([
      { width: 16, active: [true, false] },
      { width: 16, active: [true, false] },
      { width: 4, active: [true, true] },
      { width: 1, active: [true, true] },
    ]);
    expect(sequenceCalls([3, 1], 16, false)).toEqual([
      { width: 1, active: [true, true] },
      { width: 1, active: [true, false] },
      { width: 1, active: [true, false] },
    ]);
  });

  it('gives every row exactly its tokens, in at most floor(max / T) + floor(log2 T) + 1 calls', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 1, maxLength: 5 }), fc.integer({ min: 1, max: 128 }), (lengths, T) => {
        const calls = sequenceCalls(lengths, T, true);
        lengths.forEach((n, b) => expect(calls.reduce((a, c) => a + (c.active[b] ? c.width : 0), 0)).toBe(n));
        expect(calls.every((c) => c.active.some(Boolean) && (c.width === T || (c.width < T && isPow2(c.width))))).toBe(true);
        expect(calls.length).toBeLessThanOrEqual(Math.floor(Math.max(...lengths) / T) + Math.floor(Math.log2(T)) + 1);
      }),
    );
  });
});
