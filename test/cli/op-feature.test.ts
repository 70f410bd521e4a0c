/**
 * `loom op based` and `loom op rebased` round trips (fla parallel_based / parallel_rebased): raw q, k
 * and v written with the project's safetensors writer, the CLI run in each schedule, o compared with
 * the attention form of the kernel computed here in float64 (independent of the feature maps), and
 * final_state with the sum of phi(k_s) v_s^T.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../cli/main.ts';
import { FLA_OPS, opFeatureMap, type OpDims } from '../../compiler/mixers/linear_attn/ops.ts';
import { featureMapWidth } from '../../compiler/ir/graph.ts';
import { Rng } from '../../runtime/random.ts';
import { featureMapRef } from '../../runtime/reference/feature-map.ts';
import { readSafetensors, writeSafetensors, type WriteTensor } from '../../runtime/safetensors.ts';
import { expectClose } from '../helpers/compare.ts';

const dir = mkdtempSync(join(tmpdir(), 'loom-op-feature-'));

async function loom(...argv: string[]) {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (t) => (out += t), err: (t) => (err += t) });
  return { code, out, err };
}

/** fla's definition: o_t = sum_{s<=t} kappa(q_t, k_s) v_s / (sum_{s<=t} kappa + eps), s = scale q.k. */
function attentionForm(d: OpDims, q: Float32Array, k: Float32Array, v: Float32Array, kappa: (s: number) => number, scale: number, eps: number): Float64Array {
  const { B, T, H, K, V } = d;
  const o = new Float64Array(B * T * H * V);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++)
      for (let t = 0; t < T; t++) {
        let den = 0;
        const num = new Float64Array(V);
        for (let s = 0; s <= t; s++) {
          let dot = 0;
          for (let i = 0; i < K; i++) dot += q[((b * T + t) * H + h) * K + i] * k[((b * T + s) * H + h) * K + i];
          const w = kappa(scale * dot);
          den += w;
          for (let j = 0; j < V; j++) num[j] += w * v[((b * T + s) * H + h) * V + j];
        }
        for (let j = 0; j < V; j++) o[((b * T + t) * H + h) * V + j] = num[j] / (den + eps);
      }
  return o;
}

/** sum_s phi(k_s) v_s^T per (b, h): `[B, H, K', V]`. */
function finalState(d: OpDims, kphi: Float64Array, v: Float32Array, KP: number): Float64Array {
  const { B, T, H, V } = d;
  const S = new Float64Array(B * H * KP * V);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++)
      for (let t = 0; t < T; t++)
        for (let i = 0; i < KP; i++)
          for (let j = 0; j < V; j++) S[((b * H + h) * KP + i) * V + j] += kphi[((b * T + t) * H + h) * KP + i] * v[((b * T + t) * H + h) * V + j];
  return S;
}

const dims: OpDims = { B: 2, T: 17, H: 2, K: 4, V: 8 };
const KAPPA = { based: (s: number) => 1 + s + (s * s) / 2, rebased: (s: number) => s * s };
const CASES = ['based', 'rebased'].flatMap((name) =>
  [
    { schedule: 'recurrent', scale: undefined },
    { schedule: 'chunkwise(8)', scale: undefined },
    { schedule: 'parallel', scale: 0.7 },
  ].map((c) => ({ name: name as 'based' | 'rebased', ...c, id: `${name} ${c.schedule}${c.scale ? ` --scale ${c.scale}` : ''}` })),
);

describe('loom op based / rebased', () => {
  it.each(CASES)('$id matches the attention form', async ({ name, schedule, scale }) => {
    const rng = new Rng(3);
    const t = (shape: number[]): WriteTensor => ({ dtype: 'F32', shape, data: rng.normals(shape.reduce((a, b) => a * b)) });
    const { B, T, H, K, V } = dims;
    const data = { q: t([B, T, H, K]), k: t([B, T, H, K]), v: t([B, T, H, V]) };
    const fin = join(dir, `${name}-in.safetensors`);
    const fout = join(dir, `${name}-${schedule}-out.safetensors`);
    writeSafetensors(fin, data);
    const r = await loom('op', name, '--in', fin, '--out', fout, '--schedule', schedule, ...(scale ? ['--scale', String(scale)] : []));
    expect(r.code, r.err).toBe(0);
    const out = readSafetensors(fout).tensors;
    const [q, k, v] = [data.q.data, data.k.data, data.v.data] as Float32Array[];
    const s = scale ?? 1 / Math.sqrt(K);
    expectClose(`${name} o`, out.get('o')!.data, attentionForm(dims, q, k, v, KAPPA[name], s, FLA_OPS[name].feature!.eps));
    const map = opFeatureMap(FLA_OPS[name], dims, { scale })!;
    const KP = featureMapWidth(map, K);
    expect(out.get('final_state')!.shape).toEqual([B, H, KP, V]);
    expectClose(`${name} final_state`, out.get('final_state')!.data, finalState(dims, featureMapRef({ N: B * T, H, K, x: k, map, weights: [] }), v, KP));
  });

  it('refuses an initial_state and --normalize, naming why', async () => {
    const rng = new Rng(4);
    const t = (shape: number[]): WriteTensor => ({ dtype: 'F32', shape, data: rng.normals(shape.reduce((a, b) => a * b)) });
    const f = join(dir, 'based-state.safetensors');
    writeSafetensors(f, { q: t([1, 3, 1, 4]), k: t([1, 3, 1, 4]), v: t([1, 3, 1, 4]), initial_state: t([1, 1, 4, 4]) });
    expect((await loom('op', 'based', '--in', f, '--out', join(dir, 'x.safetensors'))).err).toMatch(/op based takes no initial_state/);
    expect((await loom('op', 'rebased', '--in', f, '--out', join(dir, 'x.safetensors'), '--normalize')).err).toMatch(/based and rebased always normalise/);
  });
});
