/**
 * Diagnostics on the command line: a spec's warnings are printed and do not fail a command,
 * `--strict` makes them errors; a file that is not a spec stops after a screenful ("too many
 * errors"); `--weights` naming a file that is not safetensors says so.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { specWarnings } from '../../cli/io.ts';
import { main } from '../../cli/main.ts';
import { LoomError } from '../../grammar/diagnostics.ts';
import { MAX_RENDERED } from '../../grammar/render.ts';
import { readSafetensors } from '../../runtime/safetensors.ts';

async function loom(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (t) => (out += t), err: (t) => (err += t) });
  return { code, out, err };
}

const WARNS = `model w {
  vocab  = 256
  dim    = 64
  heads  = 2
  layers = 2
  spare  = 3

  mixer attn = linear_attn
  mixer other = deltanet

  block {
    x = x + attn(rmsnorm(x))
  }
}
`;

const dir = mkdtempSync(join(tmpdir(), 'loom-diag-'));
const specPath = join(dir, 'w.loom');
writeFileSync(specPath, WARNS);
const broken = join(dir, 'broken.loom');
writeFileSync(broken, WARNS.replace('x = x + attn', 'x = x + atn'));

describe('spec warnings', () => {
  it('specWarnings prints them, throws them as errors with strict, and leaves a spec with errors to the compile', () => {
    let err = '';
    const io = { out: () => {}, err: (t: string) => (err += t) };
    specWarnings(io, specPath, false);
    expect(err).toContain(`${specPath}(6,3): warning LOOM2102: parameter 'spare' is defined but never used`);
    expect(err).toContain(`${specPath}(9,9): warning LOOM2101: mixer 'other' is declared but no layer uses it`);
    expect(err).not.toMatch(/\berrors?\b/);
    let thrown: unknown;
    try {
      specWarnings(io, specPath, true);
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(LoomError);
    expect((thrown as LoomError).diagnostics.map((d) => `${d.severity} ${d.code}`)).toEqual(['error 2102', 'error 2101']);
    err = '';
    specWarnings(io, broken, true);
    expect(err).toBe('');
  });

  it('--strict fails the command (before any adapter is opened) with the warnings as errors', async () => {
    const r = await loom('explain', specPath, '--seq', '16', '--strict');
    expect(r.code).toBe(1);
    expect(r.err).toContain('error LOOM2102: parameter \'spare\' is defined but never used');
    expect(r.err).toContain('error LOOM2101');
    expect(r.err).toContain('2 errors');
    expect(r.out).toBe('');
  });

  it('without --strict the command succeeds and prints the warnings on stderr', async () => {
    const r = await loom('explain', specPath, '--seq', '16');
    expect(r.code).toBe(0);
    expect(r.out).toContain('plan for w');
    expect(r.err).toContain('warning LOOM2101');
    expect(r.err).toContain('warning LOOM2102');
  }, 120_000);
});

describe('files that are not what a command expects', () => {
  it('a file that is not a spec: the first errors, then "too many errors (N more)"', async () => {
    const r = await loom('fmt', '--check', 'README.md');
    expect(r.code).toBe(1);
    const shown = r.err.split('\n').filter((l) => l.startsWith('README.md('));
    expect(shown).toHaveLength(MAX_RENDERED);
    expect(r.err).toMatch(/\ntoo many errors \(\d+ more\)\n\d+ errors\n$/);
    expect(r.err.split('\n').length).toBeLessThan(MAX_RENDERED * 6);
  });

  it('--weights README.md: not a safetensors file, its first bytes shown', async () => {
    const message = (() => {
      try {
        readSafetensors('README.md');
      } catch (e) {
        return (e as LoomError).message;
      }
      return 'read';
    })();
    expect(message).toMatch(/^LOOM5001: README\.md is not a safetensors file: its first 8 bytes \(".{0,20}"\) are not a header length \(the header length \d+ is (over the 100000000-byte limit|larger than the rest of the file)/);
    const bin = join(dir, 'random.bin');
    writeFileSync(bin, Buffer.from([0xff, 0xfe, 0x00, 0x01, 0x80, 0x90, 0xa0, 0xb0, 1, 2, 3]));
    expect(() => readSafetensors(bin)).toThrow(/random\.bin is not a safetensors file: its first 8 bytes are not a header length/);
    const r = await loom('explain', 'models/gla.loom', '--seq', '16', '--weights', 'README.md');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/error LOOM5001: README\.md is not a safetensors file/);
  }, 120_000);
});
