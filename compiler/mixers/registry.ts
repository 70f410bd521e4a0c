/**
 * The mixer families. Adding a family is one entry here plus its room in `compiler/mixers/<family>/`.
 */
import type { Assign, Span } from '../../grammar/ast.ts';
import type { Ctx } from '../check/eval.ts';
import type { MixerSpec } from '../check/spec.ts';
import type { GraphBuilder } from '../ir/builder.ts';
import type { Node, Schedule } from '../ir/graph.ts';
import type { BufferDecl, Step } from '../codegen/program.ts';
import type { DeviceLimits } from '../plan/device.ts';
import type { ScheduleCost } from '../plan/cost.ts';
import { linearAttnCost, linearAttnProgram, linearAttnSupports, linearAttnVariants } from './linear_attn/index.ts';
import { checkMamba, MAMBA_PRESETS } from './mamba/spec.ts';
import { lowerMamba } from './mamba/lower.ts';
import { checkLinearAttn, LINEAR_ATTN_PRESETS } from './linear_attn/spec.ts';
import { lowerLinearAttn } from './linear_attn/lower.ts';
import { ATTENTION_PRESETS, checkAttention } from './attention/spec.ts';
import { lowerAttention } from './attention/lower.ts';
import { checkFnet, FNET_PRESETS, lowerFnet } from './fourier/spec.ts';
import { checkRowAttention, lowerRowAttention } from './row_attention/spec.ts';
import { checkSoft, lowerSoft } from './soft/index.ts';
import { checkMonarch, lowerMonarch } from './monarch/index.ts';

export interface MixerFamily {
  family: MixerSpec['family'];
  presets: readonly string[];
  check(name: string, preset: string, knobs: readonly Assign[], env: ReadonlyMap<string, number>, dim: number, span: Span, ctx: Ctx): MixerSpec | undefined;
  /** Adds the mixer's nodes for one layer; returns the `[B, T, dim]` output. */
  lower(g: GraphBuilder, m: MixerSpec, x: number, layer: number, dim: number): number;
}

export const MIXER_FAMILIES: readonly MixerFamily[] = [
  { family: 'linear_attn', presets: Object.keys(LINEAR_ATTN_PRESETS), check: checkLinearAttn, lower: lowerLinearAttn },
  { family: 'attention', presets: Object.keys(ATTENTION_PRESETS), check: checkAttention, lower: lowerAttention },
  { family: 'mamba', presets: Object.keys(MAMBA_PRESETS), check: checkMamba, lower: lowerMamba },
  { family: 'fnet', presets: FNET_PRESETS, check: checkFnet, lower: lowerFnet },
  { family: 'softplus_attention', presets: ['softplus_attention'], check: checkRowAttention, lower: lowerRowAttention },
  { family: 'diag_attention', presets: ['diag_attention'], check: checkRowAttention, lower: lowerRowAttention },
  { family: 'linformer', presets: ['linformer'], check: checkRowAttention, lower: lowerRowAttention },
  { family: 'soft', presets: ['soft'], check: checkSoft, lower: lowerSoft },
  { family: 'monarch', presets: ['monarch'], check: checkMonarch, lower: lowerMonarch },
];

export function familyOfPreset(preset: string): MixerFamily | undefined {
  return MIXER_FAMILIES.find((f) => f.presets.includes(preset));
}

export function familyOf(m: MixerSpec): MixerFamily {
  return MIXER_FAMILIES.find((f) => f.family === m.family)!;
}

export const ALL_PRESETS: readonly string[] = MIXER_FAMILIES.flatMap((f) => f.presets);

/** Dims a schedule is planned for. `chunk` is 0 for schedules without chunks. */
export interface ScheduleDims {
  B: number;
  T: number;
  chunk: number;
  /** Constant loop bounds over K in the kernels (compiler/plan/device.ts `unrollLoops`). */
  unrollK?: boolean;
  /** Kernel variant of the schedule, one `variants` names (absent: the default kernels). */
  variant?: string;
}

/** Buffer names a mixer node's kernels bind: its inputs, output and state outputs. */
export interface MixerBuffers {
  inputs: Record<string, string | null>;
  output: string;
  states: Record<string, string | null>;
}

/** What the planner and codegen need of a mixer node in the graph IR. */
export interface MixerOp {
  supports(n: Node, schedule: Schedule, d: ScheduleDims, limits: DeviceLimits): { ok: true } | { ok: false; reason: string };
  cost(n: Node, schedule: Schedule, d: ScheduleDims): ScheduleCost;
  program(n: Node, schedule: Schedule, d: ScheduleDims, buffers: MixerBuffers): { buffers: BufferDecl[]; steps: Step[] };
  /** Kernel variants a schedule has besides its default kernels (linear_attn chunkwise: `workgroup`). */
  variants(n: Node, schedule: Schedule): string[];
}

const LINEAR_ATTN_OP: MixerOp = {
  supports: (n, schedule, d, limits) => linearAttnSupports(schedule, { ...d, knobs: knobsOf(n) }, limits),
  cost: (n, schedule, d) => linearAttnCost(schedule, { ...d, knobs: knobsOf(n) }),
  variants: (n, schedule) => linearAttnVariants(schedule, knobsOf(n)),
  program: (n, schedule, d, b) =>
    linearAttnProgram({
      label: n.label,
      ...d,
      knobs: knobsOf(n),
      schedule,
      buffers: {
        q: b.inputs.q!,
        k: b.inputs.k!,
        v: b.inputs.v!,
        s0: b.inputs.s0!,
        z0: b.inputs.z0 ?? null,
        g: b.inputs.g ?? null,
        beta: b.inputs.beta ?? null,
        o: b.output,
        S: b.states.S!,
        z: b.states.z ?? null,
      },
    }, { unrollK: d.unrollK === true }),
};

function knobsOf(n: Node) {
  if (n.op !== 'linear_attn') throw new Error(`not a linear_attn node: ${n.op}`);
  return n.knobs;
}

/** The mixer-op entry for a node, or undefined when the node is not a mixer. */
export function mixerOpOf(n: Node): MixerOp | undefined {
  return n.op === 'linear_attn' ? LINEAR_ATTN_OP : undefined;
}
