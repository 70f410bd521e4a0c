/**
 * Model: the two programs of an artifact directory on one device, sharing the weight buffers:
 * `forward` over `[B, T]` and `step` over `[B, 1]`. It carries the recurrent state between calls
 * of `prefill` and `step`, so a sequence of any length runs as windows of T and single steps.
 */
import { diag, LoomError } from '../grammar/diagnostics.ts';
import { layouts, type Artifacts } from './artifacts.ts';
import type { Gpu } from './gpu.ts';
import { Session, type ForwardResult } from './session.ts';

export type Weights = Readonly<Record<string, Float32Array>> | ReadonlyMap<string, Float32Array>;

const numel = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

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

export class Model {
  private carried: Record<string, Float32Array> = {};
  /** Whether prefill ran since the last reset (a model without decode prefills once). */
  private prefilled = false;

  private constructor(
    readonly artifacts: Artifacts,
    private readonly forwardSession: Session,
    /** Null when a mixer is not causal (`artifacts.noDecode`): no step, no continuation. */
    private readonly stepSession: Session | null,
  ) {
    this.reset();
  }

  /** Compiles both programs' pipelines and uploads the weights once (checked by name and shape). */
  static async create(gpu: Gpu, artifacts: Artifacts, weights: Weights): Promise<Model> {
    const map = weights instanceof Map ? (weights as ReadonlyMap<string, Float32Array>) : new Map(Object.entries(weights));
    const declared = new Set(artifacts.weights.map((w) => w.name));
    const extra = [...map.keys()].filter((k) => !declared.has(k)).sort();
    if (extra.length) throw new LoomError([diag('bad-weights', { message: `${extra.map((n) => `'${n}'`).join(', ')} are not weights of ${artifacts.model}` })]);
    const l = layouts(artifacts);
    const forward = await Session.open(gpu, l.forward, map);
    const step = l.step ? await Session.open(gpu, l.step, new Map(), forward) : null;
    return new Model(artifacts, forward, step);
  }

  get dims(): { B: number; T: number; vocab: number } {
    return { ...this.artifacts.dims, vocab: this.artifacts.vocab };
  }

  /** One window `[B, T]` from zero state (or `states`); the carried state is left alone. */
  forward(tokens: Int32Array, states: Readonly<Record<string, Float32Array>> = {}): Promise<ForwardResult> {
    return this.forwardSession.forward(tokens, states);
  }

  /**
   * Token ids `[B, n]` (row-major, any n >= 1) from the carried state: full windows of T through
   * the forward program, the remainder through the step program. Returns logits `[B, n, vocab]`
   * and carries the state on.
   */
  async prefill(tokens: Int32Array): Promise<Float32Array> {
    const { B, T, vocab } = this.dims;
    if (tokens.length === 0 || tokens.length % B !== 0) throw tokenError(`prefill expects [B=${B}, n] token ids with n >= 1, got ${tokens.length} ids`);
    const n = tokens.length / B;
    if (!this.stepSession && (n !== T || this.prefilled)) {
      const why = n !== T ? `prefill of n = ${n} tokens needs the step program or a second window (T = ${T})` : 'prefill cannot continue a sequence';
      throw noDecode(this.artifacts, why);
    }
    this.prefilled = true;
    const logits = new Float32Array(B * n * vocab);
    for (let pos = 0; pos < n; ) {
      const width = n - pos >= T ? T : 1;
      const session = width === T ? this.forwardSession : this.stepSession!;
      const r = await session.forward(columns(tokens, B, n, pos, width), this.carried);
      for (let b = 0; b < B; b++) logits.set(r.logits.subarray(b * width * vocab, (b + 1) * width * vocab), (b * n + pos) * vocab);
      this.carried = r.states;
      pos += width;
    }
    return logits;
  }

  /** One token per sequence `[B]` from the carried state; returns logits `[B, vocab]`. */
  async step(tokens: Int32Array): Promise<Float32Array> {
    const { B } = this.dims;
    if (!this.stepSession) throw noDecode(this.artifacts, 'there is no step program');
    if (tokens.length !== B) throw tokenError(`step expects [B=${B}] token ids, got ${tokens.length}`);
    const r = await this.stepSession.forward(tokens, this.carried);
    this.carried = r.states;
    return r.logits;
  }

  /** Sets the carried state to zeros. */
  reset(): void {
    this.prefilled = false;
    this.carried = Object.fromEntries(this.artifacts.states.map((s) => [s.name, new Float32Array(numel(s.shape))]));
  }

  /** A copy of the carried state by name. */
  get state(): Record<string, Float32Array> {
    return Object.fromEntries(Object.entries(this.carried).map(([k, v]) => [k, v.slice()]));
  }

  /** Replaces the carried state; every state must be given with its exact size. */
  set state(value: Readonly<Record<string, Float32Array>>) {
    const next: Record<string, Float32Array> = {};
    for (const s of this.artifacts.states) {
      const v = value[s.name];
      if (!v || v.length !== numel(s.shape)) throw tokenError(`state '${s.name}' needs [${s.shape.join(', ')}] = ${numel(s.shape)} values, got ${v ? v.length : 'none'}`);
      next[s.name] = v.slice();
    }
    const unknown = Object.keys(value).filter((k) => !(k in next));
    if (unknown.length) throw tokenError(`unknown state(s) ${unknown.join(', ')}; the model carries ${Object.keys(next).join(', ') || 'no state'}`);
    this.carried = next;
  }

  /** Releases the GPU buffers (the step program borrows the forward program's weights). */
  /** The named buffers of the forward program after its last run (every kernel's output is one). */
  readForwardBuffers(names: readonly string[]): Promise<Record<string, Float32Array>> {
    return this.forwardSession.readBuffers(names);
  }

  destroy(): void {
    this.stepSession?.destroy();
    this.forwardSession.destroy();
  }
}
