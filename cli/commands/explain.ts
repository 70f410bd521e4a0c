/** `loom explain SPEC`: the plan, with every alternative's estimate; `--ir` dumps each pass. */
import { nonCausalMixer, noDecodeMessage } from '../../compiler/mixers/family-op.ts';
import { diag, LoomError } from '../../grammar/diagnostics.ts';
import { acquireGpu, probeAdapter } from '../../runtime/gpu.ts';
import { build } from '../build.ts';
import { specWarnings, usageError, type Io } from '../io.ts';
import type { CommandDef, Values } from '../command.ts';
import { commonOptions, OPTION, SPEC_OPTIONS, weightsDtype } from '../options.ts';
import { commandProfile } from '../profile.ts';
import { explainLines } from '../explain-text.ts';

export const explainCommand: CommandDef = {
  name: 'explain',
  args: '<spec>',
  summary: "the plan: each layer's schedule with every alternative's estimate (and measured time once tuned), the matmuls, the memory plan",
  options: [
    ...SPEC_OPTIONS,
    { flag: 'mode', value: 'M', help: "prefill | decode: the forward program over [B, T], or the step program and every carried state's size (default prefill)" },
    { flag: 'ir', help: 'also dump the graph after each compiler pass' },
    OPTION.weightsDtype,
    { ...OPTION.weights, help: "a checkpoint whose tensor dtypes decide --weights-dtype auto (only its headers are read)" },
  ],
  run: ([spec], v, io) => explain(spec, v, io),
};

/** `loom explain SPEC` on its option values (by long name). */
export async function explain(spec: string, values: Values, io: Io): Promise<number> {
  const common = commonOptions(spec, values);
  const mode = values.mode ?? 'prefill';
  if (mode !== 'prefill' && mode !== 'decode') throw usageError(`explain: --mode must be prefill or decode, got '${mode}'`);
  specWarnings(io, common.spec, common.strict);
  if (mode === 'decode') common.seq = 1; // the step program: one token per sequence
  const device = (await probeAdapter()) ? await commandProfile(await acquireGpu(), io) : undefined;
  const weights = weightsDtype(values['weights-dtype'], common.weights, device);
  const c = build(common, device, weights);
  const acausal = mode === 'decode' ? nonCausalMixer(c.spec) : undefined;
  if (acausal) throw new LoomError([diag('no-decode', { message: `${noDecodeMessage(acausal)}; the model has no step program to explain` })]);
  const out = explainLines(c, { batch: common.batch, seq: common.seq, mode, weights, ir: Boolean(values.ir) });
  io.out(out.join('\n') + '\n');
  return 0;
}
