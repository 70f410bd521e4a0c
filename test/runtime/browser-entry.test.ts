/**
 * The runtime and compiler without Node: runtime/browser.ts and compiler/browser.ts bundled for
 * the browser by Vite (library mode) hold no `node:` module and no Dawn (`webgpu`), and the
 * sources import `node:*` only in the Node implementations of the host (runtime/node/). The
 * browser entry's device errors are said plainly when WebGPU is missing or offers no adapter.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'vite';
import { describe, expect, it } from 'vitest';
import { acquireBrowserGpu, createGpu, LoomError, type Gpu } from '../../runtime/browser.ts';
import { hostFiles } from '../../runtime/host.ts';
import { cachePath, readCache, writeCache } from '../../runtime/tune-cache.ts';

/** `import ... from 'x'`, `import('x')`, `require('x')` and `export ... from 'x'` specifiers of a JS/TS text. */
function specifiers(code: string): string[] {
  const re = /\b(?:from|import|require)\s*\(?\s*["']([^"']+)["']/g;
  return [...code.matchAll(re)].map((m) => m[1]);
}

/** Every .ts file under `dir`. */
function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

describe('browser entry points', () => {
  it('bundle for the browser (Vite, library mode) with no node: module and no Dawn', async () => {
    const out = await build({
      configFile: false,
      logLevel: 'silent',
      build: { write: false, minify: false, lib: { entry: { runtime: 'runtime/browser.ts', compiler: 'compiler/browser.ts' }, formats: ['es'] } },
    });
    const chunks = (Array.isArray(out) ? out : [out]).flatMap((o) => ('output' in o ? o.output : [])).filter((c) => c.type === 'chunk');
    expect(chunks.map((c) => c.fileName)).toEqual(expect.arrayContaining(['runtime.js', 'compiler.js']));
    // Chunks import each other only: no module of Node's, no package left out of the bundle.
    const names = new Set(chunks.map((c) => c.fileName));
    expect(chunks.flatMap((c) => ('imports' in c ? [...c.imports, ...c.dynamicImports] : [])).filter((s) => !names.has(s))).toEqual([]);
    for (const c of chunks) {
      const code = 'code' in c ? c.code : '';
      expect(code.match(/["']node:[\w/]+["']/g), c.fileName).toBeNull();
      expect(code.match(/["'](webgpu|ts-morph|typescript)["']/g), c.fileName).toBeNull();
    }
  }, 120_000);

  it('compiler/, grammar/ and runtime/ import node:* only in runtime/node/', () => {
    const offenders = ['compiler', 'grammar', 'runtime']
      .flatMap(sources)
      .filter((f) => !f.startsWith(join('runtime', 'node') + '/'))
      .flatMap((f) => specifiers(readFileSync(f, 'utf8')).filter((s) => s.startsWith('node:') || s === 'webgpu').map((s) => `${f}: ${s}`));
    expect(offenders).toEqual([]);
    // ...and they do use it: the check would notice an import there.
    expect(specifiers(readFileSync('runtime/node/files.ts', 'utf8'))).toContain('node:fs');
  });

  it('keep the tune cache and state files in memory (no file system in a page)', () => {
    const gpu = { adapter: { vendor: 'v', architecture: 'a', device: 'd', description: 'SwiftShader', backend: '', isCpu: true } } as Gpu;
    const path = cachePath(gpu);
    expect(path).toMatch(/^\/\.cache\/loom\/[0-9a-f]{16}\.json$/);
    expect(readCache(path, 'SwiftShader').cache.measured).toEqual({});
    const cache = { version: 1, adapter: 'SwiftShader', measured: { 'gla/64': { 'chunkwise(16)': { ms: 1.5, reps: 3, method: 'wall' as const, at: '2026-12-08T00:00:00Z' } } } };
    writeCache(path, cache);
    expect(readCache(path, 'SwiftShader')).toEqual({ cache: { ...cache, calibration: undefined } });
    expect(hostFiles().list('/.cache/loom')).toEqual([path.split('/').pop()]);
  });

  it('say that WebGPU is missing, or that it offers no adapter, as LOOM6002', async () => {
    const nav = Object.getOwnPropertyDescriptor(globalThis, 'navigator');
    const set = (value: unknown) => Object.defineProperty(globalThis, 'navigator', { value, configurable: true, writable: true });
    try {
      set(undefined);
      const missing = await acquireBrowserGpu().catch((e: unknown) => e);
      expect(missing).toBeInstanceOf(LoomError);
      expect((missing as LoomError).diagnostics[0]).toMatchObject({ code: 6002, message: expect.stringContaining('navigator.gpu is missing') });
      set({ gpu: { requestAdapter: async () => null } });
      const none = await createGpu().catch((e: unknown) => e);
      expect((none as LoomError).diagnostics[0]).toMatchObject({ code: 6002, message: expect.stringContaining('offered no adapter') });
    } finally {
      if (nav) Object.defineProperty(globalThis, 'navigator', nav);
      else delete (globalThis as { navigator?: unknown }).navigator;
    }
  });
});
