/** Options shared by the commands that compile a spec. */
import { Ctx } from '../compiler/check/eval.ts';
import { scheduleChoice } from '../compiler/check/schedule.ts';
import type { ScheduleChoice } from '../compiler/check/spec.ts';
import { parse } from '../grammar/index.ts';
import { LoomError } from '../grammar/diagnostics.ts';
import { WEIGHTS_FORMATS, type WeightsFormat } from '../runtime/fla-weights.ts';
import { chooseWeightDtype, type WeightDtype, type WeightDtypeRequest } from '../compiler/plan/weight-dtype.ts';
import type { DeviceProfile } from '../compiler/plan/device.ts';
import { checkpointDtypes } from '../runtime/safetensors-index.ts';
import type { OptionDef, Values } from './command.ts';
import { usageError } from './io.ts';

export interface CommonOptions {
  spec: string;
  seq: number;
  batch: number;
  schedule?: ScheduleChoice;
  seed: number;
  weights?: string;
  /** How the weights file names its tensors: detected (`auto`), Loom's, or fla's/HF's. */
  weightsFormat: WeightsFormat;
  /** `--strict`: the spec's warnings fail the command as errors (`specWarnings` in io.ts). */
  strict: boolean;
}

/** The options of the commands that compile a spec, each declared once with its description. */
export const OPTION = {
  seq: { flag: 'seq', value: 'T', help: 'sequence length: tokens per sequence (default 128)' },
  batch: { flag: 'batch', value: 'B', help: 'batch size: sequences at once (default 1)' },
  schedule: { flag: 'schedule', value: 'S', help: "parallel | chunkwise | chunkwise(C) | recurrent | auto, for every layer (default: the spec's schedule)" },
  seed: { flag: 'seed', value: 'N', help: 'seed of the random weights and token ids (default 0)' },
  weights: { flag: 'weights', value: 'FILE', help: "weights from a .safetensors file or a sharded model.safetensors.index.json, Loom's or fla's/HF's tensor names (default: random from --seed)" },
  weightsFormat: { flag: 'weights-format', value: 'F', help: 'auto | loom | fla: how --weights names its tensors (default auto: detected)' },
  strict: { flag: 'strict', help: "the spec's warnings (unused mixers and parameters, pattern entries no layer reaches) fail the command" },
  weightsDtype: { flag: 'weights-dtype', value: 'D', help: "auto | f32 | f16: how the matmuls' weights are stored on the device (default auto: f16 for an f16/bf16 checkpoint on a device with shader-f16)" },
  json: { flag: 'json', help: 'print exactly one JSON object on stdout (no progress bars)' },
} as const satisfies Record<string, OptionDef>;

/** The options every spec-compiling command shares: shape, schedule and --strict. */
export const SPEC_OPTIONS: readonly OptionDef[] = [OPTION.seq, OPTION.batch, OPTION.schedule, OPTION.strict];

/**
 * The spec path and the shared options from `values` (by long name; absent: the default), checked
 * as before: positive integers, a schedule in the spec language's own grammar, a known format.
 */
export function commonOptions(spec: string, values: Values): CommonOptions {
  const v = values as Record<string, string | boolean | undefined>;
  return {
    spec,
    seq: positiveInt(v.seq, 128, '--seq'),
    batch: positiveInt(v.batch, 1, '--batch'),
    seed: nonNegativeInt(v.seed, 0, '--seed'),
    schedule: v.schedule === undefined ? undefined : parseSchedule(String(v.schedule)),
    weights: v.weights as string | undefined,
    weightsFormat: weightsFormat(v['weights-format']),
    strict: v.strict === true,
  };
}

/**
 * The storage of the matmul weights for `--weights-dtype` (default auto) and the weights the
 * command loads (`checkpoint`: read from its headers only; none: seeded) on `device`
 * (`chooseWeightDtype`).
 */
export function weightsDtype(v: unknown, checkpoint?: string, device?: DeviceProfile): WeightDtype {
  if (v !== undefined && v !== 'auto' && v !== 'f32' && v !== 'f16') throw usageError(`--weights-dtype must be auto, f32 or f16, got '${v}'`);
  const requested = (v ?? 'auto') as WeightDtypeRequest;
  return chooseWeightDtype(requested, requested === 'auto' && checkpoint ? checkpointDtypes(checkpoint) : null, device?.shaderF16).dtype;
}

function weightsFormat(v: unknown): WeightsFormat {
  if (v === undefined) return 'auto';
  if (!(WEIGHTS_FORMATS as readonly unknown[]).includes(v)) throw usageError(`--weights-format must be one of ${WEIGHTS_FORMATS.join(', ')}, got '${v}'`);
  return v as WeightsFormat;
}

export function positiveInt(v: unknown, fallback: number, flag: string): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw usageError(`${flag} must be a positive integer, got '${v}'`);
  return n;
}

export function nonNegativeInt(v: unknown, fallback: number, flag: string): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw usageError(`${flag} must be an integer in [0, 2^32), got '${v}'`);
  return n;
}

/** `--schedule chunkwise(32)` parsed with the spec language's own expression grammar. */
function parseSchedule(text: string): ScheduleChoice {
  const { file, diagnostics } = parse(`schedule { default = ${text} }`, '--schedule');
  const entry = file.schedules[0]?.entries[0];
  if (diagnostics.length || !entry || file.schedules[0].entries.length !== 1) {
    throw usageError(`--schedule: '${text}' is not a schedule; expected parallel, chunkwise, chunkwise(C), recurrent or auto`);
  }
  const ctx = new Ctx('--schedule');
  const choice = scheduleChoice(entry.value, new Map(), ctx);
  if (!choice) throw new LoomError(ctx.diagnostics.map((d) => ({ ...d, file: undefined, span: undefined })));
  return choice;
}
