/**
 * `loom check` on the committed goldens (test/golden/<model>/, one per models/*.loom): each must
 * match the current compiler byte for byte and numerically; a one-character change to a kernel
 * must give a non-zero exit and a readable diff naming the file.
 */
import { cpSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../cli/main.ts';

async function loom(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (t) => (out += t), err: (t) => (err += t) });
  return { code, out, err };
}

const MODELS = readdirSync('models').filter((f) => f.endsWith('.loom')).sort();

describe('loom check on the goldens', () => {
  it('has one golden per model', () => {
    expect(readdirSync('test/golden').sort()).toEqual(MODELS.map((m) => basename(m, '.loom')).sort());
  });

  it.each(MODELS)('%s: identical files and numerics within 1e-4', { timeout: 300_000 }, async (model) => {
    const r = await loom('check', join('test/golden', basename(model, '.loom')));
    expect(r.code, r.out + r.err).toBe(0);
    expect(r.out).toMatch(/files\s+\d+ files identical/);
    expect(r.out).toMatch(/numeric\s+(\d+)\/\1 outputs within 0.0001/);
  });
});

describe('loom check on a changed directory', () => {
  it('reports a one-character kernel change with a diff, refuses --update without a terminal, and --update --yes restores it', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'loom-check-')), 'fw');
    cpSync('test/golden/fast-weights', dir, { recursive: true });
    const victim = 'step/L1.fw.recurrent.wgsl';
    const before = readFileSync(join(dir, victim), 'utf8');
    const after = before.replace(/const (\w+): u32 = (\d)/, (_, n: string, d: string) => `const ${n}: u32 = ${(Number(d) + 1) % 10}`);
    expect(after).not.toBe(before);
    writeFileSync(join(dir, victim), after);
    const spec = ['--spec', 'models/fast-weights.loom'];
    const r = await loom('check', dir, ...spec);
    expect(r.code).not.toBe(0);
    expect(r.out).toContain(`changed  ${victim}`);
    expect(r.out).toContain(`--- a/${victim}\tartifact directory`);
    expect(r.out).toContain(`+++ b/${victim}\tcurrent compiler`);
    expect(r.out).toMatch(/files\s+1 of \d+ files differ: step\/L1\.fw\.recurrent\.wgsl/);
    const refused = await loom('check', dir, ...spec, '--update');
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/LOOM6001: check --update: not a terminal.*--yes/);
    expect(readFileSync(join(dir, victim), 'utf8')).toBe(after);
    const updated = await loom('check', dir, ...spec, '--update', '--yes');
    expect(updated.code, updated.out).toBe(0);
    expect(readFileSync(join(dir, victim), 'utf8')).toBe(before);
  });

  it('names the file when the manifest is missing or corrupt, or its spec is gone', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'loom-check-bad-'));
    const missing = await loom('check', dir);
    expect(missing.code).toBe(1);
    expect(missing.err).toContain(`LOOM5005: ${join(dir, 'manifest.json')}: no such file`);
    writeFileSync(join(dir, 'manifest.json'), '{"format": "loom-manifest/2", ');
    expect((await loom('check', dir)).err).toMatch(/LOOM5005: .*manifest\.json: cannot be read: .*JSON/);
    const m = JSON.parse(readFileSync('test/golden/fast-weights/manifest.json', 'utf8'));
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ ...m, source: 'nowhere.loom' }));
    expect((await loom('check', dir)).err).toMatch(/manifest\.json: names the spec 'nowhere\.loom' .*does not exist; pass --spec FILE/);
  });
});
