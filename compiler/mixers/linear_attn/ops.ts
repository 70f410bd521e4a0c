/**
 * The single-op interface with flash-linear-attention's conventions (`loom op NAME`): which
 * tensors each op reads and which knobs it implies. Pure.
 *
 * Tensors (float32): q, k `[B,T,H,K]`, v `[B,T,H,V]`, g `[B,T,H]` (log-space scalar decay),
 * gk `[B,T,H,K]` (log-space vector decay), beta `[B,T,H]`, optional initial_state `[B,H,K,V]`.
 * Outputs o `[B,T,H,V]` and final_state `[B,H,K,V]`. Default scale K^-1/2, applied to q.
 *
 * based and rebased (fla parallel_based / parallel_rebased) read raw q, k `[B,T,H,K]` and v only:
 * the kernel is 1 + s + s^2/2 (based) or s^2 (rebased) with s = scale q.k, normalised by its running
 * sum (+ eps: 1e-6 based, 1e-5 rebased, fla's defaults). Loom computes it as the recurrence over the
 * Taylor / squared feature maps (K' = 1 + K + K(K+1)/2 or K(K+1)/2) with scale 1, so final_state is
 * `[B,H,K',V]`. rebased takes q, k already through ReBased's learned LayerNorm, as fla's op does.
 */
import { featureMapWidth, type Decay, type FeatureMapKind, type LinearAttnKnobs, type UpdateRule } from '../../ir/graph.ts';

export type GateInput = 'g' | 'gk';

export interface OpDef {
  /** What the op computes, for `loom op --help` and errors. */
  summary: string;
  decay: 'none' | 'fixed-retnet' | 'scalar' | 'vector';
  update: UpdateRule;
  /** Whether `--normalize` is allowed. */
  normalizable: boolean;
  /** A feature map applied to q and k first (always normalized, with this eps; no initial_state). */
  feature?: { kind: 'taylor' | 'rebased'; eps: number };
}

export const FLA_OPS: Record<string, OpDef> = {
  linear_attn: { summary: 'additive, no decay (fla chunk_linear_attn)', decay: 'none', update: 'additive', normalizable: true },
  retention: { summary: 'additive, fixed per-head decay log(1 - 2^(-5-h)) (fla chunk_retention)', decay: 'fixed-retnet', update: 'additive', normalizable: false },
  simple_gla: { summary: 'additive, scalar data-dependent decay g (fla chunk_simple_gla)', decay: 'scalar', update: 'additive', normalizable: false },
  gla: { summary: 'additive, vector data-dependent decay gk (fla chunk_gla)', decay: 'vector', update: 'additive', normalizable: false },
  delta_rule: { summary: 'delta rule with beta, no decay (fla chunk_delta_rule)', decay: 'none', update: 'delta', normalizable: false },
  gated_delta_rule: { summary: 'delta rule with beta and scalar decay g (fla chunk_gated_delta_rule)', decay: 'scalar', update: 'delta', normalizable: false },
  based: { summary: 'Taylor kernel 1 + s + s^2/2, normalized (fla parallel_based)', decay: 'none', update: 'additive', normalizable: false, feature: { kind: 'taylor', eps: 1e-6 } },
  rebased: { summary: 'squared kernel s^2 on normalised q, k, normalized (fla parallel_rebased)', decay: 'none', update: 'additive', normalizable: false, feature: { kind: 'rebased', eps: 1e-5 } },
};

/** RetNet's per-head decay, in log space: log(1 - 2^(-5-h)). */
export function retnetLogDecay(H: number): number[] {
  return Array.from({ length: H }, (_, h) => Math.log(1 - 2 ** (-5 - h)));
}

/** The tensors an op reads besides q, k, v (and the optional initial_state). */
export function opInputs(def: OpDef): string[] {
  const gates = def.decay === 'scalar' ? ['g'] : def.decay === 'vector' ? ['gk'] : [];
  return [...gates, ...(def.update === 'delta' ? ['beta'] : [])];
}

export interface OpDims {
  B: number;
  T: number;
  H: number;
  K: number;
  V: number;
}

/** Expected shape of every tensor an op may read. */
export function opShapes(d: OpDims): Record<string, number[]> {
  return {
    q: [d.B, d.T, d.H, d.K],
    k: [d.B, d.T, d.H, d.K],
    v: [d.B, d.T, d.H, d.V],
    g: [d.B, d.T, d.H],
    gk: [d.B, d.T, d.H, d.K],
    beta: [d.B, d.T, d.H],
    initial_state: [d.B, d.H, d.K, d.V],
  };
}

/** The feature map of a based/rebased op: s = scale q.k with scale default K^-1/2; else null. */
export function opFeatureMap(def: OpDef, d: OpDims, o: { scale?: number }): FeatureMapKind | null {
  if (!def.feature) return null;
  const scale = o.scale ?? 1 / Math.sqrt(d.K);
  return def.feature.kind === 'taylor' ? { kind: 'taylor', scale } : { kind: 'rebased', scale, norm: null };
}

export function opKnobs(def: OpDef, d: OpDims, o: { scale?: number; normalize: boolean }): LinearAttnKnobs {
  const map = opFeatureMap(def, d, o);
  if (map && def.feature) {
    const K = featureMapWidth(map, d.K);
    return { heads: d.H, keyDim: K, valueDim: d.V, feature: 'identity', normalize: true, scale: 1, eps: def.feature.eps, decay: { kind: 'none' }, update: 'additive' };
  }
  const decay: Decay =
    def.decay === 'fixed-retnet' ? { kind: 'fixed', logDecay: retnetLogDecay(d.H) } : def.decay === 'none' ? { kind: 'none' } : { kind: def.decay };
  return {
    heads: d.H,
    keyDim: d.K,
    valueDim: d.V,
    feature: 'identity',
    normalize: o.normalize,
    scale: o.scale ?? 1 / Math.sqrt(d.K),
    eps: 1e-6,
    decay,
    update: def.update,
  };
}

/**
 * Checks the given tensors against an op: infers B, T, H, K, V from q and v, then requires every
 * tensor the op reads with its exact shape, and nothing else. Returns the dims or the problems.
 */
export function checkOpTensors(name: string, def: OpDef, shapes: ReadonlyMap<string, readonly number[]>): { dims?: OpDims; problems: string[] } {
  const q = shapes.get('q');
  const v = shapes.get('v');
  const problems: string[] = [];
  if (!q || q.length !== 4) problems.push(q ? `q has shape [${q.join(', ')}], expected [B, T, H, K]` : 'missing tensor q [B, T, H, K]');
  if (!v || v.length !== 4) problems.push(v ? `v has shape [${v.join(', ')}], expected [B, T, H, V]` : 'missing tensor v [B, T, H, V]');
  if (problems.length) return { problems };
  const dims: OpDims = { B: q![0], T: q![1], H: q![2], K: q![3], V: v![3] };
  const want = opShapes(dims);
  const needed = ['q', 'k', 'v', ...opInputs(def)];
  for (const t of needed) {
    const got = shapes.get(t);
    if (!got) problems.push(`missing tensor ${t} [${want[t].join(', ')}] (op ${name} reads q, k, v${opInputs(def).map((x) => `, ${x}`).join('')})`);
    else if (got.join() !== want[t].join()) problems.push(`tensor ${t} has shape [${got.join(', ')}], expected [${want[t].join(', ')}]`);
  }
  const init = shapes.get('initial_state');
  if (init && def.feature) problems.push(`op ${name} takes no initial_state (fla's parallel_${name} has none)`);
  else if (init && init.join() !== want.initial_state.join()) problems.push(`tensor initial_state has shape [${init.join(', ')}], expected [${want.initial_state.join(', ')}]`);
  for (const t of shapes.keys()) {
    if (!needed.includes(t) && t !== 'initial_state') problems.push(`tensor ${t} is not read by op ${name} (it reads ${[...needed, 'initial_state'].join(', ')})`);
  }
  return problems.length ? { problems } : { dims, problems };
}
