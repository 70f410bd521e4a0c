/**
 * FNet kernels on the adapter: every variant (DFT or FFT per axis) against the float64 definition
 * `Re(F_T(F_D(x)))`, on lengths that are powers of two, smooth (2^a 3^b 5^c) and prime.
 */
import { describe, expect, it } from 'vitest';
import type { BufferDecl } from '../../compiler/codegen/program.ts';
import { fnetProgram, fnetSupports, type FnetDims } from '../../compiler/mixers/fourier/index.ts';
import { parseVariant } from '../../compiler/mixers/fourier/passes.ts';
import { runOnce } from '../../runtime/program.ts';
import { Rng } from '../../runtime/random.ts';
import { fnetRef } from '../../runtime/reference/fnet.ts';
import { expectClose } from '../helpers/compare.ts';
import { gpu } from './gpu.ts';

/**
 * Tolerance: an FFT line goes through log n radix stages with twiddles accurate to 2e-9, 1.6e-7 at
 * n = 1024 (measured), so 1e-6; a DFT line sums n terms, its rounding growing like sqrt(n): 7.7e-7
 * at n = 1009 and 1024, so 5e-6 for the DFT along T >= 1000.
 */
const tolerance = (d: FnetDims, variant: string) => (d.T >= 1000 && variant.includes('T=dft') ? 5e-6 : 1e-6);

async function runFnet(d: FnetDims, variant: string, x: Float32Array): Promise<Float32Array> {
  const g = await gpu();
  const v = parseVariant(variant);
  expect(fnetSupports(d, v, g.limits)).toEqual({ ok: true });
  const prog = fnetProgram('L0.f', d, v, { x: 'x', y: 'y' });
  const n = d.B * d.T * d.D;
  const io: BufferDecl[] = [
    { name: 'x', elem: 'f32', elements: n, role: 'input' },
    { name: 'y', elem: 'f32', elements: n, role: 'output' },
  ];
  const out = await runOnce(g, { buffers: [...io, ...prog.buffers], steps: prog.steps }, { x }, ['y']);
  return out.y as Float32Array;
}

const CASES: { d: FnetDims; variant: string }[] = [
  { d: { B: 2, T: 8, D: 4 }, variant: 'D=dft,T=dft' },
  { d: { B: 2, T: 8, D: 4 }, variant: 'D=fft,T=fft' },
  { d: { B: 1, T: 30, D: 12 }, variant: 'D=fft,T=fft' },
  { d: { B: 1, T: 30, D: 12 }, variant: 'D=dft,T=fft' },
  { d: { B: 1, T: 13, D: 6 }, variant: 'D=fft,T=dft' },
  { d: { B: 2, T: 1, D: 5 }, variant: 'D=fft,T=dft' },
  { d: { B: 1, T: 7, D: 1 }, variant: 'D=dft,T=dft' },
  // Long sequences: 1000 = 4*2*5*5*5 and 1024 = 4^5 by FFT and by DFT; 1009 is prime (DFT only).
  { d: { B: 1, T: 1000, D: 8 }, variant: 'D=fft,T=fft' },
  { d: { B: 1, T: 1000, D: 8 }, variant: 'D=dft,T=dft' },
  { d: { B: 1, T: 1024, D: 8 }, variant: 'D=fft,T=fft' },
  { d: { B: 1, T: 1024, D: 8 }, variant: 'D=dft,T=dft' },
  { d: { B: 1, T: 1009, D: 6 }, variant: 'D=fft,T=dft' },
];

describe('FNet kernels vs the float64 reference', () => {
  it.each(CASES.map((c) => ({ ...c, id: `B${c.d.B}-T${c.d.T}-D${c.d.D}-${c.variant}` })))('$id', async ({ d, variant, id }) => {
    const x = Rng.forName(5, id).normals(d.B * d.T * d.D);
    const c = expectClose(id, await runFnet(d, variant, x), fnetRef(x, d.B, d.T, d.D), tolerance(d, variant));
    if (d.T >= 1000) console.log(`${id}: rms(out-ref)/rms(ref) = ${c.relErr.toExponential(2)}`);
  });
});
