/**
 * fla / Hugging Face checkpoints on the adapter: for each config kind, `loom import` the config,
 * compile the spec, load a checkpoint synthesised in fla's names and torch layouts (BF16 for
 * LLaMA, sharded for RetNet), run a forward and compare the logits with the float64 reference on
 * the same mapped weights. Then `loom import` and `loom run --weights --ids --out` end to end.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../cli/main.ts';
import { importConfig } from '../../compiler/import/config.ts';
import { compileSource } from '../../compiler/pipeline.ts';
import { loadCheckpoint } from '../../runtime/fla-weights.ts';
import { deviceProfile } from '../../runtime/gpu.ts';
import { Rng } from '../../runtime/random.ts';
import { interpretGraph } from '../../runtime/reference/interpret.ts';
import { readSafetensors } from '../../runtime/safetensors.ts';
import { Session } from '../../runtime/session.ts';
import { expectClose } from '../helpers/compare.ts';
import { CONFIGS, synthesize, writeCheckpoint, writeSharded } from '../helpers/fla-checkpoint.ts';
import { flaForward } from '../helpers/fla-reference.ts';
import { gpu } from './gpu.ts';

/** Tolerance of a whole synthesised checkpoint's logits: 1.5e-6 measured (Gated DeltaNet), so 1e-5. */
const TOL = 1e-5;

const dir = mkdtempSync(join(tmpdir(), 'loom-fla-dev-'));
const [B, T] = [2, 7];

function ids(vocab: number): Int32Array {
  const rng = Rng.forName(5, 'fla-device-ids');
  return Int32Array.from({ length: B * T }, () => rng.int(vocab));
}

describe('imported fla/HF models run fla checkpoints on the adapter', () => {
  it.each(Object.keys(CONFIGS))('%s: logits match the float64 reference on the mapped weights', async (kind) => {
    const text = importConfig(JSON.stringify(CONFIGS[kind]), `${kind}.json`, `${kind}.loom`).text;
    // The recurrent schedule: its kernels compile fastest on lavapipe; the schedules are compared elsewhere.
    const r = compileSource(text, `${kind}.loom`, { batch: B, seq: T, schedule: { kind: 'recurrent' }, device: deviceProfile(await gpu()) });
    if (!r.ok) throw new Error(r.diagnostics.map((d) => d.message).join('\n'));
    const c = r.compiled;
    const bf16 = kind === 'llama';
    const ck = synthesize(kind, 11, bf16);
    const path = kind === 'retnet' ? writeSharded(join(dir, kind), ck) : join(dir, `${kind}.safetensors`);
    if (kind !== 'retnet') writeCheckpoint(path, ck, bf16 ? 'BF16' : 'F32');
    const w = loadCheckpoint(c.spec, c.graph.weights, path);
    const tokens = ids(c.spec.vocab);
    const session = await Session.create(await gpu(), c, w);
    const out = await session.forward(tokens);
    session.destroy();
    expectClose(`${kind} logits`, out.logits, interpretGraph(c.graph, w, tokens).outputs.logits, TOL);
  });
});

describe('loom import and loom run --weights --ids --out with an fla checkpoint', () => {
  it('writes logits [B, T, vocab] equal to fla semantics on the checkpoint', async () => {
    const config = join(dir, 'config.json');
    writeFileSync(config, JSON.stringify(CONFIGS.gla, null, 2));
    const spec = join(dir, 'gla.loom');
    let err = '';
    const io = { out: () => {}, err: (t: string) => (err += t) };
    expect(await main(['import', config, '-o', spec], io), err).toBe(0);
    expect(await main(['import', config, '-o', spec], io)).toBe(1);
    expect(err).toContain(`error LOOM6003: import: '${spec}' exists; use --force to overwrite it`);
    expect(await main(['import', config, '-o', spec, '--force'], io), err).toBe(0);
    const ck = synthesize('gla', 21);
    const weights = join(dir, 'model.safetensors');
    writeCheckpoint(weights, ck);
    const tokens = ids(256);
    const rows = Array.from({ length: B }, (_, b) => Array.from(tokens.slice(b * T, (b + 1) * T)));
    const idsPath = join(dir, 'ids.json');
    writeFileSync(idsPath, JSON.stringify(rows));
    const out = join(dir, 'logits.safetensors');
    expect(await main(['run', spec, '--weights', weights, '--ids', idsPath, '--out', out, '--schedule', 'recurrent'], io), err).toBe(0);
    const logits = readSafetensors(out).tensors.get('logits')!;
    expect(logits.shape).toEqual([B, T, 256]);
    expectClose('loom run logits vs fla', logits.data, flaForward('gla', ck, CONFIGS.gla as Record<string, number>, tokens, B, T), TOL);
    expect(readFileSync(spec, 'utf8')).toContain('decay     = vector(low_rank = 16, normalizer = 16, bias = true)');
  });
});
