/**
 * Ops of mixer families without carried state (IR op `family`): FNet, MoE, softplus attention, ...
 * Each family room exports one `FamilyOp`; `FAMILY_OPS` lists them. The planner, the verifier,
 * the dump printer and assemble reach a family only through this table, so adding one is a room
 * plus one line here (and one in runtime/reference/families.ts for its float64 definition).
 *
 * Such an op has one schedule (`parallel`: the whole window at once) and any number of kernel
 * *variants* (FNet: DFT as a matmul or an FFT, per axis); the planner picks the cheapest variant
 * the device supports, and `loom explain` prints why the others lost.
 */
import type { MixerSpec, ModelSpec, StatelessMixer } from '../check/spec.ts';
import type { BufferDecl, Step } from '../codegen/program.ts';
import type { FamilyAttrs, Node } from '../ir/graph.ts';
import type { DeviceLimits } from '../plan/device.ts';
import type { ScheduleCost } from '../plan/cost.ts';
import { FNET_OP } from './fourier/index.ts';
import { MOE_OP } from './moe/index.ts';
import { DIAG_ATTENTION_OP, LINFORMER_OP, SOFTPLUS_ATTENTION_OP } from './row_attention/index.ts';
import { SOFT_OP } from './soft/index.ts';
import { MONARCH_OP } from './monarch/index.ts';

export type FamilyNode = Node & { op: 'family' };

export type Support = { ok: true } | { ok: false; reason: string };

/** The dims an op's window is planned for. */
export interface WindowDims {
  B: number;
  T: number;
}

/** Buffers of a family node's kernels: inputs in the node's order, the output, and its states' final values (`n.states`; null when unused). */
export interface FamilyBuffers {
  inputs: readonly string[];
  output: string;
  states?: Readonly<Record<string, string | null>>;
}

export interface FamilyOp {
  family: string;
  /** Whether output t depends only on inputs at t' <= t. False: no decode (no step program). */
  causal(attrs: FamilyAttrs): boolean;
  /** Why a causal op still has no decode (e.g. it keeps no KV cache), or undefined when it has one. */
  noDecode?(attrs: FamilyAttrs): string | undefined;
  /** A learned maximum length T may not exceed (refused at plan time, LOOM4021). */
  maxLength?(attrs: FamilyAttrs): { maxLen: number; what: string } | undefined;
  /** What is wrong with the node's shapes (a compiler bug), or undefined. */
  verify(n: FamilyNode, inputs: readonly Node[]): string | undefined;
  /** Attributes for graph dumps, leading space: ` T=64 D=32`. */
  describe(attrs: FamilyAttrs): string;
  /** Kernel variants, in the planner's order of preference on a tie. */
  variants(n: FamilyNode, d: WindowDims): readonly string[];
  supports(n: FamilyNode, variant: string, d: WindowDims, limits: DeviceLimits): Support;
  cost(n: FamilyNode, variant: string, d: WindowDims): ScheduleCost;
  /**
   * States the kernels update in place: state name -> index of the input holding its value before
   * the call (the two are then one buffer, BufferDecl.alias). Absent: states are written whole.
   */
  inPlace?(n: FamilyNode): Readonly<Record<string, number>>;
  /** Kernels over buffers named `inputs` (in the node's input order) writing `output`. */
  program(n: FamilyNode, variant: string, d: WindowDims, buffers: FamilyBuffers): { buffers: BufferDecl[]; steps: Step[] };
}

export const FAMILY_OPS: readonly FamilyOp[] = [FNET_OP, MOE_OP, SOFTPLUS_ATTENTION_OP, DIAG_ATTENTION_OP, LINFORMER_OP, SOFT_OP, MONARCH_OP];

export function familyOpOf(family: string): FamilyOp {
  const op = FAMILY_OPS.find((f) => f.family === family);
  if (!op) throw new Error(`no family op '${family}' (known: ${FAMILY_OPS.map((f) => f.family).join(', ')})`);
  return op;
}

/** Mixer names a block expression calls (any nesting). */
function mixersIn(e: unknown, out: Set<string>): void {
  if (typeof e !== 'object' || e === null) return;
  const x = e as Record<string, unknown>;
  if (x.kind === 'mixer' && typeof x.mixer === 'string') out.add(x.mixer);
  for (const k of ['arg', 'left', 'right']) mixersIn(x[k], out);
}

/**
 * The first non-causal mixer the block uses, or undefined when every mixer is causal. A model
 * with one has no decode: no step program, no prefill continuation.
 */
export function nonCausalMixer(spec: ModelSpec): MixerSpec | undefined {
  const used = new Set<string>();
  for (const s of spec.block) mixersIn(s.expr, used);
  for (const name of spec.pattern ?? []) used.add(name); // `block pattern [...]`: the layers' mixers
  for (const name of used) {
    const m = spec.mixers[name];
    if (m && (!isCausal(m) || familyNoDecode(m))) return m;
  }
  return undefined;
}

/** Whether token t of the mixer's output depends only on tokens up to t (so it can decode). */
export function isCausal(m: MixerSpec): boolean {
  if (m.family === 'linear_attn') return m.direction === 'forward';
  if (m.family === 'attention') return m.knobs.causal;
  if (m.family === 'mamba') return true;
  const op = FAMILY_OPS.find((f) => f.family === m.family);
  return op ? op.causal((m as StatelessMixer).knobs) : true;
}

/** Why a causal family mixer has no decode, or undefined. */
function familyNoDecode(m: MixerSpec): string | undefined {
  return FAMILY_OPS.find((f) => f.family === m.family)?.noDecode?.((m as StatelessMixer).knobs);
}

/** `mixer 'f' (fnet) is not causal: decode is not defined` as text (manifests, runtime errors). */
export function noDecodeMessage(m: MixerSpec): string {
  const why = isCausal(m) ? familyNoDecode(m) : undefined;
  return `mixer '${m.name}' (${m.preset}) ${why ?? 'is not causal: decode is not defined'}`;
}
