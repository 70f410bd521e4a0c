/**
 * Planning a `family` op (compiler/mixers/family-op.ts): it has one schedule, `parallel` (the
 * whole window at once), and several kernel variants; the cheapest supported variant wins. Pure.
 *
 * A spec-wide schedule (`default`, `prefill`, `--schedule`) is about the recurrent layers and does
 * not apply here; a `layers[a..b] = recurrent | chunkwise` that names a layer of a non-causal op
 * asks for something that does not exist and is refused (LOOM4003).
 */
import type { Diagnostic } from '../../grammar/diagnostics.ts';
import type { ScheduleSpec } from '../check/spec.ts';
import type { Graph, Node } from '../ir/graph.ts';
import { familyOpOf, type FamilyNode } from '../mixers/family-op.ts';
import { estimateMs, type Candidate } from './cost.ts';
import { autoWhy, chooseAuto, shapeKey, withMeasured } from './tuning.ts';
import type { DeviceProfile } from './device.ts';
import { planDiag, resolveChoice, type MixerPlan, type PlanOptions } from './plan.ts';

export function planFamily(n: Node & { op: 'family' }, g: Graph, spec: ScheduleSpec, device: DeviceProfile, opts: PlanOptions, diags: Diagnostic[]): MixerPlan | undefined {
  const op = familyOpOf(n.family);
  const d = { B: g.dims.B, T: g.dims.T };
  const resolved = resolveChoice(spec, n.layer, opts.mode, opts.override);
  const { choice, source } = resolved;
  const asked = choice.kind !== 'auto' && choice.kind !== 'parallel' && source.startsWith('layers[');
  if (asked && !op.causal(n.attrs)) {
    const reason = `${n.family} is not causal, so it has no ${choice.kind} form; it runs the whole window at once (parallel)`;
    diags.push(planDiag('schedule-not-supported', { layer: n.layer, mixer: n.label, schedule: choice.kind, reason }, n, { schedule: resolved }, opts));
    return undefined;
  }
  const limit = op.maxLength?.(n.attrs);
  if (limit && d.T > limit.maxLen) {
    diags.push(planDiag('sequence-too-long', { mixer: n.label, T: d.T, maxLen: limit.maxLen, what: limit.what }, n, { knob: 'max_len' }, opts));
    return undefined;
  }
  const estimated: Candidate[] = op.variants(n as FamilyNode, d).map((variant) => {
    const s = op.supports(n as FamilyNode, variant, d, device.limits);
    if (!s.ok) return { schedule: 'parallel', chunk: 0, variant, ok: false, reason: s.reason };
    return { schedule: 'parallel', chunk: 0, variant, ok: true, estimateMs: estimateMs(op.cost(n as FamilyNode, variant, d), device) };
  });
  const candidates = withMeasured(estimated, device.measured, shapeKey(n, g.dims));
  const auto = chooseAuto(candidates);
  const pick = auto?.pick;
  if (!auto || !pick) {
    const reason = candidates.map((c) => `${c.variant}: ${c.reason}`).join('; ');
    diags.push(planDiag('schedule-not-supported', { layer: n.layer, mixer: n.label, schedule: 'parallel', reason }, n, 'mixer', opts));
    return undefined;
  }
  const why = autoWhy(`${n.family} variant ${pick.variant}`, auto);
  return { node: n.id, label: n.label, layer: n.layer, schedule: 'parallel', chunk: 0, variant: pick.variant, source: 'auto', why, candidates };
}
