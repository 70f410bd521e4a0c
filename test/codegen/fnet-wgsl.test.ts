/**
 * FNet kernel generators: WGSL snapshots of a DFT pass and FFT stages of each radix, determinism,
 * and the properties the snapshots rely on (no builtin cos/sin, rolled DFT loop).
 */
import { describe, expect, it } from 'vitest';
import { fnetProgram } from '../../compiler/mixers/fourier/index.ts';
import { parseVariant } from '../../compiler/mixers/fourier/passes.ts';

const program = (B: number, T: number, D: number, v: string) => fnetProgram('L0.f', { B, T, D }, parseVariant(v), { x: 'x', y: 'y' });

describe('FNet WGSL snapshots', () => {
  // T = 60 = 4*3*5 along T and D = 8 = 4*2 along D: every radix, real in and real out.
  const fft = program(2, 60, 8, 'D=fft,T=fft');
  const dft = program(2, 7, 6, 'D=dft,T=dft');
  const cases = [...fft.steps, ...dft.steps].map((s) => ({ id: s.kernel.name.replace('L0.f.', `${s.kernel.name.includes('dft') ? 'dft-B2-T7-D6' : 'fft-B2-T60-D8'}.`), s }));

  it.each(cases)('$id', async ({ id, s }) => {
    await expect(s.kernel.wgsl).toMatchFileSnapshot(`__snapshots__/fnet/${id}.wgsl`);
  });

  it('is deterministic, chains ping-pong buffers from x to y, and never uses the builtin cos/sin', () => {
    expect(program(2, 60, 8, 'D=fft,T=fft')).toEqual(fft);
    expect(fft.steps.map((s) => s.args.join('->'))).toEqual(['x->L0.f.fa', 'L0.f.fa->L0.f.fb', 'L0.f.fb->L0.f.fa', 'L0.f.fa->L0.f.fb', 'L0.f.fb->y']);
    expect(fft.buffers.map((b) => [b.name, b.elements])).toEqual([['L0.f.fa', 2 * 2 * 60 * 8], ['L0.f.fb', 2 * 2 * 60 * 8]]);
    for (const s of [...fft.steps, ...dft.steps]) expect(s.kernel.wgsl).not.toMatch(/\b(cos|sin)\(/);
    expect(dft.steps[0].kernel.wgsl).toContain('for (var j = 0u; j < n_N; j++)');
  });
});
