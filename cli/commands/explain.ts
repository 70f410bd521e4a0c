/** `loom explain SPEC`: the plan, with every alternative's estimate; `--ir` dumps each pass. */
import { planMemory } from '../../compiler/codegen/memory.ts';
import { acquireGpu, deviceProfile, probeAdapter } from '../../runtime/gpu.ts';
import { build } from '../build.ts';
import type { Io } from '../io.ts';
import { parseCommand } from '../options.ts';

export async function explainCommand(args: string[], io: Io): Promise<number> {
  const { common, values } = parseCommand('explain', args, { ir: { type: 'boolean' } });
  const device = (await probeAdapter()) ? deviceProfile(await acquireGpu()) : undefined;
  const c = build(common, device);
  const out: string[] = [`plan for ${c.spec.name}, B=${common.batch} T=${common.seq}, mode ${c.plan.mode}, device ${c.plan.device.name}${c.plan.device.isCpu ? ' (CPU class)' : ''}`];
  for (const m of c.plan.mixers) {
    out.push(`${m.label}: ${m.schedule}${m.chunk ? `(${m.chunk})` : ''}${m.variant ? ` [${m.variant}]` : ''} - ${m.why}`);
    for (const cand of m.candidates) {
      const name = (cand.variant ?? `${cand.schedule}${cand.chunk ? `(${cand.chunk})` : ''}`).padEnd(16);
      out.push(`    ${name} ${cand.ok ? `est. ${cand.estimateMs!.toPrecision(3)} ms` : `not possible: ${cand.reason}`}`);
    }
  }
  for (const m of c.plan.matmuls) out.push(`${m.label}: matmul ${m.variant}${m.rejected.length ? ` (not ${m.rejected.map((r) => `${r.variant}: ${r.reason}`).join('; ')})` : ''}`);
  const bytes = c.program.buffers.reduce((a, b) => a + b.elements * 4, 0);
  out.push(`${c.program.steps.length} kernels, ${c.program.buffers.length} buffers, ${(bytes / 1048576).toFixed(2)} MiB`);
  const mem = planMemory(c.program);
  const mib = (n: number) => `${(n / 1048576).toFixed(2)} MiB`;
  out.push(`memory plan: ${mem.slotOf.size} activation buffers (${mib(mem.bytesUnshared)}) share ${mem.slots.length} allocations (${mib(mem.bytesShared)}) by lifetime`);
  if (values.ir) for (const d of c.dumps) out.push(`--- after ${d.pass} ---`, d.text.trimEnd());
  io.out(out.join('\n') + '\n');
  return 0;
}
