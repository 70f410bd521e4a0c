/**
 * FNet (Lee-Thorp et al. 2021): `y = Re(F_T(F_D(x)))` over x `[B, T, D]`, no parameters,
 * non-causal. Kernel variants per axis (DFT as a matmul, or a Stockham FFT), chosen by the planner
 * from `fnetCost`; see README.md.
 */
import type { BufferDecl, Step } from '../../codegen/program.ts';
import type { FamilyAttrs, Node } from '../../ir/graph.ts';
import type { DeviceLimits } from '../../plan/device.ts';
import type { ScheduleCost } from '../../plan/cost.ts';
import type { FamilyNode, FamilyOp, Support, WindowDims } from '../family-op.ts';
import { dftKernel } from './kernels/dft.ts';
import { fftStageKernel } from './kernels/fft.ts';
import { fnetPasses, FNET_VARIANTS, parseVariant, passBytes, passFlops, passThreads, variantProblem, type FnetVariant, type Pass } from './passes.ts';

export { FNET_VARIANTS } from './passes.ts';

/** Sizes of one FNet call. */
export interface FnetDims {
  B: number;
  T: number;
  D: number;
}

/** Work of a variant, for the planner (one dispatch per pass). Pure. */
export function fnetCost(d: FnetDims, v: FnetVariant): ScheduleCost {
  const passes = fnetPasses(d.B, d.T, d.D, v);
  return {
    flops: passes.reduce((a, p) => a + passFlops(p), 0),
    bytes: passes.reduce((a, p) => a + passBytes(p), 0),
    serialSteps: passes.reduce((a, p) => a + (p.kind === 'dft' ? p.view.n : p.radix), 0),
    threads: Math.min(...passes.map(passThreads)),
    dispatches: passes.length,
  };
}

/** Whether a variant can run these sizes on this device. Pure. */
export function fnetSupports(d: FnetDims, v: FnetVariant, limits: DeviceLimits): Support {
  for (const [name, x] of Object.entries(d)) if (!Number.isInteger(x) || x < 1) return { ok: false, reason: `${name} = ${x} must be a positive integer` };
  const bad = variantProblem(d.T, d.D, v);
  if (bad) return { ok: false, reason: bad };
  // 4m must stay below 2^32 in the twiddle's quadrant split; f32 holds every integer below 2^24.
  for (const [name, n] of [['T', d.T], ['D', d.D]] as const) if (n >= 2 ** 24) return { ok: false, reason: `${name} = ${n} is beyond exact f32 twiddle angles (< 2^24)` };
  const complexBytes = 8 * d.B * d.T * d.D;
  const maxBytes = Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize);
  if (complexBytes > maxBytes) return { ok: false, reason: `the complex intermediate needs ${complexBytes} bytes, over the device's ${maxBytes}-byte binding limit` };
  const maxGroups = limits.maxComputeWorkgroupsPerDimension ** 2;
  for (const p of fnetPasses(d.B, d.T, d.D, v)) {
    if (Math.ceil(passThreads(p) / 64) > maxGroups) return { ok: false, reason: `${passThreads(p)} invocations need more than ${maxGroups} workgroups` };
  }
  return { ok: true };
}

function kernelName(label: string, p: Pass, stages: number): string {
  const axis = p.view.axis.toLowerCase();
  if (p.kind === 'dft') return `${label}.dft_${axis}`;
  return stages > 1 ? `${label}.fft_${axis}${p.stage}` : `${label}.fft_${axis}`;
}

/**
 * Kernels of a variant: x (real) -> [complex ping-pong buffers `<label>.fa`, `<label>.fb`] -> y (real).
 */
export function fnetProgram(label: string, d: FnetDims, v: FnetVariant, buffers: { x: string; y: string }): { buffers: BufferDecl[]; steps: Step[] } {
  const passes = fnetPasses(d.B, d.T, d.D, v);
  const complex = 2 * d.B * d.T * d.D;
  const temps = [`${label}.fa`, `${label}.fb`];
  const steps: Step[] = [];
  let src = buffers.x;
  for (const [i, p] of passes.entries()) {
    const dst = p.realOut ? buffers.y : temps[i % 2];
    const stages = passes.filter((q) => q.view.axis === p.view.axis).length;
    const name = kernelName(label, p, stages);
    steps.push({ kernel: p.kind === 'dft' ? dftKernel(name, p) : fftStageKernel(name, p), args: [src, dst] });
    src = dst;
  }
  const used = temps.filter((t) => steps.some((s) => s.args.includes(t)));
  return { buffers: used.map((name) => ({ name, elem: 'f32', elements: complex, role: 'activation' })), steps };
}

function dimsOf(n: FamilyNode, d: WindowDims): FnetDims {
  return { B: d.B, T: d.T, D: n.type.shape[2] };
}

const same = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((x, i) => x === b[i]);

export const FNET_OP: FamilyOp = {
  family: 'fnet',
  causal: () => false,
  verify: (n: FamilyNode, inputs: readonly Node[]) => {
    if (inputs.length !== 1) return `fnet takes one input, got ${inputs.length}`;
    const x = inputs[0].type.shape;
    return x.length === 3 && same(n.type.shape, x) ? undefined : `fnet output [${n.type.shape}] must equal its input [${x}] = [B, T, D]`;
  },
  describe: (_attrs: FamilyAttrs) => '',
  variants: () => FNET_VARIANTS,
  supports: (n, variant, d, limits) => fnetSupports(dimsOf(n, d), parseVariant(variant), limits),
  cost: (n, variant, d) => fnetCost(dimsOf(n, d), parseVariant(variant)),
  program: (n, variant, d, b) => fnetProgram(n.label, dimsOf(n, d), parseVariant(variant), { x: b.inputs[0], y: b.output }),
};
