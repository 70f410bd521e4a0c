/**
 * The new user's path, end to end: `npm run build` and `npm pack`, the tarball installed in a fresh
 * temporary project, the installed `loom compile --emit ts` run on a spec, a program written
 * against the generated module type-checked by tsc (strict, declarations checked too) and run
 * with plain `node` (no tsx, no TypeScript at run time). Its weights come the documented ways: seeded,
 * through a safetensors file, and from an fla checkpoint (a spec by the installed `loom import`).
 * The logits it prints must be finite and match the float64 reference of the same spec, weights
 * and tokens.
 *
 * Needs npm and its cache (filled by `npm ci`): the dependencies' tarballs come from the cache,
 * only their registry metadata from the network when not cached. Needs an adapter to run.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compileSource } from '../../compiler/pipeline.ts';
import { loadCheckpoint } from '../../runtime/fla-weights.ts';
import { interpretGraph } from '../../runtime/reference/interpret.ts';
import { seededWeights } from '../../runtime/weights.ts';
import { expectClose } from '../helpers/compare.ts';
import { CONFIGS, synthesize, writeCheckpoint } from '../helpers/fla-checkpoint.ts';

const ROOT = resolve('.');
const SPEC = join(ROOT, 'models', 'linear-transformer.loom');
const [B, T, SEED] = [2, 12, 7];
const WORK = mkdtempSync(join(tmpdir(), 'loom-pack-'));
const APP = join(WORK, 'app');

afterAll(() => rmSync(WORK, { recursive: true, force: true }));

/**
 * The environment for child npm and node processes: npm's variables from a surrounding `npm test`
 * (the repository's prefix, package fields, lifecycle) removed, except where the cache and the
 * registry are.
 */
function childEnv(): NodeJS.ProcessEnv {
  const keep = new Set(['npm_config_cache', 'npm_config_registry', 'npm_config_userconfig']);
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.toLowerCase().startsWith('npm_') || keep.has(k.toLowerCase())));
}

function run(cmd: string, args: string[], cwd: string): string {
  try {
    return execFileSync(cmd, args, { cwd, env: childEnv(), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024 });
  } catch (e) {
    const x = e as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')} (in ${cwd}) failed: ${x.message}\n${x.stdout ?? ''}\n${x.stderr ?? ''}`);
  }
}

/**
 * The program a user writes. A linear transformer: seeded weights saved as safetensors and opened
 * as a provider (read tensor by tensor while the model uploads them), forward, prefill, step. An
 * imported fla model: its checkpoint opened in fla's names, forward.
 */
const PROGRAM = `import { acquireGpu, openCheckpoint, openLoomWeights, saveWeights, seededWeights } from 'loom/runtime';
import { readSpecFile } from 'loom/compiler';
import { DIMS, LinearTransformer } from './lt/model.js';
import { LinearAttn } from './la/model.js';

const [ltSpec, seed, file, laSpec, checkpoint] = process.argv.slice(2);
const gpu = await acquireGpu();
const { decls } = readSpecFile(ltSpec);
saveWeights(file, decls, seededWeights(decls, Number(seed)));
const weights = openLoomWeights(decls, file);
const model = await LinearTransformer.create(gpu, weights);
weights.close();
const { B, T, vocab } = DIMS;
const tokens = Int32Array.from({ length: B * T }, (_, i) => (i * 37 + 11) % vocab);
const { logits } = await model.forward(tokens);
await model.prefill(tokens);
const next = Int32Array.from({ length: B }, (_, b) => (b * 53 + 5) % vocab);
const stepLogits = await model.step(next);
model.destroy();

const la = readSpecFile(laSpec);
const ck = openCheckpoint(la.spec, la.decls, checkpoint);
const fla = await LinearAttn.create(gpu, ck);
ck.close();
const flaLogits = (await fla.forward(tokens)).logits;
fla.destroy();
console.log('RESULT ' + JSON.stringify({ dims: DIMS, tokens: [...tokens], next: [...next], logits: [...logits], step: [...stepLogits], fla: [...flaLogits] }));
`;

/** Every declaration file checked too (skipLibCheck off): WebGPU's declarations need the DOM lib then. */
const TSCONFIG = {
  compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, skipLibCheck: false, types: ['node'], lib: ['ES2023', 'DOM'] },
  files: ['main.ts', 'lt/model.ts', 'la/model.ts'],
};

interface Result {
  dims: { B: number; T: number; vocab: number };
  tokens: number[];
  next: number[];
  logits: number[];
  step: number[];
  fla: number[];
}

describe('the packed package, installed in a fresh project', () => {
  it('compiles a model with --emit ts, type-checks a program against it and runs it with plain node', { timeout: 900_000 }, () => {
    // Pack: the build first (its errors surface here), then the tarball without scripts.
    run('npm', ['run', 'build'], ROOT);
    const packed = JSON.parse(run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', WORK], ROOT)) as { filename: string; files: { path: string }[] }[];
    const files = packed[0].files.map((f) => f.path);
    for (const f of ['bin/loom.js', 'dist/cli/main.js', 'dist/runtime/index.js', 'dist/runtime/index.d.ts', 'dist/compiler/index.js', 'dist/compiler/index.d.ts', 'models/linear-transformer.loom']) expect(files).toContain(f);
    expect(files.filter((f) => f.startsWith('test/') || f.includes('golden') || (f.endsWith('.ts') && !f.endsWith('.d.ts')))).toEqual([]);

    // Install the tarball and the user's own tools (the repository's TypeScript and Node types).
    const dev = (JSON.parse(readFileSync('package.json', 'utf8')) as { devDependencies: Record<string, string> }).devDependencies;
    execFileSync('mkdir', ['-p', APP]);
    writeFileSync(join(APP, 'package.json'), JSON.stringify({ name: 'loom-user', private: true, type: 'module' }, null, 2));
    run('npm', ['install', '--prefix', APP, '--prefer-offline', '--no-audit', '--no-fund', join(WORK, packed[0].filename), `typescript@${dev.typescript}`, `@types/node@${dev['@types/node']}`], APP);
    const modules = join(APP, 'node_modules');
    // Dawn's binary ships inside the webgpu package (no download at install); tsx is not installed.
    const platform = process.platform === 'darwin' ? 'darwin-universal' : `${process.platform}-${process.arch}`;
    expect(existsSync(join(modules, 'webgpu', 'dist', platform, 'dawn.node'))).toBe(true);
    expect(existsSync(join(modules, 'tsx'))).toBe(false);

    // The installed command, through npm's bin link.
    const loom = (...args: string[]) => run(join(modules, '.bin', 'loom'), args, APP);
    const dims = ['--emit', 'ts', '--batch', String(B), '--seq', String(T)];
    expect(loom('compile', SPEC, '-o', 'lt', ...dims)).toContain('model.ts');
    expect(readFileSync(join(APP, 'lt', 'model.ts'), 'utf8')).toContain("from 'loom/runtime'");
    // An fla checkpoint (LinearAttention, synthesised in fla's names and torch layouts) and its spec.
    execFileSync('mkdir', ['-p', join(APP, 'ckpt')]);
    writeFileSync(join(APP, 'ckpt', 'config.json'), JSON.stringify(CONFIGS.linear_attn));
    writeCheckpoint(join(APP, 'ckpt', 'model.safetensors'), synthesize('linear_attn', SEED));
    loom('import', 'ckpt/config.json', '-o', 'linear_attn.loom'); // the model is named after the file
    loom('compile', 'linear_attn.loom', '-o', 'la', ...dims);

    // Type-check and compile in place (model.js beside its kernels), then run with plain node.
    writeFileSync(join(APP, 'main.ts'), PROGRAM);
    writeFileSync(join(APP, 'tsconfig.json'), JSON.stringify(TSCONFIG, null, 2));
    run(process.execPath, [join(modules, 'typescript', 'bin', 'tsc'), '-p', '.'], APP);
    const out = run(process.execPath, ['main.js', SPEC, String(SEED), 'weights.safetensors', 'linear_attn.loom', 'ckpt/model.safetensors'], APP);
    const line = out.split('\n').find((l) => l.startsWith('RESULT '));
    expect(line, out).toBeDefined();
    const r = JSON.parse(line!.slice('RESULT '.length)) as Result;
    expect(r.dims).toEqual({ B, T, vocab: 256 });

    // The float64 reference over the same weights: forward over [B, T], and the step as the last
    // position of one forward pass over the T + 1 tokens of each sequence.
    const text = readFileSync(SPEC, 'utf8');
    const graph = (seq: number) => {
      const c = compileSource(text, SPEC, { batch: B, seq });
      if (!c.ok) throw new Error(c.diagnostics.map((d) => d.message).join('\n'));
      return c.compiled.graph;
    };
    const g = graph(T);
    const weights = seededWeights(g.weights, SEED);
    // f32 kernels against float64: rounding of 2^-24 = 6e-8 per operation, grown over 4 layers of
    // length-128..384 dot products and norms, measured 5.3e-7 (forward) and 4.9e-7 (step) here on
    // lavapipe; 5e-6 leaves a 10x margin for other summation orders and still fails on any wrong
    // weight, token or program, which give errors of order 1.
    expectClose('forward logits', r.logits, interpretGraph(g, weights, r.tokens).outputs.logits, 5e-6);
    const V = r.dims.vocab;
    const longer = Int32Array.from({ length: B * (T + 1) }, (_, i) => (i % (T + 1) < T ? r.tokens[Math.floor(i / (T + 1)) * T + (i % (T + 1))] : r.next[Math.floor(i / (T + 1))]));
    const full = interpretGraph(graph(T + 1), weights, longer).outputs.logits;
    const last = Float64Array.from({ length: B * V }, (_, i) => full[(Math.floor(i / V) * (T + 1) + T) * V + (i % V)]);
    expectClose('step logits', r.step, last, 5e-6);

    // The fla model over the checkpoint as Loom's own loader reads it (2 layers, dim 64: measured
    // 4.1e-7 on lavapipe; the same f32-rounding reasoning and tolerance as above).
    const laPath = join(APP, 'linear_attn.loom');
    const la = compileSource(readFileSync(laPath, 'utf8'), laPath, { batch: B, seq: T });
    if (!la.ok) throw new Error(la.diagnostics.map((d) => d.message).join('\n'));
    const laWeights = loadCheckpoint(la.compiled.spec, la.compiled.graph.weights, join(APP, 'ckpt', 'model.safetensors'));
    expectClose('fla checkpoint logits', r.fla, interpretGraph(la.compiled.graph, laWeights, r.tokens).outputs.logits, 5e-6);
  });
});
