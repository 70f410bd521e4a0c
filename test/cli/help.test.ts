/**
 * The command line's conventions: help for every command, the version, "did you mean", usage
 * errors on stderr with exit status 2, never a stack trace, and Dawn's limit warnings filtered out
 * of stderr while Dawn's real errors still show.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { COMMANDS, main } from '../../cli/main.ts';
import { DAWN_LIMIT_WARNING, dawnStderrFilter } from '../../runtime/dawn-stderr.ts';

const exec = promisify(execFile);

async function loom(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (t) => (out += t), err: (t) => (err += t) });
  return { code, out, err };
}

/** bin/loom.js as a user runs it; never throws on a non-zero exit. */
async function loomBin(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  try {
    const r = await exec(process.execPath, ['bin/loom.js', ...argv], { timeout: 240_000 });
    return { code: 0, out: r.stdout, err: r.stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, out: x.stdout, err: x.stderr };
  }
}

const squash = (s: string) => s.replace(/\s+/g, ' ');
const WARNINGS = ['Uniform', 'Storage'].map((k) => `Warning: maxDynamic${k}BuffersPerPipelineLayout artificially reduced from 1000000 to 16 to fit dynamic offset allocation limit.`);

describe('help and version', () => {
  it('every command lists each of its options with its description, under --help and help CMD', async () => {
    expect(COMMANDS.map((c) => c.name).sort()).toEqual(['check', 'compile', 'doctor', 'explain', 'fmt', 'generate', 'import', 'op', 'playground', 'run', 'tune']);
    for (const def of COMMANDS) {
      const r = await loom(def.name, '--help');
      expect([r.code, r.err], def.name).toEqual([0, '']);
      expect(r.out).toMatch(new RegExp(`^Usage: loom ${def.name} `));
      expect(def.options.length, def.name).toBeGreaterThan(0);
      const text = squash(r.out);
      for (const o of def.options) {
        expect(o.help.length, `${def.name} --${o.flag}`).toBeGreaterThan(10);
        expect(text, `${def.name} --${o.flag}`).toContain(`--${o.flag}${o.value ? ` <${o.value}>` : ''} ${squash(o.help)}`);
      }
      expect((await loom('help', def.name)).out).toBe(r.out);
    }
  });

  it('loom --help and loom help list every command on stdout; --version is package.json version', async () => {
    const help = await loom('--help');
    expect(help.code).toBe(0);
    for (const def of COMMANDS) expect(help.out).toMatch(new RegExp(`\\n  ${def.name} `));
    expect(help.out).toContain('Exit status');
    expect((await loom('help')).out).toBe(help.out);
    const version = JSON.parse(readFileSync('package.json', 'utf8')).version;
    expect(await loom('--version')).toEqual({ code: 0, out: `${version}\n`, err: '' });
  });

  it('loom alone prints the help on stderr and exits 2 (a usage error, like any missing argument)', async () => {
    const r = await loom();
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toMatch(/^Usage: loom /);
  });
});

describe('usage errors', () => {
  it('suggest the option or command meant', async () => {
    const temp = await loom('generate', 'models/gla.loom', '--prompt', 'hi', '--temp', '0');
    expect(temp).toEqual({ code: 2, out: '', err: "error LOOM6001: generate: unknown option '--temp', did you mean '--temperature'?\n" });
    expect((await loom('run', 'models/gla.loom', '--sed', '3')).err).toContain("unknown option '--sed', did you mean '--seed'?");
    expect((await loom('explain', 'models/gla.loom', '--schedul=recurrent')).err).toContain("did you mean '--schedule'?");
    const cmd = await loom('genrate', 'models/gla.loom');
    expect(cmd).toEqual({ code: 2, out: '', err: "error LOOM6001: unknown command 'genrate', did you mean 'generate'?\n" });
    expect((await loom('help', 'compiel')).err).toContain("unknown command 'compiel', did you mean 'compile'?");
  });

  it('unknown flags are refused by every command, doctor included', async () => {
    for (const def of COMMANDS) {
      const r = await loom(def.name, 'x', '--bogus');
      expect([r.code, r.out], def.name).toEqual([2, '']);
      expect(r.err, def.name).toBe(`error LOOM6001: ${def.name}: unknown option '--bogus'; 'loom help ${def.name}' lists the options\n`);
    }
    expect((await loom('doctor', '--bogus')).code).toBe(2);
  });

  it('a missing or extra argument and a bad value exit 2 with the usage', async () => {
    expect(await loom('compile')).toMatchObject({ code: 2, err: expect.stringContaining("compile: missing required argument 'spec'; usage: loom compile [options] <spec>") });
    expect(await loom('run', 'a.loom', 'b.loom')).toMatchObject({ code: 2, err: expect.stringContaining('run: too many arguments: expected 1 argument but got 2') });
    expect(await loom('run', 'models/gla.loom', '--seq')).toMatchObject({ code: 2, err: expect.stringContaining("option '--seq <T>' argument missing") });
    expect(await loom('run', 'models/gla.loom', '--batch', '0')).toMatchObject({ code: 2, err: expect.stringContaining("--batch must be a positive integer, got '0'") });
    expect(await loom('generate', 'models/gla.loom')).toMatchObject({ code: 2, err: expect.stringContaining('--prompt TEXT is required') });
  });
});

describe('the binary', () => {
  it('typical mistakes: a coded diagnostic on stderr, the documented exit status, never a stack trace', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'loom-mistakes-'));
    const file = join(dir, 'file');
    writeFileSync(file, 'not a directory');
    const cases: [string[], number, RegExp][] = [
      [['run', 'models/gla.loom', '--temperature', '0'], 2, /LOOM6001: run: unknown option '--temperature'/],
      [['run', 'nope.loom'], 1, /LOOM6003: cannot read spec 'nope.loom': no such file/],
      [['compile', 'models/gla.loom', '-o', file], 1, /LOOM6003: compile: -o .* is a file, not a directory/],
      [['compile', 'models/gla.loom', '-o', join(file, 'sub')], 1, /LOOM6003/],
      [['run', 'README.md'], 1, /README\.md\(\d+,\d+\): error LOOM1\d{3}/],
      [['op', 'gla2', '--in', 'a', '--out', 'b'], 2, /LOOM6001: op: unknown op 'gla2', did you mean 'gla'\?/],
      [['check', join(dir, 'none')], 1, /LOOM\d{4}: .*manifest\.json: no such file/],
      [['import', join(dir, 'config.json')], 1, /LOOM6003: cannot read config/],
      [['doctor', '--calibrat'], 2, /did you mean '--calibrate'\?/],
      [[], 2, /^Usage: loom /],
    ];
    const results = await Promise.all(cases.map(([argv]) => loomBin(...argv)));
    for (const [i, [argv, code, err]] of cases.entries()) {
      const r = results[i];
      const what = `loom ${argv.join(' ')}: ${r.err}`;
      expect(r.code, what).toBe(code);
      expect(r.err, what).toMatch(err);
      expect(r.err, what).not.toMatch(/\n {4}at /);
      expect(r.err, what).not.toContain('artificially reduced');
    }
  });

  it("Dawn's limit warnings are gone from a GPU command's stderr; its real errors still show", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'loom-dawn-'));
    const ok = await loomBin('compile', 'models/gla.loom', '--seq', '16', '-o', dir);
    expect([ok.code, ok.err]).toEqual([0, '']);
    const kernel = readdirSync(dir).find((f) => f.endsWith('.wgsl'))!;
    writeFileSync(join(dir, kernel), readFileSync(join(dir, kernel), 'utf8').replace(/fn main/, 'fn main oops'));
    const r = await loomBin('check', dir);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`${join(dir, kernel)}(`);
    expect(r.err).toMatch(/error LOOM5007: kernel '[^']+' does not compile: .*expected/);
    expect(r.err).not.toContain('artificially reduced');
  });
});

describe('dawnStderrFilter', () => {
  const run = (chunks: string[]) => {
    let out = '';
    const f = dawnStderrFilter((t) => (out += t));
    const seen: string[] = [];
    for (const c of chunks) {
      f.write(c);
      seen.push(out);
    }
    f.end();
    return { out, seen };
  };

  it('drops exactly the two warnings, whole lines only, however the text is split', () => {
    for (const w of WARNINGS) expect(w).toMatch(DAWN_LIMIT_WARNING);
    const text = `${WARNINGS[0]}\n${WARNINGS[1]}\nWarning: Couldn't get proc eglChooseConfig\nError: device lost\n${WARNINGS[0]} (and more)\nx${WARNINGS[1]}\n`;
    const expected = "Warning: Couldn't get proc eglChooseConfig\nError: device lost\n" + `${WARNINGS[0]} (and more)\nx${WARNINGS[1]}\n`;
    expect(run([text]).out).toBe(expected);
    for (let cut = 1; cut < text.length; cut += 7) expect(run([text.slice(0, cut), text.slice(cut)]).out, `cut at ${cut}`).toBe(expected);
    expect(run([...text]).out).toBe(expected); // one character at a time
  });

  it('passes a progress bar at once, and a continued line is never taken for a warning', () => {
    const { seen } = run(['\rcompiling [====      ] 40%', '\rcompiling [========  ] 80%']);
    expect(seen).toEqual(['\rcompiling [====      ] 40%', '\rcompiling [====      ] 40%\rcompiling [========  ] 80%']);
    expect(run(['partial ', `${WARNINGS[0]}\n`]).out).toBe(`partial ${WARNINGS[0]}\n`);
    expect(run(['Warning: maxDyn']).out).toBe('Warning: maxDyn'); // held, then flushed by end()
    expect(run(['Warning: maxDyn']).seen).toEqual(['']);
  });
});
