/**
 * `node bin/run-ts.js bench/chunk-variants.ts [--T 1024,4096] [--rounds 3]`: the chunkwise(64)
 * schedule's two kernel variants, register (barrier-free, what CPU adapters get) and workgroup
 * (tiles in workgroup memory, what GPU-class adapters get), side by side on this adapter, for
 * the gla op (B=1, H=4, K=V=64, vector decay). Both programs are built first, then timed in
 * alternating rounds (the fastest round of each is reported), the whole op and each kernel alone.
 */
import type { ProgramSpec } from '../compiler/codegen/program.ts';
import { linearAttnProgram, linearAttnSupports, type ChunkVariant } from '../compiler/mixers/linear_attn/index.ts';
import { acquireGpu, deviceProfile } from '../runtime/gpu.ts';
import { fillForTiming, standalone, timeProgram } from '../runtime/measure.ts';
import { Program } from '../runtime/program.ts';
import { BENCH_MIXERS } from './schedules.ts';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : fallback;
};
const Ts = arg('--T', '1024,4096').split(',').map(Number);
const rounds = Number(arg('--rounds', '3'));
const C = 64;
const VARIANTS: ChunkVariant[] = ['register', 'workgroup'];
const knobs = BENCH_MIXERS.gla;

const gpu = await acquireGpu();
const profile = deviceProfile(gpu);
console.log(`adapter ${profile.name} (${profile.isCpu ? 'CPU' : 'GPU'} class), ${new Date().toISOString()}`);
console.log(`gla op B=1 H=${knobs.heads} K=${knobs.keyDim} V=${knobs.valueDim}, chunkwise(${C}); fastest of ${rounds} alternating rounds, ms`);

function spec(T: number, variant: ChunkVariant): ProgramSpec {
  const call = {
    label: 'bench',
    B: 1,
    T,
    knobs,
    schedule: 'chunkwise' as const,
    chunk: C,
    variant,
    buffers: { q: 'q', k: 'k', v: 'v', s0: 's0', z0: null, g: 'g', beta: null, o: 'o', S: 'S', z: null },
  };
  const ok = linearAttnSupports('chunkwise', call, gpu.limits);
  if (!ok.ok) throw new Error(`${variant}: ${ok.reason}`);
  return linearAttnProgram(call);
}

const rows: string[] = ['| T | variant | op | chunk_h | chunk_o |', '|---:|---|---:|---:|---:|'];
for (const T of Ts) {
  // Per variant: the whole op, then each kernel as a program of its own.
  const progs = new Map<string, Program>();
  for (const variant of VARIANTS) {
    const whole = spec(T, variant);
    const parts: [string, ProgramSpec][] = [['op', whole], ...whole.steps.map((s, i): [string, ProgramSpec] => [i === 0 ? 'chunk_h' : 'chunk_o', { buffers: whole.buffers, steps: [s] }])];
    for (const [what, p] of parts) {
      const full = standalone(p);
      const prog = await Program.create(gpu, full);
      fillForTiming(prog, full);
      await timeProgram(gpu, prog, { rounds: 1, maxReps: 1 }); // compile and warm
      progs.set(`${variant}/${what}`, prog);
    }
  }
  const best = new Map<string, number>();
  for (let r = 0; r < rounds; r++) {
    for (const [key, prog] of progs) {
      const t = await timeProgram(gpu, prog, { rounds: 1, warm: false, targetMs: 300, maxReps: 20 });
      best.set(key, Math.min(best.get(key) ?? Number.POSITIVE_INFINITY, t.ms));
    }
  }
  for (const variant of VARIANTS) {
    const ms = (w: string) => best.get(`${variant}/${w}`)!.toFixed(1);
    rows.push(`| ${T} | ${variant} | ${ms('op')} | ${ms('chunk_h')} | ${ms('chunk_o')} |`);
  }
  for (const prog of progs.values()) prog.destroy();
}
console.log(rows.join('\n'));
