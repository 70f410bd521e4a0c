/**
 * Runs a ProgramSpec on a device: a pipeline cache keyed by WGSL text, one GPU buffer per
 * declared buffer, bind groups built once, and one command buffer (one queue submission) per run.
 */
import type { ElemType, Kernel } from '../compiler/codegen/kernel.ts';
import type { BufferDecl, ProgramSpec } from '../compiler/codegen/program.ts';
import { LoomInternalError } from '../grammar/diagnostics.ts';
import type { Gpu } from './gpu.ts';

export type HostArray = Float32Array | Int32Array | Uint32Array;

/** Raised when WGSL fails to compile: every message with line and column, the kernel and its source. */
export class ShaderCompileError extends Error {
  constructor(kernel: Kernel, messages: string[]) {
    super(`kernel ${kernel.name} failed to compile:\n${messages.join('\n')}\n--- source ---\n${kernel.wgsl}`);
    this.name = 'ShaderCompileError';
  }
}

/** Pipelines cached by WGSL text; concurrent requests for one text share one promise. */
export class PipelineCache {
  private readonly cache = new Map<string, Promise<GPUComputePipeline>>();
  constructor(private readonly device: GPUDevice) {}

  get size(): number {
    return this.cache.size;
  }

  /**
   * Kernels whose code differs only in the header comment (the same kernel in every layer,
   * `L0.attn.recurrent` and `L1.attn.recurrent`) share one pipeline: the key leaves comments out.
   */
  get(kernel: Kernel): Promise<GPUComputePipeline> {
    const code = kernel.wgsl.split('\n').filter((l) => !l.trimStart().startsWith('//')).join('\n');
    const key = `${kernel.entryPoint}\n${code}`;
    let p = this.cache.get(key);
    if (!p) {
      p = this.compile(kernel);
      this.cache.set(key, p);
    }
    return p;
  }

  private async compile(kernel: Kernel): Promise<GPUComputePipeline> {
    const module = this.device.createShaderModule({ code: kernel.wgsl, label: kernel.name });
    const info = await module.getCompilationInfo();
    const errors = info.messages.filter((m) => m.type === 'error');
    if (errors.length) {
      throw new ShaderCompileError(kernel, errors.map((m) => `${kernel.name}:${m.lineNum}:${m.linePos}: ${m.message}`));
    }
    try {
      return await this.device.createComputePipelineAsync({
        label: kernel.name,
        layout: 'auto',
        compute: { module, entryPoint: kernel.entryPoint },
      });
    } catch (e) {
      throw new ShaderCompileError(kernel, [(e as Error).message]);
    }
  }
}

const caches = new WeakMap<GPUDevice, PipelineCache>();

export function pipelineCache(device: GPUDevice): PipelineCache {
  let c = caches.get(device);
  if (!c) {
    c = new PipelineCache(device);
    caches.set(device, c);
  }
  return c;
}

const BYTES = 4;

function hostArray(elem: ElemType, n: number): HostArray {
  return elem === 'f32' ? new Float32Array(n) : elem === 'i32' ? new Int32Array(n) : new Uint32Array(n);
}

/** A ProgramSpec bound to a device: buffers allocated, pipelines compiled, bind groups built. */
export class Program {
  private constructor(
    readonly gpu: Gpu,
    readonly spec: ProgramSpec,
    private readonly buffers: Map<string, GPUBuffer>,
    private readonly decls: Map<string, BufferDecl>,
    private readonly passes: { pipeline: GPUComputePipeline; bindGroup: GPUBindGroup; dispatch: [number, number, number] }[],
    /** Buffers another program owns (`shared` in create): bound here, never destroyed here. */
    private readonly borrowed: ReadonlySet<string> = new Set(),
  ) {}

  /** `shared`: GPU buffers of another program to bind by name instead of allocating (shared weights). */
  static async create(gpu: Gpu, spec: ProgramSpec, shared: ReadonlyMap<string, GPUBuffer> = new Map()): Promise<Program> {
    const { device } = gpu;
    const decls = new Map(spec.buffers.map((b) => [b.name, b]));
    const buffers = new Map<string, GPUBuffer>(shared);
    for (const b of spec.buffers) {
      if (shared.has(b.name)) continue;
      buffers.set(
        b.name,
        device.createBuffer({
          label: b.name,
          // Storage buffers must be non-empty and 4-byte aligned.
          size: Math.max(16, Math.ceil((b.elements * BYTES) / 16) * 16),
          usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
        }),
      );
    }
    const cache = pipelineCache(device);
    const pipelines = await Promise.all(spec.steps.map((s) => cache.get(s.kernel)));
    const passes = spec.steps.map((step, i) => {
      const { kernel, args } = step;
      if (args.length !== kernel.bindings.length) {
        throw new LoomInternalError('program', `${kernel.name} has ${kernel.bindings.length} bindings, got ${args.length} buffers`);
      }
      const entries = args.map((name, binding) => {
        const buffer = buffers.get(name);
        const decl = decls.get(name);
        if (!buffer || !decl) throw new LoomInternalError('program', `${kernel.name} binds unknown buffer '${name}'`);
        const want = kernel.bindings[binding];
        if (decl.elements < want.elements || decl.elem !== want.elem) {
          throw new LoomInternalError(
            'program',
            `${kernel.name} binding '${want.name}' needs ${want.elem}[${want.elements}], buffer '${name}' is ${decl.elem}[${decl.elements}]`,
          );
        }
        return { binding, resource: { buffer } };
      });
      const pipeline = pipelines[i];
      const bindGroup = device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries, label: kernel.name });
      return { pipeline, bindGroup, dispatch: kernel.dispatch };
    });
    return new Program(gpu, spec, buffers, decls, passes, new Set(shared.keys()));
  }

  /** The GPU buffer behind a declared buffer (to share it with another program). */
  gpuBuffer(name: string): GPUBuffer {
    return this.buffer(name).buffer;
  }

  private buffer(name: string): { buffer: GPUBuffer; decl: BufferDecl } {
    const buffer = this.buffers.get(name);
    const decl = this.decls.get(name);
    if (!buffer || !decl) throw new LoomInternalError('program', `no buffer '${name}'`);
    return { buffer, decl };
  }

  has(name: string): boolean {
    return this.buffers.has(name);
  }

  write(name: string, data: HostArray): void {
    const { buffer, decl } = this.buffer(name);
    if (data.length !== decl.elements) {
      throw new LoomInternalError('program', `buffer '${name}' holds ${decl.elements} elements, got ${data.length}`);
    }
    this.gpu.device.queue.writeBuffer(buffer, 0, data.buffer, data.byteOffset, data.byteLength);
  }

  /** Fills a buffer with NaN (f32) or 0x7fffffff (integers), to catch kernels that skip outputs. */
  poison(name: string): void {
    const { decl } = this.buffer(name);
    const a = hostArray(decl.elem, decl.elements);
    a.fill(decl.elem === 'f32' ? Number.NaN : 0x7fffffff);
    this.write(name, a);
  }

  /** Encodes every step into one command buffer and submits it once. */
  async run(): Promise<void> {
    const { device } = this.gpu;
    const encoder = device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    for (const p of this.passes) {
      pass.setPipeline(p.pipeline);
      pass.setBindGroup(0, p.bindGroup);
      pass.dispatchWorkgroups(...p.dispatch);
    }
    pass.end();
    device.queue.submit([encoder.finish()]);
    await device.queue.onSubmittedWorkDone();
  }

  async read(name: string): Promise<HostArray> {
    return (await this.readMany([name]))[name];
  }

  /** Copies buffers back to the host in one submission. */
  async readMany(names: string[]): Promise<Record<string, HostArray>> {
    const { device } = this.gpu;
    const encoder = device.createCommandEncoder();
    const staging = names.map((name) => {
      const { buffer, decl } = this.buffer(name);
      const bytes = decl.elements * BYTES;
      const s = device.createBuffer({ size: Math.max(16, Math.ceil(bytes / 16) * 16), usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
      encoder.copyBufferToBuffer(buffer, 0, s, 0, Math.ceil(bytes / 4) * 4);
      return { name, decl, s };
    });
    device.queue.submit([encoder.finish()]);
    const out: Record<string, HostArray> = {};
    for (const { name, decl, s } of staging) {
      await s.mapAsync(GPUMapMode.READ);
      const copy = hostArray(decl.elem, decl.elements);
      new Uint8Array(copy.buffer).set(new Uint8Array(s.getMappedRange(), 0, decl.elements * BYTES));
      s.unmap();
      s.destroy();
      out[name] = copy;
    }
    return out;
  }

  destroy(): void {
    for (const [name, b] of this.buffers) if (!this.borrowed.has(name)) b.destroy();
  }
}

/**
 * Runs a spec once: writes `inputs`, poisons every other buffer, runs, reads `outputs`.
 * The harness kernel tests use.
 */
export async function runOnce(
  gpu: Gpu,
  spec: ProgramSpec,
  inputs: Record<string, HostArray>,
  outputs: string[],
): Promise<Record<string, HostArray>> {
  const program = await Program.create(gpu, spec);
  try {
    for (const b of spec.buffers) {
      if (b.name in inputs) program.write(b.name, inputs[b.name]);
      else program.poison(b.name);
    }
    await program.run();
    return await program.readMany(outputs);
  } finally {
    program.destroy();
  }
}
