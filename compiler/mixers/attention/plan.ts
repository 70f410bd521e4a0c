/**
 * Planning an attention node: its schedule follows from T (parallel for a window, recurrent for a
 * single decode step against the KV cache), so a schedule written for the recurrent layers does
 * not apply; the cheapest kernel variant the device supports wins. Non-causal attention has no
 * decode form and is refused in decode mode (LOOM4003). Pure.
 */
import type { Diagnostic } from '../../../grammar/diagnostics.ts';
import type { ScheduleSpec } from '../../check/spec.ts';
import type { Graph, Node } from '../../ir/graph.ts';
import { estimateMs, type Candidate } from '../../plan/cost.ts';
import { chooseAuto, shapeKey, withMeasured } from '../../plan/tuning.ts';
import type { DeviceProfile } from '../../plan/device.ts';
import type { MixerPlan, PlanOptions } from '../../plan/plan.ts';
import { planDiag, resolveChoice } from '../../plan/plan.ts';
import { attentionCost, attentionSchedule, attentionSupports, attentionVariants } from './index.ts';

/** Why the tiled variant is not used on CPU adapters (measured on lavapipe: its barriers and workgroup memory are slow). */
export const CPU_TILES = 'on a CPU adapter workgroup barriers and workgroup memory are slow; one query per invocation in registers (rows) runs faster';

export function planAttention(n: Node & { op: 'attention' }, g: Graph, spec: ScheduleSpec, device: DeviceProfile, opts: PlanOptions, diags: Diagnostic[]): MixerPlan | undefined {
  const d = { ...g.dims, knobs: n.knobs };
  const schedule = attentionSchedule(d.T);
  if (opts.mode === 'decode' && !n.knobs.causal) {
    const reason = `${n.label} is bidirectional attention (causal = false): each token attends to later tokens, so there is no step-by-step decode`;
    diags.push(planDiag('schedule-not-supported', { layer: n.layer, mixer: n.label, schedule: 'decode', reason }, n, { knob: 'causal' }, opts));
    return undefined;
  }
  const estimated: Candidate[] = attentionVariants(d).map((variant) => {
    const s = attentionSupports(variant, d, device.limits);
    if (!s.ok) return { schedule, chunk: 0, variant, ok: false, reason: s.reason };
    if (variant === 'tiled' && device.isCpu) return { schedule, chunk: 0, variant, ok: false, reason: CPU_TILES };
    return { schedule, chunk: 0, variant, ok: true, estimateMs: estimateMs(attentionCost(variant, d), device) };
  });
  const candidates = withMeasured(estimated, device.measured, shapeKey(n, g.dims));
  const auto = chooseAuto(candidates);
  const pick = auto?.pick;
  if (!auto || !pick) {
    // A window longer than the KV cache is max_len's doing; anything else the mixer's as declared.
    const cacheTooShort = n.knobs.causal && n.knobs.window === null && d.T > n.knobs.maxLen;
    diags.push(planDiag('schedule-not-supported', { layer: n.layer, mixer: n.label, schedule, reason: [...new Set(candidates.map((c) => c.reason))].join('; ') }, n, cacheTooShort ? { knob: 'max_len' } : 'mixer', opts));
    return undefined;
  }
  const { choice, source } = resolveChoice(spec, n.layer, opts.mode, opts.override);
  const asked = choice.kind === 'auto' || choice.kind === schedule ? '' : `; ${choice.kind} (${source}) does not apply to attention`;
  const form = schedule === 'parallel' ? `the ${d.T} queries at once` : 'one step against the KV cache';
  const why = `attention: ${schedule} (${form}), variant ${pick.variant} (${auto.basis === 'measured' ? `measured ${pick.measuredMs!.toPrecision(3)} ms, loom tune` : `${pick.estimateMs!.toPrecision(3)} ms`})${asked}`;
  return { node: n.id, label: n.label, layer: n.layer, schedule, chunk: 0, variant: pick.variant, source: 'attention', why, candidates };
}
