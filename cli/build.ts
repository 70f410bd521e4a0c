/** Spec file -> Compiled, for the commands; diagnostics become a LoomError. */
import type { DeviceProfile } from '../compiler/plan/device.ts';
import type { WeightDtype } from '../compiler/plan/weight-dtype.ts';
import { compileSource, type Compiled } from '../compiler/pipeline.ts';
import { LoomError } from '../grammar/diagnostics.ts';
import type { CommonOptions } from './options.ts';
import { readSpec } from './io.ts';

export function build(o: CommonOptions, device?: DeviceProfile, weights: WeightDtype = 'f32'): Compiled {
  const text = readSpec(o.spec);
  const r = compileSource(text, o.spec, { batch: o.batch, seq: o.seq, schedule: o.schedule, device, ...(weights === 'f16' ? { weights } : {}) });
  if (!r.ok) throw new LoomError(r.diagnostics.map((d) => ({ ...d, file: d.file ?? (d.span ? o.spec : undefined) })));
  return r.compiled;
}
