/** Monarch kernel generators: WGSL snapshots (T < n: zero padding) and determinism. */
import { describe, expect, it } from 'vitest';
import { monarchProgram } from '../../compiler/mixers/monarch/index.ts';

describe('Monarch WGSL snapshots', () => {
  const p = monarchProgram('L0.m2', { B: 2, T: 19, C: 8, b: 5 }, { x: 'x', l: 'l', r: 'r', y: 'y' });
  it.each(p.steps.map((s) => ({ id: s.kernel.name.replace('L0.m2.', ''), s })))('$id', async ({ id, s }) => {
    await expect(s.kernel.wgsl).toMatchFileSnapshot(`__snapshots__/monarch/B2-T19-C8-b5.${id}.wgsl`);
  });
  it('is deterministic and runs R then L through one padded buffer of n = b^2 rows', () => {
    expect(monarchProgram('L0.m2', { B: 2, T: 19, C: 8, b: 5 }, { x: 'x', l: 'l', r: 'r', y: 'y' })).toEqual(p);
    expect(p.steps.map((s) => s.args)).toEqual([['x', 'r', 'L0.m2.u'], ['L0.m2.u', 'l', 'y']]);
    expect(p.buffers).toEqual([{ name: 'L0.m2.u', elem: 'f32', elements: 2 * 25 * 8, role: 'activation' }]);
  });
});
