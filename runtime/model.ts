/**
 * Model: the two programs of an artifact directory on one device, sharing the weight buffers:
 * `forward` over `[B, T]` and `step` over `[B, 1]`, plus, when a window source is at hand (the
 * spec compiled again at width w: `Artifacts.windows`, `compileInMemory`), prefill programs over
 * `[B, w]` for the powers of two w < T, made on first use and shared by forks. It carries the
 * recurrent state between calls of `prefill` and `step`, so a prompt of n tokens runs as windows
 * of T, then one window per binary digit of the rest (43 at T = 128: 32, 8, 2, 1), one call each;
 * without a window source the rest runs as single steps.
 *
 * The carried state stays on the device (runtime/state.ts): each call binds its buffers to the
 * program's kernels (no copy in or out) in its own submission and only the logits come to the
 * host. It is read back only when asked for (`readState`, `saveState`). Forks share the programs
 * (pipelines, weights, scratch buffers) and own only their state and its bind groups; every call
 * is one submission, so they never see each other. Calls on one model are sequential (await each).
 */
import { diag, LoomError, LoomInternalError } from '../grammar/diagnostics.ts';
import { layouts, type Artifacts, type WindowSource } from './artifacts.ts';
import type { Gpu } from './gpu.ts';
import { Session, type ForwardResult, type SessionLayout } from './session.ts';
import { DeviceState, layoutHash, loadStateFile, saveStateFile, stateError, type StateIdentity } from './state.ts';
import { checkProvided, weightProvider, type Weights } from './weights.ts';

/** f32 arrays by name (a Map or record), or a WeightProvider reading a checkpoint tensor by tensor (runtime/weights.ts). */
export type { Weights };

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
  /** Where the window programs come from; null: none (prefill runs windows of T and steps). */
  source: WindowSource | null;
  /** The window programs by width, as made (or being made). */
  windows: Map<number, Promise<Session | null>>;
  users: number;
}

/**
 * The window widths of a prefill of n tokens at most T wide, one call each: T while at least T
 * tokens are left, then the largest power of two the rest allows (43 at T = 128: 32, 8, 2, 1;
 * at most floor(n / T) + log2(T) + 1 calls). `windows` false (no window programs): T, then 1s.
 */
export function prefillWidths(n: number, T: number, windows: boolean): number[] {
  const out: number[] = [];
  for (let left = n; left > 0; left -= out[out.length - 1]) {
    let w = 1;
    if (left >= T) w = T;
    else if (windows) while (w * 2 <= left) w *= 2;
    out.push(w);
  }
  return out;
}

/**
 * The calls of a batched prefill of prompts of these lengths: each the widest window the longest
 * remaining prompt allows (as prefillWidths), run by the rows with at least that many tokens left.
 * The width falls from call to call below T, so there are at most floor(max / T) + log2(T) + 1.
 */
export function sequenceCalls(lengths: readonly number[], T: number, windows: boolean): { width: number; active: boolean[] }[] {
  const left = lengths.slice();
  const calls: { width: number; active: boolean[] }[] = [];
  while (left.some((l) => l > 0)) {
    const width = prefillWidths(Math.max(...left), T, windows)[0];
    const active = left.map((l) => l >= width);
    active.forEach((a, b) => (left[b] -= a ? width : 0));
    calls.push({ width, active });
  }
  return calls;
}

/** Refuses a window program that does not continue the forward program's state and weights. */
function checkWindow(layout: SessionLayout, forward: SessionLayout, width: number): void {
  const key = (l: SessionLayout) => JSON.stringify([l.vocab, l.weights.map((w) => [w.name, w.shape]), l.states.map((s) => [s.name, s.shape, s.maxPositions])]);
  const { B, T } = layout.dims;
  if (B !== forward.dims.B || T !== width || key(layout) !== key(forward)) {
    throw new LoomInternalError('model', `the window program of width ${width} ([B=${B}, T=${T}]) does not match the forward program's batch, weights or states`);
  }
}

/** Progress of Model.create: pipelines compiled, then weight bytes uploaded. */
export interface LoadCallbacks {
  onCompile?: (done: number, total: number) => void;
  onLoad?: (doneBytes: number, totalBytes: number) => void;
}

export interface PrefillOptions {
  /** Called after each window or step with the calls done and the calls in all. */
  onProgress?: (done: number, total: number) => void;
  /**
   * `last`: only the logits of each sequence's last position, `[B, vocab]` (what generation
   * needs): the calls before the last skip the final norm and LM head. Default `all`: `[B, n, vocab]`.
   */
  logits?: 'all' | 'last';
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
   * `windows`: where the window programs come
   * from (default `artifacts.windows`; null: none, so a prefill runs windows of T and single steps).
   * Both programs' pipelines are compiled first (`onCompile(done, total)` over both), then the
   * weights are uploaded tensor by tensor (`onLoad(doneBytes, totalBytes)`): from a provider, one
   * tensor is in host memory at a time. The caller closes a provider it opened.
   */
  static async create(gpu: Gpu, artifacts: Artifacts, weights: Weights, opts: { windows?: WindowSource | null } & LoadCallbacks = {}): Promise<Model> {
    const provider = weightProvider(weights);
    checkProvided(artifacts.weights, provider, artifacts.model);
    const l = layouts(artifacts);
    const counts = [l.forward.program.steps.length, l.step?.program.steps.length ?? 0];
    const compiled = (from: number) => opts.onCompile && ((done: number) => opts.onCompile!(from + done, counts[0] + counts[1]));
    const forward = await Session.open(gpu, l.forward, null, undefined, { onCompile: compiled(0) });
    let step: Session | null = null;
    try {
      step = l.step ? await Session.open(gpu, l.step, new Map(), forward, { onCompile: compiled(counts[0]) }) : null;
      await forward.upload(provider, opts.onLoad);
      const source = (step && (opts.windows === undefined ? artifacts.windows : opts.windows)) || null;
      return new Model(artifacts, { gpu, forward, step, source, windows: new Map(), users: 1 }, await DeviceState.create(gpu, artifacts.states));
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

  /** The widths of the calls a prefill of n tokens runs (`prefillWidths`; T alone without decode). */
  windowWidths(n: number): number[] {
    return this.engine.step ? prefillWidths(n, this.dims.T, this.engine.source !== null) : [this.dims.T];
  }

  /**
   * Makes the window programs a prefill of n tokens runs (otherwise made on first use, inside
   * `prefill`), so that a caller can time their compilation apart from the prefill; the number of
   * pipelines compiled for them (0 when every one was made already).
   */
  async prepare(n: number): Promise<number> {
    if (!this.engine.step) return 0;
    const fresh = new Set(this.windowWidths(n).filter((w) => w !== this.dims.T && w !== 1 && !this.engine.windows.has(w)));
    const widths = await this.plan((windows) => prefillWidths(n, this.dims.T, windows), (w) => w);
    const made = await Promise.all([...new Set(widths)].filter((w) => fresh.has(w)).map((w) => this.program(w)));
    return made.reduce((a, s) => a + (s?.layout.program.steps.length ?? 0), 0);
  }

  /** One window `[B, T]` from zero state (or `states`); the carried state is left alone. */
  forward(tokens: Int32Array, states: Readonly<Record<string, Float32Array>> = {}): Promise<ForwardResult> {
    return this.engine.forward.forward(tokens, states);
  }

  /** The program of a width: T the forward program, 1 the step program, else a window program (null: none). */
  private program(width: number): Promise<Session | null> {
    const e = this.engine;
    if (width === this.dims.T) return Promise.resolve(e.forward);
    if (width === 1 && e.step) return Promise.resolve(e.step);
    let p = e.windows.get(width);
    if (!p) {
      const source = e.source;
      p = (async () => {
        const layout = source && (await source(width));
        if (!layout) return null;
        checkWindow(layout, e.forward.layout, width);
        return Session.open(e.gpu, layout, new Map(), e.forward);
      })();
      e.windows.set(width, p);
      p.catch(() => e.windows.delete(width)); // a failed compile is tried again next time
    }
    return p;
  }

  /**
   * The widths a prefill of n tokens runs (prefillWidths), its programs made, all at once (their
   * pipelines compile in parallel). A window source that has no program for a width (an artifact
   * directory whose spec cannot be read) is dropped: windows of T and steps, as without one.
   */
  private async plan<P>(make: (windows: boolean) => P[], width: (p: P) => number): Promise<P[]> {
    const e = this.engine;
    const calls = make(e.source !== null);
    const made = await Promise.all([...new Set(calls.map(width))].map((w) => this.program(w)));
    if (!made.includes(null)) return calls;
    e.source = null;
    return make(false);
  }

  /** One call of a program on the carried state; `width` tokens per sequence. */
  private async run(tokens: Int32Array, width: number, logits = true): Promise<Float32Array> {
    const session = (await this.program(width)) ?? this.engine.forward;
    const r = await session.carry(tokens, this.carried, this.positions, logits);
    for (let b = 0; b < this.positions.length; b++) this.positions[b] += width;
    return r.logits;
  }

  /**
   * Token ids `[B, n]` (row-major, any n >= 1) from the carried state: full windows of T through
   * the forward program, the remainder as windows of powers of two (the window programs, made on
   * first use) ending with the step program, one call each (`prefillWidths`); without a window
   * source the remainder runs as single steps. Returns logits `[B, n, vocab]` (`logits: 'last'`:
   * `[B, vocab]`) and carries the state on.
   */
  async prefill(tokens: Int32Array, o: PrefillOptions = {}): Promise<Float32Array> {
    const { B, T, vocab } = this.dims;
    if (tokens.length === 0 || tokens.length % B !== 0) throw tokenError(`prefill expects [B=${B}, n] token ids with n >= 1, got ${tokens.length} ids`);
    const n = tokens.length / B;
    if (!this.engine.step && (n !== T || this.prefilled)) {
      const why = n !== T ? `prefill of n = ${n} tokens needs the step program or a second window (T = ${T})` : 'prefill cannot continue a sequence';
      throw noDecode(this.artifacts, why);
    }
    const widths = this.engine.step ? await this.plan((windows) => prefillWidths(n, T, windows), (w) => w) : this.windowWidths(n);
    this.prefilled = true;
    const last = o.logits === 'last';
    const logits = new Float32Array(B * (last ? 1 : n) * vocab);
    for (let i = 0, pos = 0; i < widths.length; pos += widths[i++]) {
      const width = widths[i];
      const final = i === widths.length - 1;
      const out = await this.run(columns(tokens, B, n, pos, width), width, !last || final);
      for (let b = 0; b < B; b++) {
        if (!last) logits.set(out.subarray(b * width * vocab, (b + 1) * width * vocab), (b * n + pos) * vocab);
        else if (final) logits.set(out.subarray(((b + 1) * width - 1) * vocab, (b + 1) * width * vocab), b * vocab);
      }
      o.onProgress?.(i + 1, widths.length);
    }
    return logits;
  }

  /**
   * Prefills B sequences of different lengths, one per batch row, from the carried state: each
   * call is the widest window the longest remaining prompt allows, run by every row with that
   * many tokens left (`sequenceCalls`), while the rows that have no part in it keep their state
   * (copied aside and back on the device). A row's result is the same whatever its calls' widths.
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
    const calls = await this.plan((windows) => sequenceCalls(prompts.map((p) => p.length), T, windows), (c) => c.width);
    this.prefilled = true;
    const done = new Array<number>(B).fill(0);
    const logits = prompts.map((p) => new Float32Array(p.length * vocab));
    const aside = await DeviceState.create(this.engine.gpu, this.artifacts.states);
    try {
      for (const [call, { width, active }] of calls.entries()) {
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
        o.onProgress?.(call + 1, calls.length);
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

  /** Releases this model's state; the programs go with the last of its forks. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.carried.destroy();
    if (--this.engine.users > 0) return;
    // Window programs are made within a call, and calls are awaited: none is still being made.
    for (const p of this.engine.windows.values()) void p.then((s) => s?.destroy(), () => {});
    this.engine.step?.destroy(); // the step and window programs borrow the forward program's weights
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
