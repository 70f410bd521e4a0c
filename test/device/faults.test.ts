/**
 * Device faults surface as LoomErrors: a buffer over the device's limits is refused before any
 * allocation with its size and the limit; a validation error reported by Dawn during a run is
 * LOOM6005; after `device.destroy()` every call of a session on that device is LOOM6004 ("device
 * lost: ...; create a new session") instead of a hang, and `acquireGpu()` opens a new device.
 */
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../cli/main.ts';
import type { ProgramSpec } from '../../compiler/codegen/program.ts';
import { compileSource } from '../../compiler/pipeline.ts';
import { LoomError } from '../../grammar/diagnostics.ts';
import { acquireGpu, createGpu } from '../../runtime/gpu.ts';
import { liveGpuBuffers, Program } from '../../runtime/program.ts';
import { Session } from '../../runtime/session.ts';
import { seededWeights } from '../../runtime/weights.ts';
import { openModel } from '../../scripts/soak.ts';
import { gpu } from './gpu.ts';

const SPEC = `model tiny {
  vocab = 16
  dim = 8
  heads = 2
  layers = 1
  mixer attn = linear_attn {}
  block {
    x = x + attn(rmsnorm(x))
  }
}
`;

function tiny() {
  const r = compileSource(SPEC, 'tiny.loom', { batch: 1, seq: 4 });
  if (!r.ok) throw new Error(r.diagnostics.map((d) => d.message).join('\n'));
  return { compiled: r.compiled, weights: seededWeights(r.compiled.graph.weights, 1), tokens: Int32Array.of(1, 2, 3, 4) };
}

async function loomError(p: Promise<unknown>): Promise<LoomError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(LoomError);
    return e as LoomError;
  }
  throw new Error('expected a LoomError');
}

describe('device limits and faults', () => {
  it('a buffer over maxBufferSize is refused before anything is allocated, with the sizes', async () => {
    const g = await gpu();
    const elements = Math.floor(g.limits.maxBufferSize / 4) + 1024;
    const spec: ProgramSpec = { buffers: [{ name: 'small', elem: 'f32', elements: 4, role: 'input' }, { name: 'huge', elem: 'f32', elements, role: 'activation' }], steps: [] };
    const before = liveGpuBuffers();
    const err = await loomError(Program.create(g, spec));
    expect(err.diagnostics[0].code).toBe(4004);
    const limit = Math.min(g.limits.maxBufferSize, g.limits.maxStorageBufferBindingSize);
    expect(err.message).toContain(`buffer 'huge' (f32[${elements}]) needs ${Math.ceil((elements * 4) / 16) * 16} bytes; the device allows at most ${limit} bytes`);
    expect(err.message).toContain('nothing was allocated');
    expect(liveGpuBuffers()).toBe(before);
  });

  it('a kernel binding more storage buffers than the device allows is refused before anything is allocated', async () => {
    const real = await gpu();
    // The same device, described with WebGPU's default limit of 8: what artifacts compiled on
    // lavapipe (16) meet on such an adapter. q/k/v and the gate's down projection are one kernel.
    const g = { ...real, limits: { ...real.limits, maxStorageBuffersPerShaderStage: 8 } };
    const r = compileSource(readFileSync('models/gla.loom', 'utf8'), 'models/gla.loom', { batch: 1, seq: 4, device: { name: 'wide', isCpu: true, limits: { ...real.limits, maxStorageBuffersPerShaderStage: 16 } } });
    if (!r.ok) throw new Error('compile');
    const wide = r.compiled.program.steps.find((s) => s.kernel.bindings.length > 8)!;
    expect(wide.kernel.name).toBe('L0.attn.q');
    const before = liveGpuBuffers();
    const err = await loomError(Program.create(g, r.compiled.program));
    expect(err.diagnostics[0].code).toBe(4004);
    expect(err.message).toContain(`kernel 'L0.attn.q' binds ${wide.kernel.bindings.length} storage buffers; the device allows 8 per shader stage`);
    expect(err.message).toContain('nothing was allocated');
    expect(liveGpuBuffers()).toBe(before);
  });

  it('a validation error from Dawn during a run is LOOM6005, and the program still releases its buffers', async () => {
    const { compiled, weights, tokens } = tiny();
    const g = await gpu();
    const before = liveGpuBuffers();
    const program = await Program.create(g, compiled.program, new Map(), { keepActivations: true }); // one GPU buffer per declared buffer
    expect(liveGpuBuffers()).toBe(before + compiled.program.buffers.length);
    program.write('tokens', tokens);
    for (const w of compiled.graph.weights) program.write(w.name, weights.get(w.name)!);
    await program.run();
    program.gpuBuffer('logits').destroy(); // a buffer bound by the last kernel, destroyed behind the program's back
    const err = await loomError(program.run());
    expect(err.diagnostics[0].code).toBe(6005);
    expect(err.message).toMatch(/running \d+ kernels: validation error: .*destroyed/i);
    program.destroy();
    expect(liveGpuBuffers()).toBe(before);
    const again = await loomError(program.run());
    expect(again.message).toContain('this session was destroyed; create a new session');
  });

  it('after device.destroy() a session refuses every call with "device lost"', async () => {
    const { compiled, weights, tokens } = tiny();
    const own = await createGpu();
    const session = await Session.create(own, compiled, weights);
    const ok = await session.forward(tokens);
    expect(ok.logits.every(Number.isFinite)).toBe(true);
    own.device.destroy();
    for (let i = 0; i < 2; i++) {
      const err = await loomError(session.forward(tokens));
      expect(err.diagnostics[0].code).toBe(6004);
      expect(err.message).toMatch(/^LOOM6004: device lost: destroyed.*; create a new session$/);
    }
    const create = await loomError(Session.create(own, compiled, weights));
    expect(create.diagnostics[0].code).toBe(6004);
    session.destroy();
  });

  it('after device.destroy() a Model refuses step and prefill with "device lost"', async () => {
    const own = await createGpu();
    const model = await openModel(own, SPEC, 1, { batch: 1, seq: 4 });
    await model.step(Int32Array.of(1));
    own.device.destroy();
    expect((await loomError(model.step(Int32Array.of(1)))).message).toMatch(/LOOM6004: device lost: destroyed/);
    expect((await loomError(model.prefill(Int32Array.of(1, 2, 3, 4, 5)))).message).toMatch(/LOOM6004: device lost: destroyed/);
    model.destroy();
  });

  it('a kernel edited in an artifact directory is a message and exit 1 from loom check, not a stack trace', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'loom-tamper-'));
    try {
      writeFileSync(join(dir, 'tiny.loom'), SPEC);
      let log = '';
      const io = { out: (t: string) => (log += t), err: (t: string) => (log += t) };
      expect(await main(['compile', join(dir, 'tiny.loom'), '-o', join(dir, 'out'), '--seq', '4'], io), log).toBe(0);
      const kernel = readdirSync(join(dir, 'out')).filter((f) => f.endsWith('.wgsl')).sort()[0];
      appendFileSync(join(dir, 'out', kernel), 'garbage(\n');
      log = '';
      expect(await main(['check', join(dir, 'out')], io)).toBe(1);
      expect(log).toContain(`-garbage(`); // the diff
      // Located on the file, with a code: `DIR/KERNEL.wgsl(line,col): error LOOM5007: ...`.
      expect(log).toContain(`${join(dir, 'out', kernel)}(`);
      expect(log).toMatch(/\.wgsl\(\d+,\d+\): error LOOM5007: kernel '\S+' does not compile: \S/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('when the process-wide device is lost, acquireGpu() opens a new one that works', async () => {
    const { compiled, weights, tokens } = tiny();
    const first = await acquireGpu();
    const session = await Session.create(first, compiled, weights);
    const before = await session.forward(tokens);
    first.device.destroy();
    expect((await loomError(session.forward(tokens))).diagnostics[0].code).toBe(6004);
    session.destroy();
    const second = await acquireGpu();
    expect(second.device).not.toBe(first.device);
    const fresh = await Session.create(second, compiled, weights);
    const after = await fresh.forward(tokens);
    expect(Array.from(after.logits)).toEqual(Array.from(before.logits));
    fresh.destroy();
  });
});
