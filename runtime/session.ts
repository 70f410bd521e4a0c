/**
 * Session: a compiled program on a device with its weights uploaded once. `forward` runs token ids
 * `[B, T]` to logits `[B, T, vocab]` in one command buffer, carrying the recurrent state in and out.
 */
import type { ProgramSpec } from '../compiler/codegen/program.ts';
import type { Graph } from '../compiler/ir/graph.ts';
import { numel } from '../compiler/ir/graph.ts';
import { diag, LoomError } from '../grammar/diagnostics.ts';
import type { Gpu } from './gpu.ts';
import { Program } from './program.ts';

export interface ForwardResult {
  /** `[B, T, vocab]` */
  logits: Float32Array;
  /** Final recurrent state per mixer (`L0.attn.S` `[B, H, K, V]`, `L0.attn.z` `[B, H, K]`). */
  states: Record<string, Float32Array>;
  /** Wall time of the GPU work (submit to completion). */
  ms: number;
}

export class Session {
  private constructor(
    private readonly program: Program,
    readonly graph: Graph,
    private readonly vocab: number,
  ) {}

  /** Allocates buffers, compiles every pipeline (in parallel), uploads the weights. */
  static async create(gpu: Gpu, compiled: { program: ProgramSpec; graph: Graph }, weights: ReadonlyMap<string, Float32Array>): Promise<Session> {
    const { graph } = compiled;
    for (const w of graph.weights) {
      const data = weights.get(w.name);
      if (!data) throw new LoomError([diag('missing-weight', { name: w.name, shape: `[${w.shape.join(', ')}]` })]);
      if (data.length !== numel(w.shape)) {
        throw new LoomError([diag('weight-shape', { name: w.name, found: `${data.length} elements`, expected: `[${w.shape.join(', ')}]` })]);
      }
    }
    const program = await Program.create(gpu, compiled.program);
    for (const b of compiled.program.buffers) if (b.role === 'weight') program.write(b.name, weights.get(b.name)!);
    const embed = graph.weights.find((w) => w.name === 'embed.weight');
    return new Session(program, graph, embed ? embed.shape[0] : Infinity);
  }

  /** Names and shapes of the recurrent state this program carries. */
  stateShapes(): Record<string, readonly number[]> {
    const out: Record<string, readonly number[]> = {};
    for (const n of this.graph.nodes) if (n.op === 'state_in') out[n.name] = n.type.shape;
    return out;
  }

  async forward(tokens: Int32Array, states: Readonly<Record<string, Float32Array>> = {}): Promise<ForwardResult> {
    const { B, T } = this.graph.dims;
    if (tokens.length !== B * T) {
      throw new LoomError([diag('bad-tokens', { message: `expected ${B * T} token ids ([B=${B}, T=${T}]), got ${tokens.length}` })]);
    }
    const bad = tokens.findIndex((t) => !(t >= 0 && t < this.vocab));
    if (bad >= 0) {
      throw new LoomError([
        diag('bad-tokens', { message: `token id ${tokens[bad]} at [${Math.floor(bad / T)}, ${bad % T}] is outside the vocabulary [0, ${this.vocab})` }),
      ]);
    }
    const shapes = this.stateShapes();
    for (const name of Object.keys(states)) {
      if (!(name in shapes)) throw new LoomError([diag('bad-tokens', { message: `unknown state '${name}'; the model carries ${Object.keys(shapes).join(', ') || 'no state'}` })]);
    }
    this.program.write('tokens', tokens);
    for (const n of this.graph.nodes) {
      if (n.op !== 'state_in') continue;
      const given = states[n.name];
      if (given && given.length !== numel(n.type.shape)) {
        throw new LoomError([diag('bad-tokens', { message: `state '${n.name}' needs [${n.type.shape.join(', ')}] = ${numel(n.type.shape)} values, got ${given.length}` })]);
      }
      this.program.write(n.label, given ?? new Float32Array(numel(n.type.shape)));
    }
    const t0 = performance.now();
    await this.program.run();
    const ms = performance.now() - t0;
    const names = Object.keys(this.graph.outputs);
    const read = await this.program.readMany(names);
    const out: Record<string, Float32Array> = {};
    for (const name of names) if (name !== 'logits') out[name] = read[name] as Float32Array;
    return { logits: read.logits as Float32Array, states: out, ms };
  }

  destroy(): void {
    this.program.destroy();
  }
}
