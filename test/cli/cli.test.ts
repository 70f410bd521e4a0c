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
import { compileInMemory } from '../../cli/open-model.ts';
import { compileSource } from '../../compiler/pipeline.ts';
import { acquireGpu, deviceProfile } from '../../runtime/gpu.ts';
import { Model } from '../../runtime/model.ts';
import { interpretGraph } from '../../runtime/reference/interpret.ts';
import { readSafetensors } from '../../runtime/safetensors.ts';
import { saveWeights, seededWeights } from '../../runtime/weights.ts';
import { expectClose } from '../helpers/compare.ts';

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
  it('prints usage and rejects unknown commands and bad options with LOOM6001 (exit 2)', async () => {
    expect((await loom('--help')).out).toContain('compile [options] <spec>');
    const bad = await loom('frobnicate');
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/error LOOM6001: unknown command 'frobnicate'/);
    const seq = await loom('run', 'models/linear-transformer.loom', '--seq', '0');
    expect([seq.code, seq.err]).toEqual([2, expect.stringMatching(/--seq must be a positive integer, got '0'/)]);
    expect((await loom('run', 'models/linear-transformer.loom', '--schedule', 'fastest')).err).toMatch(/'fastest' is not a schedule/);
    expect((await loom('run', 'models/linear-transformer.loom', '--bogus')).err).toMatch(/LOOM6001: run: unknown option '--bogus'/);
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
    const { forward, step } = manifest.programs;
    expect(forward.schedules.map((s: { schedule: string }) => s.schedule)).toEqual(['parallel', 'chunkwise', 'chunkwise']);
    expect(readdirSync(out).filter((f) => f.endsWith('.wgsl')).length).toBe(forward.kernels.length);
    expect(readdirSync(join(out, 'step')).length).toBe(step.kernels.length);
    for (const k of [...forward.kernels, ...step.kernels]) expect(readFileSync(join(out, k.file), 'utf8')).toContain(`// ${k.name}:`);
    // Recompiling over our own output is fine, and stale kernels of the earlier compile go away.
    expect((await loom('compile', 'models/fast-weights.loom', '-o', out, '--seq', '40', '--schedule', 'recurrent')).code).toBe(0);
    const after = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
    expect(readdirSync(out).filter((f) => f.endsWith('.wgsl')).sort()).toEqual(after.programs.forward.kernels.map((k: { file: string }) => k.file).sort());
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

  it('run --weights reads a .safetensors file; a mis-shaped tensor is named', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'loom-weights-'));
    const spec = 'models/fast-weights.loom';
    const r = compileSource(readFileSync(spec, 'utf8'), spec, { batch: 1, seq: 8 });
    if (!r.ok) throw new Error('compile failed');
    const decls = r.compiled.graph.weights;
    const file = join(dir, 'w.safetensors');
    saveWeights(file, decls, seededWeights(decls, 42));
    const ok = await loom('run', spec, '--seq', '8', '--weights', file, '--check', '--json');
    expect(ok.code, ok.err).toBe(0);
    expect(JSON.parse(ok.out).relErr).toBeLessThan(1e-4);
    const bad = new Map(seededWeights(decls, 42));
    const shapes = decls.map((d) => (d.name === 'norm_f.weight' ? { ...d, shape: [5] } : d));
    bad.set('norm_f.weight', new Float32Array(5));
    saveWeights(file, shapes, bad);
    const e = await loom('run', spec, '--seq', '8', '--weights', file);
    expect(e.code).toBe(1);
    expect(e.err).toMatch(/LOOM5003: tensor 'norm_f\.weight' has shape \[5\]/);
  });

  it('explain shows every candidate schedule with its estimate, and the IR after each pass', async () => {
    const r = await loom('explain', 'models/linear-transformer.loom', '--seq', '300', '--ir');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/L0\.attn: \w+.* - auto: lowest estimate/);
    expect(r.out).toMatch(/chunkwise\(64\)\s+est\. [\d.e+-]+ ms/);
    expect(r.out).toContain('--- after fuse ---');
  });
});

describe('compile time apart', () => {
  it('run and generate report the pipelines compiled apart from the forward pass, prefill and decode', async () => {
    const spec = 'models/gla.loom';
    const r = await loom('run', spec, '--seq', '16');
    expect(r.code, r.err).toBe(0);
    const kernels = Number(/forward +[\d.]+ ms, (\d+) kernels/.exec(r.out)![1]);
    expect(r.out).toMatch(new RegExp(`\\ncompile +${kernels} pipelines in \\d+\\.\\d\\d s\\nforward `));
    // generate: the forward and step programs, and the window programs its prompt needs (16 + 4 + 2 + 1).
    const device = deviceProfile(await acquireGpu());
    const text = readFileSync(spec, 'utf8');
    const { pair, artifacts } = compileInMemory(text, spec, { batch: 1, seq: 16, device });
    const window = (w: number) => {
      const c = compileSource(text, spec, { batch: 1, seq: w, device, mode: 'prefill' });
      if (!c.ok) throw new Error(`window ${w}`);
      return c.compiled.program.steps.length;
    };
    const base = pair.forward.program.steps.length + pair.step!.program.steps.length;
    for (const [prompt, widths] of [['exactly sixteen!', []], ['Once upon a time, there', [4, 2]]] as const) {
      const g = await loom('generate', spec, '--seq', '16', '--prompt', prompt, '--max-tokens', '2', '--temperature', '0');
      expect(g.code, g.err).toBe(0);
      const pipelines = base + widths.reduce((a, w) => a + window(w), 0);
      expect(g.err).toMatch(new RegExp(`\\ncompile +${pipelines} pipelines in \\d+\\.\\d\\d s\\nprompt +${prompt.length} tokens \\(bytes\\)\\nprefill +${prompt.length} tokens`));
    }
    // Model.prepare makes a prompt's window programs once: the prefill then compiles nothing.
    const model = await Model.create(await acquireGpu(), artifacts, seededWeights(pair.forward.graph.weights, 0));
    try {
      expect(await model.prepare(23)).toBe(window(4) + window(2));
      expect([await model.prepare(23), await model.prepare(16), await model.prepare(22)]).toEqual([0, 0, 0]);
    } finally {
      model.destroy();
    }
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

  it('run --ids/--out: logits bitwise identical across processes and equal to the reference', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'loom-ids-'));
    const ids = join(dir, 'ids.json');
    writeFileSync(ids, JSON.stringify([[72, 101, 108, 108, 111], [119, 111, 114, 108, 100]]));
    const outs = [join(dir, 'a.safetensors'), join(dir, 'b.safetensors')];
    for (const out of outs) {
      const r = await loomBin('run', 'models/fast-weights.loom', '--ids', ids, '--out', out, '--check', '--json');
      expect(r.code, r.err).toBe(0);
      expect(JSON.parse(r.out)).toMatchObject({ batch: 2, seq: 5 });
    }
    expect(readFileSync(outs[0]).equals(readFileSync(outs[1]))).toBe(true);
    const logits = readSafetensors(outs[0]).tensors.get('logits')!;
    expect(logits.shape).toEqual([2, 5, 256]);
    const c = compileSource(readFileSync('models/fast-weights.loom', 'utf8'), 'f', { batch: 2, seq: 5 });
    if (!c.ok) throw new Error('compile');
    const ref = interpretGraph(c.compiled.graph, seededWeights(c.compiled.graph.weights, 0), Int32Array.from([72, 101, 108, 108, 111, 119, 111, 114, 108, 100]));
    expectClose('logits from --ids', logits.data, ref.outputs.logits);
    writeFileSync(ids, '[[1, 2], [3]]');
    expect((await loom('run', 'models/fast-weights.loom', '--ids', ids)).err).toMatch(/sequence 1 has 1 ids, sequence 0 has 2/);
    writeFileSync(ids, '[[1, 999]]');
    expect((await loom('run', 'models/fast-weights.loom', '--ids', ids)).err).toMatch(/token id 999 at \[0, 1\] is outside the vocabulary/);
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
