/**
 * The playground's pure parts, without a browser: the highlighter's classes from Loom's lexer, the
 * spec carried in the URL hash, and `loom playground`'s static server (test/browser/ drives the page).
 */
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { servePlayground } from '../../cli/commands/playground.ts';
import { loomLexer } from '../../grammar/lexer.ts';
import { tokenClasses } from '../../web/src/highlight.ts';
import { decodeSpec, encodeSpec } from '../../web/src/share.ts';

describe('highlighting from the lexer', () => {
  it('classes each token by its type and neighbours', () => {
    const text = 'model m { dim = 64\n  mixer a = gla { }\n  block { x = x + a(rmsnorm(x)) * 2.5e-1 } }  # note';
    const r = loomLexer.tokenize(text);
    const classes = tokenClasses(r.tokens);
    const by = (image: string, nth = 0) => classes[r.tokens.map((t, i) => [t.image, i] as const).filter(([s]) => s === image)[nth][1]];
    expect(by('model')).toBe('keyword');
    expect(by('mixer')).toBe('keyword');
    expect(by('dim')).toBe('name');
    expect(by('64')).toBe('number');
    expect(by('gla')).toBe('preset');
    expect(by('rmsnorm')).toBe('call');
    expect(by('a', 1)).toBe('call');
    expect(by('+')).toBe('operator');
    expect(by('2.5e-1')).toBe('number');
    expect(by('{')).toBeUndefined();
    expect(r.groups.comments.map((t) => t.image)).toEqual(['# note']);
  });

  it('marks the malformed numbers the lexer reports', () => {
    const r = loomLexer.tokenize('model m { dim = 12abc }');
    expect(tokenClasses(r.tokens)[r.tokens.findIndex((t) => t.image === '12abc')]).toBe('bad');
  });
});

describe('the spec in the URL hash', () => {
  it('round-trips any text, in URL-safe characters', async () => {
    const text = readme();
    const code = await encodeSpec(text);
    expect(code).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(code.length).toBeLessThan(text.length); // deflated
    expect(await decodeSpec(`#spec=${code}`)).toBe(text);
  });

  it('gives nothing for a hash without a spec or one that does not inflate', async () => {
    expect(await decodeSpec('')).toBeUndefined();
    expect(await decodeSpec('#other=1')).toBeUndefined();
    expect(await decodeSpec('#spec=AAAA')).toBeUndefined();
  });
});

function readme(): string {
  return 'model m {\n  vocab = 256  # bytes ✓\n  dim = 64\n}\n'.repeat(20);
}

describe('loom playground: the static server', () => {
  it('serves the site, 404 outside its files and 403 outside its folder', async () => {
    const parent = mkdtempSync(join(tmpdir(), 'loom-site-'));
    const dir = join(parent, 'site');
    mkdirSync(join(dir, 'assets'), { recursive: true });
    writeFileSync(join(parent, 'secret.txt'), 'not served');
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>t</title>');
    writeFileSync(join(dir, 'assets', 'a.js'), 'export {}');
    const s = await servePlayground(dir, 0);
    try {
      expect(s.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
      const index = await fetch(s.url);
      expect(index.status).toBe(200);
      expect(index.headers.get('content-type')).toMatch(/text\/html/);
      expect(await index.text()).toContain('<title>t</title>');
      const js = await fetch(new URL('assets/a.js', s.url));
      expect(js.headers.get('content-type')).toMatch(/text\/javascript/);
      expect((await fetch(new URL('nothing.js', s.url))).status).toBe(404);
      // An encoded slash survives URL normalisation: the decoded path would leave the folder.
      const status = await new Promise<number>((resolve, reject) => get(`${s.url}..%2Fsecret.txt`, (res) => (res.resume(), resolve(res.statusCode!))).on('error', reject));
      expect(status).toBe(403);
      expect((await fetch(s.url, { method: 'POST' })).status).toBe(405);
    } finally {
      await s.close();
    }
  });
});

describe('loom playground', () => {
  it('refuses a port outside [0, 65535] as a usage error (exit 2), without a stack trace', async () => {
    const proc = spawn(process.execPath, ['bin/loom.js', 'playground', '--port', '70000'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    proc.stderr.on('data', (d: Buffer) => (err += d));
    const code = await new Promise<number | null>((resolve) => proc.on('exit', resolve));
    expect(code).toBe(2);
    expect(err).toContain('error LOOM6001: --port must be a TCP port in [0, 65535], got 70000');
    expect(err).not.toMatch(/internal error|\n\s+at /);
  });
  it('serves the built site (building it first in a checkout without one), prints its URL and stops on SIGINT', async () => {
    const proc = spawn(process.execPath, ['bin/loom.js', 'playground', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      let out = '';
      const url = await new Promise<string>((resolve, reject) => {
        proc.stdout.on('data', (d: Buffer) => {
          out += d;
          const m = /Loom playground: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out);
          if (m) resolve(m[1]);
        });
        proc.on('exit', (code) => reject(new Error(`exited ${code} before printing a URL: ${out}`)));
      });
      const page = await (await fetch(url)).text();
      expect(page).toContain('<title>Loom playground</title>');
      const script = /src="\.\/(assets\/index-[^"]+\.js)"/.exec(page)![1];
      expect((await fetch(new URL(script, url))).status).toBe(200);
      const exit = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
      proc.kill('SIGINT');
      expect(await exit).toBe(0);
    } finally {
      proc.kill();
    }
  });
});
