/** `loom explain SPEC`: the plan, with every alternative's estimate; `--ir` dumps each pass. */
import { planMemory } from '../../compiler/codegen/memory.ts';
import type { DeviceProfile } from '../../compiler/plan/device.ts';
import { stateReport, stateSizes } from '../../compiler/plan/state-size.ts';
import { nonCausalMixer, noDecodeMessage } from '../../compiler/mixers/family-op.ts';
import { diag, LoomError } from '../../grammar/diagnostics.ts';
import { candidateKey } from '../../compiler/plan/tuning.ts';
import { acquireGpu, probeAdapter } from '../../runtime/gpu.ts';
import { build } from '../build.ts';
import { usageError, type Io } from '../io.ts';
import { parseCommand } from '../options.ts';
import { commandProfile } from '../profile.ts';

export async function explainCommand(args: string[], io: Io): Promise<number> {
  const { common, values } = parseCommand('explain', args, { ir: { type: 'boolean' }, mode: { type: 'string' } });
  const mode = values.mode ?? 'prefill';
  if (mode !== 'prefill' && mode !== 'decode') throw usageError(`explain: --mode must be prefill or decode, got '${mode}'`);
  if (mode === 'decode') common.seq = 1; // the step program: one token per sequence
  const device = (await probeAdapter()) ? await commandProfile(await acquireGpu(), io) : undefined;
  const c = build(common, device);
  const acausal = mode === 'decode' ? nonCausalMixer(c.spec) : undefined;
  if (acausal) throw new LoomError([diag('no-decode', { message: `${noDecodeMessage(acausal)}; the model has no step program to explain` })]);
  const out: string[] = [`plan for ${c.spec.name}, B=${common.batch} T=${common.seq}, mode ${c.plan.mode}, device ${c.plan.device.name}${c.plan.device.isCpu ? ' (CPU class)' : ''}${rates(c.plan.device)}`];
  for (const m of c.plan.mixers) {
    out.push(`${m.label}: ${m.schedule}${m.chunk ? `(${m.chunk})` : ''}${m.variant ? ` [${m.variant}]` : ''}${m.unrollK ? ' [loops over K unrolled]' : ''} - ${m.why}`);
    for (const cand of m.candidates) {
      const name = (cand.variant !== undefined && cand.chunk ? candidateKey(cand) : (cand.variant ?? `${cand.schedule}${cand.chunk ? `(${cand.chunk})` : ''}`)).padEnd(16);
      const measured = cand.measuredMs === undefined ? '' : ` measured ${cand.measuredMs.toPrecision(3)} ms`;
      out.push(`    ${name} ${cand.ok ? `est. ${cand.estimateMs!.toPrecision(3)} ms`.padEnd(measured ? 18 : 0) + measured : `not possible: ${cand.reason}`}`);
    }
  }
  for (const m of c.plan.matmuls) out.push(`${m.label}: matmul ${m.variant}${m.rejected.length ? ` (not ${m.rejected.map((r) => `${r.variant}: ${r.reason}`).join('; ')})` : ''}`);
  const bytes = c.program.buffers.reduce((a, b) => a + b.elements * 4, 0);
  out.push(`${c.program.steps.length} kernels, ${c.program.buffers.length} buffers, ${(bytes / 1048576).toFixed(2)} MiB`);
  const mem = planMemory(c.program);
  const mib = (n: number) => `${(n / 1048576).toFixed(2)} MiB`;
  out.push(`memory plan: ${mem.slotOf.size} activation buffers (${mib(mem.bytesUnshared)}) share ${mem.slots.length} allocations (${mib(mem.bytesShared)}) by lifetime`);
  if (mode === 'decode') out.push(...stateReport(stateSizes(c.graph), common.batch));
  if (values.ir) for (const d of c.dumps) out.push(`--- after ${d.pass} ---`, d.text.trimEnd());
  io.out(out.join('\n') + '\n');
  return 0;
}

/** `; calibrated: 4.1 GFLOP/s, 6.2 GB/s, 0.10 ms per dispatch`, or that the class constants apply. */
function rates(d: DeviceProfile): string {
  const c = d.calibration;
  if (!c) return '; estimates from class constants (not calibrated)';
  return `; calibrated: ${(c.flopsPerSec / 1e9).toFixed(2)} GFLOP/s, ${(c.bytesPerSec / 1e9).toFixed(2)} GB/s, ${(c.dispatchSec * 1e3).toFixed(3)} ms per dispatch`;
}
