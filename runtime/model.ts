/**
 * Model: the two programs of an artifact directory on one device, sharing the weight buffers:
 * `forward` over `[B, T]` and `step` over `[B, 1]`. It carries the recurrent state between calls
 * of `prefill` and `step`, so a sequence of any length runs as windows of T and single steps.
 *
 * The carried state stays on the device (runtime/state.ts): each call binds its buffers to the
 * program's kernels (no copy in or out) in its own submission and only the logits come to the
 * host. It is read back only when asked for (`readState`, `saveState`). Forks share the programs
 * (pipelines, weights, scratch buffers) and own only their state and its bind groups; every call
 * is one submission, so they never see each other. Calls on one model are sequential (await each).
 */
import { diag, LoomError } from '../grammar/diagnostics.ts';
import { layouts, type Artifacts } from './artifacts.ts';
import type { Gpu } from './gpu.ts';
import { Session, type ForwardResult } from './session.ts';
import { DeviceState, layoutHash, loadStateFile, saveStateFile, stateError, type StateIdentity } from './state.ts';

export type Weights = Readonly<Record<string, Float32Array>> | ReadonlyMap<string, Float32Array>;

function tokenError(message: string): LoomError {
  return new LoomError([diag('bad-tokens', { message })]);
}

/** Columns [from, from + width) of row-major `[B, n]` token ids, as `[B, width]`. */
function columns(tokens: Int32Array, B: number, n: number, from: number, width: number): Int32Array {
  const out = new Int32Array(B * width);
  for (let b = 0; b < B; b++) out.set(tokens.subarray(b * n + from, b * n + from + width), b * width);
  return out;
}

/** LOOM4020: the model has a non-causal mixer, so it cannot decode or continue a sequence. */
function noDecode(a: Artifacts, why: string): LoomError {
  return new LoomError([diag('no-decode', { message: `${a.noDecode ?? 'this model has no decode'}; ${why}` })]);
}

/** The programs forks share, destroyed with the last model using them. */
interface Engine {
  gpu: Gpu;
  forward: Session;
  /** Null when a mixer is not causal (`artifacts.noDecode`): no step, no continuation. */
  step: Session | null;
  users: number;
}

export interface PrefillOptions {
  /** Called after each window or step with the calls done and the calls in all. */
  onProgress?: (done: number, total: number) => void;
}

/** The state holding each sequence's absolute position (GraphBuilder.position). */
const POSITION = 'pos';

export class Model {
  /** Whether prefill ran since the last reset (a model without decode prefills once). */
  private prefilled = false;
  /** Tokens each sequence consumed (the host's record of `pos`): KV-cache limits are checked with it. */
  private positions: number[];

  private constructor(
    readonly artifacts: Artifacts,
    private readonly engine: Engine,
    private readonly carried: DeviceState,
  ) {
    this.positions = new Array<number>(artifacts.dims.B).fill(0);
  }

  /**
   * Compiles both programs' pipelines and uploads the weights once (checked by name and shape).
   * `keepActivations`: every intermediate buffer of the forward program keeps its value after a
   * run (no memory reuse), for `readForwardBuffers`.
   */
  static async create(gpu: Gpu, artifacts: Artifacts, weights: Weights, opts: { keepActivations?: boolean } = {}): Promise<Model> {
    const map = weights instanceof Map ? (weights as ReadonlyMap<string, Float32Array>) : new Map(Object.entries(weights));
    const declared = new Set(artifacts.weights.map((w) => w.name));
    const extra = [...map.keys()].filter((k) => !declared.has(k)).sort();
    if (extra.length) throw new LoomError([diag('bad-weights', { message: `${extra.map((n) => `'${n}'`).join(', ')} are not weights of ${artifacts.model}` })]);
    const l = layouts(artifacts);
    const forward = await Session.open(gpu, l.forward, map, undefined, opts);
    let step: Session | null = null;
    try {
      step = l.step ? await Session.open(gpu, l.step, new Map(), forward) : null;
      return new Model(artifacts, { gpu, forward, step, users: 1 }, await DeviceState.create(gpu, artifacts.states));
    } catch (e) {
      step?.destroy();
      forward.destroy();
      throw e;
    }
  }

  get dims(): { B: number; T: number; vocab: number } {
    return { ...this.artifacts.dims, vocab: this.artifacts.vocab };
  }

  /** What a state file must name to be loaded here: the model and the hash of its compiled layout. */
  get identity(): StateIdentity {
    return { model: this.artifacts.model, layout: layoutHash(this.artifacts) };
  }

  /** Whether the model has a step program (every mixer causal). */
  get canDecode(): boolean {
    return this.engine.step !== null;
  }

  /** One window `[B, T]` from zero state (or `states`); the carried state is left alone. */
  forward(tokens: Int32Array, states: Readonly<Record<string, Float32Array>> = {}): Promise<ForwardResult> {
    return this.engine.forward.forward(tokens, states);
  }

  /** One call of a program on the carried state; `width` tokens per sequence. */
  private async run(tokens: Int32Array, width: number): Promise<Float32Array> {
    const session = width === 1 && this.engine.step ? this.engine.step : this.engine.forward;
    const r = await session.carry(tokens, this.carried, this.positions);
    for (let b = 0; b < this.positions.length; b++) this.positions[b] += width;
    return r.logits;
  }

  /**
   * Token ids `[B, n]` (row-major, any n >= 1) from the carried state: full windows of T through
   * the forward program, the remainder through the step program. Returns logits `[B, n, vocab]`
   * and carries the state on.
   */
  async prefill(tokens: Int32Array, o: PrefillOptions = {}): Promise<Float32Array> {
    const { B, T, vocab } = this.dims;
    if (tokens.length === 0 || tokens.length % B !== 0) throw tokenError(`prefill expects [B=${B}, n] token ids with n >= 1, got ${tokens.length} ids`);
    const n = tokens.length / B;
    if (!this.engine.step && (n !== T || this.prefilled)) {
      const why = n !== T ? `prefill of n = ${n} tokens needs the step program or a second window (T = ${T})` : 'prefill cannot continue a sequence';
      throw noDecode(this.artifacts, why);
    }
    this.prefilled = true;
    const logits = new Float32Array(B * n * vocab);
    const total = Math.floor(n / T) + (n % T);
    for (let pos = 0, done = 0; pos < n; done++) {
      const width = n - pos >= T ? T : 1;
      const out = await this.run(columns(tokens, B, n, pos, width), width);
      for (let b = 0; b < B; b++) logits.set(out.subarray(b * width * vocab, (b + 1) * width * vocab), (b * n + pos) * vocab);
      pos += width;
      o.onProgress?.(done + 1, total);
    }
    return logits;
  }

  /**
   * Prefills B sequences of different lengths, one per batch row, from the carried state: row b
   * runs exactly as it would alone (windows of T while it has T tokens left, then steps), while
   * the rows that have no part in a call keep their state (copied aside and back on the device).
   * Afterwards each sequence stands at its own position and `step` advances all B together.
   * Returns each prompt's logits `[n_b, vocab]`.
   */
  async prefillSequences(prompts: readonly Int32Array[], o: PrefillOptions = {}): Promise<Float32Array[]> {
    const { B, T, vocab } = this.dims;
    if (prompts.length !== B) throw tokenError(`prefillSequences expects B = ${B} prompts (the compiled batch), got ${prompts.length}`);
    const empty = prompts.findIndex((p) => p.length === 0);
    if (empty >= 0) throw tokenError(`prompt ${empty} is empty; every sequence needs at least one token`);
    if (!this.engine.step) {
      if (prompts.some((p) => p.length !== T)) throw noDecode(this.artifacts, `prompts of different lengths need the step program (T = ${T})`);
      const logits = await this.prefill(columnsOf(prompts), o);
      return prompts.map((_, b) => logits.slice(b * T * vocab, (b + 1) * T * vocab));
    }
    this.prefilled = true;
    const done = new Array<number>(B).fill(0);
    const left = (b: number) => prompts[b].length - done[b];
    const total = Math.max(...prompts.map((p) => Math.floor(p.length / T) + (p.length % T)));
    const logits = prompts.map((p) => new Float32Array(p.length * vocab));
    const aside = await DeviceState.create(this.engine.gpu, this.artifacts.states);
    try {
      for (let call = 0; prompts.some((_, b) => left(b) > 0); call++) {
        const width = prompts.some((_, b) => left(b) >= T) ? T : 1;
        const active = prompts.map((_, b) => left(b) >= width);
        const idle = active.flatMap((a, b) => (a ? [] : [b]));
        const tokens = new Int32Array(B * width);
        for (let b = 0; b < B; b++) if (active[b]) tokens.set(prompts[b].subarray(done[b], done[b] + width), b * width);
        const saved = this.positions.slice();
        if (idle.length) {
          await aside.copyFrom(this.carried, idle);
          // An idle row runs from position 0 (its cache writes stay in its own rows and are undone).
          for (const b of idle) this.positions[b] = 0;
          if (this.artifacts.states.some((s) => s.name === POSITION)) for (const b of idle) this.engine.gpu.device.queue.writeBuffer(this.carried.buffer(POSITION), b * 4, new Float32Array(1));
        }
        const out = await this.run(tokens, width);
        if (idle.length) await this.carried.copyFrom(aside, idle);
        for (let b = 0; b < B; b++) {
          this.positions[b] = saved[b] + (active[b] ? width : 0);
          if (!active[b]) continue;
          logits[b].set(out.subarray(b * width * vocab, (b + 1) * width * vocab), done[b] * vocab);
          done[b] += width;
        }
        o.onProgress?.(Math.min(call + 1, total), total);
      }
    } finally {
      aside.destroy();
    }
    return logits;
  }

  /** One token per sequence `[B]` from the carried state; returns logits `[B, vocab]`. */
  async step(tokens: Int32Array): Promise<Float32Array> {
    const { B } = this.dims;
    if (!this.engine.step) throw noDecode(this.artifacts, 'there is no step program');
    if (tokens.length !== B) throw tokenError(`step expects [B=${B}] token ids, got ${tokens.length}`);
    return this.run(tokens, 1);
  }

  /** Sets the carried state to zeros. */
  reset(): void {
    this.prefilled = false;
    this.positions.fill(0);
    this.carried.zero();
  }

  /** A copy of the carried state by name, read back from the device. */
  readState(): Promise<Record<string, Float32Array>> {
    return this.carried.read();
  }

  /** Replaces the carried state; every state must be given with its exact size. */
  writeState(value: Readonly<Record<string, Float32Array>>): void {
    try {
      this.carried.check(value);
    } catch (e) {
      throw tokenError((e as LoomError).diagnostics[0].message.replace(/^state: /, ''));
    }
    this.carried.write(value);
    this.prefilled = true;
    const pos = value[POSITION];
    this.positions = Array.from({ length: this.dims.B }, (_, b) => (pos ? pos[b] : 0));
  }

  /**
   * Writes the carried state to a safetensors file: one tensor per state, metadata naming the
   * model and the hash of its layout (`loadState` refuses a file of another model or layout).
   */
  async saveState(path: string): Promise<void> {
    saveStateFile(path, this.artifacts.states, await this.readState(), this.identity);
  }

  /** Restores a state written by `saveState` of this model (same layout); LOOM5011 otherwise. */
  loadState(path: string): void {
    const values = loadStateFile(path, this.artifacts.states, this.identity);
    this.carried.write(values);
    this.prefilled = true;
    const pos = values[POSITION];
    this.positions = Array.from({ length: this.dims.B }, (_, b) => (pos ? pos[b] : 0));
  }

  /**
   * An independent continuation: a Model sharing this one's programs (pipelines, weight buffers)
   * with its own state buffers, starting from a device copy of the carried state.
   */
  async fork(): Promise<Model> {
    if (this.engine.users === 0) throw stateError('this model was destroyed; it cannot be forked');
    const state = await DeviceState.create(this.engine.gpu, this.artifacts.states);
    await state.copyFrom(this.carried);
    this.engine.users++;
    const m = new Model(this.artifacts, this.engine, state);
    m.positions = this.positions.slice();
    m.prefilled = this.prefilled;
    return m;
  }

  /** The named buffers of the forward program after its last run (every kernel's output is one). */
  readForwardBuffers(names: readonly string[]): Promise<Record<string, Float32Array>> {
    return this.engine.forward.readBuffers(names);
  }

  /** Releases this model's state; the programs go with the last of its forks. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.carried.destroy();
    if (--this.engine.users > 0) return;
    this.engine.step?.destroy(); // the step program borrows the forward program's weights
    this.engine.forward.destroy();
  }

  private destroyed = false;
}

/** Prompts of equal length as row-major `[B, n]`. */
function columnsOf(prompts: readonly Int32Array[]): Int32Array {
  const n = prompts[0].length;
  const out = new Int32Array(prompts.length * n);
  prompts.forEach((p, b) => out.set(p, b * n));
  return out;
}
