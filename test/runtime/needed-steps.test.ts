/** Which steps a program's outputs depend on (neededSteps): pure, over hand-made programs. */
import { describe, expect, it } from 'vitest';
import type { Kernel, KernelBinding } from '../../compiler/codegen/kernel.ts';
import type { ProgramSpec } from '../../compiler/codegen/program.ts';
import { neededSteps } from '../../runtime/program.ts';

/** A step reading `reads` and writing `writes` (bindings in that order). */
function step(name: string, reads: string[], writes: string[]) {
  const bind = (n: string, access: KernelBinding['access']): KernelBinding => ({ name: n, access, elem: 'f32', elements: 4 });
  const kernel = { name, wgsl: '', entryPoint: 'main', bindings: [...reads.map((r) => bind(r, 'read')), ...writes.map((w) => bind(w, 'read_write'))] } as unknown as Kernel;
  return { kernel, args: [...reads, ...writes] };
}

// tokens -> embed -> h; h, s_in -> mixer -> h2, s_out; h2 -> norm -> n; n -> head -> logits
const spec: ProgramSpec = {
  buffers: [
    { name: 's_in', elem: 'f32', elements: 4, role: 'state_in' },
    { name: 's_out', elem: 'f32', elements: 4, role: 'state_out', alias: 's_in' },
  ],
  steps: [step('embed', ['tokens'], ['h']), step('mixer', ['h', 's_in'], ['h2', 's_out']), step('norm', ['h2'], ['n']), step('head', ['n'], ['logits'])],
};

describe('neededSteps', () => {
  it('leaves out the final norm and head when only the state is read', () => {
    expect(neededSteps(spec, ['s_out'])).toEqual([true, true, false, false]);
  });
  it('keeps every step for the logits', () => {
    expect(neededSteps(spec, ['logits'])).toEqual([true, true, true, true]);
  });
  it('follows an output through the buffer it aliases (a state updated in place)', () => {
    const inPlace: ProgramSpec = { ...spec, steps: [step('embed', ['tokens'], ['h']), step('mixer', ['h'], ['s_in']), step('head', ['h'], ['logits'])] };
    expect(neededSteps(inPlace, ['s_out'])).toEqual([true, true, false]);
  });
  it('keeps an earlier writer of a buffer a needed step reads and writes (accumulation in place)', () => {
    const acc: ProgramSpec = { buffers: [], steps: [step('zero', [], ['a']), step('add', ['x'], ['a']), step('other', [], ['b'])] };
    expect(neededSteps(acc, ['a'])).toEqual([true, true, false]);
  });
});
