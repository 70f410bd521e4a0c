/**
 * Code injection through names: specs whose model, parameter, mixer and block-variable names are
 * WGSL and TypeScript keywords, builtins, Object.prototype members, names made of underscores and
 * very long names (every identifier the lexer accepts is fair game) are compiled with
 * `loom compile --emit ts` and compared with the same spec under neutral names:
 * - every emitted WGSL file is the neutral one's with comments removed, byte for byte (names only
 *   ever appear in comments), and creates a shader module on the device with no error messages;
 * - model.ts scans to the neutral one's tokens: identical except string literals (where names
 *   live, escaped) and the class name, a sanitised identifier; and it type-checks (strict).
 * `loom import` configs (values, keys, file and output names) are covered by
 * test/compiler/import-injection.test.ts; names in a hand-edited manifest.json by
 * test/emit/emit.test.ts ('cannot be injected through names from a spec').
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Project } from 'ts-morph';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../cli/main.ts';
import { className } from '../../compiler/emit/emit-ts.ts';
import type { Manifest } from '../../compiler/emit/manifest.ts';
import { gpu } from './gpu.ts';

const ROOT = join('test', '.tmp', `injection-${process.pid}`);
afterAll(() => rmSync(ROOT, { recursive: true, force: true }));

/** Identifiers the lexer accepts ([A-Za-z_][A-Za-z0-9_]*) that mean something to WGSL, TS or JS. */
const HOSTILE = [
  'fn', 'var', 'let', 'const', 'override', 'struct', 'enable', 'storage', 'workgroup', 'uniform', 'array', 'f32', 'u32', 'vec4', 'main', 'builtin', 'group', 'binding', 'return', 'loop', 'discard',
  'constructor', '__proto__', 'toString', 'valueOf', 'hasOwnProperty', 'prototype', 'default', 'export', 'class', 'function', 'this', 'new', 'await', 'yield', 'eval', 'require', 'process', 'globalThis',
  'Promise', 'Float32Array', 'Int32Array', 'Record', 'Readonly', 'Partial', 'URL', 'WeightName', 'StateName', 'WEIGHT_SHAPES', 'DIMS', 'loom', 'Model', 'NaN', 'Infinity', 'undefined', 'null', 'true',
  '_', '__', '___', 'a__b', '_0', 'L0', 'L0_attn', `long_${'x'.repeat(300)}`, `${'_'.repeat(120)}z`,
];
const NEUTRAL = { model: 'neutral', param: 'pa', mixer: 'mx', local: 'hv' };
type Names = typeof NEUTRAL;

/** Variant i: four different hostile names in the four roles. */
function variants(): Names[] {
  const n = HOSTILE.length;
  return Array.from({ length: n }, (_, i) => ({ model: HOSTILE[i], param: HOSTILE[(i + 1) % n], mixer: HOSTILE[(i + 2) % n], local: HOSTILE[(i + 3) % n] }));
}

function spec(n: Names): string {
  return `model ${n.model} {
  vocab = 32
  dim = 16
  heads = 2
  layers = 2
  ${n.param} = dim * 2
  mixer ${n.mixer} = linear_attn {}
  block {
    ${n.local} = rmsnorm(x)
    x = x + ${n.mixer}(${n.local})
    x = x + swiglu(rmsnorm(x), hidden = ${n.param})
  }
}
`;
}

interface Emitted {
  names: Names;
  dir: string;
  wgsl: { file: string; text: string }[];
  ts: string;
}

async function compile(n: Names, i: number): Promise<Emitted> {
  const dir = join(ROOT, `v${i}`);
  mkdirSync(dir, { recursive: true });
  const specPath = join(dir, 'spec.loom');
  writeFileSync(specPath, spec(n));
  let log = '';
  const io = { out: (t: string) => (log += t), err: (t: string) => (log += t) };
  const code = await main(['compile', specPath, '-o', dir, '--batch', '1', '--seq', '8', '--emit', 'ts', '--runtime-import', '../../../../runtime/index.ts'], io);
  expect(code, `${JSON.stringify(n)}: ${log}`).toBe(0);
  const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Manifest;
  const files = [...m.programs.forward.kernels, ...(m.programs.step?.kernels ?? [])].map((k) => k.file);
  return { names: n, dir, wgsl: files.map((file) => ({ file, text: readFileSync(join(dir, file), 'utf8') })), ts: readFileSync(join(dir, 'model.ts'), 'utf8') };
}

const withoutComments = (wgsl: string) => wgsl.split('\n').map((l) => l.replace(/\/\/.*$/, '')).join('\n');

/** TypeScript tokens (comments skipped): [kind, text]. */
function tokens(text: string): [ts.SyntaxKind, string][] {
  const scanner = ts.createScanner(ts.ScriptTarget.Latest, true, ts.LanguageVariant.Standard, text);
  const out: [ts.SyntaxKind, string][] = [];
  for (let k = scanner.scan(); k !== ts.SyntaxKind.EndOfFileToken; k = scanner.scan()) out.push([k, scanner.getTokenText()]);
  return out;
}

describe('names from a spec cannot inject code', () => {
  const all: Emitted[] = [];
  let neutral: Emitted;

  it(`${HOSTILE.length} specs with hostile names compile with --emit ts`, { timeout: 300_000 }, async () => {
    neutral = await compile(NEUTRAL, 0);
    const vs = variants();
    for (let i = 0; i < vs.length; i++) all.push(await compile(vs[i], i + 1));
    expect(all).toHaveLength(HOSTILE.length);
  });

  it('every WGSL file equals the neutral spec\'s outside comments', () => {
    expect(all).toHaveLength(HOSTILE.length);
    for (const e of all) {
      expect(e.wgsl.map((w) => withoutComments(w.text)), JSON.stringify(e.names)).toEqual(neutral.wgsl.map((w) => withoutComments(w.text)));
      for (const w of e.wgsl) expect(w.file.length, w.file).toBeLessThan(200);
    }
  });

  it('every WGSL file creates a shader module with no error messages', { timeout: 300_000 }, async () => {
    expect(all).toHaveLength(HOSTILE.length);
    const { device } = await gpu();
    const texts = new Map<string, string>();
    for (const e of [neutral, ...all]) for (const w of e.wgsl) texts.set(w.text, `${e.dir}/${w.file}`);
    const problems: string[] = [];
    for (const [code, where] of texts) {
      device.pushErrorScope('validation');
      const module = device.createShaderModule({ code });
      const info = await module.getCompilationInfo();
      const scope = await device.popErrorScope();
      for (const m of info.messages) if (m.type === 'error') problems.push(`${where}:${m.lineNum}:${m.linePos}: ${m.message}`);
      if (scope) problems.push(`${where}: ${scope.message}`);
    }
    expect(problems).toEqual([]);
    expect(texts.size).toBeGreaterThan(HOSTILE.length);
  });

  it('model.ts has the neutral module\'s tokens but for string literals and a sanitised class name', () => {
    expect(all).toHaveLength(HOSTILE.length);
    const base = tokens(neutral.ts);
    const baseClass = className(NEUTRAL.model);
    for (const e of all) {
      const got = tokens(e.ts);
      const what = JSON.stringify(e.names);
      expect(got.map(([k]) => ts.SyntaxKind[k]), what).toEqual(base.map(([k]) => ts.SyntaxKind[k]));
      const cls = className(e.names.model);
      expect(cls, what).toMatch(/^[A-Z][A-Za-z0-9]*$/);
      got.forEach(([kind, text], i) => {
        if (kind === ts.SyntaxKind.StringLiteral) return;
        expect(text, `${what}, token ${i}`).toBe(base[i][1] === baseClass ? cls : base[i][1]);
      });
    }
  });

  it('no class name can shadow a capitalised identifier the generated module uses', () => {
    // Free identifiers: not a property after '.', not an object key before ':'.
    const all = tokens(neutral.ts);
    const free = all.filter(([k, t], i) => k === ts.SyntaxKind.Identifier && /^[A-Z]/.test(t) && all[i - 1]?.[0] !== ts.SyntaxKind.DotToken && all[i + 1]?.[0] !== ts.SyntaxKind.ColonToken);
    const used = new Set(free.map(([, t]) => t));
    used.delete(className(NEUTRAL.model));
    expect(used.size).toBeGreaterThan(5);
    for (const id of used) expect(className(id), id).not.toBe(id);
  });

  it('every model.ts type-checks (strict)', { timeout: 300_000 }, () => {
    expect(all).toHaveLength(HOSTILE.length);
    const project = new Project({ tsConfigFilePath: 'tsconfig.json', skipAddingFilesFromTsConfig: true });
    const files = [neutral, ...all].map((e) => project.createSourceFile(join(e.dir, 'model.ts'), e.ts, { overwrite: true }));
    const problems = files.flatMap((f) => f.getPreEmitDiagnostics().map((d) => `${f.getFilePath()}: ${JSON.stringify(d.getMessageText())}`));
    expect(problems).toEqual([]);
  });
});
