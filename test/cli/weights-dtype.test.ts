/**
 * `--weights-dtype f16` on the command line, in process: explain marks the matmuls, compile writes
 * and records f16 artifacts, run --check checks them against the reference over the f16-rounded
 * weights and reports the loss against the f32 weights; `auto` (the default) stores f16 for a
 * 16-bit checkpoint on an adapter with shader-f16 (lavapipe has it); a bad value is a usage error.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../cli/main.ts';
import { compileSource } from '../../compiler/pipeline.ts';
import { writeSafetensors } from '../../runtime/safetensors.ts';
import { saveWeights, seededWeights } from '../../runtime/weights.ts';

async function loom(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (t) => (out += t), err: (t) => (err += t) });
  return { code, out, err };
}

const tmp = mkdtempSync(join(tmpdir(), 'loom-f16-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
process.env.LOOM_CALIBRATE = '0';

describe('--weights-dtype', () => {
  it('refuses a value other than auto, f32 or f16', async () => {
    const r = await loom('explain', 'models/gla.loom', '--weights-dtype', 'bf16');
    expect(r.code).toBe(2); // a usage error
    expect(r.err).toContain("--weights-dtype must be auto, f32 or f16, got 'bf16'");
  });

  it('auto (the default): f16 for a BF16 checkpoint on lavapipe (shader-f16), f32 for an F32 one or when asked', async () => {
    const r0 = compileSource(readFileSync('models/gla.loom', 'utf8'), 'models/gla.loom', { batch: 1, seq: 16 });
    if (!r0.ok) throw new Error('models/gla.loom does not compile');
    const decls = r0.compiled.graph.weights;
    const w = seededWeights(decls, 4);
    const bf16 = join(tmp, 'gla-bf16.safetensors');
    const bits = (x: Float32Array) => Uint16Array.from(new Uint32Array(Float32Array.from(x).buffer), (b) => (b + 0x7fff + ((b >>> 16) & 1)) >>> 16);
    writeSafetensors(bf16, Object.fromEntries(decls.map((d) => [d.name, { dtype: 'BF16' as const, shape: [...d.shape], data: bits(w.get(d.name)!) }])));
    const f32 = join(tmp, 'gla-f32.safetensors');
    saveWeights(f32, decls, w);
    const run = async (...extra: string[]) => {
      const r = await loom('run', 'models/gla.loom', '--seq', '16', '--check', '--json', ...extra);
      expect(r.code, r.err).toBe(0);
      return JSON.parse(r.out);
    };
    const auto = await run('--weights', bf16);
    expect(auto.weights).toBe('f16');
    expect(auto.relErr).toBeLessThan(1e-5); // against the reference over the weights as stored
    expect((await run('--weights', bf16, '--weights-dtype', 'f32')).weights).toBeUndefined();
    expect((await run('--weights', f32)).weights).toBeUndefined();
  });

  it('explain: f16 per matmul, the tied head kept f32 with the reason, the weight bytes', async () => {
    const r = await loom('explain', 'models/gla.loom', '--seq', '16', '--weights-dtype', 'f16');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/L0\.attn\.q: matmul \w+ (\[[^\]]*\] )?\[f16 weights\]/);
    expect(r.out).toMatch(/lm_head: matmul \w+ (\[[^\]]*\] )?\[f32 weights: embed\.weight is also read by embed\]/);
    expect(r.out).toMatch(/weights: 20 of 28 stored f16, 0\.29 MiB \(all f32: 0\.52 MiB\); the device must have shader-f16/);
    expect((await loom('explain', 'models/gla.loom', '--seq', '16')).out).not.toContain('f16');
  });

  it('compile records it; run --check passes over the f16-rounded weights and states the f16 loss', async () => {
    const dir = join(tmp, 'gla');
    const c = await loom('compile', 'models/gla.loom', '--seq', '16', '-o', dir, '--weights-dtype', 'f16');
    expect(c.code).toBe(0);
    expect(c.out).toContain('note: 20 of 28 weights stored as f16');
    const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
    expect(m.options.weights).toBe('f16');
    // register4x4 (lavapipe's choice) reads the f16 weights four at a time packed in u32s.
    expect(readFileSync(join(dir, 'L0.attn.q.wgsl'), 'utf8')).toMatch(/var<storage, read> w_0: array<vec2<u32>>;[^]*unpackW\(w_0\[/);
    const r = await loom('run', 'models/gla.loom', '--seq', '16', '--check', '--json', '--weights-dtype', 'f16');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.weights).toBe('f16');
    expect(j.relErr).toBeLessThan(1e-5);
    expect(j.relErrF32).toBeGreaterThan(1e-4);
    expect(j.relErrF32).toBeLessThan(2e-3);
  });
});
