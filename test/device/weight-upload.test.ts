/**
 * Weights uploaded tensor by tensor from a checkpoint file (WeightProvider) on the adapter, against
 * the same weights read whole into a Map first: Model.create and Session.create give identical
 * logits (the same values reach the same buffers, so the comparison is exact), with f32 and with
 * f16 weight buffers, from a Loom-named BF16 file and from an fla-named BF16 checkpoint whose
 * Linear weights are transposed on read. Each tensor is read exactly once, and the progress
 * callbacks count the pipelines and the bytes the device stores. A value f16 cannot hold stops
 * the upload with LOOM5001 and frees what was allocated.
 */
import { readFileSync } from 'node:fs';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compileInMemory } from '../../cli/open-model.ts';
import { importConfig } from '../../compiler/import/config.ts';
import { compileSource } from '../../compiler/pipeline.ts';
import { LoomError } from '../../grammar/diagnostics.ts';
import { loadCheckpoint, openCheckpoint } from '../../runtime/fla-weights.ts';
import { deviceProfile } from '../../runtime/gpu.ts';
import { Model } from '../../runtime/model.ts';
import { bufferBytes, liveGpuBuffers } from '../../runtime/program.ts';
import { Rng } from '../../runtime/random.ts';
import { writeSafetensors } from '../../runtime/safetensors.ts';
import { Session } from '../../runtime/session.ts';
import { loadWeights, openLoomWeights, seededWeights, type WeightProvider } from '../../runtime/weights.ts';
import { CONFIGS, synthesize, writeCheckpoint } from '../helpers/fla-checkpoint.ts';
import { gpu } from './gpu.ts';

const dir = fs.mkdtempSync(join(os.tmpdir(), 'loom-upload-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const bf16Of = (x: Float32Array) => Uint16Array.from(new Uint32Array(Float32Array.from(x).buffer), (b) => (b + 0x7fff + ((b >>> 16) & 1)) >>> 16);

/** `p` with every read recorded. */
function recorded(p: WeightProvider): { p: WeightProvider; reads: string[] } {
  const reads: string[] = [];
  return { p: { ...p, read: (name, as) => (reads.push(name), p.read(name, as)) }, reads };
}

describe('Model.create from a provider', () => {
  it.each(['f32', 'f16'] as const)('models/gla.loom, BF16 file, %s weight buffers: the same logits as the Map path', async (dtype) => {
    const g = await gpu();
    const path = 'models/gla.loom';
    const T = 8;
    const { pair, artifacts } = compileInMemory(readFileSync(path, 'utf8'), path, { batch: 1, seq: T, device: deviceProfile(g), ...(dtype === 'f16' ? { weights: 'f16' as const } : {}) });
    const decls = pair.forward.graph.weights;
    const file = join(dir, `gla-${dtype}.safetensors`);
    const seeded = seededWeights(decls, 3);
    writeSafetensors(file, Object.fromEntries(decls.map((d) => [d.name, { dtype: 'BF16' as const, shape: [...d.shape], data: bf16Of(seeded.get(d.name)!) }])));
    const tokens = Int32Array.from({ length: T + 3 }, (_, i) => (i * 37 + 5) % artifacts.vocab);

    const fromMap = await Model.create(g, artifacts, loadWeights(decls, file));
    const want = await fromMap.prefill(tokens);
    fromMap.destroy();

    const { p, reads } = recorded(openLoomWeights(decls, file));
    const compiled: [number, number][] = [];
    const loaded: [number, number][] = [];
    const model = await Model.create(g, artifacts, p, { onCompile: (d, t) => compiled.push([d, t]), onLoad: (d, t) => loaded.push([d, t]) });
    p.close();
    try {
      expect(Array.from(await model.prefill(tokens))).toEqual(Array.from(want));
      expect([...reads].sort()).toEqual(decls.map((d) => d.name).sort()); // each tensor read once
      const steps = pair.forward.program.steps.length + pair.step!.program.steps.length;
      expect(compiled[0]).toEqual([0, steps]);
      expect(compiled[compiled.length - 1]).toEqual([steps, steps]);
      const bytes = pair.forward.program.buffers.filter((b) => b.role === 'weight').reduce((a, b) => a + b.elements * (b.elem === 'f16' ? 2 : 4), 0);
      expect(loaded[0]).toEqual([0, bytes]);
      expect(loaded[loaded.length - 1]).toEqual([bytes, bytes]);
      if (dtype === 'f16') expect(pair.forward.program.buffers.some((b) => b.elem === 'f16' && bufferBytes(b) > 0)).toBe(true);
    } finally {
      model.destroy();
    }
  });
});

describe('Session.create from an fla checkpoint provider (transposed on read)', () => {
  it.each(['f32', 'f16'] as const)('gla, BF16, %s weight buffers: the same logits as loadCheckpoint', async (dtype) => {
    const g = await gpu();
    const text = importConfig(JSON.stringify(CONFIGS.gla), 'gla.json', 'gla.loom').text;
    const r = compileSource(text, 'gla.loom', { batch: 2, seq: 5, schedule: { kind: 'recurrent' }, device: deviceProfile(g), ...(dtype === 'f16' ? { weights: 'f16' as const } : {}) });
    if (!r.ok) throw new Error(r.diagnostics.map((d) => d.message).join('\n'));
    const c = r.compiled;
    const file = join(dir, `fla-gla-${dtype}.safetensors`);
    writeCheckpoint(file, synthesize('gla', 17, true), 'BF16');
    const tokens = Int32Array.from({ length: 10 }, (_, i) => Rng.forName(2, 'ids').int(256) ^ i);

    const map = await Session.create(g, c, loadCheckpoint(c.spec, c.graph.weights, file));
    const want = (await map.forward(tokens)).logits;
    map.destroy();

    const { p, reads } = recorded(openCheckpoint(c.spec, c.graph.weights, file));
    const session = await Session.create(g, c, p);
    p.close();
    try {
      expect(Array.from((await session.forward(tokens)).logits)).toEqual(Array.from(want));
      expect(reads.length).toBe(c.graph.weights.length);
    } finally {
      session.destroy();
    }
  });

  it('a BF16 value beyond f16 range in an f16 weight is refused mid-upload (LOOM5001), leaving no GPU buffer behind', async () => {
    const g = await gpu();
    const text = importConfig(JSON.stringify(CONFIGS.gla), 'gla.json', 'gla.loom').text;
    const r = compileSource(text, 'gla.loom', { batch: 1, seq: 3, schedule: { kind: 'recurrent' }, device: deviceProfile(g), weights: 'f16' });
    if (!r.ok) throw new Error(r.diagnostics.map((d) => d.message).join('\n'));
    const c = r.compiled;
    const ck = synthesize('gla', 23, true);
    ck.get('model.layers.1.mlp.down_proj.weight')!.data[5] = 70144; // a bf16 value; f16's largest is 65504
    const file = join(dir, 'fla-gla-big.safetensors');
    writeCheckpoint(file, ck, 'BF16');
    const before = liveGpuBuffers();
    const p = openCheckpoint(c.spec, c.graph.weights, file);
    const e = await Session.create(g, c, p).then(() => null, (err: unknown) => err as LoomError);
    p.close();
    expect(e).toBeInstanceOf(LoomError);
    expect(e!.diagnostics[0].code).toBe(5001);
    expect(e!.message).toContain(`${file}: tensor 'model.layers.1.mlp.down_proj.weight': value 70144 at index 5 is beyond f16's range`);
    expect(liveGpuBuffers()).toBe(before);
  });
});
