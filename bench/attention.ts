/**
 * `node bin/run-ts.js bench/attention.ts [--big]`: softmax-attention kernel variants on this
 * machine's adapter. Each variant is checked against the others (rows is the float64-tested
 * reference kernel) and timed as the median of repeated single-submission runs after warm-up.
 *   prefill: causal, B=1, H=8 (GQA: 4 kv heads), D=64, T = 256 (--big: 2048), empty cache;
 *   decode:  one token after pos = 255 (--big: 2047) cached positions, rows vs decode.
 */
import type { BufferDecl, ProgramSpec } from '../compiler/codegen/program.ts';
import { cacheSlots, type AttentionKnobs } from '../compiler/ir/graph.ts';
import { attentionCost, attentionProgram, attentionSupports, type AttentionVariant } from '../compiler/mixers/attention/index.ts';
import { estimateMs } from '../compiler/plan/cost.ts';
import { acquireGpu, deviceProfile } from '../runtime/gpu.ts';
import { Program } from '../runtime/program.ts';
import { Rng } from '../runtime/random.ts';

const big = process.argv.includes('--big');
const T = big ? 2048 : 256;
const knobs: AttentionKnobs = { heads: 8, kvHeads: 4, headDim: 64, valueDim: 64, causal: true, window: null, scale: 0.125, maxLen: T };
const gpu = await acquireGpu();
const profile = deviceProfile(gpu);
console.log(`adapter ${profile.name} (${profile.isCpu ? 'CPU' : 'GPU'} class)`);

async function run(Tw: number, pos: number, variant: AttentionVariant): Promise<{ ms: number; o: Float32Array } | string> {
  const d = { B: 1, T: Tw, knobs };
  const ok = attentionSupports(variant, d, gpu.limits);
  if (!ok.ok) return ok.reason;
  const buffers = { q: 'q', k: 'k', v: 'v', pos: 'pos', kc0: 'kc0', vc0: 'vc0', o: 'o', kCache: 'kc', vCache: 'vc' };
  const p = attentionProgram({ label: 'bench', ...d, variant, buffers });
  const r = Rng.forName(1, `attn-${Tw}`);
  const W = cacheSlots(knobs);
  const inputs: Record<string, Float32Array> = {
    q: r.normals(Tw * 8 * 64), k: r.normals(Tw * 4 * 64), v: r.normals(Tw * 4 * 64),
    pos: Float32Array.from([pos]), kc0: r.normals(4 * W * 64), vc0: r.normals(4 * W * 64),
  };
  const decl = (name: string, elements: number, role: BufferDecl['role']): BufferDecl => ({ name, elem: 'f32', elements, role });
  const spec: ProgramSpec = {
    buffers: [...Object.entries(inputs).map(([n, a]) => decl(n, a.length, 'input')), decl('o', Tw * 8 * 64, 'output'), decl('kc', 4 * W * 64, 'state_out'), decl('vc', 4 * W * 64, 'state_out'), ...p.buffers],
    steps: p.steps,
  };
  const prog = await Program.create(gpu, spec);
  for (const [n, a] of Object.entries(inputs)) prog.write(n, a);
  await prog.run();
  await prog.run();
  const times: number[] = [];
  for (let i = 0; i < 7; i++) {
    const t0 = performance.now();
    await prog.run();
    times.push(performance.now() - t0);
  }
  const o = (await prog.readMany(['o'])).o as Float32Array;
  prog.destroy();
  times.sort((a, b) => a - b);
  return { ms: times[3], o };
}

function relErr(a: Float32Array, b: Float32Array): number {
  let n = 0;
  let d = 0;
  for (let i = 0; i < a.length; i++) {
    n += (a[i] - b[i]) ** 2;
    d += b[i] ** 2;
  }
  return Math.sqrt(n / d);
}

for (const [what, Tw, pos, variants] of [
  ['prefill', T, 0, ['rows', 'tiled']],
  ['decode', 1, T - 1, ['rows', 'decode']],
] as const) {
  let base: Float32Array | undefined;
  for (const variant of variants) {
    const r = await run(Tw, pos, variant);
    const est = estimateMs(attentionCost(variant, { B: 1, T: Tw, knobs }), profile);
    if (typeof r === 'string') {
      console.log(`${what} T=${Tw} pos=${pos} ${variant.padEnd(6)} not supported: ${r}`);
      continue;
    }
    base ??= r.o;
    console.log(`${what} T=${Tw} pos=${pos} ${variant.padEnd(6)} ${r.ms.toFixed(3)} ms (model ${est.toPrecision(3)} ms), relErr vs ${variants[0]} ${relErr(r.o, base).toExponential(2)}`);
  }
}
gpu.device.destroy();
