/**
 * Non-causal mixers through the command line: `loom compile` writes the forward program only and
 * says why, `loom explain --mode decode` refuses with LOOM4020 naming the mixer, and prefill
 * explain/run work as for any model.
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../cli/main.ts';

async function loom(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (t) => (out += t), err: (t) => (err += t) });
  return { code, out, err };
}

describe('a model with a non-causal mixer', () => {
  it('compiles to a forward program only, with the reason in the output and the manifest', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'loom-fnet-')), 'out');
    const r = await loom('compile', 'models/fnet.loom', '-o', dir, '--seq', '8');
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain('forward kernels and no step program');
    expect(r.out).toContain("note: mixer 'fourier' (fnet) is not causal: decode is not defined, so no step program was built");
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
    expect(manifest.programs.step).toBeNull();
    expect(manifest.noDecode).toBe("mixer 'fourier' (fnet) is not causal: decode is not defined");
    expect(existsSync(join(dir, 'step'))).toBe(false);
  });

  it('explains its prefill plan and refuses to explain a decode plan', async () => {
    const prefill = await loom('explain', 'models/fnet.loom', '--seq', '8');
    expect(prefill.code).toBe(0);
    expect(prefill.out).toMatch(/L0\.fourier: parallel \[D=(dft|fft),T=(dft|fft)\]/);
    const decode = await loom('explain', 'models/fnet.loom', '--mode', 'decode');
    expect(decode.code).toBe(1);
    expect(decode.err).toContain("LOOM4020: mixer 'fourier' (fnet) is not causal: decode is not defined; the model has no step program to explain");
  });
});
