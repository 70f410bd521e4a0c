/**
 * The text of `loom explain`: each layer's schedule with every alternative's estimate, the
 * matmuls, the memory plan, and with `ir` the graph after each pass. Imports nothing from Node:
 * the playground (web/) prints the same text.
 */
import { planMemory } from '../compiler/codegen/memory.ts';
import { elemBytes } from '../compiler/codegen/kernel.ts';
import type { BufferDecl } from '../compiler/codegen/program.ts';
import { describeMatmulFusion, fuseOptionsFor, keptNorms } from '../compiler/fuse/fuse.ts';
import type { DeviceProfile } from '../compiler/plan/device.ts';
import type { MatmulPlan } from '../compiler/plan/plan.ts';
import { stateReport, stateSizes } from '../compiler/plan/state-size.ts';
import { candidateKey } from '../compiler/plan/tuning.ts';
import type { WeightDtype } from '../compiler/plan/weight-dtype.ts';
import type { Compiled } from '../compiler/pipeline.ts';

export interface ExplainOptions {
  batch: number;
  seq: number;
  mode: 'prefill' | 'decode';
  weights: WeightDtype;
  /** Also the graph after each compiler pass. */
  ir?: boolean;
}

/** The lines `loom explain` prints for a compiled spec. */
export function explainLines(c: Compiled, o: ExplainOptions): string[] {
  const out: string[] = [`plan for ${c.spec.name}, B=${o.batch} T=${o.seq}, mode ${c.plan.mode}, device ${c.plan.device.name}${c.plan.device.isCpu ? ' (CPU class)' : ''}${rates(c.plan.device)}`];
  for (const m of c.plan.mixers) {
    out.push(`${m.label}: ${m.schedule}${m.chunk ? `(${m.chunk})` : ''}${m.variant ? ` [${m.variant}]` : ''}${m.unrollK ? ' [loops over K unrolled]' : ''} - ${m.why}`);
    for (const cand of m.candidates) {
      const name = (cand.variant !== undefined && cand.chunk ? candidateKey(cand) : (cand.variant ?? `${cand.schedule}${cand.chunk ? `(${cand.chunk})` : ''}`)).padEnd(16);
      const measured = cand.measuredMs === undefined ? '' : ` measured ${cand.measuredMs.toPrecision(3)} ms`;
      out.push(`    ${name} ${cand.ok ? `est. ${cand.estimateMs!.toPrecision(3)} ms`.padEnd(measured ? 18 : 0) + measured : `not possible: ${cand.reason}`}`);
    }
  }
  for (const m of c.plan.matmuls) {
    const fused = describeMatmulFusion(c.fused, m.node);
    out.push(`${m.label}: matmul ${m.variant}${fused ? ` [${fused}]` : ''}${weightsText(m)}${m.rejected.length ? ` (not ${m.rejected.map((r) => `${r.variant}: ${r.reason}`).join('; ')})` : ''}`);
  }
  for (const k of keptNorms(c.fused, fuseOptionsFor(c.plan.device))) out.push(`${k.label}: rmsnorm kept as a kernel: ${k.why}`);
  const bytes = c.program.buffers.reduce((a, b) => a + b.elements * elemBytes(b.elem), 0);
  if (o.weights === 'f16') out.push(weightBytes(c.program.buffers));
  out.push(`${c.program.steps.length} kernels, ${c.program.buffers.length} buffers, ${(bytes / 1048576).toFixed(2)} MiB`);
  const mem = planMemory(c.program);
  const mib = (n: number) => `${(n / 1048576).toFixed(2)} MiB`;
  out.push(`memory plan: ${mem.slotOf.size} activation buffers (${mib(mem.bytesUnshared)}) share ${mem.slots.length} allocations (${mib(mem.bytesShared)}) by lifetime`);
  if (o.mode === 'decode') out.push(...stateReport(stateSizes(c.graph), o.batch));
  if (o.ir) for (const d of c.dumps) out.push(`--- after ${d.pass} ---`, d.text.trimEnd());
  return out;
}

/** ` [f16 weights]`, or with f16 asked for, why a matmul keeps f32 ones; empty by default. */
function weightsText(m: MatmulPlan): string {
  if (m.weights === 'f16') return ' [f16 weights]';
  return m.weightsWhy ? ` [f32 weights: ${m.weightsWhy}]` : '';
}

/** `weights: 12 of 20 stored f16, 1.23 MiB (f32: 2.34 MiB); the device must have shader-f16`. */
function weightBytes(buffers: readonly BufferDecl[]): string {
  const weights = buffers.filter((b) => b.role === 'weight');
  const f16 = weights.filter((b) => b.elem === 'f16');
  const mib = (n: number) => `${(n / 1048576).toFixed(2)} MiB`;
  const stored = weights.reduce((a, b) => a + b.elements * elemBytes(b.elem), 0);
  const all = weights.reduce((a, b) => a + b.elements * 4, 0);
  return `weights: ${f16.length} of ${weights.length} stored f16, ${mib(stored)} (all f32: ${mib(all)}); the device must have shader-f16`;
}

/** `; calibrated: 4.1 GFLOP/s, 6.2 GB/s, 0.10 ms per dispatch`, or that the class constants apply. */
function rates(d: DeviceProfile): string {
  const c = d.calibration;
  if (!c) return '; estimates from class constants (not calibrated)';
  return `; calibrated: ${(c.flopsPerSec / 1e9).toFixed(2)} GFLOP/s, ${(c.bytesPerSec / 1e9).toFixed(2)} GB/s, ${(c.dispatchSec * 1e3).toFixed(3)} ms per dispatch`;
}
