/**
 * plan(graph, schedule spec, device) -> Plan: for every mixer node the schedule (and chunk size)
 * with the estimates of every alternative; for every matmul the kernel variant. Requests the
 * device cannot honour are diagnostics here, never failures at pipeline creation.
 */
import type { Span } from '../../grammar/ast.ts';
import { diag, type Diagnostic, type Note } from '../../grammar/diagnostics.ts';
import { mixerOfLayer, type BlockExpr, type ModelSpec, type ScheduleChoice, type ScheduleSpec } from '../check/spec.ts';
import { matmulNodeDims, matmulVariants, type MatmulVariant } from '../codegen/kernels/matmul.ts';
import type { Graph, Node, Schedule } from '../ir/graph.ts';
import { mixerOpOf } from '../mixers/registry.ts';
import { planAttention } from '../mixers/attention/plan.ts';
import type { DeviceProfile } from './device.ts';
import { unrollLoops } from './device.ts';
import { preferChunkVariant } from './chunk-variant.ts';
import { planFamily } from './family.ts';
import { estimateMs, type Candidate } from './cost.ts';
import { autoWhy, chooseAuto, shapeKey, withMeasured } from './tuning.ts';
import { checkWeightDtype, f16Matmuls, type WeightDtype } from './weight-dtype.ts';

export type Mode = 'prefill' | 'decode';

export interface MixerPlan {
  node: number;
  label: string;
  layer: number;
  schedule: Schedule;
  chunk: number;
  /**
   * The kernel variant of a `family` op (FNet: `D=dft,T=fft`) or attention; for the recurrence's
   * chunkwise schedule `workgroup` (compiler/plan/chunk-variant.ts), absent for its register kernels.
   */
  variant?: string;
  /** Where the choice came from: `--schedule`, `layers[a..b]`, `prefill`, `default`, or `auto`. */
  source: string;
  why: string;
  candidates: Candidate[];
  /** Constant (unrollable) loop bounds over K in the recurrence's kernels: `unrollLoops(device)`. */
  unrollK?: boolean;
}

export interface MatmulPlan {
  node: number;
  label: string;
  variant: MatmulVariant;
  rejected: { variant: MatmulVariant; reason: string }[];
  /** Its weights stored f16 on the device, read into f32 (`--weights-dtype f16`); absent: f32. */
  weights?: 'f16';
  /** With f16 weights asked for, why this matmul keeps f32 ones (a weight another node reads too). */
  weightsWhy?: string;
}

export interface Plan {
  mode: Mode;
  device: DeviceProfile;
  mixers: MixerPlan[];
  matmuls: MatmulPlan[];
}

export interface PlanOptions {
  mode: Mode;
  /** A schedule forced for every layer (the CLI's `--schedule`). */
  override?: ScheduleChoice;
  /** How the matmuls' weights are stored on the device (compiler/plan/weight-dtype.ts); default f32. */
  weights?: WeightDtype;
  /** The spec the graph was lowered from: refusals then point at its schedule lines and knobs (`locate`). */
  spec?: ModelSpec;
}

export const DEFAULT_CHUNK = 64;
const AUTO_CHUNKS = [16, 32, 64, 128];

/** A layer's schedule as written: the choice, the entry it came from, and that entry's span. */
export interface Resolved {
  choice: ScheduleChoice;
  source: string;
  /** The `schedule { ... }` line; none for `--schedule` or an unwritten default. */
  span?: Span;
}

/** Which written choice applies to a layer, and where it came from. Pure. */
export function resolveChoice(spec: ScheduleSpec, layer: number, mode: Mode, override?: ScheduleChoice): Resolved {
  if (override) return { choice: override, source: '--schedule' };
  const entry = [...spec.layers].reverse().find((l) => layer >= l.first && layer <= l.last);
  if (entry) return { choice: entry.choice, source: `layers[${entry.first}..${entry.last}]`, span: entry.span };
  const modeChoice = spec[mode];
  if (modeChoice) return { choice: modeChoice, source: mode, span: spec.spans?.[mode] };
  return { choice: spec.default, source: 'default', span: spec.spans?.default };
}

/** What a planner refusal is about: the schedule entry that chose it, a knob of the node's mixer, or the mixer. */
export type Cause = { schedule: Resolved } | { knob: string } | 'mixer';

/** The mixer a node of layer `layer` comes from (label `L<layer>.<mixer>...`, a weight's `layers.<layer>.<mixer>...`), if any. */
function mixerOfNode(spec: ModelSpec, label: string, layer: number): string | undefined {
  const parts = label.split('.');
  const name = parts[0] === 'layers' ? parts[2] : parts[1];
  const calls = (e: BlockExpr): string[] => (e.kind === 'mixer' ? [mixerOfLayer(spec, e.mixer, layer), ...calls(e.arg)] : 'arg' in e ? calls(e.arg) : 'left' in e ? [...calls(e.left), ...calls(e.right)] : []);
  return spec.block.some((s) => calls(s.expr).includes(name)) ? name : undefined;
}

/**
 * Where a planner diagnostic about node `n` points, and its notes: the schedule line responsible,
 * the knob (or, unset, the declaration of the mixer whose default it took), or the mixer's
 * declaration. A schedule from the command line has no file: a note says so. Pure.
 */
export function locate(n: Pick<Node, 'label' | 'layer'>, cause: Cause, spec: ModelSpec | undefined): { where: { file?: string; span?: Span }; notes: Note[] } {
  if (typeof cause === 'object' && 'schedule' in cause && cause.schedule.source === '--schedule') return { where: {}, notes: [{ message: 'the schedule was given on the command line (--schedule), for every layer' }] };
  if (!spec) return { where: {}, notes: [] };
  if (typeof cause === 'object' && 'schedule' in cause && cause.schedule.span) return { where: { file: spec.file, span: cause.schedule.span }, notes: [] };
  const name = mixerOfNode(spec, n.label, n.layer);
  const mixer = name === undefined ? undefined : spec.mixers[name];
  if (!mixer) return { where: { file: spec.file }, notes: [] };
  if (typeof cause === 'object' && 'knob' in cause) {
    const knob = spec.knobSpans?.[mixer.name]?.[cause.knob];
    if (knob) return { where: { file: spec.file, span: knob }, notes: [] };
    return { where: { file: spec.file, span: mixer.span }, notes: [{ message: `mixer '${mixer.name}' does not set ${cause.knob}, so it takes the default` }] };
  }
  return { where: { file: spec.file, span: mixer.span }, notes: [] };
}

/** `diag` located by `locate`. */
export function planDiag(name: Parameters<typeof diag>[0], args: Record<string, string | number>, n: Pick<Node, 'label' | 'layer'>, cause: Cause, opts: PlanOptions): Diagnostic {
  const { where, notes } = locate(n, cause, opts.spec);
  return diag(name, args, where, { notes });
}

/** Candidate schedules for auto: every schedule, chunkwise at a few chunk sizes up to ~T. */
export function autoCandidates(T: number): { schedule: Schedule; chunk: number }[] {
  const chunks = AUTO_CHUNKS.filter((c, i) => i === 0 || c <= T);
  return [
    { schedule: 'recurrent', chunk: 0 },
    { schedule: 'parallel', chunk: 0 },
    ...chunks.map((chunk) => ({ schedule: 'chunkwise' as const, chunk })),
  ];
}

function planMixer(n: Node, g: Graph, spec: ScheduleSpec, device: DeviceProfile, opts: PlanOptions, diags: Diagnostic[]): MixerPlan | undefined {
  const family = mixerOpOf(n)!;
  const { B, T } = g.dims;
  const resolved = resolveChoice(spec, n.layer, opts.mode, opts.override);
  const { choice, source } = resolved;
  const wanted = choice.kind === 'auto' ? autoCandidates(T) : [{ schedule: choice.kind, chunk: choice.kind === 'chunkwise' ? (choice.chunk ?? DEFAULT_CHUNK) : 0 }];
  const estimated: Candidate[] = wanted.flatMap(({ schedule, chunk }) =>
    [undefined, ...family.variants(n, schedule)].map((variant): Candidate => {
      const v = variant === undefined ? {} : { variant };
      const s = family.supports(n, schedule, { B, T, chunk, ...v }, device.limits);
      if (!s.ok) return { schedule, chunk, ...v, ok: false, reason: s.reason };
      return { schedule, chunk, ...v, ok: true, estimateMs: estimateMs(family.cost(n, schedule, { B, T, chunk, ...v }), device) };
    }),
  );
  const candidates = preferChunkVariant(withMeasured(estimated, device.measured, shapeKey(n, g.dims)), device);
  const auto = choice.kind === 'auto' ? chooseAuto(candidates) : undefined;
  // A written schedule: its kernel variant by device class, or the faster one loom tune measured.
  const pick = choice.kind === 'auto' ? auto?.pick : chooseAuto(candidates)?.pick;
  if (!pick) {
    const reason = candidates.map((c) => c.reason).filter(Boolean).join('; ');
    diags.push(planDiag('schedule-not-supported', { layer: n.layer, mixer: n.label, schedule: choice.kind, reason }, n, choice.kind === 'auto' ? 'mixer' : { schedule: resolved }, opts));
    return undefined;
  }
  const why = auto ? autoWhy('auto', auto) : `requested by ${source}`;
  const variant = pick.variant === undefined ? {} : { variant: pick.variant };
  return { node: n.id, label: n.label, layer: n.layer, schedule: pick.schedule, chunk: pick.chunk, ...variant, source: choice.kind === 'auto' ? 'auto' : source, why, candidates, ...(unrollLoops(device) ? { unrollK: true } : {}) };
}

function planMatmul(n: Node & { op: 'matmul' }, g: Graph, device: DeviceProfile, opts: PlanOptions, diags: Diagnostic[]): MatmulPlan | undefined {
  const { dims } = matmulNodeDims(g, n);
  const { M, K, N } = dims;
  const variants = matmulVariants(dims, device.limits, device.isCpu);
  const chosen = variants.find((v) => v.ok);
  if (!chosen) {
    const why = variants.map((v) => `${v.variant}: ${v.reason}`).join('; ');
    diags.push(planDiag('device-limit', { message: `matmul ${n.label} [${M} x ${K}] x [${K} x ${N}] fits no kernel variant on ${device.name}: ${why}` }, n, 'mixer', opts));
    return undefined;
  }
  return {
    node: n.id,
    label: n.label,
    variant: chosen.variant,
    rejected: variants.filter((v) => v !== chosen).map((v) => ({ variant: v.variant, reason: v.reason ?? 'ranked lower for this device class' })),
  };
}

export function plan(g: Graph, spec: ScheduleSpec, device: DeviceProfile, opts: PlanOptions): { plan?: Plan; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const mixers: MixerPlan[] = [];
  const matmuls: MatmulPlan[] = [];
  for (const n of g.nodes) {
    if (n.op === 'family') {
      const p = planFamily(n, g, spec, device, opts, diagnostics);
      if (p) mixers.push(p);
    } else if (mixerOpOf(n)) {
      const p = planMixer(n, g, spec, device, opts, diagnostics);
      if (p) mixers.push(p);
    } else if (n.op === 'attention') {
      const p = planAttention(n, g, spec, device, opts, diagnostics);
      if (p) mixers.push(p);
    } else if (n.op === 'matmul') {
      const p = planMatmul(n, g, device, opts, diagnostics);
      if (p) matmuls.push(p);
    }
  }
  diagnostics.push(...checkTensorSizes(g, device, opts.spec), ...checkWeightDtype(opts.weights ?? 'f32', device));
  if (opts.weights === 'f16') {
    const { f16, why } = f16Matmuls(g);
    for (const m of matmuls) {
      if (f16.has(m.node)) m.weights = 'f16';
      else m.weightsWhy = why.get(m.node);
    }
  }
  return diagnostics.length ? { diagnostics } : { plan: { mode: opts.mode, device, mixers, matmuls }, diagnostics };
}

/**
 * Every tensor must fit one storage binding of the device; refused here, before any dispatch (at
 * the declaration of the mixer the tensor belongs to, when `spec` is given).
 */
export function checkTensorSizes(g: Graph, device: DeviceProfile, spec?: ModelSpec): Diagnostic[] {
  const max = Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize);
  const out: Diagnostic[] = [];
  for (const n of g.nodes) {
    const bytes = n.type.shape.reduce((a, b) => a * b, 1) * 4;
    if (bytes > max) {
      const what = n.op === 'weight' ? `weight '${n.name}'` : `tensor ${n.label}`;
      out.push(planDiag('device-limit', { message: `${what} [${n.type.shape.join(', ')}] needs ${bytes} bytes; ${device.name} binds at most ${max} bytes per buffer` }, n, 'mixer', { mode: 'prefill', spec }));
    }
  }
  return out;
}
