/**
 * `--check-finite`: runs a program's kernels one submission at a time, in program order, reads
 * back each kernel's output buffers and stops at the first NaN or Inf, naming the layer, the
 * kernel (its node label) and the first bad index. For finding where numerically unstable weights
 * or inputs blow up; a normal run is one submission and checks nothing.
 */
import { diag, LoomError } from '../grammar/diagnostics.ts';
import type { Program } from './program.ts';

export interface NonFinite {
  /** Kernel name, e.g. `L1.mlp0.up` (the node label) or `L0.attn.chunk_h`. */
  kernel: string;
  /** Layer from the kernel name (`L<i>.`), null for kernels outside the layers (embed, head). */
  layer: number | null;
  /** Position of the kernel in the program (0-based) and the program's kernel count. */
  step: number;
  steps: number;
  buffer: string;
  /** First non-finite element (flat, row-major) and its value. */
  index: number;
  value: number;
  /** How many of the buffer's elements are not finite. */
  count: number;
  elements: number;
}

/** Index of the first NaN or ±Inf, or -1. */
export function firstNonFinite(a: ArrayLike<number>): number {
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i])) return i;
  return -1;
}

function layerOf(kernel: string): number | null {
  const m = /^L(\d+)\./.exec(kernel);
  return m ? Number(m[1]) : null;
}

/** Runs `program` kernel by kernel (inputs already written); the first non-finite output, or null. */
export async function findNonFinite(program: Program): Promise<NonFinite | null> {
  let found: NonFinite | null = null;
  const { steps } = program.spec;
  await program.runEach(async (i) => {
    const { kernel, args } = steps[i];
    const outputs = kernel.bindings.flatMap((b, j) => (b.access !== 'read' && b.elem === 'f32' ? [args[j]] : []));
    const values = await program.readMany(outputs);
    for (const buffer of outputs) {
      const data = values[buffer];
      const index = firstNonFinite(data);
      if (index < 0) continue;
      const count = (data as Float32Array).reduce((n, x) => n + (Number.isFinite(x) ? 0 : 1), 0);
      found = { kernel: kernel.name, layer: layerOf(kernel.name), step: i, steps: steps.length, buffer, index, value: data[index], count, elements: data.length };
      return false;
    }
    return true;
  });
  return found;
}

export function nonFiniteError(n: NonFinite): LoomError {
  const where = n.layer === null ? 'outside the layers' : `layer ${n.layer}`;
  const message =
    `${where}: kernel ${n.kernel} (${n.step + 1} of ${n.steps}) wrote ${n.value} to '${n.buffer}' at index ${n.index}, ` +
    `the first non-finite value of the run (${n.count} of ${n.elements} values in that buffer are NaN or Inf)`;
  return new LoomError([diag('non-finite', { message })]);
}

/** rms(out - ref) / rms(ref), as `loom run --check` reports it; Infinity when out has a NaN or Inf. */
export function relativeError(out: ArrayLike<number>, ref: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < out.length; i++) {
    if (!Number.isFinite(out[i])) return Infinity;
    num += (out[i] - ref[i]) ** 2;
    den += ref[i] ** 2;
  }
  return den === 0 ? Math.sqrt(num) : Math.sqrt(num / den);
}
