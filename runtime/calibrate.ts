/**
 * Calibration: a few seconds of measurements that give the cost model this adapter's rates instead
 * of its per-class constants (compiler/plan/cost.ts deviceRates): every matmul kernel variant's
 * GFLOP/s at one shape, a copy kernel's bytes per second, and the cost of one more dispatch inside
 * a submission. Cached per adapter by runtime/tune-cache.ts.
 */
import { elementwiseKernel, matmulKernel, matmulVariants } from '../compiler/codegen/kernels/index.ts';
import type { Kernel } from '../compiler/codegen/kernel.ts';
import type { ProgramSpec } from '../compiler/codegen/program.ts';
import type { Calibration } from '../compiler/plan/tuning.ts';
import type { Gpu } from './gpu.ts';
import { timeSpec, type TimeOptions } from './measure.ts';

/** The matmul shape calibrated (M x K x N), small enough for a CPU adapter. */
export const CALIBRATION_MATMUL = { M: 256, K: 256, N: 256, transposeW: false };
/** Elements copied by the bandwidth kernel (16 MiB in, 16 MiB out). */
const COPY_ELEMENTS = 1 << 22;
/** Dispatches of a one-workgroup kernel per timed run. */
const DISPATCHES = 64;

function single(kernel: Kernel, repeat = 1): ProgramSpec {
  return { buffers: [], steps: Array.from({ length: repeat }, () => ({ kernel, args: kernel.bindings.map((b) => b.name) })) };
}

/** `quick`: one short round per measurement (noisier; for tests). */
export async function calibrate(gpu: Gpu, progress: (what: string) => void = () => {}, quick = false): Promise<Calibration> {
  const opts: TimeOptions = quick ? { targetMs: 20, rounds: 1 } : { targetMs: 100, rounds: 3 };
  const matmulGflops: Record<string, number> = {};
  const d = CALIBRATION_MATMUL;
  let method: Calibration['method'] = 'wall';
  for (const v of matmulVariants(d, gpu.limits, gpu.adapter.isCpu)) {
    if (!v.ok) continue;
    progress(`matmul ${v.variant}`);
    const t = await timeSpec(gpu, single(matmulKernel({ ...d, name: `calibrate.matmul_${v.variant}`, variant: v.variant })), opts);
    matmulGflops[v.variant] = (2 * d.M * d.K * d.N) / (t.ms * 1e6);
    method = t.method;
  }
  progress('copy');
  const copy = elementwiseKernel({ name: 'calibrate.copy', elements: COPY_ELEMENTS, expr: { kind: 'in', index: 0 }, arity: 1 });
  const tc = await timeSpec(gpu, single(copy), opts);
  progress('dispatch');
  const tiny = elementwiseKernel({ name: 'calibrate.tiny', elements: 64, expr: { kind: 'in', index: 0 }, arity: 1 });
  const one = await timeSpec(gpu, single(tiny), opts);
  const many = await timeSpec(gpu, single(tiny, DISPATCHES + 1), opts);
  const best = Math.max(...Object.values(matmulGflops));
  return {
    flopsPerSec: best * 1e9,
    matmulGflops,
    matmulShape: `${d.M} x ${d.K} x ${d.N}`,
    bytesPerSec: (2 * 4 * COPY_ELEMENTS) / (tc.ms * 1e-3),
    dispatchSec: Math.max(1e-7, ((many.ms - one.ms) / DISPATCHES) * 1e-3),
    method,
    at: new Date().toISOString(),
  };
}
