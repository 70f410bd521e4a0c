import { describe, expect, it } from 'vitest';
import { editDistance, suggest } from '../../grammar/suggest.ts';

const PRESETS = ['gla', 'retnet', 'deltanet', 'gated_delta', 'mamba2', 'based', 'rebased', 'hedgehog', 'linear_attn'];

describe('suggest', () => {
  it('finds a transposition', () => {
    expect(suggest('gated_detla', ['gated_delta', 'gla'])).toBe('gated_delta');
    expect(suggest('gated_detla', PRESETS)).toBe('gated_delta');
  });

  it('suggests nothing rather than something wrong', () => {
    expect(suggest('xyz', ['gated_delta'])).toBeUndefined();
    expect(suggest('attention', PRESETS)).toBeUndefined();
    expect(suggest('q', ['k', 'v'])).toBeUndefined();
  });

  it('does not suggest the name itself', () => {
    expect(suggest('gla', ['gla'])).toBeUndefined();
  });

  it('matches names under 3 characters only when they differ by case', () => {
    expect(suggest('Ln', ['ln', 'l2'])).toBe('ln');
    expect(suggest('l1', ['l2'])).toBeUndefined();
  });

  it('prefers a candidate that differs only by case', () => {
    expect(suggest('Based', ['rebased', 'based', 'bases'])).toBe('based');
    expect(suggest('DIM', ['dim', 'din'])).toBe('dim');
  });

  it('limits the length difference', () => {
    // 'hedge' is 5 long: at most max(2, floor(5 * 0.34)) = 2 characters may be added.
    expect(suggest('hedge', ['hedgeho'])).toBe('hedgeho');
    expect(suggest('hedge', ['hedgehog'])).toBeUndefined();
  });

  it('limits the edit distance to below floor(0.4 * length) + 1', () => {
    // 'retnat' (6): the limit is 3; one substitution costs 2.
    expect(suggest('retnat', ['retnet'])).toBe('retnet');
    // two substitutions cost 4.
    expect(suggest('ratnat', ['retnet'])).toBeUndefined();
  });

  it('takes the best candidate, the first one on ties', () => {
    expect(suggest('mamba', ['mamba22', 'mamba2'])).toBe('mamba2');
    expect(suggest('abcde', ['abcdx', 'abcdy'])).toBe('abcdx');
  });

  it('accepts any iterable', () => {
    expect(suggest('delta_net', new Set(PRESETS))).toBe('deltanet');
  });
});

describe('editDistance', () => {
  it('weighs insertions 1, substitutions 2 and case changes 0.1', () => {
    expect(editDistance('abc', 'abc')).toBe(0);
    expect(editDistance('abc', 'abxc')).toBe(1);
    expect(editDistance('abc', 'axc')).toBe(2);
    expect(editDistance('abc', 'aBc')).toBeCloseTo(0.1);
    expect(editDistance('', 'abc')).toBe(3);
  });

  it('gives up once the limit is reached', () => {
    expect(editDistance('aaaa', 'bbbb', 3)).toBe(Infinity);
  });
});
