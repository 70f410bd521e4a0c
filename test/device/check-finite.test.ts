/**
 * `loom run --check-finite`: with weights that overflow float32 in one layer the run stops at the
 * first kernel whose output holds Inf or NaN and names its layer, kernel and first bad index
 * (LOOM5006, exit 1); with sane weights it reports every output finite. The weights go through a
 * sharded checkpoint (`model.safetensors.index.json` over two files), as fla checkpoints ship.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../cli/main.ts';
import { compileSource } from '../../compiler/pipeline.ts';
import { findNonFinite, firstNonFinite } from '../../runtime/check-finite.ts';
import { Program } from '../../runtime/program.ts';
import { writeSafetensors, type WriteTensor } from '../../runtime/safetensors.ts';
import { seededWeights } from '../../runtime/weights.ts';
import { gpu } from './gpu.ts';

const dir = mkdtempSync(join(tmpdir(), 'loom-finite-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SPEC = `model small {
  vocab = 32
  dim = 16
  heads = 2
  layers = 2
  mixer attn = linear_attn {}
  block {
    x = x + attn(rmsnorm(x))
    x = x + swiglu(rmsnorm(x), hidden = 32)
  }
}
`;
const specPath = join(dir, 'small.loom');
writeFileSync(specPath, SPEC);

function compiled() {
  const r = compileSource(SPEC, specPath, { batch: 1, seq: 8 });
  if (!r.ok) throw new Error(r.diagnostics.map((d) => d.message).join('\n'));
  return r.compiled;
}

/** Seeded weights, `blowUp` filled with 3e38 (finite, but any sum of a few such terms overflows), as two shards and an index. */
function shardedWeights(blowUp?: string): string {
  const c = compiled();
  const weights = seededWeights(c.graph.weights, 5);
  if (blowUp) weights.get(blowUp)!.fill(3e38);
  const shards: Record<string, Record<string, WriteTensor>> = { 'model-00001-of-00002.safetensors': {}, 'model-00002-of-00002.safetensors': {} };
  const map: Record<string, string> = {};
  for (const w of c.graph.weights) {
    const file = w.name.startsWith('layers.1.') || w.name === 'norm_f.weight' ? 'model-00002-of-00002.safetensors' : 'model-00001-of-00002.safetensors';
    shards[file][w.name] = { dtype: 'F32', shape: [...w.shape], data: weights.get(w.name)! };
    map[w.name] = file;
  }
  const sub = mkdtempSync(join(dir, 'ckpt-'));
  for (const [file, tensors] of Object.entries(shards)) writeSafetensors(join(sub, file), tensors);
  const index = join(sub, 'model.safetensors.index.json');
  writeFileSync(index, JSON.stringify({ metadata: {}, weight_map: map }));
  return index;
}

async function loom(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (t) => (out += t), err: (t) => (err += t) });
  return { code, out, err };
}

describe('loom run --check-finite', () => {
  it('stops at the first kernel with Inf, naming layer 1, kernel L1.mlp0.act and the index', async () => {
    // The up projection is the second weight of the fused SwiGLU kernel L1.mlp0.act.
    const index = shardedWeights('layers.1.mlp0.up.weight');
    const r = await loom('run', specPath, '--seq', '8', '--weights', index, '--check-finite');
    expect(r.code, r.err).toBe(1);
    expect(r.err).toMatch(/error LOOM5006: layer 1: kernel L1\.mlp0\.act \(\d+ of \d+\) wrote (NaN|-?Infinity) to 'L1\.mlp0\.act' at index \d+, the first non-finite value of the run \(\d+ of 256 values in that buffer are NaN or Inf\)/);
    expect(r.out).toBe('');
  });

  it('reports every output finite for sane weights, in text and JSON', async () => {
    const index = shardedWeights();
    const text = await loom('run', specPath, '--seq', '8', '--weights', index, '--check-finite');
    expect(text.code, text.err).toBe(0);
    expect(text.out).toMatch(/finite {4}every output of the \d+ kernels is finite/);
    const json = await loom('run', specPath, '--seq', '8', '--weights', index, '--check-finite', '--json');
    expect(JSON.parse(json.out)).toMatchObject({ finite: true, model: 'small' });
  });

  it('the first bad kernel in program order agrees with reading every buffer after a full run', async () => {
    const c = compiled();
    const weights = seededWeights(c.graph.weights, 5);
    weights.get('layers.0.attn.v.weight')!.fill(3e38);
    // Every intermediate in its own buffer, so that all of them can be read after the full run.
    const program = await Program.create(await gpu(), c.program, new Map(), { keepActivations: true });
    try {
      program.write('tokens', Int32Array.from({ length: 8 }, (_, i) => (i * 7) % 32));
      for (const w of c.graph.weights) program.write(w.name, weights.get(w.name)!);
      for (const b of c.program.buffers) if (b.role === 'state_in') program.write(b.name, new Float32Array(b.elements));
      const found = await findNonFinite(program);
      // v is the third output of the merged q/k/v kernel, which is named after q.
      expect(found).toMatchObject({ kernel: 'L0.attn.q', layer: 0, buffer: 'L0.attn.v' });
      // Independent check: after one whole run, no kernel before it wrote a non-finite value, and it did.
      await program.run();
      const steps = c.program.steps;
      const outputs = (i: number) => steps[i].kernel.bindings.flatMap((b, j) => (b.access !== 'read' ? [steps[i].args[j]] : []));
      const before = await program.readMany(steps.slice(0, found!.step).flatMap((_, i) => outputs(i)));
      for (const [name, data] of Object.entries(before)) expect(firstNonFinite(data), name).toBe(-1);
      const at = (await program.read(found!.buffer)) as Float32Array;
      expect(firstNonFinite(at)).toBe(found!.index);
    } finally {
      program.destroy();
    }
  });
});

it('loom run --help lists --check-finite', async () => {
  let out = '';
  expect(await main(['run', '--help'], { out: (t) => (out += t), err: () => undefined })).toBe(0);
  expect(out).toMatch(/--check-finite +run kernel by kernel/);
});
