/**
 * `loom op` round trips: inputs written with the project's safetensors writer, the CLI run, the
 * output compared with the float64 reference.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../cli/main.ts';
import { FLA_OPS, opKnobs, opInputs, type OpDims } from '../../compiler/mixers/linear_attn/ops.ts';
import { Rng } from '../../runtime/random.ts';
import { linearAttnRef } from '../../runtime/reference/linear-attn.ts';
import { readSafetensors, writeSafetensors, type WriteTensor } from '../../runtime/safetensors.ts';
import { expectClose } from '../helpers/compare.ts';

const dir = mkdtempSync(join(tmpdir(), 'loom-op-'));

async function loom(...argv: string[]) {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (t) => (out += t), err: (t) => (err += t) });
  return { code, out, err };
}

/** Random fla-layout inputs: unit-norm keys for the delta rule, log-gates <= 0, beta in (0, 1). */
function inputs(name: string, d: OpDims, seed: number, withState: boolean): Record<string, WriteTensor> {
  const rng = new Rng(seed);
  const { B, T, H, K, V } = d;
  const t = (shape: number[], f: () => number): WriteTensor => ({ dtype: 'F32', shape, data: Float32Array.from({ length: shape.reduce((a, b) => a * b) }, f) });
  const k = t([B, T, H, K], () => rng.normal());
  if (FLA_OPS[name].update === 'delta') {
    const a = k.data as Float32Array;
    for (let r = 0; r < a.length; r += K) {
      const n = Math.hypot(...a.subarray(r, r + K));
      for (let i = r; i < r + K; i++) a[i] /= n;
    }
  }
  const out: Record<string, WriteTensor> = { q: t([B, T, H, K], () => rng.normal()), k, v: t([B, T, H, V], () => rng.normal()) };
  const logsig = () => -Math.log1p(Math.exp(-(rng.normal() + 2)));
  for (const x of opInputs(FLA_OPS[name])) {
    if (x === 'g') out.g = t([B, T, H], logsig);
    if (x === 'gk') out.gk = t([B, T, H, K], logsig);
    if (x === 'beta') out.beta = t([B, T, H], () => 1 / (1 + Math.exp(-rng.normal())));
  }
  if (withState) out.initial_state = t([B, H, K, V], () => rng.normal() * 0.3);
  return out;
}

// Small heads: each op and schedule is a new pipeline, and lavapipe compiles the larger mixer
// kernels slowly; the kernel suites cover K, V up to 64.
const dims: OpDims = { B: 2, T: 20, H: 2, K: 8, V: 8 };
const SCHEDULES = ['recurrent', 'chunkwise(16)', 'parallel'];

// based and rebased (feature maps, no initial_state) have their own suite: op-feature.test.ts.
describe.each(Object.keys(FLA_OPS).filter((n) => !FLA_OPS[n].feature))('loom op %s', (name) => {
  it.each(SCHEDULES)('--schedule %s matches the reference (with initial state)', async (schedule) => {
    const data = inputs(name, dims, 7, true);
    const fin = join(dir, `${name}-in.safetensors`);
    const fout = join(dir, `${name}-${schedule}-out.safetensors`);
    writeSafetensors(fin, data);
    const r = await loom('op', name, '--in', fin, '--out', fout, '--schedule', schedule);
    if (r.code !== 0) {
      // A schedule the op does not offer is refused before any dispatch, with the reason.
      expect(r.err).toMatch(/error LOOM4003: layer 0 \(\w+\) has no \w+ schedule: \w+: \S.{10,}/);
      return;
    }
    const out = readSafetensors(fout).tensors;
    const knobs = opKnobs(FLA_OPS[name], dims, { normalize: false });
    const ref = linearAttnRef({
      ...dims,
      q: data.q.data,
      k: data.k.data,
      v: data.v.data,
      s0: data.initial_state.data,
      feature: 'identity',
      normalize: false,
      scale: knobs.scale,
      eps: knobs.eps,
      decay: knobs.decay,
      update: knobs.update,
      g: (data.g ?? data.gk)?.data,
      beta: data.beta?.data,
    });
    expect(out.get('o')!.shape).toEqual([2, 20, 2, 8]);
    expectClose(`${name} ${schedule} o`, out.get('o')!.data, ref.o);
    expectClose(`${name} ${schedule} final_state`, out.get('final_state')!.data, ref.S);
  });
});

describe('loom op input checks', () => {
  it('names missing, mis-shaped and unexpected tensors, and unknown ops', async () => {
    const f = join(dir, 'bad.safetensors');
    const data = inputs('simple_gla', dims, 1, false);
    writeSafetensors(f, { q: data.q, k: data.k, v: data.v });
    const missing = await loom('op', 'simple_gla', '--in', f, '--out', join(dir, 'x.safetensors'));
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/missing tensor g \[2, 20, 2\]/);
    writeSafetensors(f, { ...data, g: { ...data.g, shape: [2, 20, 2, 1] } });
    expect((await loom('op', 'simple_gla', '--in', f, '--out', join(dir, 'x.safetensors'))).err).toMatch(/tensor g has shape \[2, 20, 2, 1\], expected \[2, 20, 2\]/);
    writeSafetensors(f, { ...data, beta: data.g });
    expect((await loom('op', 'simple_gla', '--in', f, '--out', join(dir, 'x.safetensors'))).err).toMatch(/tensor beta is not read by op simple_gla/);
    expect((await loom('op', 'simple_glaa', '--in', f, '--out', 'x')).err).toMatch(/unknown op 'simple_glaa', did you mean 'simple_gla'\?/);
    expect((await loom('op', 'gla', '--in', f, '--out', 'x', '--normalize')).err).toMatch(/--normalize is only defined for linear_attn/);
  });
  it('--repeat N --json prints one object with the schedule and the median time', async () => {
    const f = join(dir, 'la.safetensors');
    writeSafetensors(f, inputs('linear_attn', dims, 3, false));
    const r = await loom('op', 'linear_attn', '--in', f, '--out', join(dir, 'la-out.safetensors'), '--normalize', '--chunk', '8', '--repeat', '5', '--json');
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out);
    expect(j).toMatchObject({ op: 'linear_attn', schedule: 'chunkwise(8)', repeat: 5, T: 20 });
    expect(j.ms).toBeGreaterThan(0);
  });
});
