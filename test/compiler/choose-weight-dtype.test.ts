/**
 * `--weights-dtype auto`: the decision from the checkpoint's dtypes (headers only) and the adapter's
 * shader-f16, as a table; explicit f32 and f16 pass through (f16 without shader-f16 is refused later,
 * LOOM4022, by checkWeightDtype).
 */
import { describe, expect, it } from 'vitest';
import { checkWeightDtype, chooseWeightDtype } from '../../compiler/plan/weight-dtype.ts';
import { DEFAULT_PROFILE } from '../../compiler/plan/device.ts';

describe('chooseWeightDtype', () => {
  const table: [string, 'auto' | 'f32' | 'f16', string[] | null, boolean | undefined, 'f32' | 'f16', RegExp][] = [
    ['BF16 checkpoint, shader-f16', 'auto', ['BF16'], true, 'f16', /BF16 checkpoint and an adapter with shader-f16/],
    ['F16 checkpoint, shader-f16', 'auto', ['F16'], true, 'f16', /F16 checkpoint/],
    ['F16 and BF16 tensors, shader-f16', 'auto', ['BF16', 'F16'], true, 'f16', /BF16\/F16/],
    ['BF16 checkpoint, no shader-f16', 'auto', ['BF16'], false, 'f32', /lacks shader-f16/],
    ['BF16 checkpoint, unknown adapter', 'auto', ['BF16'], undefined, 'f32', /may lack shader-f16/],
    ['F32 checkpoint', 'auto', ['F32'], true, 'f32', /has F32 tensors/],
    ['BF16 with F32 norms (mixed)', 'auto', ['BF16', 'F32'], true, 'f32', /has F32 tensors/],
    ['F64 checkpoint', 'auto', ['F64'], true, 'f32', /has F64 tensors/],
    ['no float tensors', 'auto', [], true, 'f32', /no float tensors/],
    ['seeded weights', 'auto', null, true, 'f32', /seeded/],
    ['explicit f32 on a BF16 checkpoint', 'f32', ['BF16'], true, 'f32', /--weights-dtype f32/],
    ['explicit f16 on an F32 checkpoint', 'f16', ['F32'], true, 'f16', /--weights-dtype f16/],
    ['explicit f16 with seeded weights', 'f16', null, undefined, 'f16', /--weights-dtype f16/],
    ['explicit f16 without shader-f16 (refused later)', 'f16', ['BF16'], false, 'f16', /--weights-dtype f16/],
  ];
  it.each(table)('%s', (_, requested, dtypes, f16, want, why) => {
    const r = chooseWeightDtype(requested, dtypes, f16);
    expect(r.dtype).toBe(want);
    expect(r.why).toMatch(why);
  });

  it('an explicit f16 on an adapter without shader-f16 stays LOOM4022; auto never reaches it', () => {
    const noF16 = { ...DEFAULT_PROFILE, name: 'test', shaderF16: false };
    expect(checkWeightDtype(chooseWeightDtype('f16', ['BF16'], false).dtype, noF16).map((d) => d.code)).toEqual([4022]);
    expect(checkWeightDtype(chooseWeightDtype('auto', ['BF16'], false).dtype, noF16)).toEqual([]);
  });
});
