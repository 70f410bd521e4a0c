/**
 * FNet without an adapter: factorisation into FFT radices, the passes of each variant, the
 * planner's variant choice and refusals, and the non-causal refusal of decode.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compileArtifacts } from '../../compiler/emit/emit.ts';
import { fnetCost, fnetSupports } from '../../compiler/mixers/fourier/index.ts';
import { fftRadices, fnetPasses, FNET_VARIANTS, parseVariant, variantProblem } from '../../compiler/mixers/fourier/passes.ts';
import { nonCausalMixer } from '../../compiler/mixers/family-op.ts';
import { compileSource } from '../../compiler/pipeline.ts';
import { estimateMs } from '../../compiler/plan/cost.ts';
import { DEFAULT_LIMITS, DEFAULT_PROFILE, type DeviceProfile } from '../../compiler/plan/device.ts';

const cpu: DeviceProfile = { name: 'cpu', isCpu: true, limits: DEFAULT_LIMITS };
const SPEC = readFileSync('models/fnet.loom', 'utf8');

function plannedVariants(T: number, device: DeviceProfile = cpu): string[] {
  const r = compileSource(SPEC, 'models/fnet.loom', { batch: 1, seq: T, device });
  if (!r.ok) throw new Error(r.diagnostics.map((d) => d.message).join('\n'));
  return r.compiled.plan.mixers.map((m) => m.variant!);
}

describe('FFT factorisation', () => {
  it('factors smooth lengths into radices 4, 2, 3, 5 (powers of 4 first) and refuses other primes', () => {
    expect(fftRadices(1024)).toEqual([4, 4, 4, 4, 4]);
    expect(fftRadices(1000)).toEqual([4, 2, 5, 5, 5]);
    expect(fftRadices(40)).toEqual([4, 2, 5]);
    expect(fftRadices(1)).toEqual([]);
    expect(fftRadices(1009)).toBeNull();
    expect(fftRadices(14)).toBeNull();
    expect(variantProblem(1009, 64, parseVariant('D=dft,T=fft'))).toBe('T = 1009 has the prime factor 1009; the FFT kernels have radices 2, 3, 4, 5 only');
    expect(variantProblem(1009, 64, parseVariant('D=fft,T=dft'))).toBeNull();
    expect(variantProblem(8, 14, parseVariant('D=fft,T=dft'))).toMatch(/^D = 14 has the prime factor 7/);
  });

  it('chains real input, complex intermediates and a real output through the passes', () => {
    const passes = fnetPasses(2, 12, 8, parseVariant('D=fft,T=fft'));
    expect(passes.map((p) => `${p.view.axis}${p.kind === 'fft' ? p.radix : 'dft'}${p.realIn ? ' in' : ''}${p.realOut ? ' out' : ''}`)).toEqual(['D4 in', 'D2', 'T4', 'T3 out']);
    expect(passes.map((p) => (p.kind === 'fft' ? p.span : 0))).toEqual([1, 4, 1, 4]);
    // An axis of length 1 is the identity; with both axes 1 one DFT pass copies x out.
    expect(fnetPasses(1, 1, 5, parseVariant('D=dft,T=fft')).map((p) => p.view.axis)).toEqual(['D']);
    expect(fnetPasses(1, 1, 1, parseVariant('D=fft,T=fft'))).toHaveLength(1);
  });
});

describe('FNet variant choice', () => {
  it('uses the DFT for small sizes and the FFT where n^2 work dominates, on both device classes', () => {
    // D = 64 in three radix-4 stages costs more launches than one DFT; T = 4 is one radix-4 stage either way.
    expect(plannedVariants(4).map((v) => v.split(',')[0])).toEqual(['D=dft', 'D=dft']);
    expect(plannedVariants(16)).toEqual(['D=dft,T=dft', 'D=dft,T=dft']);
    expect(plannedVariants(1024)).toEqual(['D=fft,T=fft', 'D=fft,T=fft']);
    expect(plannedVariants(1024, DEFAULT_PROFILE)).toEqual(['D=fft,T=fft', 'D=fft,T=fft']);
  });

  it('falls back to the DFT along T when T has no supported factorisation, and says why the FFT lost', () => {
    const r = compileSource(SPEC, 'models/fnet.loom', { batch: 1, seq: 1009, device: cpu });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const m = r.compiled.plan.mixers[0];
    expect(m.variant).toBe('D=fft,T=dft');
    expect(m.candidates.filter((c) => !c.ok).map((c) => c.variant)).toEqual(['D=dft,T=fft', 'D=fft,T=fft']);
    expect(m.candidates.find((c) => !c.ok)!.reason).toContain('T = 1009 has the prime factor 1009');
  });

  it('costs less with the FFT at T = 1024 and more at T = 4 (pure estimates)', () => {
    const ms = (T: number, v: string) => estimateMs(fnetCost({ B: 1, T, D: 64 }, parseVariant(v)), cpu);
    expect(ms(1024, 'D=fft,T=fft')).toBeLessThan(ms(1024, 'D=dft,T=dft') / 10);
    expect(ms(4, 'D=dft,T=dft')).toBeLessThan(ms(4, 'D=fft,T=fft'));
    expect(FNET_VARIANTS).toEqual(['D=dft,T=dft', 'D=dft,T=fft', 'D=fft,T=dft', 'D=fft,T=fft']);
  });

  it('refuses sizes beyond the binding limit with the byte count', () => {
    const small = { ...DEFAULT_LIMITS, maxStorageBufferBindingSize: 1024 };
    expect(fnetSupports({ B: 1, T: 64, D: 64 }, parseVariant('D=fft,T=fft'), small)).toEqual({ ok: false, reason: expect.stringMatching(/32768 bytes, over the device's 1024-byte/) });
  });

  it('refuses a recurrent schedule asked for by layers[..] (LOOM4003), ignores a spec-wide one', () => {
    const layered = compileSource(`${SPEC}\nschedule {\n  layers[1..1] = recurrent\n}\n`, 'x.loom', { batch: 1, seq: 8, device: cpu });
    expect(layered.ok).toBe(false);
    expect(layered.diagnostics.map((d) => `LOOM${d.code}: ${d.message}`)).toEqual([
      'LOOM4003: layer 1 (L1.fourier) has no recurrent schedule: fnet is not causal, so it has no recurrent form; it runs the whole window at once (parallel)',
    ]);
    const wide = compileSource(`${SPEC}\nschedule {\n  default = recurrent\n}\n`, 'x.loom', { batch: 1, seq: 8, device: cpu });
    expect(wide.ok).toBe(true);
  });
});

describe('FNet has no decode', () => {
  it("builds no step program and says which mixer is not causal", () => {
    const r = compileArtifacts(SPEC, 'models/fnet.loom', { batch: 1, seq: 8, device: cpu, emit: ['wgsl'], runtimeImport: '', source: 'fnet.loom' });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.pair.step).toBeNull();
    expect(r.pair.noDecode).toBe("mixer 'fourier' (fnet) is not causal: decode is not defined");
  });

  it('only counts mixers the block uses', () => {
    const unused = SPEC.replace('x = rmsnorm(x + fourier(x))', 'x = rmsnorm(x)');
    const r = compileSource(unused, 'x.loom', { batch: 1, seq: 4 });
    expect(r.ok && nonCausalMixer(r.compiled.spec)).toBe(undefined);
  });
});
