/**
 * Why ReBased is the one model whose f32 error depends on the kernels' summation order (README,
 * "Accuracy"): its kernel (c q'.k')^2 is computed as phi(q').phi(k'), a sum of d(d+1)/2 = 136
 * signed products of quadratic features, which cancels when q' and k' are nearly orthogonal. In f32
 * (every operation rounded with Math.fround, in the kernels' order) the sum's error follows the
 * size of its terms, (c sum_i |q'_i k'_i|)^2, not of its value: for such pairs the expanded form
 * loses about 1e-3 of the value, where squaring the f32 dot product loses 1e-5. A token whose
 * normaliser is made of such pairs (early tokens) carries that error into its output. The
 * recurrent and chunkwise schedules cannot use the direct form: their state is in feature space.
 */
import { describe, expect, it } from 'vitest';
import { featureMapRow, layerNormRef } from '../../runtime/reference/feature-map.ts';
import { Rng } from '../../runtime/random.ts';

const f = Math.fround;
const d = 16;
const c = 1 / Math.sqrt(d);
const map = { kind: 'rebased' as const, scale: c, norm: null };
const median = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1];

describe('ReBased in f32: the expanded quadratic features cancel', () => {
  it('near-orthogonal pairs lose ~1e-3 of (c q.k)^2 through the features, ~1e-5 through the dot product', () => {
    const rng = Rng.forName(3, 'rebased-rounding');
    const unit = (x: ArrayLike<number>) => layerNormRef(Array.from(x), new Float32Array(d).fill(1), new Float32Array(d), 1e-5).map(f);
    const [expanded, direct]: number[][] = [[], []];
    for (let n = 0; n < 20000; n++) {
      const [q, k] = [unit(rng.normals(d)), unit(rng.normals(d))];
      let [dot, dot32] = [0, 0];
      for (let i = 0; i < d; i++) {
        dot += q[i] * k[i];
        dot32 = f(dot32 + f(q[i] * k[i]));
      }
      const w = (c * dot) ** 2;
      if (w >= 1e-4) continue; // q' and k' nearly orthogonal: |cos| < ~0.01
      const [pq, pk] = [featureMapRow(map, q, 0, []).map(f), featureMapRow(map, k, 0, []).map(f)];
      let w32 = 0;
      for (let p = 0; p < pq.length; p++) w32 = f(w32 + f(pq[p] * pk[p]));
      expanded.push(Math.abs(w32 - w) / w);
      direct.push(Math.abs(f(f(c * dot32) * f(c * dot32)) - w) / w);
    }
    expect(expanded.length).toBeGreaterThan(30);
    expect(median(direct)).toBeLessThan(1e-4);
    expect(median(expanded)).toBeGreaterThan(1e-3);
  });
});
