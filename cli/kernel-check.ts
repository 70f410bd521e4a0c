/**
 * Every kernel of a compiled program on its own (`loom check`): the kernel runs once, alone, on
 * inputs from the float64 reference of the fused graph (each buffer that holds a node's final
 * value: weights, token ids, states, activations), so an error in one kernel reaches no other.
 * The few buffers that hold no node's final value (a mixer's scratch between its kernels, a buffer
 * one kernel starts and another finishes) come from a run of the trusted kernels (the current
 * compiler's), one kernel per submission, from the same reference inputs. A kernel's outputs are
 * compared with the reference where it writes a node's final value, and with that run elsewhere.
 */
import { bufferNames } from '../compiler/codegen/assemble.ts';
import type { ElemType } from '../compiler/codegen/kernel.ts';
import type { BufferDecl, ProgramSpec } from '../compiler/codegen/program.ts';
import type { Graph } from '../compiler/ir/graph.ts';
import type { Gpu } from '../runtime/gpu.ts';
import { Program, runOnce, ShaderCompileError, type HostArray } from '../runtime/program.ts';

/** Where a buffer's value before (input) or after (output) a kernel comes from. */
export type Source = { from: 'reference'; node: number } | { from: 'run'; after: number } | { from: 'poison' };

export interface KernelIo {
  /** By physical buffer (an alias's target): the value to upload; `poison` ones are filled with NaN. */
  inputs: Map<string, Source>;
  /** The physical buffers the kernel writes, and what their values after it are compared with. */
  outputs: Map<string, Source>;
}

const INITIAL = new Set(['weight', 'input', 'state_in']);

/**
 * For each step of `spec`, where each bound buffer's value comes from. `nodeOf`: buffer name to
 * the graph node whose value it holds. A buffer's value after its last writer is the reference
 * value of the node that writer binds it as (a state written in place: the state_out aliasing it);
 * before any writer, the reference value of its own node (weights, tokens, states) or poison (an
 * output the kernel must write); anything in between comes from the trusted run.
 */
export function kernelIo(spec: ProgramSpec, nodeOf: ReadonlyMap<string, number>): KernelIo[] {
  const decls = new Map(spec.buffers.map((b) => [b.name, b]));
  const phys = (name: string) => decls.get(name)?.alias ?? name;
  const writes = spec.steps.map((s) => new Map(s.args.flatMap((a, i) => (s.kernel.bindings[i]?.access === 'read_write' ? [[phys(a), a] as const] : []))));
  const writers = new Map<string, number[]>();
  writes.forEach((w, i) => w.forEach((_, p) => writers.set(p, [...(writers.get(p) ?? []), i])));
  // A state updated in place: its final value is the state_out node aliasing the buffer.
  const finalName = new Map(spec.buffers.flatMap((b) => (b.alias === undefined ? [] : [[b.alias, b.name] as const])));
  const after = (p: string, at: number): Source => {
    const node = nodeOf.get(finalName.get(p) ?? writes[at].get(p)!);
    return writers.get(p)!.at(-1) === at && node !== undefined ? { from: 'reference', node } : { from: 'run', after: at };
  };
  return spec.steps.map((s, i) => {
    const inputs = new Map<string, Source>();
    for (const p of s.args.map(phys)) {
      const prev = (writers.get(p) ?? []).filter((j) => j < i).at(-1);
      const node = nodeOf.get(p);
      if (prev !== undefined) inputs.set(p, writes[i].has(p) ? { from: 'run', after: prev } : after(p, prev));
      else if (node !== undefined && (!writes[i].has(p) || INITIAL.has(decls.get(p)?.role ?? ''))) inputs.set(p, { from: 'reference', node });
      else inputs.set(p, { from: 'poison' });
    }
    return { inputs, outputs: new Map([...writes[i].keys()].map((p) => [p, after(p, i)])) };
  });
}

/**
 * rms(got - want) / rms(want) (absolute when want is all zeros) over the elements `want` holds:
 * NaN in `want` is an element the trusted kernel left unwritten (poisoned), not compared; a
 * non-finite `got` where `want` is finite is Infinity.
 */
export function kernelError(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < want.length; i++) {
    if (Number.isNaN(want[i])) continue;
    if (!Number.isFinite(want[i])) {
      if (got[i] === want[i]) continue;
      return Infinity;
    }
    if (!Number.isFinite(got[i])) return Infinity;
    num += (got[i] - want[i]) ** 2;
    den += want[i] ** 2;
  }
  return den === 0 ? Math.sqrt(num) : Math.sqrt(num / den);
}

function hostValue(v: ArrayLike<number>, elem: ElemType): HostArray {
  return elem === 'i32' ? Int32Array.from(v) : elem === 'u32' ? Uint32Array.from(v) : Float32Array.from(v);
}

export interface KernelResult {
  index: number;
  kernel: string;
  /** Each written buffer and its error; empty when the kernel did not run. */
  errors: [string, number][];
  compileError?: ShaderCompileError;
  /** Why the kernel was not run (the values it needs from the trusted run are missing). */
  skipped?: string;
}

/**
 * The trusted run: every kernel of `spec` in order, one submission each, from the reference's
 * initial values (weights, tokens, states) with everything else poisoned; after step j, reads the
 * buffers `needs.get(j)` names.
 */
async function trustedRun(gpu: Gpu, spec: ProgramSpec, needs: Map<number, Set<string>>, initial: (b: BufferDecl) => HostArray | undefined): Promise<Map<number, Record<string, HostArray>>> {
  const out = new Map<number, Record<string, HostArray>>();
  if (!needs.size) return out;
  const last = Math.max(...needs.keys());
  const program = await Program.create(gpu, spec, new Map(), { keepActivations: true });
  try {
    for (const b of spec.buffers) {
      if (b.alias !== undefined) continue;
      const v = initial(b);
      if (v) program.write(b.name, v);
      else program.poison(b.name);
    }
    await program.runEach(async (j) => {
      const names = needs.get(j);
      if (names) out.set(j, await program.readMany([...names]));
      return j < last;
    });
  } finally {
    program.destroy();
  }
  return out;
}

/**
 * Runs each kernel of `spec` alone (see the header) and measures its outputs. `trusted`: the same
 * program with the current compiler's kernels (for the values no node holds); `graph`: the fused
 * graph `spec` was assembled from; `values`: the reference value of each of its nodes.
 */
export async function checkKernels(gpu: Gpu, spec: ProgramSpec, trusted: ProgramSpec, graph: Graph, values: ReadonlyMap<number, ArrayLike<number>>): Promise<KernelResult[]> {
  const nodeOf = new Map(bufferNames(graph).map((name, id) => [name, id]));
  const io = kernelIo(spec, nodeOf);
  const decls = new Map(spec.buffers.map((b) => [b.name, b]));
  const needs = new Map<number, Set<string>>();
  for (const k of io) {
    for (const [p, s] of [...k.inputs, ...k.outputs]) if (s.from === 'run') needs.set(s.after, (needs.get(s.after) ?? new Set()).add(p));
  }
  const written = new Set(io.flatMap((k) => [...k.outputs.keys()]));
  const initial = (b: BufferDecl) => {
    const node = nodeOf.get(b.name);
    return node !== undefined && (INITIAL.has(b.role) || !written.has(b.name)) ? hostValue(values.get(node)!, b.elem) : undefined;
  };
  let run = new Map<number, Record<string, HostArray>>();
  let missing = '';
  try {
    run = await trustedRun(gpu, trusted, needs, initial);
  } catch (e) {
    if (!(e instanceof ShaderCompileError)) throw e;
    missing = `its inputs need the trusted run, which stopped: kernel ${e.kernel.name} does not compile`;
  }
  const valueOf = (p: string, s: Source): ArrayLike<number> | undefined => (s.from === 'reference' ? values.get(s.node) : s.from === 'run' ? run.get(s.after)?.[p] : undefined);
  const results: KernelResult[] = [];
  for (const [index, step] of spec.steps.entries()) {
    const { inputs, outputs } = io[index];
    const result: KernelResult = { index, kernel: step.kernel.name, errors: [] };
    results.push(result);
    const given: Record<string, HostArray> = {};
    for (const [p, s] of inputs) {
      const v = valueOf(p, s);
      if (v) given[p] = hostValue(v, decls.get(p)!.elem);
    }
    if ([...inputs, ...outputs].some(([p, s]) => s.from === 'run' && !run.get(s.after)?.[p])) {
      result.skipped = missing || 'its inputs need values of the trusted run that it did not produce';
      continue;
    }
    // The kernel's own buffers only: those it binds and the targets of their aliases.
    const bound = new Set(step.args.flatMap((a) => [a, decls.get(a)?.alias ?? a]));
    try {
      const got = await runOnce(gpu, { buffers: spec.buffers.filter((b) => bound.has(b.name)), steps: [step] }, given, [...outputs.keys()]);
      for (const [p, s] of outputs) result.errors.push([p, kernelError(got[p], valueOf(p, s)!)]);
    } catch (e) {
      if (!(e instanceof ShaderCompileError)) throw e;
      result.compileError = e;
    }
  }
  return results;
}
