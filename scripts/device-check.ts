/**
 * `node bin/run-ts.js scripts/device-check.ts`: the hardening checks of test/device/ in one short
 * script for a machine other than the CI one (a real GPU), printing one line per check and exiting
 * 1 if any fails: a tiny model's logits against the float64 reference; a buffer over maxBufferSize
 * refused before allocation (LOOM4004); a Dawn validation error as LOOM6005; --check-finite's
 * search for the first non-finite kernel output; WGSL of specs with hostile names equal to a
 * neutral spec's outside comments and valid on the device; 2000 decode steps with flat memory
 * and live buffers; device.destroy() then LOOM6004 and a working new device from acquireGpu().
 * Needs no ts-morph (it can be bundled with only `webgpu` external).
 */
import type { Compiled } from '../compiler/pipeline.ts';
import { compileSource } from '../compiler/pipeline.ts';
import { LoomError } from '../grammar/diagnostics.ts';
import { findNonFinite } from '../runtime/check-finite.ts';
import { acquireGpu, createGpu, deviceProfile, type Gpu } from '../runtime/gpu.ts';
import { liveGpuBuffers, Program } from '../runtime/program.ts';
import { interpretGraph } from '../runtime/reference/interpret.ts';
import { Session } from '../runtime/session.ts';
import { seededWeights } from '../runtime/weights.ts';

const spec = (model = 'tiny', mixer = 'attn', local = 'h') => `model ${model} {
  vocab = 32
  dim = 16
  heads = 2
  layers = 2
  mixer ${mixer} = linear_attn {}
  block {
    ${local} = rmsnorm(x)
    x = x + ${mixer}(${local})
    x = x + swiglu(rmsnorm(x), hidden = 32)
  }
}
`;

function compile(gpu: Gpu, text: string, seq: number): Compiled {
  const r = compileSource(text, 'check.loom', { batch: 1, seq, device: deviceProfile(gpu) });
  if (!r.ok) throw new Error(r.diagnostics.map((d) => d.message).join('\n'));
  return r.compiled;
}

async function codeOf(p: Promise<unknown>): Promise<number | 'ok'> {
  try {
    await p;
    return 'ok';
  } catch (e) {
    if (e instanceof LoomError) return e.diagnostics[0].code;
    throw e;
  }
}

function relErr(out: ArrayLike<number>, ref: ArrayLike<number>): number {
  let [num, den] = [0, 0];
  for (let i = 0; i < out.length; i++) [num, den] = [num + (out[i] - ref[i]) ** 2, den + ref[i] ** 2];
  return Math.sqrt(num / den);
}

const tokens = Int32Array.from({ length: 8 }, (_, i) => (i * 5 + 1) % 32);

const CHECKS: [string, (g: Gpu) => Promise<string | true>][] = [
  ['logits vs float64 reference', async (g) => {
    const c = compile(g, spec(), 8);
    const w = seededWeights(c.graph.weights, 1);
    const s = await Session.create(g, c, w);
    const e = relErr((await s.forward(tokens)).logits, interpretGraph(c.graph, w, tokens).outputs.logits);
    s.destroy();
    return e < 1e-4 || `rms(out-ref)/rms(ref) = ${e}`;
  }],
  ['buffer over maxBufferSize refused before allocation', async (g) => {
    const before = liveGpuBuffers();
    const code = await codeOf(Program.create(g, { buffers: [{ name: 'huge', elem: 'f32', elements: Math.floor(g.limits.maxBufferSize / 4) + 64, role: 'activation' }], steps: [] }));
    return (code === 4004 && liveGpuBuffers() === before) || `got ${code}, ${liveGpuBuffers() - before} buffers left`;
  }],
  ['validation error during a run is LOOM6005', async (g) => {
    const c = compile(g, spec(), 8);
    const p = await Program.create(g, c.program);
    p.gpuBuffer('logits').destroy();
    const code = await codeOf(p.run());
    p.destroy();
    return code === 6005 || `got ${code}`;
  }],
  ['--check-finite finds the first overflowing kernel', async (g) => {
    const c = compile(g, spec(), 8);
    const w = seededWeights(c.graph.weights, 1);
    w.get('layers.1.mlp0.up.weight')!.fill(3e38);
    const s = await Session.create(g, c, w);
    const bad = await s.firstNonFinite(tokens);
    s.destroy();
    return bad?.kernel === 'L1.mlp0.up' || `found ${JSON.stringify(bad)}`;
  }],
  ['hostile names: same WGSL outside comments, valid on the device', async (g) => {
    const strip = (c: Compiled) => c.program.steps.map((s) => s.kernel.wgsl.replace(/\/\/.*$/gm, ''));
    const neutral = JSON.stringify(strip(compile(g, spec(), 8)));
    const hostile = [['fn', 'constructor', '__proto__'], ['Promise', 'var', 'toString'], ['workgroup', 'override', `l${'_'.repeat(200)}`]];
    for (const [m, x, v] of hostile) {
      const c = compile(g, spec(m, x, v), 8);
      if (JSON.stringify(strip(c)) !== neutral) return `names ${m}, ${x}, ${v} changed the code`;
      for (const s of c.program.steps) {
        const info = await g.device.createShaderModule({ code: s.kernel.wgsl }).getCompilationInfo();
        const errors = info.messages.filter((x) => x.type === 'error');
        if (errors.length) return `${s.kernel.name}: ${errors[0].message}`;
      }
    }
    return true;
  }],
  ['2000 decode steps: heap and live GPU buffers flat', async (g) => {
    const c = compile(g, spec(), 1);
    const s = await Session.create(g, c, seededWeights(c.graph.weights, 1));
    let states: Record<string, Float32Array> = {};
    const samples: { heap: number; buffers: number }[] = [];
    for (let i = 1; i <= 2300; i++) {
      states = (await s.forward(Int32Array.of(i % 32), states)).states;
      if (i > 300 && i % 500 === 0) samples.push({ heap: process.memoryUsage().heapUsed / 2 ** 20, buffers: liveGpuBuffers() });
    }
    s.destroy();
    const grown = samples[samples.length - 1].heap - samples[0].heap;
    return (new Set(samples.map((x) => x.buffers)).size === 1 && grown < 16) || `heap +${grown.toFixed(1)} MiB, buffers ${samples.map((x) => x.buffers)}`;
  }],
  ['device.destroy(): LOOM6004, then acquireGpu() opens a new device', async () => {
    const own = await createGpu();
    const c = compile(own, spec(), 8);
    const w = seededWeights(c.graph.weights, 1);
    const s = await Session.create(own, c, w);
    await s.forward(tokens);
    own.device.destroy();
    const code = await codeOf(s.forward(tokens));
    s.destroy();
    const shared = await acquireGpu();
    shared.device.destroy();
    const fresh = await acquireGpu();
    const again = await Session.create(fresh, c, w);
    const ok = (await again.forward(tokens)).logits.every(Number.isFinite);
    again.destroy();
    return (code === 6004 && fresh.device !== shared.device && ok) || `got ${code}, new device ${fresh.device !== shared.device}, finite ${ok}`;
  }],
];

async function main(): Promise<number> {
  let g: Gpu;
  try {
    g = await acquireGpu();
  } catch (e) {
    process.stdout.write(`device-check: ${(e as Error).message}\n`);
    return 1;
  }
  process.stdout.write(`device-check on ${deviceProfile(g).name}; maxBufferSize ${g.limits.maxBufferSize}, maxStorageBufferBindingSize ${g.limits.maxStorageBufferBindingSize}\n`);
  let failed = 0;
  for (const [name, check] of CHECKS) {
    const t0 = performance.now();
    let r: string | true;
    try {
      r = await check(await acquireGpu());
    } catch (e) {
      r = `threw ${(e as Error).stack ?? e}`;
    }
    if (r !== true) failed++;
    process.stdout.write(`${r === true ? 'ok  ' : 'FAIL'} ${name} (${((performance.now() - t0) / 1000).toFixed(1)} s)${r === true ? '' : `: ${r}`}\n`);
  }
  process.stdout.write(`device-check: ${CHECKS.length - failed}/${CHECKS.length} passed\n`);
  return failed ? 1 : 0;
}

process.exitCode = await main();
