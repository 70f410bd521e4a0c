/**
 * `loom op dplr_delta_rule` and `loom op kda` round trips: fla-layout inputs written with the
 * project's safetensors writer, the CLI run, o and final_state compared with the float64 recurrence
 * (runtime/reference/dplr.ts); and the located errors for wrong tensors.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../cli/main.ts';
import { Rng } from '../../runtime/random.ts';
import { dplrRef, kdaRef } from '../../runtime/reference/dplr.ts';
import { readSafetensors, writeSafetensors, type WriteTensor } from '../../runtime/safetensors.ts';
import { expectClose } from '../helpers/compare.ts';

const dir = mkdtempSync(join(tmpdir(), 'loom-op-dplr-'));
const D = { B: 2, T: 20, H: 2, K: 8, V: 8 };
/** f32 kernels against float64 (test/device/dplr.test.ts measures up to 7.5e-7 at larger sizes). */
const TOL = 1e-5;

async function loom(...argv: string[]) {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (t) => (out += t), err: (t) => (err += t) });
  return { code, out, err };
}

/** Random inputs: unit a and b = -a * r (dplr), unit keys and beta in (0, 1) (kda), log-gates < 0. */
function inputs(op: 'dplr_delta_rule' | 'kda', seed: number): Record<string, WriteTensor> {
  const r = new Rng(seed);
  const { B, T, H, K, V } = D;
  const t = (shape: number[], f: () => number): WriteTensor => ({ dtype: 'F32', shape, data: Float32Array.from({ length: shape.reduce((a, b) => a * b) }, f) });
  const unit = (x: WriteTensor) => {
    const a = x.data as Float32Array;
    for (let o = 0; o < a.length; o += K) {
      const n = Math.hypot(...a.subarray(o, o + K));
      for (let i = o; i < o + K; i++) a[i] /= n;
    }
    return x;
  };
  const keyed = [B, T, H, K];
  const gate = () => -Math.log1p(Math.exp(-(r.normal() + 2)));
  const base = { q: t(keyed, () => r.normal()), v: t([B, T, H, V], () => r.normal()), initial_state: t([B, H, K, V], () => 0.3 * r.normal()) };
  if (op === 'kda') return { ...base, k: unit(t(keyed, () => r.normal())), g: t(keyed, gate), beta: t([B, T, H], () => 1 / (1 + Math.exp(-r.normal()))) };
  const a = unit(t(keyed, () => r.normal()));
  return { ...base, k: t(keyed, () => r.normal() / Math.sqrt(K)), a, b: { ...a, data: Float32Array.from(a.data as Float32Array, (x) => -x * r.next()) }, gk: t(keyed, gate) };
}

describe.each(['dplr_delta_rule', 'kda'] as const)('loom op %s', (name) => {
  it.each(['recurrent', 'chunkwise(8)'])('--schedule %s matches the float64 recurrence (with initial state)', async (schedule) => {
    const data = inputs(name, 7);
    const fin = join(dir, `${name}-in.safetensors`);
    const fout = join(dir, `${name}-${schedule}-out.safetensors`);
    writeSafetensors(fin, data);
    const r = await loom('op', name, '--in', fin, '--out', fout, '--schedule', schedule, '--json');
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ op: name, schedule, B: 2, T: 20, H: 2, K: 8, V: 8 });
    const x = Object.fromEntries(Object.entries(data).map(([k, v]) => [k, v.data as Float32Array]));
    const s0 = x.initial_state;
    const ref = name === 'kda' ? kdaRef({ ...D, q: x.q, k: x.k, v: x.v, g: x.g, beta: x.beta, s0 }) : dplrRef({ ...D, q: x.q, k: x.k, v: x.v, a: x.a, b: x.b, gk: x.gk, s0 });
    const out = readSafetensors(fout).tensors;
    expect(out.get('o')!.shape).toEqual([2, 20, 2, 8]);
    expect(out.get('final_state')!.shape).toEqual([2, 2, 8, 8]);
    expectClose(`${name} ${schedule} o`, out.get('o')!.data, ref.o, TOL);
    expectClose(`${name} ${schedule} final_state`, out.get('final_state')!.data, ref.S, TOL);
  });

  it('--schedule parallel is refused with the reason', async () => {
    const fin = join(dir, `${name}-par.safetensors`);
    writeSafetensors(fin, inputs(name, 8));
    const r = await loom('op', name, '--in', fin, '--out', join(dir, 'x.safetensors'), '--schedule', 'parallel');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/error LOOM4003: layer 0 \(\w+\) has no parallel schedule: parallel: the DPLR recurrence has no parallel schedule \(use chunkwise/);
  });
});

describe('loom op dplr_delta_rule / kda input checks', () => {
  it('names missing, mis-shaped and unexpected tensors, unknown ops and --normalize', async () => {
    const f = join(dir, 'bad.safetensors');
    const x = join(dir, 'x.safetensors');
    const data = inputs('dplr_delta_rule', 1);
    const { a: _a, ...noA } = data;
    writeSafetensors(f, noA);
    const missing = await loom('op', 'dplr_delta_rule', '--in', f, '--out', x);
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/bad\.safetensors: missing tensor a \[2, 20, 2, 8\] \(op dplr_delta_rule reads q, k, v, a, b, gk\)/);
    writeSafetensors(f, { ...data, gk: { ...data.gk, shape: [2, 20, 2, 4, 2] } });
    expect((await loom('op', 'dplr_delta_rule', '--in', f, '--out', x)).err).toMatch(/tensor gk has shape \[2, 20, 2, 4, 2\], expected \[2, 20, 2, 8\]/);
    const kda = inputs('kda', 2);
    writeSafetensors(f, { ...kda, beta: { ...kda.beta, shape: [2, 20, 2, 1] } });
    expect((await loom('op', 'kda', '--in', f, '--out', x)).err).toMatch(/tensor beta has shape \[2, 20, 2, 1\], expected \[2, 20, 2\]/);
    writeSafetensors(f, { ...kda, gk: kda.g });
    expect((await loom('op', 'kda', '--in', f, '--out', x)).err).toMatch(/tensor gk is not read by op kda \(it reads q, k, v, g, beta, initial_state\)/);
    writeSafetensors(f, { ...kda, initial_state: { ...kda.initial_state, shape: [2, 2, 64] } });
    expect((await loom('op', 'kda', '--in', f, '--out', x)).err).toMatch(/tensor initial_state has shape \[2, 2, 64\], expected \[2, 2, 8, 8\]/);
    expect((await loom('op', 'kdaa', '--in', f, '--out', x)).err).toMatch(/unknown op 'kdaa', did you mean 'kda'\?/);
    expect((await loom('op', 'kda', '--in', f, '--out', x, '--normalize')).err).toMatch(/--normalize is only defined for linear_attn/);
    expect((await loom('op', '--help')).out).toMatch(/dplr_delta_rule, kda/);
  });
});
