/**
 * The `loom` command end to end: in process through `main` (fast) and as the real binary
 * (exit status, stdout/stderr separation).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { main } from '../../cli/main.ts';

const exec = promisify(execFile);

async function loom(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (t) => (out += t), err: (t) => (err += t) });
  return { code, out, err };
}

/** Runs bin/loom.js as a user would; never throws on a non-zero exit. */
async function loomBin(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  return loomBinEnv({}, ...argv);
}

async function loomBinEnv(env: Record<string, string>, ...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  try {
    const r = await exec(process.execPath, ['bin/loom.js', ...argv], { timeout: 120_000, env: { ...process.env, ...env } });
    return { code: 0, out: r.stdout, err: r.stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, out: x.stdout, err: x.stderr };
  }
}

describe('loom (in process)', () => {
  it('prints usage and rejects unknown commands and bad options with LOOM6001', async () => {
    expect((await loom('--help')).out).toContain('loom compile SPEC -o DIR');
    const bad = await loom('frobnicate');
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/error LOOM6001: unknown command 'frobnicate'/);
    expect((await loom('run', 'models/linear-transformer.loom', '--seq', '0')).err).toMatch(/--seq must be a positive integer, got '0'/);
    expect((await loom('run', 'models/linear-transformer.loom', '--schedule', 'fastest')).err).toMatch(/'fastest' is not a schedule/);
    expect((await loom('run', 'models/linear-transformer.loom', '--bogus')).err).toMatch(/LOOM6001: run: Unknown option '--bogus'/);
    expect((await loom('run', 'nope.loom')).err).toMatch(/LOOM6003: cannot read spec 'nope.loom': no such file/);
  });

  it('doctor describes the adapter and its limits', async () => {
    const r = await loom('doctor');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/description\s+\S+/);
    expect(r.out).toContain('maxStorageBufferBindingSize');
    const j = JSON.parse((await loom('doctor', '--json')).out);
    expect(j.limits.maxStorageBuffersPerShaderStage).toBeGreaterThanOrEqual(8);
  });

  it('compile writes kernels and a manifest, and never overwrites foreign files without --force', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'loom-compile-'));
    const out = join(dir, 'out');
    const r = await loom('compile', 'models/fast-weights.loom', '-o', out, '--seq', '40');
    expect(r.code).toBe(0);
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
    expect(manifest.schedules.map((s: { schedule: string }) => s.schedule)).toEqual(['parallel', 'chunkwise', 'chunkwise']);
    expect(readdirSync(out).filter((f) => f.endsWith('.wgsl')).length).toBe(manifest.kernels.length);
    for (const k of manifest.kernels) expect(readFileSync(join(out, k.file), 'utf8')).toContain(`// ${k.name}:`);
    // Recompiling over our own output is fine, and stale kernels of the earlier compile go away.
    expect((await loom('compile', 'models/fast-weights.loom', '-o', out, '--seq', '40', '--schedule', 'recurrent')).code).toBe(0);
    const after = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
    expect(readdirSync(out).filter((f) => f.endsWith('.wgsl')).sort()).toEqual(after.kernels.map((k: { file: string }) => k.file).sort());
    // A file the user wrote under a name loom wants: refused, then overwritten only with --force.
    const foreign = join(dir, 'mine');
    await loom('compile', 'models/fast-weights.loom', '-o', foreign, '--seq', '40');
    const victim = readdirSync(foreign).find((f) => f.endsWith('.wgsl'))!;
    writeFileSync(join(foreign, 'manifest.json'), '{"mine": true}');
    const refused = await loom('compile', 'models/fast-weights.loom', '-o', foreign, '--seq', '40');
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/has files loom did not write .*use --force/);
    expect(readFileSync(join(foreign, 'manifest.json'), 'utf8')).toBe('{"mine": true}');
    expect((await loom('compile', 'models/fast-weights.loom', '-o', foreign, '--seq', '40', '--force')).code).toBe(0);
    expect(existsSync(join(foreign, victim))).toBe(true);
  });

  it('explain shows every candidate schedule with its estimate, and the IR after each pass', async () => {
    const r = await loom('explain', 'models/linear-transformer.loom', '--seq', '300', '--ir');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/L0\.attn: \w+.* - auto: lowest estimate/);
    expect(r.out).toMatch(/chunkwise\(64\)\s+est\. [\d.e+-]+ ms/);
    expect(r.out).toContain('--- after fuse ---');
  });
});

describe('loom (the binary)', () => {
  it.each(['parallel', 'chunkwise', 'recurrent'])('run --seq 200 --check --json --schedule %s: relErr < 1e-4', async (schedule) => {
    const r = await loomBin('run', 'models/linear-transformer.loom', '--seq', '200', '--check', '--json', '--schedule', schedule);
    expect(r.code, r.err).toBe(0);
    const lines = r.out.trim().split('\n');
    expect(lines).toHaveLength(1);
    const j = JSON.parse(lines[0]);
    expect(typeof j.adapter).toBe('string');
    expect(j.schedules).toHaveLength(4);
    expect(j.schedules.every((s: string) => s.startsWith(schedule))).toBe(true);
    expect(j.ms).toBeGreaterThan(0);
    expect(j.relErr).toBeLessThan(1e-4);
  });

  it('without an adapter, doctor says what to install (exit 1), without a native stack trace', async () => {
    const r = await loomBinEnv({ LOOM_BACKEND: 'vulkan', VK_ICD_FILENAMES: '/nonexistent/icd.json', VK_DRIVER_FILES: '/nonexistent/icd.json' }, 'doctor');
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
    expect(r.err).toMatch(/error LOOM6002: No WebGPU adapter was found[\s\S]*mesa-vulkan-drivers libvulkan1/);
    expect(r.err).not.toMatch(/at .*\.ts:\d+/);
  });

  it('a bad spec gives a located error with the source line and a non-zero exit', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'loom-bad-'));
    const spec = join(dir, 'bad.loom');
    writeFileSync(spec, 'model m {\n  vocab = 256\n  dim = 64\n  layers = 2\n  heads = 4\n  mixer attn = gated_detla\n  block {\n    x = x + attn(x)\n  }\n}\n');
    const r = await loomBin('run', spec, '--json');
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
    expect(r.err).toContain(`${spec}(6,16): error LOOM2002: unknown mixer preset 'gated_detla'`);
    expect(r.err).toContain('   6 |   mixer attn = gated_detla');
    expect(r.err).toMatch(/\n\s+\|\s+\^{11}\n/);
    const syntax = join(dir, 'syntax.loom');
    writeFileSync(syntax, 'model m {\n  vocab 256\n}\n');
    const s = await loomBin('compile', syntax, '-o', join(dir, 'out'));
    expect(s.code).toBe(1);
    expect(s.err).toMatch(/syntax\.loom\(2,9\): error LOOM1002: expected .*'='/);
    expect(existsSync(join(dir, 'out'))).toBe(false);
  });
});
