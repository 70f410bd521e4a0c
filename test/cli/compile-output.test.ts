/**
 * `loom compile -o DIR` never loses a user's files: another model's compiled directory and files
 * loom did not write are refused without --force, with what would be overwritten and deleted;
 * an output path that is a file, or lies under one, is a coded error, never a stack trace.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { outputPathError, outputRefusal, previousCompile } from '../../cli/commands/compile.ts';
import { main } from '../../cli/main.ts';

const tmp = mkdtempSync(join(tmpdir(), 'loom-compile-out-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function loom(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (t) => (out += t), err: (t) => (err += t) });
  return { code, out, err };
}

const compile = (spec: string, dir: string, ...more: string[]) => loom('compile', `models/${spec}.loom`, '-o', dir, '--seq', '8', ...more);

describe('loom compile -o DIR keeps files it did not write', () => {
  it("refuses a directory holding another model's compile, naming counts and files; --force replaces it", async () => {
    const dir = join(tmp, 'shared');
    expect((await compile('gla', dir, '--emit', 'wgsl,ts')).code).toBe(0);
    const before = readdirSync(dir, { recursive: true }).sort();
    const gla = readFileSync(join(dir, 'model.ts'), 'utf8');
    const r = await compile('retnet', dir);
    expect(r.code).toBe(1);
    const ours = previousCompile(dir)!.files;
    expect(r.err).toContain(`error LOOM6006: compile: ${dir} holds ${ours.size} compiled files of another model ('gla_small' from ${resolve('models/gla.loom')})`);
    expect(r.err).toMatch(/writing 'retnet_small' there would overwrite \d+ \(manifest\.json, .*\) and delete \d+ \(.*model\.ts.*\); use --force/);
    // Nothing was touched.
    expect(readdirSync(dir, { recursive: true }).sort()).toEqual(before);
    expect(readFileSync(join(dir, 'model.ts'), 'utf8')).toBe(gla);
    expect((await compile('retnet', dir, '--force')).code).toBe(0);
    expect(JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')).model).toBe('retnet_small');
    expect(existsSync(join(dir, 'model.ts'))).toBe(false);
  });

  it('recompiles the same model into its own directory, replacing its stale kernels', async () => {
    const dir = join(tmp, 'same');
    expect((await compile('gla', dir, '--emit', 'wgsl,ts')).code).toBe(0);
    const r = await compile('gla', dir, '--schedule', 'recurrent');
    expect(r.code, r.err).toBe(0);
    const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
    expect(readdirSync(dir, { recursive: true }).filter((f) => String(f).endsWith('.wgsl')).sort()).toEqual(m.files.filter((f: string) => f.endsWith('.wgsl')).sort());
    expect(existsSync(join(dir, 'model.ts'))).toBe(false); // written by the first compile, not by this one
  });

  it('refuses a directory with files loom did not write, even ones it would not overwrite', async () => {
    const dir = join(tmp, 'notes');
    expect((await compile('gla', dir)).code).toBe(0);
    writeFileSync(join(dir, 'notes.txt'), 'mine');
    writeFileSync(join(dir, '.hidden'), 'mine'); // dotfiles: loom never writes or removes them
    const r = await compile('gla', dir);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`error LOOM6006: compile: ${dir} has files loom did not write (1: notes.txt); use --force to write there anyway`);
    expect((await compile('gla', dir, '--force')).code).toBe(0);
    expect(readFileSync(join(dir, 'notes.txt'), 'utf8')).toBe('mine');
    expect(readFileSync(join(dir, '.hidden'), 'utf8')).toBe('mine');
  });

  it('an output path that is a file, or under a file, is LOOM6003 and leaves the file alone', async () => {
    const file = join(tmp, 'a-file');
    writeFileSync(file, 'data');
    const r = await compile('gla', file);
    expect(r.code).toBe(1);
    expect(r.err).toBe(`error LOOM6003: compile: -o ${file} is a file, not a directory; name a directory (new, or one loom compiled this model into)\n`);
    const under = await compile('gla', join(file, 'out'));
    expect(under.code).toBe(1);
    expect(under.err).toMatch(/^error LOOM6003: compile: cannot (use the output directory|write) .*a-file[/\\]out.*: a part of the path is a file, not a directory \(ENOTDIR\)\n$/);
    expect(readFileSync(file, 'utf8')).toBe('data');
  });
});

describe('the decisions, as pure functions', () => {
  const prev = { model: 'a', source: '/s/a.loom', files: new Set(['manifest.json', 'x.wgsl', 'y.wgsl']) };
  const files = new Set(['manifest.json', 'x.wgsl', 'z.wgsl']);

  it('outputRefusal: same model and spec, our files only: none; another model or spec: all it would lose', () => {
    expect(outputRefusal('d', ['manifest.json', 'x.wgsl', 'y.wgsl'], files, prev, 'a', '/s/a.loom')).toBeNull();
    expect(outputRefusal('d', [], files, null, 'a', '/s/a.loom')).toBeNull();
    expect(outputRefusal('d', ['manifest.json', 'x.wgsl', 'y.wgsl'], files, prev, 'a', '/t/a.loom')).toBe(
      "compile: d holds 3 compiled files of another model ('a' from /s/a.loom); writing 'a' there would overwrite 2 (manifest.json, x.wgsl) and delete 1 (y.wgsl); use --force to replace them, or choose another directory",
    );
    expect(outputRefusal('d', ['x.wgsl', 'notes.txt'], files, null, 'a', '/s/a.loom')).toBe(
      "compile: d has files loom did not write (2: notes.txt, x.wgsl); writing 'a' there would overwrite 1 of them (x.wgsl); use --force to write there anyway, or choose another directory",
    );
    const many = Array.from({ length: 7 }, (_, i) => `u${i}.txt`);
    expect(outputRefusal('d', many, files, null, 'a', '/s/a.loom')).toBe('compile: d has files loom did not write (7: u0.txt, u1.txt, u2.txt, u3.txt, ... (3 more)); use --force to write there anyway, or choose another directory');
  });

  it('outputPathError names the path and the reason in words with the errno code', () => {
    const e = (code: string) => Object.assign(new Error(`${code}: x`), { code });
    expect(outputPathError('write', '/d/m.wgsl', e('EACCES')).diagnostics[0]).toMatchObject({ code: 6003, message: 'compile: cannot write /d/m.wgsl: permission denied (EACCES)' });
    expect(outputPathError('read the output directory', '/d', e('EROFS')).diagnostics[0].message).toBe('compile: cannot read the output directory /d: read-only file system (EROFS)');
  });
});
