import { describe, expect, it } from 'vitest';
import { buildKernel, ceilDiv } from '../../compiler/codegen/wgsl.ts';
import { runOnce } from '../../runtime/program.ts';
import { gpu } from './gpu.ts';

describe('adapter', () => {
  it('is present and runs a kernel', async () => {
    const g = await gpu();
    expect(g.adapter.description.length + g.adapter.vendor.length).toBeGreaterThan(0);
    const N = 1000;
    const kernel = buildKernel({
      name: 'smoke.double',
      summary: 'out = 2 * x',
      bindings: [
        { name: 'x', access: 'read', elem: 'f32', elements: N },
        { name: 'out', access: 'read_write', elem: 'f32', elements: N },
      ],
      consts: [['N', N]],
      workgroupSize: [64, 1, 1],
      dispatch: [ceilDiv(N, 64), 1, 1],
      dispatchFormula: 'ceil(N/64)',
      body: (b) => {
        b.line('let i = gid.x;');
        b.line('if (i >= N) { return; }');
        b.line('out[i] = 2.0 * x[i];');
      },
    });
    const x = Float32Array.from({ length: N }, (_, i) => i);
    const r = await runOnce(g, { buffers: [
      { name: 'x', elem: 'f32', elements: N, role: 'input' },
      { name: 'y', elem: 'f32', elements: N, role: 'output' },
    ], steps: [{ kernel, args: ['x', 'y'] }] }, { x }, ['y']);
    expect(Array.from(r.y).slice(0, 4)).toEqual([0, 2, 4, 6]);
    expect(r.y[N - 1]).toBe(2 * (N - 1));
  });
});
