/**
 * Runs a ProgramSpec on a device: a pipeline cache keyed by WGSL text, one GPU buffer per
 * declared buffer, bind groups built once, and one command buffer (one queue submission) per run.
 */
import { elemBytes, type ElemType, type Kernel } from '../compiler/codegen/kernel.ts';
import type { BufferDecl, ProgramSpec, Step } from '../compiler/codegen/program.ts';
import { planMemory } from '../compiler/codegen/memory.ts';
import { diag, LoomError, LoomInternalError } from '../grammar/diagnostics.ts';
import { assertAlive, scoped, takeUncaptured, unlessLost } from './device-health.ts';
import { fromF16, toF16 } from './f16.ts';
import type { Gpu } from './gpu.ts';

export type HostArray = Float32Array | Int32Array | Uint32Array;

/** A compiler message located in the kernel's WGSL (Dawn's getCompilationInfo; 1-based line and column). */
export interface WgslMessage { line: number; col: number; offset: number; length: number; text: string }

/** Raised when WGSL fails to compile: every message with line and column, and the line it points at. */
export class ShaderCompileError extends Error {
  constructor(readonly kernel: Kernel, messages: string[], readonly located: WgslMessage[] = []) {
    const lines = kernel.wgsl.split('\n');
    super(`kernel ${kernel.name} failed to compile:\n${messages.join('\n')}${located.map((m) => `\n${String(m.line).padStart(4)} | ${lines[m.line - 1] ?? ''}`).join('')}`);
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
    assertAlive(this.device);
    // A scope of its own (pushed and popped synchronously) so that bad WGSL is reported here,
    // not later as an uncaptured error of whatever runs next.
    this.device.pushErrorScope('validation');
    const module = this.device.createShaderModule({ code: kernel.wgsl, label: kernel.name });
    const scope = this.device.popErrorScope();
    const info = await unlessLost(this.device, module.getCompilationInfo());
    const scopeError = await unlessLost(this.device, scope);
    const bad = info.messages.filter((m) => m.type === 'error');
    const errors = bad.map((m) => `${kernel.name}:${m.lineNum}:${m.linePos}: ${m.message}`);
    const located = bad.map((m) => ({ line: m.lineNum, col: m.linePos, offset: m.offset, length: m.length, text: m.message }));
    if (errors.length || scopeError) throw new ShaderCompileError(kernel, errors.length ? errors : [scopeError!.message], located);
    try {
      return await unlessLost(this.device, this.device.createComputePipelineAsync({
        label: kernel.name,
        layout: 'auto',
        compute: { module, entryPoint: kernel.entryPoint },
      }));
    } catch (e) {
      if (e instanceof LoomError) throw e;
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

let liveBuffers = 0;

/** GPU buffers created by programs (their own and staging buffers) and not yet destroyed. */
export function liveGpuBuffers(): number {
  return liveBuffers;
}

export function createBuffer(device: GPUDevice, desc: GPUBufferDescriptor): GPUBuffer {
  const b = device.createBuffer(desc);
  liveBuffers++;
  return b;
}

export function destroyBuffer(b: GPUBuffer): void {
  b.destroy();
  liveBuffers--;
}

/** Storage buffers must be non-empty and 16-byte aligned here (f16: 2 bytes per element, else 4). */
export function bufferBytes(b: { elements: number; elem?: ElemType }): number {
  return Math.max(16, Math.ceil((b.elements * elemBytes(b.elem ?? 'f32')) / 16) * 16);
}

/** Bytes a copy of the buffer's elements moves: whole 4-byte words (an odd number of f16 values ends padded). */
function copyBytes(decl: { elements: number; elem: ElemType }): number {
  return Math.ceil((decl.elements * elemBytes(decl.elem)) / 4) * 4;
}

/**
 * LOOM4022 before anything is allocated: a program with f16 buffers (compiled with
 * `--weights-dtype f16`) on a device without shader-f16.
 */
function checkFeatures(gpu: Gpu, spec: ProgramSpec): void {
  const f16 = spec.buffers.find((b) => b.elem === 'f16');
  if (!f16 || gpu.device.features.has('shader-f16')) return;
  const a = gpu.adapter;
  const device = `the adapter ${a.description || a.device || a.vendor || '(unnamed)'}`;
  const what = `this program's f16 weight buffers ('${f16.name}', ...; compiled with --weights-dtype f16)`;
  throw new LoomError([diag('no-shader-f16', { what, device, hint: 'recompile with --weights-dtype f32, or auto (the default), which chooses f32 there' })]);
}

/**
 * Refuses, before anything is allocated, a buffer over the device's per-buffer limits, and a
 * kernel binding more storage buffers than the device allows (artifacts compiled for an adapter
 * with a higher limit: fusion merges projections up to the limit of the device it compiles for).
 */
function checkLimits(gpu: Gpu, spec: ProgramSpec, shared: ReadonlyMap<string, GPUBuffer>): void {
  const { maxBufferSize, maxStorageBufferBindingSize, maxStorageBuffersPerShaderStage } = gpu.limits;
  for (const { kernel } of spec.steps) {
    if (kernel.bindings.length <= maxStorageBuffersPerShaderStage) continue;
    const message = `kernel '${kernel.name}' binds ${kernel.bindings.length} storage buffers; the device allows ${maxStorageBuffersPerShaderStage} per shader stage (maxStorageBuffersPerShaderStage): compile the spec for this device (loom compile on it) so that fusion stays within its limit; nothing was allocated`;
    throw new LoomError([diag('device-limit', { message })]);
  }
  for (const b of spec.buffers) {
    if (shared.has(b.name)) continue;
    const bytes = bufferBytes(b);
    const [limit, name] = maxBufferSize <= maxStorageBufferBindingSize ? [maxBufferSize, 'maxBufferSize'] : [maxStorageBufferBindingSize, 'maxStorageBufferBindingSize'];
    if (bytes > limit) {
      const message = `buffer '${b.name}' (${b.elem}[${b.elements}]) needs ${bytes} bytes; the device allows at most ${limit} bytes (${name}); nothing was allocated`;
      throw new LoomError([diag('device-limit', { message })]);
    }
  }
}

/** The host array of a buffer's values; f16 buffers come and go as Float32Array (converted). */
function hostArray(elem: ElemType, n: number): HostArray {
  return elem === 'f32' || elem === 'f16' ? new Float32Array(n) : elem === 'i32' ? new Int32Array(n) : new Uint32Array(n);
}

interface Pass {
  pipeline: GPUComputePipeline;
  bindGroup: GPUBindGroup;
  dispatch: [number, number, number];
}

function dispatch(pass: GPUComputePassEncoder, p: Pass): void {
  pass.setPipeline(p.pipeline);
  pass.setBindGroup(0, p.bindGroup);
  pass.dispatchWorkgroups(...p.dispatch);
}

/** One step's bind group over `buffers`, each binding checked against its declaration. */
function bindGroup(device: GPUDevice, step: Step, pipeline: GPUComputePipeline, buffers: ReadonlyMap<string, GPUBuffer>, decls: ReadonlyMap<string, BufferDecl>): GPUBindGroup {
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
  return device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries, label: kernel.name });
}

/** Refuses a step that would bind one of the `replace`d GPU buffers under two declared buffers. */
function checkDistinct(step: Step, buffers: ReadonlyMap<string, GPUBuffer>, decls: ReadonlyMap<string, BufferDecl>, replace: ReadonlyMap<string, GPUBuffer>): void {
  const seen = new Map<GPUBuffer, string>();
  for (const name of step.args) {
    const target = decls.get(name)?.alias ?? name;
    const buffer = buffers.get(name)!;
    const other = seen.get(buffer);
    if (other !== undefined && other !== target && (replace.has(target) || replace.has(other))) {
      throw new LoomInternalError('program', `${step.kernel.name} would bind one buffer as both '${other}' and '${target}'`);
    }
    seen.set(buffer, target);
  }
}

/** A ProgramSpec bound to a device: buffers allocated, pipelines compiled, bind groups built. */
export class Program {
  private constructor(
    readonly gpu: Gpu,
    readonly spec: ProgramSpec,
    private readonly buffers: Map<string, GPUBuffer>,
    private readonly decls: Map<string, BufferDecl>,
    private readonly passes: Pass[],
    /** The GPU buffers this program allocated (not the `shared` ones it borrows): destroyed with it. */
    private readonly owned: readonly GPUBuffer[],
  ) {}

  /**
   * `shared`: GPU buffers of another program to bind by name instead of allocating (shared weights).
   * Activations share allocations by the memory plan (compiler/codegen/memory.ts) unless
   * `keepActivations` is set: then every intermediate keeps its value after a run, for callers that
   * read them all back (`loom check`). `onPipeline` is called as each step's pipeline is ready.
   */
  static async create(gpu: Gpu, spec: ProgramSpec, shared: ReadonlyMap<string, GPUBuffer> = new Map(), opts: ProgramOptions = {}): Promise<Program> {
    const { device } = gpu;
    assertAlive(device);
    checkFeatures(gpu, spec);
    checkLimits(gpu, spec, shared);
    const decls = new Map(spec.buffers.map((b) => [b.name, b]));
    const buffers = new Map<string, GPUBuffer>(shared);
    const own = spec.buffers.filter((b) => !shared.has(b.name) && b.alias === undefined);
    const plan = opts.keepActivations ? undefined : planMemory({ ...spec, buffers: own });
    const owned: GPUBuffer[] = [];
    const release = () => owned.forEach(destroyBuffer);
    const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
    const dedicated = own.filter((b) => !plan?.slotOf.has(b.name));
    const bytes = dedicated.reduce((a, b) => a + bufferBytes(b), 0) + (plan?.bytesShared ?? 0);
    await scoped(device, `allocating ${dedicated.length + (plan?.slots.length ?? 0)} buffers (${bytes} bytes)`, () => {
      const slots = (plan?.slots ?? []).map((size, i) => createBuffer(device, { label: `activations ${i}`, size, usage }));
      owned.push(...slots);
      for (const b of own) {
        const slot = plan?.slotOf.get(b.name);
        if (slot !== undefined) buffers.set(b.name, slots[slot]);
        else {
          const buffer = createBuffer(device, { label: b.name, size: bufferBytes(b), usage });
          owned.push(buffer);
          buffers.set(b.name, buffer);
        }
      }
    }, release);
    for (const b of spec.buffers) {
      if (b.alias === undefined) continue;
      const target = buffers.get(b.alias);
      if (!target || decls.get(b.alias)!.elements !== b.elements) throw new LoomInternalError('program', `buffer '${b.name}' aliases '${b.alias}', which is not a buffer of ${b.elements} elements`);
      buffers.set(b.name, target);
    }
    try {
      const passes = await Program.passes(gpu, spec, buffers, decls, opts.onPipeline);
      return new Program(gpu, spec, buffers, decls, passes, owned);
    } catch (e) {
      release();
      throw e;
    }
  }

  /** Pipelines (compiled in parallel through the cache) and one bind group per step. */
  private static async passes(gpu: Gpu, spec: ProgramSpec, buffers: Map<string, GPUBuffer>, decls: Map<string, BufferDecl>, onPipeline?: () => void): Promise<Pass[]> {
    const { device } = gpu;
    const cache = pipelineCache(device);
    const pipelines = await Promise.all(spec.steps.map((s) => (onPipeline ? cache.get(s.kernel).then((p) => (onPipeline(), p)) : cache.get(s.kernel))));
    return scoped(device, `creating the bind groups of ${spec.steps.length} kernels`, () => spec.steps.map((step, i) => {
      const pipeline = pipelines[i];
      return { pipeline, bindGroup: bindGroup(device, step, pipeline, buffers, decls), dispatch: step.kernel.dispatch };
    }));
  }

  /**
   * This program's steps with some declared buffers bound to GPU buffers of the caller's (a carried
   * state's own, so that nothing is copied in or out): new bind groups for the steps that bind one
   * of them, this program's own for the others. An alias follows its target. Built once by the
   * caller and passed to `submit`; a replaced buffer may appear in a step only as one declared
   * buffer (never read through one name while written through another).
   */
  async bind(replace: ReadonlyMap<string, GPUBuffer>): Promise<Binding> {
    this.usable();
    const to = new Map(this.buffers);
    for (const [name, buffer] of replace) {
      const decl = this.decls.get(name);
      if (!decl || decl.alias !== undefined || decl.role === 'weight' || buffer.size < bufferBytes(decl)) {
        throw new LoomInternalError('program', `buffer '${name}' cannot be bound to '${buffer.label}' (${buffer.size} bytes)`);
      }
      to.set(name, buffer);
    }
    for (const d of this.spec.buffers) if (d.alias !== undefined && replace.has(d.alias)) to.set(d.name, replace.get(d.alias)!);
    const steps = this.spec.steps;
    const touched = (i: number) => steps[i].args.some((a) => replace.has(this.decls.get(a)?.alias ?? a));
    for (let i = 0; i < steps.length; i++) if (touched(i)) checkDistinct(steps[i], to, this.decls, replace);
    const passes = await scoped(this.gpu.device, `binding ${replace.size} buffers`, () => this.passes.map((p, i) => (
      touched(i) ? { ...p, bindGroup: bindGroup(this.gpu.device, steps[i], p.pipeline, to, this.decls) } : p
    )));
    return { program: this, passes };
  }

  /** The GPU buffer behind a declared buffer (to share it with another program). */
  gpuBuffer(name: string): GPUBuffer {
    return this.buffer(name).buffer;
  }

  private destroyed = false;

  /** Throws LOOM6004 when the device is lost and LOOM6005 when this program was destroyed. */
  private usable(): void {
    assertAlive(this.gpu.device);
    if (this.destroyed) throw new LoomError([diag('device-error', { message: 'this session was destroyed; create a new session' })]);
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
    this.usable();
    if (decl.elem === 'f16') {
      // Values are given as f32 and stored rounded to nearest f16 (runtime/f16.ts), padded to 4 bytes.
      if (!(data instanceof Float32Array)) throw new LoomInternalError('program', `buffer '${name}' is f16; write it as a Float32Array`);
      const bits = toF16(data);
      this.gpu.device.queue.writeBuffer(buffer, 0, bits.buffer, 0, bits.byteLength);
      return;
    }
    this.gpu.device.queue.writeBuffer(buffer, 0, data.buffer, data.byteOffset, data.byteLength);
  }

  /**
   * Writes a weight as its buffer stores it: f32 values, or f16 bit patterns (`Uint16Array`, from
   * a WeightProvider; padded to whole 4-byte words) into an f16 buffer.
   */
  writeWeight(name: string, data: Float32Array | Uint16Array): void {
    const { buffer, decl } = this.buffer(name);
    if (!(data instanceof Uint16Array)) return this.write(name, data);
    if (decl.elem !== 'f16' || data.length !== decl.elements) throw new LoomInternalError('program', `buffer '${name}' is ${decl.elem}[${decl.elements}], got ${data.length} f16 values`);
    this.usable();
    const bits = data.length % 2 ? Uint16Array.from({ length: data.length + 1 }, (_, i) => data[i] ?? 0) : data;
    this.gpu.device.queue.writeBuffer(buffer, 0, bits.buffer, bits.byteOffset, bits.byteLength);
  }

  /** Submits the writes so far and waits until the queue has done them (Dawn then frees their staging copies). */
  async flush(): Promise<void> {
    this.usable();
    this.gpu.device.queue.submit([]);
    await unlessLost(this.gpu.device, this.gpu.device.queue.onSubmittedWorkDone());
  }

  /** Fills a buffer with NaN (f32) or 0x7fffffff (integers), to catch kernels that skip outputs. */
  poison(name: string): void {
    const { decl } = this.buffer(name);
    const a = hostArray(decl.elem, decl.elements);
    a.fill(decl.elem === 'f32' || decl.elem === 'f16' ? Number.NaN : 0x7fffffff);
    this.write(name, a);
  }

  /**
   * Encodes every step into one command buffer and submits it once. Validation and out-of-memory
   * errors become LOOM6005, a device lost before or during the run LOOM6004.
   */
  async run(): Promise<void> {
    this.usable();
    const { device } = this.gpu;
    await scoped(device, `running ${this.passes.length} kernels`, () => {
      const encoder = device.createCommandEncoder();
      this.encodePasses(encoder, this.passes);
      device.queue.submit([encoder.finish()]);
    });
    await unlessLost(device, device.queue.onSubmittedWorkDone());
    const uncaptured = takeUncaptured(device, `running ${this.passes.length} kernels`);
    if (uncaptured) throw uncaptured;
  }

  /**
   * One queue submission, atomic with respect to other programs sharing this one's buffers: the
   * host `writes`, every kernel (over `binding` when given: a carried state's own buffers) and
   * staging copies of `read`, in that order; resolves with the read buffers.
   */
  async submit(o: Submission): Promise<Record<string, HostArray>> {
    this.usable();
    if (o.binding && o.binding.program !== this) throw new LoomInternalError('program', 'a binding of another program was submitted');
    const { device } = this.gpu;
    const what = `running ${this.passes.length} kernels`;
    const staging: Staging[] = [];
    try {
      await scoped(device, what, () => {
        for (const [name, data] of o.writes ?? []) this.write(name, data);
        const encoder = device.createCommandEncoder();
        const passes = o.binding?.passes ?? this.passes;
        this.encodePasses(encoder, o.only ? passes.filter((_, i) => o.only![i]) : passes);
        for (const name of o.read ?? []) staging.push(encodeRead(device, encoder, name, this.buffer(name)));
        device.queue.submit([encoder.finish()]);
      });
      const out = await collect(device, staging);
      const uncaptured = takeUncaptured(device, what);
      if (uncaptured) throw uncaptured;
      return out;
    } finally {
      for (const { s } of staging) destroyBuffer(s);
    }
  }

  get stepCount(): number {
    return this.passes.length;
  }

  /** Records every step into a compute pass the caller owns (runtime/measure.ts repeats them to time them). */
  encode(pass: GPUComputePassEncoder): void {
    this.usable();
    for (const p of this.passes) dispatch(pass, p);
  }

  /** One compute pass over `passes` on `encoder`. */
  private encodePasses(encoder: GPUCommandEncoder, passes: readonly Pass[]): void {
    const pass = encoder.beginComputePass();
    for (const p of passes) dispatch(pass, p);
    pass.end();
  }

  /**
   * Runs the steps one submission each, in program order, calling `after(i)` once step i is done;
   * stops early when it returns false. Slower than `run` (a debugging aid: `--check-finite`).
   */
  async runEach(after: (index: number) => Promise<boolean>): Promise<void> {
    this.usable();
    const { device } = this.gpu;
    for (let i = 0; i < this.passes.length; i++) {
      const p = this.passes[i];
      await scoped(device, `running kernel ${this.spec.steps[i].kernel.name}`, () => {
        const encoder = device.createCommandEncoder();
        this.encodePasses(encoder, [p]);
        device.queue.submit([encoder.finish()]);
      });
      await unlessLost(device, device.queue.onSubmittedWorkDone());
      if (!(await after(i))) return;
    }
  }

  async read(name: string): Promise<HostArray> {
    return (await this.readMany([name]))[name];
  }

  /** Copies buffers back to the host in one submission. */
  async readMany(names: string[]): Promise<Record<string, HostArray>> {
    this.usable();
    return readBack(this.gpu.device, names.map((name) => ({ name, ...this.buffer(name) })));
  }

  /** Releases this program's own buffers (not the borrowed ones); later calls refuse. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const b of this.owned) destroyBuffer(b);
  }
}

export interface ProgramOptions {
  keepActivations?: boolean;
  onPipeline?: () => void;
}

/** A program's steps bound to some buffers of the caller's (`Program.bind`). */
export interface Binding {
  readonly program: Program;
  readonly passes: readonly Pass[];
}

export interface Submission {
  writes?: [string, HostArray][];
  /** Run the steps over these bind groups instead of the program's own. */
  binding?: Binding;
  read?: string[];
  /** Run only the steps marked true (`neededSteps`); absent: every step. */
  only?: readonly boolean[];
}

/**
 * Which steps of `spec` the buffers `outputs` depend on: walking back from the last step, a step
 * is needed when it writes (binds read_write) a needed buffer, and then everything it binds is
 * needed. The rest (a forward program's final norm and LM head, for a window whose logits nobody
 * reads) can be left out of a submission. Pure.
 */
export function neededSteps(spec: ProgramSpec, outputs: readonly string[]): boolean[] {
  const needed = new Set(outputs);
  const alias = new Map(spec.buffers.filter((b) => b.alias).map((b) => [b.name, b.alias!]));
  const root = (name: string) => alias.get(name) ?? name;
  for (const o of outputs) needed.add(root(o));
  const out = new Array<boolean>(spec.steps.length).fill(false);
  for (let i = spec.steps.length - 1; i >= 0; i--) {
    const { kernel, args } = spec.steps[i];
    if (!args.some((a, j) => kernel.bindings[j].access === 'read_write' && needed.has(root(a)))) continue;
    out[i] = true;
    for (const a of args) needed.add(root(a));
  }
  return out;
}

interface Staging {
  name: string;
  decl: { elem: ElemType; elements: number };
  s: GPUBuffer;
}

function encodeRead(device: GPUDevice, encoder: GPUCommandEncoder, name: string, src: { buffer: GPUBuffer; decl: { elem: ElemType; elements: number } }): Staging {
  const { buffer, decl } = src;
  const s = createBuffer(device, { label: `read ${name}`, size: bufferBytes(decl), usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  encoder.copyBufferToBuffer(buffer, 0, s, 0, copyBytes(decl));
  return { name, decl, s };
}

async function collect(device: GPUDevice, staging: Staging[]): Promise<Record<string, HostArray>> {
  const out: Record<string, HostArray> = {};
  for (const { name, decl, s } of staging) {
    await unlessLost(device, s.mapAsync(GPUMapMode.READ));
    const mapped = new Uint8Array(s.getMappedRange(), 0, copyBytes(decl));
    if (decl.elem === 'f16') out[name] = fromF16(new Uint16Array(mapped.slice().buffer), decl.elements);
    else {
      const copy = hostArray(decl.elem, decl.elements);
      new Uint8Array(copy.buffer).set(mapped);
      out[name] = copy;
    }
    s.unmap();
  }
  return out;
}

/** Copies any device buffers back to the host in one submission (program buffers, carried states). */
export async function readBack(device: GPUDevice, list: { name: string; buffer: GPUBuffer; decl: { elem: ElemType; elements: number } }[]): Promise<Record<string, HostArray>> {
  const staging: Staging[] = [];
  try {
    await scoped(device, `reading back ${list.length} buffers`, () => {
      const encoder = device.createCommandEncoder();
      for (const x of list) staging.push(encodeRead(device, encoder, x.name, x));
      device.queue.submit([encoder.finish()]);
    });
    return await collect(device, staging);
  } finally {
    for (const { s } of staging) destroyBuffer(s);
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
      else if (b.alias === undefined) program.poison(b.name); // an alias shares its target's memory
    }
    await program.run();
    return await program.readMany(outputs);
  } finally {
    program.destroy();
  }
}
