/**
 * The carried state of a Model on the device: one GPU buffer per state (matrix states S, normaliser
 * z, short-conv tails, KV caches, positions), each with the batch as its leading dimension. A
 * program binds these buffers themselves (`Session.carry`), so nothing is copied per call: a state
 * updated in place (a KV cache) is one buffer, read and written by the kernels; a state whose
 * output is written while its input is read gets a second buffer the first time a program needs
 * it, and the two swap roles after each call (the output becomes the state). The bind groups of
 * each (program, roles) pair are built once and kept here. The state reaches the host only when
 * read, saved to a file or checked.
 *
 * State files are safetensors: one F32 tensor per state, by name, and metadata naming the format,
 * the model and a hash of the compiled layout (model, batch, states and weights with their shapes).
 */
import { diag, LoomError } from '../grammar/diagnostics.ts';
import type { Gpu } from './gpu.ts';
import { bufferBytes, createBuffer, destroyBuffer, readBack } from './program.ts';
import { hostFiles, type Files } from './host.ts';
import { openSafetensors, writeSafetensors } from './safetensors.ts';
import { sha256Hex } from './sha256.ts';
import { scoped } from './device-health.ts';
import type { StateDecl } from './session.ts';

export const STATE_FORMAT = 'loom-state/1';

const numel = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
const shapeText = (shape: readonly number[]) => `[${shape.join(', ')}]`;

export function stateError(message: string): LoomError {
  return new LoomError([diag('bad-state', { message })]);
}

/** What a state file must match: the model's name and the hash of its compiled layout. */
export interface StateIdentity {
  model: string;
  layout: string;
}

/**
 * A short hash of everything that fixes the meaning of a state: the model name, the batch size,
 * every state and every weight with its shape. The window T is left out: a state saved by a
 * program over T = 64 continues in one compiled for T = 16.
 */
export function layoutHash(a: { model: string; dims: { B: number }; states: readonly { name: string; shape: readonly number[] }[]; weights: readonly { name: string; shape: readonly number[] }[] }): string {
  const text = JSON.stringify({
    model: a.model,
    B: a.dims.B,
    states: a.states.map((s) => [s.name, [...s.shape]]),
    weights: a.weights.map((w) => [w.name, [...w.shape]]),
  });
  return sha256Hex(text).slice(0, 16);
}

/** The buffers of one state: `buffers[now]` holds its value; `buffers[1 - now]`, when there are two, is the spare. */
interface Slot {
  buffers: GPUBuffer[];
  now: number;
}

/** One GPU buffer per state, zero at creation, and a spare for each state a program writes apart from its input. */
export class DeviceState {
  private destroyed = false;
  /** Bindings by owner (a program), then by the roles of the states' buffers. */
  private readonly bindings = new Map<object, Map<string, Promise<unknown>>>();

  private constructor(
    private readonly gpu: Gpu,
    readonly decls: readonly StateDecl[],
    private readonly slots: ReadonlyMap<string, Slot>,
  ) {}

  static async create(gpu: Gpu, decls: readonly StateDecl[]): Promise<DeviceState> {
    const slots = new Map<string, Slot>();
    await scoped(gpu.device, `allocating ${decls.length} state buffers`, () => {
      for (const s of decls) slots.set(s.name, { buffers: [stateBuffer(gpu.device, s)], now: 0 });
    }, () => slots.forEach((s) => s.buffers.forEach(destroyBuffer)));
    return new DeviceState(gpu, decls, slots);
  }

  private slot(name: string): Slot {
    const s = this.slots.get(name);
    if (!s || this.destroyed) throw stateError(`no state '${name}'${this.destroyed ? ' (the model was destroyed)' : ''}`);
    return s;
  }

  /** The buffer holding the state's value now. */
  buffer(name: string): GPUBuffer {
    const s = this.slot(name);
    return s.buffers[s.now];
  }

  /** Allocates the spare of each of `names` that has none (its contents are undefined until a call writes all of it). */
  async addSpares(names: readonly string[]): Promise<void> {
    const missing = names.map((n) => [n, this.slot(n)] as const).filter(([, s]) => s.buffers.length === 1);
    if (!missing.length) return;
    const made = await scoped(this.gpu.device, `allocating ${missing.length} more state buffers`, () => missing.map(([n]) => stateBuffer(this.gpu.device, this.decls.find((d) => d.name === n)!)));
    missing.forEach(([, s], i) => (this.destroyed || s.buffers.length > 1 ? destroyBuffer(made[i]) : s.buffers.push(made[i])));
  }

  /** The buffer a call writes the state's next value into while it reads `buffer(name)` (`addSpares` first). */
  spare(name: string): GPUBuffer {
    const s = this.slot(name);
    if (s.buffers.length !== 2) throw stateError(`state '${name}' has no second buffer`);
    return s.buffers[1 - s.now];
  }

  /** After a call wrote the next value of each of `names` into its spare: the spares hold the state now. */
  swap(names: readonly string[]): void {
    for (const name of names) {
      this.spare(name);
      const s = this.slot(name);
      s.now = 1 - s.now;
    }
  }

  /**
   * What `make` builds for `owner` (a program's bind groups over this state's buffers, read when
   * `make` is called) with the current roles of every state's buffers: built once per roles, kept
   * until `destroy`.
   */
  bound<T>(owner: object, make: () => Promise<T>): Promise<T> {
    const key = this.decls.map((d) => this.slot(d.name).now).join('');
    let byRoles = this.bindings.get(owner);
    if (!byRoles) this.bindings.set(owner, (byRoles = new Map()));
    let p = byRoles.get(key) as Promise<T> | undefined;
    if (!p) {
      const made = make();
      byRoles.set(key, made);
      made.catch(() => byRoles.delete(key));
      p = made;
    }
    return p;
  }

  /** Bytes of one state's values (without the buffer's alignment padding). */
  bytes(name: string): number {
    return numel(this.decls.find((s) => s.name === name)!.shape) * 4;
  }

  /** Checks a full set of state values by name and size; unknown names are refused. */
  check(values: Readonly<Record<string, Float32Array>>, where = 'state'): void {
    for (const s of this.decls) {
      const v = values[s.name];
      if (!v || v.length !== numel(s.shape)) throw stateError(`${where}: '${s.name}' needs ${shapeText(s.shape)} = ${numel(s.shape)} values, got ${v ? v.length : 'none'}`);
    }
    const unknown = Object.keys(values).filter((k) => !this.decls.some((s) => s.name === k));
    if (unknown.length) throw stateError(`${where}: unknown state(s) ${unknown.join(', ')}; the model carries ${this.decls.map((s) => s.name).join(', ') || 'no state'}`);
  }

  /** Replaces every state (checked first: nothing is written when one is wrong). */
  write(values: Readonly<Record<string, Float32Array>>): void {
    this.check(values);
    for (const s of this.decls) this.gpu.device.queue.writeBuffer(this.buffer(s.name), 0, values[s.name] as Float32Array<ArrayBuffer>);
  }

  zero(): void {
    for (const s of this.decls) this.gpu.device.queue.writeBuffer(this.buffer(s.name), 0, new Float32Array(numel(s.shape)));
  }

  /** Every state back on the host, in one submission. */
  async read(): Promise<Record<string, Float32Array>> {
    const list = this.decls.map((s) => ({ name: s.name, buffer: this.buffer(s.name), decl: { elem: 'f32' as const, elements: numel(s.shape) } }));
    return (await readBack(this.gpu.device, list)) as Record<string, Float32Array>;
  }

  /**
   * Copies `from` into this state on the device: every state, or only batch rows `rows` (every
   * state's leading dimension is the batch, so row b is one contiguous range).
   */
  async copyFrom(from: DeviceState, rows?: readonly number[]): Promise<void> {
    const { device } = this.gpu;
    await scoped(device, 'copying state buffers', () => {
      const encoder = device.createCommandEncoder();
      for (const s of this.decls) {
        const bytes = this.bytes(s.name);
        if (!rows) encoder.copyBufferToBuffer(from.buffer(s.name), 0, this.buffer(s.name), 0, bytes);
        else {
          const row = bytes / s.shape[0];
          for (const b of rows) encoder.copyBufferToBuffer(from.buffer(s.name), b * row, this.buffer(s.name), b * row, row);
        }
      }
      device.queue.submit([encoder.finish()]);
    });
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.bindings.clear();
    for (const s of this.slots.values()) s.buffers.forEach(destroyBuffer);
  }
}

function stateBuffer(device: GPUDevice, s: StateDecl): GPUBuffer {
  const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
  return createBuffer(device, { label: `state ${s.name}`, size: bufferBytes({ elements: numel(s.shape) }), usage });
}

/** Writes a state file: one F32 tensor per state, and the identity it belongs to. */
export function saveStateFile(path: string, decls: readonly StateDecl[], values: Readonly<Record<string, Float32Array>>, id: StateIdentity, files: Files = hostFiles()): void {
  const tensors = Object.fromEntries(decls.map((s) => [s.name, { dtype: 'F32' as const, shape: [...s.shape], data: values[s.name] }]));
  writeSafetensors(path, tensors, { format: STATE_FORMAT, model: id.model, layout: id.layout }, files);
}

/**
 * Reads a state file written by `saveStateFile` for the model `id`: a file of another format,
 * model or layout is refused naming both, as is a missing, extra or mis-shaped state.
 */
export function loadStateFile(path: string, decls: readonly StateDecl[], id: StateIdentity, files: Files = hostFiles()): Record<string, Float32Array> {
  const reader = openSafetensors(path, files);
  try {
    const m = reader.metadata;
    if (m.format !== STATE_FORMAT) throw stateError(`${path}: not a Loom state file (metadata format is ${m.format === undefined ? 'missing' : `'${m.format}'`}, expected '${STATE_FORMAT}')`);
    if (m.model !== id.model || m.layout !== id.layout) {
      throw stateError(`${path}: the state of model '${m.model}' (layout ${m.layout}) cannot be loaded into model '${id.model}' (layout ${id.layout})${m.model === id.model ? '; the same model compiled with another batch size, states or weights' : ''}`);
    }
    const extra = [...reader.entries.keys()].filter((k) => !decls.some((s) => s.name === k));
    if (extra.length) throw stateError(`${path}: state(s) ${extra.join(', ')} are not states of ${id.model}`);
    const out: Record<string, Float32Array> = {};
    for (const s of decls) {
      const e = reader.entries.get(s.name);
      if (!e) throw stateError(`${path}: no state '${s.name}' ${shapeText(s.shape)}`);
      if (e.dtype !== 'F32' || e.shape.join() !== s.shape.join()) throw stateError(`${path}: state '${s.name}' is ${e.dtype}${shapeText(e.shape)}, the model needs F32${shapeText(s.shape)}`);
      out[s.name] = reader.read(s.name).data as Float32Array;
    }
    return out;
  } finally {
    reader.close();
  }
}
