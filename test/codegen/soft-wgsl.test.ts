/** SOFT kernel generators: WGSL snapshots, determinism, buffer chaining and refusals. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { softProgram } from '../../compiler/mixers/soft/index.ts';
import { compileSource } from '../../compiler/pipeline.ts';

describe('SOFT WGSL snapshots', () => {
  const p = softProgram('L0.soft', { B: 2, T: 37, H: 2, D: 8, M: 5, iterations: 20, scale: 8 ** -0.25 }, { q: 'q', k: 'k', v: 'v', o: 'o' });
  it.each(p.steps.map((s) => ({ id: s.kernel.name.replace('L0.soft.', ''), s })))('$id', async ({ id, s }) => {
    await expect(s.kernel.wgsl).toMatchFileSnapshot(`__snapshots__/soft/B2-T37-H2-D8-m5.${id}.wgsl`);
  });
  it('is deterministic and chains landmarks -> gram -> pinv -> kv -> py -> out', () => {
    expect(softProgram('L0.soft', { B: 2, T: 37, H: 2, D: 8, M: 5, iterations: 20, scale: 8 ** -0.25 }, { q: 'q', k: 'k', v: 'v', o: 'o' })).toEqual(p);
    expect(p.steps.map((s) => `${s.kernel.name.split('.').pop()}(${s.args.join(',')})`)).toEqual([
      'landmarks(q,L0.soft.lmk)',
      'gram(L0.soft.lmk,L0.soft.gram)',
      'pinv(L0.soft.gram,L0.soft.pinv,L0.soft.ns)',
      'kv(L0.soft.lmk,k,v,L0.soft.z)',
      'py(L0.soft.pinv,L0.soft.z,L0.soft.y)',
      'out(q,L0.soft.lmk,L0.soft.y,o)',
    ]);
  });
  it('refuses a window shorter than the landmarks, with the reason', () => {
    const r = compileSource(readFileSync('models/soft.loom', 'utf8'), 'models/soft.loom', { batch: 1, seq: 5 });
    expect(r.ok).toBe(false);
    expect(r.diagnostics[0].message).toBe('layer 0 (L0.attn) has no parallel schedule: landmarks: T = 5 is shorter than landmarks = 8: every landmark averages at least one token');
  });
});
