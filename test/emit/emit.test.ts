/**
 * The artifact emitter without an adapter: deterministic files, the manifest's two programs, and
 * the generated TypeScript module, which must type-check (strict) with zero diagnostics, also for
 * model names that try to inject code.
 */
import { readFileSync } from 'node:fs';
import { Project, SyntaxKind } from 'ts-morph';
import { describe, expect, it } from 'vitest';
import { compileArtifacts, emitArtifacts, MANIFEST, MODULE_FILE, type EmitOptions, type Manifest } from '../../compiler/emit/emit.ts';
import { className, emitModule, quoted } from '../../compiler/emit/emit-ts.ts';
import { DEFAULT_PROFILE } from '../../compiler/plan/device.ts';

const MODELS = ['models/linear-transformer.loom', 'models/fast-weights.loom'];
const RUNTIME = '../../../runtime/index.ts';

function emit(path: string, extra: Partial<EmitOptions> = {}): Map<string, string> {
  const o: EmitOptions = { batch: 1, seq: 16, device: DEFAULT_PROFILE, emit: ['wgsl', 'ts'], runtimeImport: RUNTIME, source: `../../../${path}`, ...extra };
  const r = compileArtifacts(readFileSync(path, 'utf8'), path, o);
  if (!r.ok) throw new Error(r.diagnostics.map((d) => d.message).join('\n'));
  return emitArtifacts(r.pair, o);
}

/** Type-checks generated modules placed (in memory) at `test/.tmp/<name>/model.ts`, with the repo's strict tsconfig. */
function diagnostics(modules: Record<string, string>): string[] {
  const project = new Project({ tsConfigFilePath: 'tsconfig.json', skipAddingFilesFromTsConfig: true });
  const files = Object.entries(modules).map(([name, text]) => project.createSourceFile(`test/.tmp/typecheck-${name}/model.ts`, text, { overwrite: true }));
  return files.flatMap((f) => f.getPreEmitDiagnostics().map((d) => `${f.getBaseName()}: ${JSON.stringify(d.getMessageText())}`));
}

describe.each(MODELS)('%s', (path) => {
  it('emits byte-identical files for the same spec and options, and a manifest naming every file', () => {
    const a = emit(path);
    expect([...a.entries()]).toEqual([...emit(path).entries()]);
    const m = JSON.parse(a.get(MANIFEST)!) as Manifest;
    expect(m.files).toEqual([...a.keys()].filter((f) => f !== MANIFEST));
    expect(m.programs.forward.dims).toEqual({ B: 1, T: 16 });
    const step = m.programs.step!;
    expect(step.dims).toEqual({ B: 1, T: 1 });
    expect(step.mode).toBe('decode');
    for (const p of [m.programs.forward, step]) {
      const buffers = new Set(p.buffers.map((b) => b.name));
      for (const k of p.kernels) {
        expect(a.get(k.file)).toContain(`// ${k.name}:`);
        for (const b of k.bindings) expect(buffers.has(b.buffer)).toBe(true);
      }
    }
    expect(step.kernels.every((k) => k.file.startsWith('step/'))).toBe(true);
    expect(m.states.length).toBeGreaterThan(0);
    expect(a.get(MANIFEST)).not.toMatch(/"\/|\d{4}-\d\d-\d\dT/); // no absolute paths, no timestamps
  });

  it('emits model.ts only with --emit ts', () => {
    const files = emit(path, { emit: ['wgsl'] });
    expect(files.has(MODULE_FILE)).toBe(false);
    expect(JSON.parse(files.get(MANIFEST)!).options.runtimeImport).toBeNull();
  });
});

describe('generated module', () => {
  it('type-checks under strict settings with zero diagnostics for every model', () => {
    const modules = Object.fromEntries(MODELS.map((p, i) => [`m${i}`, emit(p).get(MODULE_FILE)!]));
    expect(modules.m0).toContain('export class LinearTransformer');
    expect(modules.m0).toMatch(/@param tokens \[B=1, T=16\] token ids/);
    expect(modules.m0).toContain("export type WeightName = 'embed.weight' | ");
    expect(modules.m0).toContain(`from '${RUNTIME}'`);
    expect(diagnostics(modules)).toEqual([]);
  });

  it('cannot be injected through names from a spec', () => {
    const m = JSON.parse(emit(MODELS[1]).get(MANIFEST)!) as Manifest;
    const evil = "x'); process.exit(1); /* */ `${1}` \\ \u2028";
    m.model = evil;
    m.weights = m.weights.map((w, i) => (i === 0 ? { ...w, name: evil } : w));
    m.states = m.states.map((s, i) => (i === 0 ? { ...s, name: `${evil}\n` } : s));
    const text = emitModule(m);
    expect(diagnostics({ evil: text })).toEqual([]);
    // Same top-level shape as any module, and no code but the generated calls.
    const file = new Project({ useInMemoryFileSystem: true }).createSourceFile('m.ts', text);
    expect(file.getStatements().map((s) => s.getKindName())).toEqual(['ImportDeclaration', 'TypeAliasDeclaration', 'VariableStatement', 'TypeAliasDeclaration', 'VariableStatement', 'VariableStatement', 'ClassDeclaration']);
    expect(file.getDescendantsOfKind(SyntaxKind.CallExpression).map((c) => c.getExpression().getText()).filter((t) => !t.startsWith('this.model.') && !t.startsWith('loom.'))).toEqual([]);
    // The weight name survives as data: a string literal equal to the original.
    expect(text).toContain(quoted(evil));
    expect(eval(quoted(evil))).toBe(evil);
  });

  it('sanitises class names', () => {
    expect(className('linear_transformer')).toBe('LinearTransformer');
    expect(className('3d-model')).toBe('Model3dModel');
    expect(className("a'; b")).toBe('AB');
    expect(className('__')).toBe('LoomModel');
    expect(className('weight_name')).toBe('WeightNameModel');
  });
});
