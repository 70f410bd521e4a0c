/**
 * Session: a compiled program on a device with its weights uploaded once. `forward` runs token ids
 * `[B, T]` to logits `[B, T, vocab]` in one command buffer, carrying the recurrent state in and out.
 *
 * A session needs only a `SessionLayout` (program, dims, vocabulary, weights, states): built from a
 * compiled graph (`layoutOf`) or read from an artifact directory (`runtime/artifacts.ts`).
 */
import type { ProgramSpec } from '../compiler/codegen/program.ts';
import type { Graph } from '../compiler/ir/graph.ts';
import { diag, LoomError, LoomInternalError } from '../grammar/diagnostics.ts';
import { findNonFinite, type NonFinite } from './check-finite.ts';
import type { Gpu } from './gpu.ts';
import { neededSteps, Program, type HostArray } from './program.ts';
import type { DeviceState } from './state.ts';
import { checkProvided, uploadWeights, weightProvider, type WeightProvider, type Weights } from './weights.ts';

export interface ForwardResult {
  /** `[B, T, vocab]` */
  logits: Float32Array;
  /** Final recurrent state per mixer (`L0.attn.S` `[B, H, K, V]`, `L0.attn.z` `[B, H, K]`). */
  states: Record<string, Float32Array>;
  /** Wall time of the GPU work (submit to completion). */
  ms: number;
}

/** A recurrent state: written to buffer `input` before a run, read from `output` after it. */
export interface StateDecl {
  name: string;
  shape: readonly number[];
  input: string;
  output: string;
  /** A global attention KV cache: the positions it holds (max_len); runs past it are refused. */
  maxPositions?: number;
}

export interface SessionLayout {
  program: ProgramSpec;
  dims: { B: number; T: number };
  vocab: number;
  weights: readonly { name: string; shape: readonly number[] }[];
  states: readonly StateDecl[];
}

const numel = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
const shapeText = (shape: readonly number[]) => `[${shape.join(', ')}]`;

/** The layout of a freshly compiled program: states are the graph's state_in/state_out pairs. */
export function layoutOf(compiled: { program: ProgramSpec; graph: Graph }): SessionLayout {
  const { graph, program } = compiled;
  const limits = new Map<number, number>(); // KV-cache state_in node -> max_len
  for (const n of graph.nodes) if (n.op === 'attention' && n.kc0 !== null && n.knobs.window === null) limits.set(n.kc0, n.knobs.maxLen);
  // A family op with a linear KV cache (causal softplus attention) says how many positions it holds.
  for (const n of graph.nodes) if (n.op === 'family' && typeof n.attrs.maxPositions === 'number') for (const i of n.inputs) if (graph.nodes[i].op === 'state_in' && /\.[kv]_cache$/.test((graph.nodes[i] as { name: string }).name)) limits.set(i, n.attrs.maxPositions);
  const states = graph.nodes.flatMap((n) => {
    if (n.op !== 'state_in' || !(n.name in graph.outputs)) return [];
    const max = limits.get(n.id);
    return [{ name: n.name, shape: n.type.shape, input: n.label, output: n.name, ...(max === undefined ? {} : { maxPositions: max }) }];
  });
  const embed = graph.weights.find((w) => w.name === 'embed.weight');
  return { program, dims: graph.dims, vocab: embed ? embed.shape[0] : Infinity, weights: graph.weights, states };
}

export interface OpenOptions {
  /** `(done, total)` pipelines of this program compiled. */
  onCompile?: (done: number, total: number) => void;
  /** `(doneBytes, totalBytes)` of the weights uploaded. */
  onLoad?: (doneBytes: number, totalBytes: number) => void;
}

export class Session {
  private constructor(
    private readonly program: Program,
    readonly layout: SessionLayout,
  ) {}

  /** Allocates buffers, compiles every pipeline (in parallel), uploads the weights. */
  static async create(gpu: Gpu, compiled: { program: ProgramSpec; graph: Graph }, weights: Weights, opts: OpenOptions = {}): Promise<Session> {
    return Session.open(gpu, layoutOf(compiled), weights, undefined, opts);
  }

  /**
   * A session over `layout`. With `shareWith`, the weights are that session's GPU buffers (no
   * second upload; `weights` may then be empty); destroy this session before that one. `weights`
   * null: none uploaded yet (`upload` later). Names and sizes are checked before anything is
   * compiled; the upload goes tensor by tensor (runtime/weights.ts `uploadWeights`).
   */
  static async open(gpu: Gpu, layout: SessionLayout, weights: Weights | null, shareWith?: Session, opts: OpenOptions = {}): Promise<Session> {
    const provider = weights && !shareWith ? weightProvider(weights) : null;
    if (provider) checkProvided(layout.weights, provider, null); // others than the program's are ignored (Model.create refuses them)
    const shared = new Map<string, GPUBuffer>();
    if (shareWith) for (const w of layout.weights) {
      // Both programs must store a shared weight alike (f32, or f16 with --weights-dtype f16).
      const elem = (l: SessionLayout) => l.program.buffers.find((b) => b.name === w.name)?.elem;
      if (elem(layout) !== elem(shareWith.layout)) throw new LoomInternalError('session', `weight '${w.name}' is ${elem(shareWith.layout)} in one program and ${elem(layout)} in the other`);
      shared.set(w.name, shareWith.program.gpuBuffer(w.name));
    }
    let compiled = 0;
    opts.onCompile?.(0, layout.program.steps.length);
    const onPipeline = opts.onCompile && (() => opts.onCompile!(++compiled, layout.program.steps.length));
    const program = await Program.create(gpu, layout.program, shared, { onPipeline });
    const session = new Session(program, layout);
    try {
      if (provider) await session.upload(provider, opts.onLoad);
    } catch (e) {
      program.destroy();
      throw e;
    }
    return session;
  }

  /**
   * Uploads every weight of this program from `p` (checked already: `checkProvided`), one tensor
   * at a time, each as its buffer stores it (f32, or f16 bits for `--weights-dtype f16`).
   */
  async upload(p: WeightProvider, onLoad?: (doneBytes: number, totalBytes: number) => void): Promise<void> {
    const elem = new Map(this.layout.program.buffers.map((b) => [b.name, b.elem]));
    const targets = this.layout.weights.map((w) => ({ name: w.name, elem: elem.get(w.name) === 'f16' ? ('f16' as const) : ('f32' as const), elements: numel(w.shape) }));
    await uploadWeights(p, targets, { write: (name, data) => this.program.writeWeight(name, data), flush: () => this.program.flush() }, onLoad);
  }

  /** Names and shapes of the recurrent state this program carries. */
  stateShapes(): Record<string, readonly number[]> {
    return Object.fromEntries(this.layout.states.map((s) => [s.name, s.shape]));
  }

  private checkTokens(tokens: Int32Array): void {
    const { B, T } = this.layout.dims;
    const { vocab } = this.layout;
    if (tokens.length !== B * T) {
      throw new LoomError([diag('bad-tokens', { message: `expected ${B * T} token ids ([B=${B}, T=${T}]), got ${tokens.length}` })]);
    }
    const bad = tokens.findIndex((t) => !(t >= 0 && t < vocab));
    if (bad >= 0) {
      throw new LoomError([diag('bad-tokens', { message: `token id ${tokens[bad]} at [${Math.floor(bad / T)}, ${bad % T}] is outside the vocabulary [0, ${vocab})` })]);
    }
  }

  /** The host writes of a window's state inputs: the given states, zeros for the others. */
  private stateWrites(states: Readonly<Record<string, Float32Array>>): [string, Float32Array][] {
    const known = this.layout.states;
    for (const name of Object.keys(states)) {
      if (!known.some((s) => s.name === name)) {
        throw new LoomError([diag('bad-tokens', { message: `unknown state '${name}'; the model carries ${known.map((s) => s.name).join(', ') || 'no state'}` })]);
      }
    }
    for (const s of known) {
      const given = states[s.name];
      if (given && given.length !== numel(s.shape)) {
        throw new LoomError([diag('bad-tokens', { message: `state '${s.name}' needs ${shapeText(s.shape)} = ${numel(s.shape)} values, got ${given.length}` })]);
      }
    }
    checkPositions(known, states.pos, this.layout.dims);
    return known.map((s) => [s.input, states[s.name] ?? new Float32Array(numel(s.shape))]);
  }

  private writeStates(states: Readonly<Record<string, Float32Array>>): void {
    for (const [name, data] of this.stateWrites(states)) this.program.write(name, data);
  }

  /** One window from `states` (zeros where absent), host to host: logits and every final state. */
  async forward(tokens: Int32Array, states: Readonly<Record<string, Float32Array>> = {}): Promise<ForwardResult> {
    this.checkTokens(tokens);
    const writes: [string, HostArray][] = [...this.stateWrites(states), ['tokens', tokens]];
    const t0 = performance.now();
    const read = await this.program.submit({ writes, read: ['logits', ...this.layout.states.map((s) => s.output)] });
    const ms = performance.now() - t0;
    const out: Record<string, Float32Array> = {};
    for (const s of this.layout.states) out[s.name] = read[s.output] as Float32Array;
    return { logits: read.logits as Float32Array, states: out, ms };
  }

  private swappedNames?: string[];
  /** The steps the carried states depend on (a window whose logits are not read runs only these). */
  private stateSteps?: boolean[];

  /** The states this program writes apart from their inputs (not updated in place): two buffers each when carried. */
  private get swapped(): string[] {
    const { states, program } = this.layout;
    const inPlace = (s: StateDecl) => s.output === s.input || program.buffers.find((b) => b.name === s.output)?.alias === s.input;
    return (this.swappedNames ??= states.filter((s) => !inPlace(s)).map((s) => s.name));
  }

  /**
   * One window from the carried `state` on the device, which it carries on, in one submission
   * where only the logits come back. The kernels bind the state's own buffers (bind groups built
   * once per state and kept by it): a state updated in place is read and written in its buffer;
   * any other is read from its buffer and written to its spare, and the two swap roles after
   * the call. `positions`: each sequence's position before the window, to refuse a KV-cache
   * overflow before any dispatch. `logits` false: only the steps the states depend on run (not
   * the LM head) and no logits come back (an empty array).
   */
  async carry(tokens: Int32Array, state: DeviceState, positions: ArrayLike<number>, logits = true): Promise<{ logits: Float32Array; ms: number }> {
    this.checkTokens(tokens);
    checkPositions(this.layout.states, positions, this.layout.dims);
    const p = this.program;
    const swapped = this.swapped;
    await state.addSpares(swapped);
    const binding = await state.bound(p, () => {
      const replace = new Map<string, GPUBuffer>();
      for (const s of this.layout.states) replace.set(s.input, state.buffer(s.name));
      for (const name of swapped) replace.set(this.layout.states.find((s) => s.name === name)!.output, state.spare(name));
      return p.bind(replace);
    });
    const t0 = performance.now();
    const only = logits ? undefined : (this.stateSteps ??= neededSteps(this.layout.program, this.layout.states.map((s) => s.output)));
    const read = await p.submit({ writes: [['tokens', tokens]], binding, read: logits ? ['logits'] : [], only });
    state.swap(swapped);
    return { logits: logits ? (read.logits as Float32Array) : new Float32Array(0), ms: performance.now() - t0 };
  }

  /**
   * The forward pass kernel by kernel (`loom run --check-finite`): the first kernel output holding
   * NaN or Inf, or null when every output is finite.
   */
  async firstNonFinite(tokens: Int32Array, states: Readonly<Record<string, Float32Array>> = {}): Promise<NonFinite | null> {
    this.checkTokens(tokens);
    this.writeStates(states);
    this.program.write('tokens', tokens);
    return findNonFinite(this.program);
  }

  destroy(): void {
    this.program.destroy();
  }
}

/**
 * Refuses, before any dispatch, a window that would write a global KV cache past its max_len:
 * sequence b writes positions pos[b] .. pos[b] + T - 1 (`pos` absent: 0 ..).
 */
export function checkPositions(states: readonly StateDecl[], pos: ArrayLike<number> | undefined, dims: { B: number; T: number }): void {
  for (const s of states) {
    if (s.maxPositions === undefined) continue;
    for (let b = 0; b < dims.B; b++) {
      const p = pos?.[b] ?? 0;
      if (p + dims.T <= s.maxPositions) continue;
      const layer = s.name.replace(/\.k_cache$|\.v_cache$/, '');
      const message = `sequence ${b} would write positions ${p}..${p + dims.T - 1}, past the end of the cache`;
      throw new LoomError([diag('kv-cache-full', { layer, message, last: s.maxPositions - 1, maxLen: s.maxPositions })]);
    }
  }
}
