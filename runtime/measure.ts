/**
 * Timing a Program on the device: its steps repeated N times in one compute pass of one
 * submission, timed by GPU timestamps where the device has 'timestamp-query', else by the wall
 * clock around submit and wait (divided by N, which beats the timer's rounding and the submission's
 * fixed cost). The first run warms up (lavapipe compiles a pipeline at its first dispatch).
 */
import type { ProgramSpec } from '../compiler/codegen/program.ts';
import { scoped, unlessLost } from './device-health.ts';
import type { Gpu } from './gpu.ts';
import { Program } from './program.ts';
import { Rng } from './random.ts';

export interface Timed {
  /** Milliseconds per run of all the program's steps (the fastest round: interference only adds time). */
  ms: number;
  /** Runs timed together in one submission. */
  reps: number;
  method: 'timestamps' | 'wall';
}

export interface TimeOptions {
  /** Aim for this much device time per round (default 150 ms); fewer reps when one run is longer. */
  targetMs?: number;
  /** Rounds whose fastest is reported, when one round is short (default 3). */
  rounds?: number;
  /** At most this many repetitions in one pass (default 200). */
  maxReps?: number;
  /** Run once untimed first (default true; false when this program already ran). */
  warm?: boolean;
  /** Use GPU timestamps when the device has them (default true). */
  timestamps?: boolean;
}

/** One pass of `reps` repetitions; milliseconds per repetition. */
async function timePass(gpu: Gpu, program: Program, reps: number, useTimestamps: boolean): Promise<number> {
  const { device } = gpu;
  const query = useTimestamps ? device.createQuerySet({ type: 'timestamp', count: 2 }) : undefined;
  const resolve = query && device.createBuffer({ size: 16, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
  const readback = query && device.createBuffer({ size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  try {
    let t0 = 0;
    await scoped(device, `timing ${program.stepCount} kernels x ${reps}`, () => {
      const encoder = device.createCommandEncoder();
      const pass = encoder.beginComputePass(query ? { timestampWrites: { querySet: query, beginningOfPassWriteIndex: 0, endOfPassWriteIndex: 1 } } : {});
      for (let i = 0; i < reps; i++) program.encode(pass);
      pass.end();
      if (query) {
        encoder.resolveQuerySet(query, 0, 2, resolve!, 0);
        encoder.copyBufferToBuffer(resolve!, 0, readback!, 0, 16);
      }
      const commands = encoder.finish();
      t0 = performance.now();
      device.queue.submit([commands]);
    });
    await unlessLost(device, device.queue.onSubmittedWorkDone());
    const wall = performance.now() - t0;
    if (!query) return wall / reps;
    await unlessLost(device, readback!.mapAsync(GPUMapMode.READ));
    const [begin, end] = new BigUint64Array(readback!.getMappedRange().slice(0));
    readback!.unmap();
    const ns = Number(end - begin);
    // A timer that did not tick (or wrapped) is no measurement: fall back to the wall clock.
    return ns > 0 && ns / 1e6 <= wall * 1.5 ? ns / 1e6 / reps : wall / reps;
  } finally {
    query?.destroy();
    resolve?.destroy();
    readback?.destroy();
  }
}

export function hasTimestamps(gpu: Gpu): boolean {
  return gpu.device.features.has('timestamp-query');
}

/** Times a created program (its buffers as they are). */
export async function timeProgram(gpu: Gpu, program: Program, o: TimeOptions = {}): Promise<Timed> {
  const targetMs = o.targetMs ?? 150;
  const useTimestamps = (o.timestamps ?? true) && hasTimestamps(gpu);
  const method = useTimestamps ? 'timestamps' : 'wall';
  const w0 = performance.now();
  if (o.warm ?? true) await program.run(); // warm-up: pipeline compilation at the first dispatch
  const warm = o.warm ?? true ? performance.now() - w0 : 0;
  const once = await timePass(gpu, program, 1, useTimestamps);
  // Long runs: one more, and the faster of the two (others sharing the cores only ever slow a run down).
  if (Math.max(once, warm / 4) >= targetMs) return { ms: Math.min(once, await timePass(gpu, program, 1, useTimestamps)), reps: 1, method };
  const reps = Math.max(1, Math.min(o.maxReps ?? 200, Math.round(targetMs / Math.max(once, 1e-3))));
  const times: number[] = [];
  for (let r = 0; r < (o.rounds ?? 3); r++) times.push(await timePass(gpu, program, reps, useTimestamps));
  return { ms: Math.min(...times), reps, method };
}

/**
 * Every buffer the steps bind but the spec does not declare, declared from the kernels' bindings
 * (largest use wins): an op's program alone, with its inputs and outputs as plain buffers.
 */
export function standalone(spec: ProgramSpec): ProgramSpec {
  const declared = new Map(spec.buffers.map((b) => [b.name, b]));
  const extra = new Map<string, ProgramSpec['buffers'][number]>();
  for (const step of spec.steps) {
    step.args.forEach((name, i) => {
      if (declared.has(name)) return;
      const b = step.kernel.bindings[i];
      const prev = extra.get(name);
      if (!prev || prev.elements < b.elements) extra.set(name, { name, elem: b.elem, elements: b.elements, role: 'activation' });
    });
  }
  return { buffers: [...spec.buffers, ...extra.values()], steps: spec.steps };
}

/**
 * Fills every buffer with data in range for timing: small normals, non-positive log-gates
 * (names ending in `g`, `gk`, `gates`), betas in (0, 1); integer buffers with zeros.
 */
export function fillForTiming(program: Program, spec: ProgramSpec, seed = 1): void {
  const rng = new Rng(seed);
  for (const b of spec.buffers) {
    if (b.elem !== 'f32' && b.elem !== 'f16') {
      program.write(b.name, b.elem === 'i32' ? new Int32Array(b.elements) : new Uint32Array(b.elements));
      continue;
    }
    const x = rng.normals(b.elements, 0.5);
    const leaf = b.name.split('.').pop() ?? b.name;
    if (/^(g|gk|gates?|log_?gates?)$/.test(leaf)) for (let i = 0; i < x.length; i++) x[i] = -Math.abs(x[i]) * 0.1;
    if (/^beta$/.test(leaf)) for (let i = 0; i < x.length; i++) x[i] = 0.5 / (1 + Math.exp(-x[i]));
    program.write(b.name, x);
  }
}

/** Creates, fills, times and destroys a standalone program. */
export async function timeSpec(gpu: Gpu, spec: ProgramSpec, o: TimeOptions = {}): Promise<Timed> {
  const full = standalone(spec);
  const program = await Program.create(gpu, full);
  try {
    fillForTiming(program, full);
    return await timeProgram(gpu, program, o);
  } finally {
    program.destroy();
  }
}
