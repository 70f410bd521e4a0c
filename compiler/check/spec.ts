/**
 * ModelSpec: the checked model. Names resolved, every dimension a concrete integer, defaults
 * filled. Produced by `check(ast)`, consumed by `lower(spec, dims)`.
 */
import type { Span } from '../../grammar/ast.ts';
import type { AttentionKnobs, FamilyAttrs, FeatureMapKind, LinearAttnKnobs, Schedule } from '../ir/graph.ts';

/** A feature-map stage applied to q and k before the recurrence (docs/mixers.md). */
export type FeatureStage = 'identity' | 'elu1' | 'relu' | 'silu' | 'l2';

/**
 * A learned or expanding feature map (taylor, rebased, hedgehog, t2r) after the `features` stages:
 * q and k are projected to `inputDim` per head, `map` widens them to knobs.keyDim (K'), then the
 * pointwise `post` stages apply on K'.
 */
export interface LearnedFeatureSpec {
  map: FeatureMapKind;
  inputDim: number;
  post: FeatureStage[];
}

/**
 * How data-dependent log-gates are computed from the layer input x:
 * logsigmoid: g = logsigmoid(x W + b) / normalizer (GLA; W factored through `lowRank` when set; b when `bias`);
 * softplus:   g = -exp(A_log) * softplus(x W + dt_bias) (Mamba2, Gated DeltaNet).
 */
export type GateSpec = { kind: 'logsigmoid'; lowRank: number | null; normalizer: number; bias?: boolean } | { kind: 'softplus' };

/** Output glue: per-head RMSNorm of o (epsilon `eps`, default 1e-5), then `* silu(x W_gate)` when gated. */
export interface OutputSpec {
  norm: boolean;
  gate: boolean;
  eps?: number;
}

/** A mixer after its preset and knobs were resolved. One variant per mixer family. */
export interface LinearAttnMixer {
  family: 'linear_attn';
  name: string;
  preset: string;
  /** What the mixer kernels compute. */
  knobs: LinearAttnKnobs;
  /** Feature stages applied to q and k as graph nodes before the kernels (empty when fused). */
  features: FeatureStage[];
  /** A learned/expanding map after `features` (absent or null: none). */
  featureMap?: LearnedFeatureSpec | null;
  /** Gate parameterisation for scalar and vector decay, else null. */
  gate: GateSpec | null;
  /** beta = scale * sigmoid(x W_beta) for the delta rule, else null. */
  beta: { scale: number } | null;
  output: OutputSpec;
  /** Width of the short causal convolution (+ silu) on the q, k and v projections, or null. */
  shortConv: number | null;
  /** Cottention: divide o_t by (t+1)^sigmoid(m_h), m learned per head. */
  lengthNorm: boolean;
  /**
   * forward: causal. reverse: the recurrence from t = T-1 down. bidirectional: LION (docs/mixers.md
   * §1.4). Only forward mixers can decode.
   */
  direction: 'forward' | 'reverse' | 'bidirectional';
  /** cosFormer's cos re-weighting by absolute position (doubles the key width), or null. */
  reweight: { maxLen: number } | null;
  /** Rotary embedding of q and k after their feature maps (fla's RetNet), or null/absent. */
  rope?: { theta: number } | null;
  span: Span;
}

/**
 * Softmax attention (compiler/mixers/attention): q, k, v, o projections, RoPE on q and k when
 * `rope` is set; Liger (`liger` set) adds a gated linear attention over the same q, k, v.
 */
export interface AttentionMixer {
  family: 'attention';
  name: string;
  preset: string;
  knobs: AttentionKnobs;
  /** RoPE with base theta; `selective`: angles advance by a learned per-token step (Selective RoPE). */
  rope: { theta: number; selective?: boolean } | null;
  /**
   * Liger attention: o = 0.5 * (sliding-window attention) + 0.5 * (gated linear attention over
   * softmax(q), softmax(k) with log-gates logsigmoid(k) / normalizer), or null.
   */
  liger: { normalizer: number } | null;
  /** Learned biases on the q, k and v projections (`qkv_bias = true`; fla's and Qwen's qkv_bias). */
  qkvBias?: boolean;
  /** RMSNorm of q and k per head (a learned gain of head_dim) before RoPE (`qk_norm = rmsnorm(eps = e)`). */
  qkNorm?: { eps: number };
  span: Span;
}

/**
 * Mamba (S6) as the vector-decay recurrence of docs/mixers.md (compiler/mixers/mamba): one head
 * per inner channel with K = dState and V = 1.
 */
export interface MambaMixer {
  family: 'mamba';
  name: string;
  preset: string;
  knobs: MambaKnobs;
  span: Span;
}

export interface MambaKnobs {
  /** State size N per channel. */
  dState: number;
  /** Inner channels (expand * dim): the recurrence's heads. */
  inner: number;
  /** Rank of the dt projection. */
  dtRank: number;
  shortConv: number | null;
  /** A learned bias on the convolution, before its silu (`x_conv1d.bias`). */
  convBias?: boolean;
  /** `ssd` (Mamba2): channels per head (the heads are inner / headDim), and the gated norm's epsilon. */
  headDim?: number;
  eps?: number;
}

/** Families of stateless mixers: one `family` IR node each (compiler/mixers/family-op.ts). */
export type StatelessFamily = 'fnet' | 'softplus_attention' | 'diag_attention' | 'linformer' | 'soft' | 'monarch';

/** A mixer of a stateless family, its knobs resolved to plain data (the node's attrs). */
export interface StatelessMixer {
  family: StatelessFamily;
  name: string;
  preset: string;
  knobs: FamilyAttrs;
  span: Span;
}

export type MixerSpec = LinearAttnMixer | AttentionMixer | MambaMixer | StatelessMixer;

/** A per-layer computation over the residual stream; every value is `[B, T, width]`. */
export type BlockExpr =
  | { kind: 'var'; name: string; width: number; span: Span }
  | { kind: 'add' | 'mul'; left: BlockExpr; right: BlockExpr; width: number; span: Span }
  | { kind: 'silu' | 'elu1'; arg: BlockExpr; width: number; span: Span }
  | { kind: 'rmsnorm'; arg: BlockExpr; eps: number; width: number; span: Span }
  | { kind: 'swiglu'; arg: BlockExpr; hidden: number; width: number; span: Span }
  /** `moe(e, experts = E, top_k = k, hidden = N)`: a mixture of SwiGLU experts (compiler/mixers/moe/). */
  | { kind: 'moe'; arg: BlockExpr; experts: number; topK: number; hidden: number; width: number; span: Span }
  /** `monarch_mlp(e, expand = r)`: an MLP of Monarch matrices along the channels (compiler/mixers/monarch/mlp.ts). */
  | { kind: 'monarch_mlp'; arg: BlockExpr; expand: number; width: number; span: Span }
  | { kind: 'mixer'; mixer: string; arg: BlockExpr; width: number; span: Span };

export interface BlockStmt {
  target: string;
  expr: BlockExpr;
  span: Span;
}

/** A schedule choice as written: `auto`, `parallel`, `recurrent`, `chunkwise` or `chunkwise(C)`. */
export type ScheduleChoice = { kind: 'auto' } | { kind: Exclude<Schedule, 'chunkwise'> } | { kind: 'chunkwise'; chunk?: number };

export interface ScheduleSpec {
  default: ScheduleChoice;
  /** For forward passes over a whole sequence (T > 1). */
  prefill?: ScheduleChoice;
  /** For single-token steps. */
  decode?: ScheduleChoice;
  /** Per-layer overrides, inclusive ranges, later entries win. */
  layers: { first: number; last: number; choice: ScheduleChoice; span: Span }[];
  /** The entries that set `default`, `prefill` and `decode` (the last of each), for located planner errors. */
  spans?: Partial<Record<'default' | 'prefill' | 'decode', Span>>;
}

export interface ModelSpec {
  file: string;
  name: string;
  vocab: number;
  dim: number;
  layers: number;
  head: 'tied' | 'untied';
  normEps: number;
  /** Every numeric model parameter, evaluated (includes vocab, dim, heads, layers). */
  params: Record<string, number>;
  mixers: Record<string, MixerSpec>;
  block: BlockStmt[];
  /**
   * `block pattern [a, b, ...]`: layer i's `mixer(...)` calls (BlockExpr mixer = PATTERN_SLOT)
   * use mixer pattern[i mod len]. Absent without a pattern.
   */
  pattern?: string[];
  schedule: ScheduleSpec;
  /** Where each mixer's knobs are written (mixer -> knob -> value span), for located planner errors. */
  knobSpans?: Readonly<Record<string, Readonly<Record<string, Span>>>>;
}

/** The mixer name a patterned block's `mixer(e)` calls carry until lowering picks the layer's mixer. */
export const PATTERN_SLOT = 'mixer';

/** The mixer a block call names in layer `layer` (resolving a pattern slot). */
export function mixerOfLayer(spec: Pick<ModelSpec, 'pattern'>, name: string, layer: number): string {
  return name === PATTERN_SLOT && spec.pattern ? spec.pattern[layer % spec.pattern.length] : name;
}
