/**
 * The f32 -> f16 converter the runtime writes f16 weight buffers with (Node 20 has no
 * Float16Array): known bit patterns, round to nearest even at every boundary, subnormals,
 * overflow to infinity, NaN; and every one of the 65536 patterns round-trips.
 */
import { describe, expect, it } from 'vitest';
import { f16Bits, f16Value, fromF16, roundToF16, storedWeights, toF16 } from '../../runtime/f16.ts';

const hex = (h: number) => `0x${h.toString(16).padStart(4, '0')}`;

describe('f16Bits', () => {
  const known: [string, number, number][] = [
    ['zero', 0, 0x0000],
    ['negative zero', -0, 0x8000],
    ['one', 1, 0x3c00],
    ['minus two', -2, 0xc000],
    ['one third', 1 / 3, 0x3555],
    ['pi', Math.PI, 0x4248],
    ['largest finite', 65504, 0x7bff],
    ['smallest normal', 2 ** -14, 0x0400],
    ['largest subnormal', 1023 * 2 ** -24, 0x03ff],
    ['smallest subnormal', 2 ** -24, 0x0001],
    ['0.1', 0.1, 0x2e66],
    ['infinity', Infinity, 0x7c00],
    ['minus infinity', -Infinity, 0xfc00],
  ];
  it.each(known)('%s', (_, x, bits) => expect(hex(f16Bits(x))).toBe(hex(bits)));

  it('rounds to nearest, ties to even, between normals', () => {
    const ulp = 2 ** -10; // spacing of f16 values in [1, 2)
    expect(hex(f16Bits(1 + ulp / 2))).toBe(hex(0x3c00)); // tie, 0x3c00 even
    expect(hex(f16Bits(1 + ulp / 2 + 2 ** -20))).toBe(hex(0x3c01)); // just past the tie
    expect(hex(f16Bits(1 + ulp + ulp / 2))).toBe(hex(0x3c02)); // tie, 0x3c01 odd: up
    expect(hex(f16Bits(1 + ulp / 2 - 2 ** -20))).toBe(hex(0x3c00));
    expect(hex(f16Bits(2 - ulp / 4))).toBe(hex(0x4000)); // the carry moves into the exponent
  });

  it('overflows to infinity at the halfway point past 65504, not before', () => {
    expect(hex(f16Bits(65519))).toBe(hex(0x7bff)); // below 65520: rounds down to the largest finite
    expect(hex(f16Bits(65520))).toBe(hex(0x7c00)); // the tie rounds to even: infinity
    expect(hex(f16Bits(1e6))).toBe(hex(0x7c00));
    expect(hex(f16Bits(-1e30))).toBe(hex(0xfc00));
  });

  it('rounds into and out of the subnormals, ties to even', () => {
    const s = 2 ** -24; // the smallest subnormal
    expect(hex(f16Bits(s / 2))).toBe(hex(0x0000)); // tie with 0 (even)
    expect(hex(f16Bits(s / 2 + 2 ** -40))).toBe(hex(0x0001));
    expect(hex(f16Bits(1.5 * s))).toBe(hex(0x0002)); // tie, 1 odd: up
    expect(hex(f16Bits(2.5 * s))).toBe(hex(0x0002)); // tie, 2 even: down
    expect(hex(f16Bits(-3 * s))).toBe(hex(0x8003));
    expect(hex(f16Bits(2 ** -14 - s / 2))).toBe(hex(0x0400)); // the largest subnormal's tie rounds up to the smallest normal
    expect(hex(f16Bits(2 ** -30))).toBe(hex(0x0000));
    expect(hex(f16Bits(1e-45))).toBe(hex(0x0000)); // an f32 subnormal
    expect(hex(f16Bits(-1e-45))).toBe(hex(0x8000));
  });

  it('keeps NaN a NaN, with the sign', () => {
    const h = f16Bits(Number.NaN);
    expect((h & 0x7c00) === 0x7c00 && (h & 0x03ff) !== 0).toBe(true);
    expect(Number.isNaN(f16Value(h))).toBe(true);
    const f = new Float32Array([Number.NaN]);
    new Uint32Array(f.buffer)[0] = 0xff800001; // a negative NaN whose payload sits in the low bits only
    const n = f16Bits(f[0]);
    expect(n & 0x8000).toBe(0x8000);
    expect(Number.isNaN(f16Value(n))).toBe(true);
  });

  it('round-trips every f16 bit pattern (NaNs stay NaN)', () => {
    for (let h = 0; h < 0x10000; h++) {
      const v = f16Value(h);
      if (Number.isNaN(v)) expect(Number.isNaN(f16Value(f16Bits(v)))).toBe(true);
      else if (f16Bits(v) !== h) throw new Error(`${hex(h)} -> ${v} -> ${hex(f16Bits(v))}`);
    }
  });

  it('agrees with the nearest of the two neighbouring f16 values on random f32s', () => {
    let seed = 12345;
    const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
    for (let i = 0; i < 20000; i++) {
      const x = Math.fround(((next() / 2 ** 32) * 2 - 1) * 2 ** ((next() % 40) - 26));
      const h = f16Bits(x);
      const v = f16Value(h);
      const a = Math.abs(x);
      // The neighbours of |x| on the f16 grid; the chosen value is no farther than either.
      const lo = f16Value(f16Bits(a) - (f16Value(f16Bits(a)) > a ? 1 : 0));
      const hi = f16Value((f16Bits(a) & 0x7fff) + (f16Value(f16Bits(a)) < a ? 1 : 0));
      expect(Math.abs(Math.abs(v) - a)).toBeLessThanOrEqual(Math.min(a - lo, hi - a));
      expect(Math.sign(v) === Math.sign(x) || v === 0).toBe(true);
    }
  });
});

describe('arrays', () => {
  it('pads an odd count to whole 4-byte words and converts back', () => {
    const bits = toF16([1, -2, 0.5]);
    expect(bits.length).toBe(4);
    expect([...bits]).toEqual([0x3c00, 0xc000, 0x3800, 0]);
    expect([...fromF16(bits, 3)]).toEqual([1, -2, 0.5]);
    expect([...roundToF16(new Float32Array([0.1, 65536]))]).toEqual([0.0999755859375, Infinity]);
  });

  it('rounds only the weights a program stores f16', () => {
    const w = new Map([['a', new Float32Array([0.1])], ['b', new Float32Array([0.1])]]);
    const s = storedWeights(w, [{ name: 'a', elem: 'f16' }, { name: 'b', elem: 'f32' }]);
    expect(s.get('a')![0]).toBe(0.0999755859375);
    expect(s.get('b')).toBe(w.get('b'));
  });
});
