/**
 * emitModule(manifest) -> `model.ts`: the typed TypeScript module of a compiled model, built
 * with ts-morph's AST API. It imports only Loom's runtime (through `options.runtimeImport`) and
 * loads the artifacts from its own directory. Names come from user specs, so every identifier is
 * sanitised and every name is written as an escaped string literal. Deterministic.
 */
import { IndentationText, NewLineKind, Project, QuoteKind, Scope, VariableDeclarationKind, Writers, type CodeBlockWriter } from 'ts-morph';
import type { Manifest } from './manifest.ts';

/** The namespace the runtime is imported as; PascalCase class names can never collide with it. */
const NS = 'loom';

/** A string literal with quotes, backslashes and every non-printable or non-ASCII char escaped. */
export function quoted(s: string): string {
  let out = "'";
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === "'" || ch === '\\') out += `\\${ch}`;
    else if (c >= 0x20 && c < 0x7f) out += ch;
    else out += c > 0xffff ? `\\u{${c.toString(16)}}` : `\\u${c.toString(16).padStart(4, '0')}`;
  }
  return `${out}'`;
}

/**
 * Names a class must not take: the module's own declarations and the globals it refers to (a class
 * `Promise` would change what `Promise<...>` means), plus the common standard globals.
 * test/device/injection.test.ts checks every capitalised identifier of a generated module is here.
 */
const RESERVED = new Set([
  'WeightName', 'StateName', 'WEIGHT_SHAPES', 'STATE_SHAPES', 'DIMS',
  'Promise', 'Float32Array', 'Int32Array', 'Uint32Array', 'Uint8Array', 'ArrayBuffer', 'Readonly', 'ReadonlyMap', 'Record', 'Partial', 'Required', 'Pick', 'Omit', 'URL',
  'Array', 'Object', 'Map', 'Set', 'String', 'Number', 'Boolean', 'Symbol', 'BigInt', 'Error', 'JSON', 'Math', 'Date', 'RegExp', 'Function', 'NaN', 'Infinity',
]);

/** `linear_transformer` -> `LinearTransformer`; anything but [A-Za-z0-9] separates words. */
export function className(model: string): string {
  const words = model.split(/[^A-Za-z0-9]+/).filter(Boolean);
  const name = words.map((w) => w[0].toUpperCase() + w.slice(1)).join('');
  if (!name) return 'LoomModel';
  if (/^[0-9]/.test(name)) return `Model${name}`;
  return RESERVED.has(name) ? `${name}Model` : name;
}

/** Text safe inside a JSDoc comment. */
function doc(s: string): string {
  return s.replace(/\*\//g, '*\\/').replace(/[\r\n]+/g, ' ');
}

function union(names: string[]): string {
  return names.length ? names.map(quoted).join(' | ') : 'never';
}

function shapesWriter(entries: { name: string; shape: number[] }[]) {
  const object = Writers.object(Object.fromEntries(entries.map((e) => [quoted(e.name), `[${e.shape.join(', ')}]`])));
  return (w: CodeBlockWriter) => {
    object(w);
    w.write(' as const');
  };
}

function addDeclarations(file: import('ts-morph').SourceFile, m: Manifest): void {
  const { B, T } = m.programs.forward.dims;
  file.addTypeAlias({ name: 'WeightName', isExported: true, type: union(m.weights.map((w) => w.name)), docs: [doc(`Names of the weights of ${m.model}.`)] });
  file.addVariableStatement({
    declarationKind: VariableDeclarationKind.Const,
    isExported: true,
    declarations: [{ name: 'WEIGHT_SHAPES', initializer: shapesWriter(m.weights) }],
    docs: ['Shape of every weight (row-major).'],
  });
  file.addTypeAlias({ name: 'StateName', isExported: true, type: union(m.states.map((s) => s.name)), docs: ['Names of the recurrent states the model carries.'] });
  file.addVariableStatement({
    declarationKind: VariableDeclarationKind.Const,
    isExported: true,
    declarations: [{ name: 'STATE_SHAPES', initializer: shapesWriter(m.states) }],
    docs: ['Shape of every recurrent state.'],
  });
  file.addVariableStatement({
    declarationKind: VariableDeclarationKind.Const,
    isExported: true,
    declarations: [{ name: 'DIMS', initializer: `{ B: ${B}, T: ${T}, vocab: ${m.vocab} } as const` }],
    docs: ['Batch size B and window T of the forward program, and the vocabulary size.'],
  });
}

function addClass(file: import('ts-morph').SourceFile, m: Manifest): void {
  const { B, T } = m.programs.forward.dims;
  const name = className(m.model);
  const bt = `[B=${B}, T=${T}]`;
  const v = `vocab=${m.vocab}`;
  file.addClass({
    name,
    isExported: true,
    docs: [doc(`The model \`${m.model}\` compiled by Loom from ${m.source}: a forward program over ${bt}${m.programs.step ? ` and a step program over [B=${B}, 1] sharing the weights` : ` and no step program (${m.noDecode}): step and prefill continuation throw LOOM4020`}.`)],
    ctors: [{ scope: Scope.Private, parameters: [{ name: 'model', type: `${NS}.Model`, isReadonly: true, scope: Scope.Private }] }],
    methods: [
      {
        name: 'create',
        isStatic: true,
        isAsync: true,
        parameters: [
          { name: 'gpu', type: `${NS}.Gpu` },
          { name: 'weights', type: `${NS}.ModelWeights<WeightName>` },
        ],
        returnType: `Promise<${name}>`,
        statements: [`const artifacts = ${NS}.loadArtifacts(new URL('.', import.meta.url));`, `return new ${name}(await ${NS}.Model.create(gpu, artifacts, weights));`],
        docs: [{ description: 'Loads the kernels beside this module, compiles their pipelines and uploads the weights.', tags: [{ tagName: 'param', text: 'gpu the device, from `acquireGpu()`' }, { tagName: 'param', text: 'weights every weight by name, shaped as in WEIGHT_SHAPES: an object, or the Map that seededWeights, loadWeights and loadCheckpoint of loom/runtime return' }] }],
      },
      method('forward', `Promise<${NS}.ForwardResult>`, 'One window from zero state (or `states`); leaves the carried state alone.', [
        ['tokens', 'Int32Array', `${bt} token ids`],
        ['states', `Readonly<Partial<Record<StateName, Float32Array>>>`, 'initial states (default zeros)', true],
      ], `logits [B=${B}, T=${T}, ${v}] and the final states`),
      method('prefill', 'Promise<Float32Array>', `Runs any number n >= 1 of tokens from the carried state and carries it on: windows of T=${T} through the forward program, then one window per binary digit of the rest (a window program of each power-of-two width, made on first use from the spec the artifacts name; without it, single steps).`, [['tokens', 'Int32Array', `[B=${B}, n] token ids`]], `logits [B=${B}, n, ${v}]`),
      method('step', 'Promise<Float32Array>', 'One token per sequence from the carried state; carries it on.', [['tokens', 'Int32Array', `[B=${B}] token ids`]], `logits [B=${B}, ${v}]`),
      { name: 'reset', returnType: 'void', statements: ['this.model.reset();'], docs: ['Sets the carried state to zeros.'] },
      { name: 'readState', isAsync: true, returnType: 'Promise<Record<StateName, Float32Array>>', statements: ['return (await this.model.readState()) as Record<StateName, Float32Array>;'], docs: ['A copy of the carried state (read back from the device), shapes as in STATE_SHAPES.'] },
      { name: 'writeState', returnType: 'void', parameters: [{ name: 'value', type: 'Readonly<Record<StateName, Float32Array>>' }], statements: ['this.model.writeState(value);'], docs: ['Replaces the carried state; every state with its exact shape.'] },
      { name: 'saveState', returnType: 'Promise<void>', parameters: [{ name: 'path', type: 'string' }], statements: ['return this.model.saveState(path);'], docs: ['Writes the carried state to a safetensors file (with the model name and a hash of its layout).'] },
      { name: 'loadState', returnType: 'void', parameters: [{ name: 'path', type: 'string' }], statements: ['this.model.loadState(path);'], docs: ['Restores a state file written by `saveState` of this model; another model\'s is refused (LOOM5011).'] },
      { name: 'fork', isAsync: true, returnType: `Promise<${name}>`, statements: [`return new ${name}(await this.model.fork());`], docs: ['An independent continuation from the carried state, sharing the pipelines and weights.'] },
      { name: 'destroy', returnType: 'void', statements: ['this.model.destroy();'], docs: ['Releases the GPU buffers.'] },
    ],
  });
}

function method(name: string, returnType: string, description: string, params: [string, string, string, boolean?][], returns: string) {
  return {
    name,
    returnType,
    parameters: params.map(([n, type, , optional]) => ({ name: n, type, hasQuestionToken: optional ?? false })),
    statements: [`return this.model.${name}(${params.map(([n]) => n).join(', ')});`],
    docs: [{ description: doc(description), tags: [...params.map(([n, , text]) => ({ tagName: 'param', text: doc(`${n} ${text}`) })), { tagName: 'returns', text: doc(returns) }] }],
  };
}

export function emitModule(m: Manifest): string {
  const project = new Project({
    useInMemoryFileSystem: true,
    manipulationSettings: { indentationText: IndentationText.TwoSpaces, newLineKind: NewLineKind.LineFeed, quoteKind: QuoteKind.Single, useTrailingCommas: true },
  });
  const source = m.source.replace(/[^\x20-\x7e]/g, '?');
  const file = project.createSourceFile('model.ts');
  file.addImportDeclaration({ namespaceImport: NS, moduleSpecifier: m.options.runtimeImport ?? 'loom/runtime' });
  file.insertStatements(0, `// Generated by \`loom compile --emit ts\` from ${source}. Do not edit: recompile instead.\n`);
  addDeclarations(file, m);
  addClass(file, m);
  file.formatText({ indentSize: 2, convertTabsToSpaces: true });
  return file.getFullText();
}
