/** `loom fmt` through `main`, on temporary files: rewriting, `--check`, unparsable files. */
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync, chmodSync } from 'node:fs';
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

const MESSY = 'model m{vocab=256 dim = 64\n  layers=2}\n';
const TIDY = 'model m {\n  vocab  = 256\n  dim    = 64\n  layers = 2\n}\n';
const BROKEN = 'model m {\n  vocab = = 3\n}\n';

function workspace(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'loom-fmt-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

describe('loom fmt', () => {
  it('rewrites changed files in place, leaves canonical ones alone, keeps the mode, leaves no temp files', async () => {
    const dir = workspace({ 'a.loom': MESSY, 'b.loom': TIDY });
    chmodSync(join(dir, 'a.loom'), 0o640);
    const before = statSync(join(dir, 'b.loom')).mtimeMs;
    const r = await loom('fmt', join(dir, 'a.loom'), join(dir, 'b.loom'));
    expect(r).toEqual({ code: 0, out: `formatted ${join(dir, 'a.loom')}\n`, err: '' });
    expect(readFileSync(join(dir, 'a.loom'), 'utf8')).toBe(TIDY);
    expect(statSync(join(dir, 'a.loom')).mode & 0o777).toBe(0o640);
    expect(statSync(join(dir, 'b.loom')).mtimeMs).toBe(before);
    expect(readdirSync(dir).sort()).toEqual(['a.loom', 'b.loom']);
    expect((await loom('fmt', join(dir, 'a.loom'))).out).toBe('');
  });

  it('--check writes nothing and exits 1 listing the files that would change', async () => {
    const dir = workspace({ 'a.loom': MESSY, 'b.loom': TIDY });
    const r = await loom('fmt', '--check', join(dir, 'a.loom'), join(dir, 'b.loom'));
    expect(r).toEqual({ code: 1, out: `${join(dir, 'a.loom')}\n`, err: '' });
    expect(readFileSync(join(dir, 'a.loom'), 'utf8')).toBe(MESSY);
    expect(await loom('fmt', join(dir, 'b.loom'), '--check')).toEqual({ code: 0, out: '', err: '' });
  });

  it('reports an unparsable file with rendered diagnostics, never writes it, and formats the others', async () => {
    const dir = workspace({ 'bad.loom': BROKEN, 'a.loom': MESSY });
    const bad = join(dir, 'bad.loom');
    const r = await loom('fmt', bad, join(dir, 'a.loom'));
    expect(r.code).toBe(1);
    expect(r.err).toContain(`${bad}(2,11): error LOOM1002: expected`);
    expect(r.err).toContain('   2 |   vocab = = 3');
    expect(readFileSync(bad, 'utf8')).toBe(BROKEN);
    expect(readFileSync(join(dir, 'a.loom'), 'utf8')).toBe(TIDY);
    expect((await loom('fmt', '--check', bad)).code).toBe(1);
  });

  it('rejects a missing file, no files and unknown options', async () => {
    const missing = await loom('fmt', join(tmpdir(), 'no-such-dir-loom', 'x.loom'));
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/LOOM6003: cannot read spec '.*x\.loom': no such file/);
    expect((await loom('fmt')).err).toMatch(/LOOM6001: fmt: expected one or more \.loom files/);
    expect((await loom('fmt', '--frob', 'a.loom')).err).toMatch(/LOOM6001: fmt: unknown option '--frob'/);
  });

  it('formats a repository model so that --check then passes', async () => {
    const text = readFileSync('models/linear-transformer.loom', 'utf8');
    const dir = workspace({ 'lt.loom': text });
    expect((await loom('fmt', join(dir, 'lt.loom'))).code).toBe(0);
    expect(await loom('fmt', '--check', join(dir, 'lt.loom'))).toEqual({ code: 0, out: '', err: '' });
  });
});
