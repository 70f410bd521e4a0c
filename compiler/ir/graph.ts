/**
 * The graph IR: tensor-valued nodes in topological order, each with a concrete shape.
 *
 * A graph is specialised to a batch size B and a sequence length T (`graph.dims`). Nodes are
 * immutable and created only through `GraphBuilder`, which interns them: two structurally equal
 * nodes are the same node (same id). Passes are pure functions `Graph -> Graph`.
 *
 * Conventions (docs/mixers.md): activations are row-major `[B, T, D]`; per-head tensors are
 * `[B, T, H, K]` viewed as `[B, T, H*K]`; recurrent state is `[B, H, K, V]`; matmul weights are
 * `[in, out]` (y = x · W) unless `transposeW` says the weight is stored `[out, in]`.
 */

export type DType = 'f32' | 'i32';

export interface TensorType {
  shape: readonly number[];
  dtype: DType;
}

/**
 * A pointwise expression over a node's inputs, evaluated independently per element. An input may
 * be smaller than the output when its shape is a suffix of the output's (a per-head or per-channel
 * parameter broadcast over [B, T, ...]): element i then reads input[i % numel(input)].
 */
export type EwExpr =
  | { kind: 'in'; index: number }
  | { kind: 'const'; value: number }
  | { kind: 'fn'; fn: EwFn; args: readonly EwExpr[] };

/**
 * add(a,b), mul(a,b), silu(a) = a*sigmoid(a), elu1(a) = elu(a)+1, relu(a), sigmoid(a), exp(a),
 * softplus(a) = log(1 + e^a), logsigmoid(a) = -softplus(-a), recip(a) = 1 / a.
 */
export type EwFn = 'add' | 'mul' | 'silu' | 'elu1' | 'relu' | 'sigmoid' | 'exp' | 'softplus' | 'logsigmoid' | 'recip';

export const EW_ARITY: Record<EwFn, number> = { add: 2, mul: 2, silu: 1, elu1: 1, relu: 1, sigmoid: 1, exp: 1, softplus: 1, logsigmoid: 1, recip: 1 };

/** Whether `inner` broadcasts to `outer`: equal, or a suffix of it (trailing dimensions). */
export function broadcasts(inner: readonly number[], outer: readonly number[]): boolean {
  if (inner.length > outer.length) return false;
  const off = outer.length - inner.length;
  return inner.every((d, i) => d === outer[off + i]);
}

/** Feature maps phi of the linear recurrence that this IR knows (docs/mixers.md). */
export type FeatureMap = 'identity' | 'elu1';

/**
 * A per-head feature map that carries weights or changes the key width K -> K' (docs/mixers.md),
 * applied to each group of K consecutive elements of the last axis (one head of q or k):
 * - taylor (Based): [1, sqrt(c) x, c x_i^2 / sqrt2 (i), c x_i x_j (i < j)], K' = 1 + K + K(K+1)/2,
 *   so phi(q).phi(k) = 1 + c q.k + (c q.k)^2 / 2;
 * - rebased: with `norm`, first x = LayerNorm(x) * gamma + beta (weights gamma, beta `[K]`,
 *   biased variance, eps); then [c x_i^2 (i), sqrt2 c x_i x_j (i < j)], K' = K(K+1)/2, so
 *   phi(q).phi(k) = (c q.k)^2;
 * - hedgehog: y = x W_h + b_h (weights W `[H, K, K]`, b `[H, K]`), phi = softmax([y, -y]), K' = 2K;
 * - t2r: phi = relu(x W_h + b_h) (weights W `[H, K, F]`, b `[H, F]`), K' = F.
 */
export type FeatureMapKind =
  | { kind: 'taylor'; scale: number }
  | { kind: 'rebased'; scale: number; norm: { eps: number } | null }
  | { kind: 'hedgehog' }
  | { kind: 't2r'; features: number };

/** K' of a feature map on heads of K. */
export function featureMapWidth(map: FeatureMapKind, K: number): number {
  switch (map.kind) {
    case 'taylor':
      return 1 + K + (K * (K + 1)) / 2;
    case 'rebased':
      return (K * (K + 1)) / 2;
    case 'hedgehog':
      return 2 * K;
    case 't2r':
      return map.features;
  }
}

/** Shapes of a feature map's weights, in the order of the node's `weights`. */
export function featureMapWeightShapes(map: FeatureMapKind, H: number, K: number): number[][] {
  switch (map.kind) {
    case 'taylor':
      return [];
    case 'rebased':
      return map.norm ? [[K], [K]] : [];
    case 'hedgehog':
      return [[H, K, K], [H, K]];
    case 't2r':
      return [[H, K, map.features], [H, map.features]];
  }
}

/**
 * How the state decays between tokens, D_t in docs/mixers.md Gates are in log space (the decay
 * applied at step t is exp(g_t), g_t <= 0).
 */
export type Decay =
  | { kind: 'none' }
  /** Per head, constant over t: `logDecay[h]` (RetNet: log(1 - 2^(-5-h))). */
  | { kind: 'fixed'; logDecay: readonly number[] }
  /** Data-dependent per head: input g `[B, T, H]`. */
  | { kind: 'scalar' }
  /** Data-dependent per key channel: input gk `[B, T, H, K]`. */
  | { kind: 'vector' };

/**
 * additive: S_t = D_t S_{t-1} + k~_t v_t^T.
 * delta:    S_t = (I - beta_t k~_t k~_t^T) D_t S_{t-1} + beta_t k~_t v_t^T (gated delta when D_t != I);
 *           input beta `[B, T, H]`.
 */
export type UpdateRule = 'additive' | 'delta';

/** Knobs of a causal linear-attention mixer, after the checker filled every default. */
export interface LinearAttnKnobs {
  heads: number;
  /** Key/query head dimension K. */
  keyDim: number;
  /** Value head dimension V. */
  valueDim: number;
  feature: FeatureMap;
  /** Divide by (scale q~ . z_t + eps) where z_t is the running sum of k~. */
  normalize: boolean;
  /** Multiplies q~ (after the feature map). Default K^-1/2. */
  scale: number;
  eps: number;
  decay: Decay;
  update: UpdateRule;
}

/**
 * Knobs of softmax attention (docs/mixers.md), after the checker filled every default:
 * `o_i = sum_j softmax_j(scale q_i . k_j + mask_ij) v_j` per head, query head h reading key/value
 * head `h / (heads / kvHeads)` (grouped-query attention). Causal: key j only when j <= i (absolute
 * positions), and with a window w also `i - j < w`. Non-causal with a window: `|i - j| < w`.
 */
export interface AttentionKnobs {
  heads: number;
  /** Key/value heads; divides heads. */
  kvHeads: number;
  /** Query/key head dimension D. */
  headDim: number;
  /** Value head dimension. */
  valueDim: number;
  causal: boolean;
  /** Sliding window w, or null for global attention. */
  window: number | null;
  /** Multiplies q . k (default headDim^-1/2). */
  scale: number;
  /** Positions a global causal KV cache holds (its capacity); unused with a window (a ring of w slots). */
  maxLen: number;
}

/** KV-cache slots of causal attention: a ring of `window` slots, or `maxLen` positions; 0 without a cache. */
export function cacheSlots(k: AttentionKnobs): number {
  return k.causal ? (k.window ?? k.maxLen) : 0;
}

export type Schedule = 'parallel' | 'chunkwise' | 'recurrent';

/**
 * A pointwise consumer fused into a matmul (compiler/fuse/fuse.ts): the node's value is
 * `expr($0 = the product, $1.. = inputs)`, each input matching or broadcasting (trailing dims)
 * to the output.
 */
export interface MatmulEpilogueOp {
  expr: EwExpr;
  inputs: readonly number[];
}

/**
 * An RMS norm of x's rows fused in front of a matmul (compiler/fuse/fuse.ts): the product is
 * `rmsnorm(x, weight, eps) · W`, computed as `rsqrt(mean(x^2) + eps) * (x · (weight * W))` in
 * the matmul's own loop over K.
 */
export interface MatmulNormOp {
  weight: number;
  eps: number;
}

/**
 * One product of a matmul node: `x · w` (x through the node's norm, if any), with `w2` a second
 * weight of the same shape whose product the epilogue reads as `$1` (its inputs then start at
 * `$2`; a SwiGLU's gate and up projections in one kernel).
 */
export interface MatmulProductOp {
  w: number;
  w2?: number;
  epilogue?: MatmulEpilogueOp;
}

/** Index of the first epilogue input in a product's expression: `$1`, or `$2` after a second product. */
export function epilogueBase(p: { w2?: number }): number {
  return p.w2 === undefined ? 1 : 2;
}

export type NodeOp =
  /** Token ids `[B, T]` (i32). */
  | { op: 'tokens' }
  /** A named parameter tensor. */
  | { op: 'weight'; name: string }
  /** Recurrent state carried in from a previous call (zeros by default). */
  | { op: 'state_in'; name: string }
  /** Rows of `table [vocab, D]` picked by `ids [B, T]`: `[B, T, D]`. */
  | { op: 'embed'; table: number; ids: number }
  /** `x [.., K] · W` with W `[K, N]`, or `[N, K]` when transposeW: `[.., N]`. */
  | ({
      op: 'matmul';
      x: number;
      transposeW: boolean;
      norm?: MatmulNormOp;
      /**
       * Further products of the same x in the same kernel (sibling projections merged by fusion),
       * each the value of a `matmul_part` node with `index` = its position here + 1.
       */
      parts?: readonly MatmulProductOp[];
    } & MatmulProductOp)
  /** Product `index` (>= 1) of the matmul node `group`, which one kernel computes with the group's own. */
  | { op: 'matmul_part'; group: number; index: number }
  /**
   * `x * rsqrt(mean(x^2) + eps) * weight` over each group of `group` consecutive elements of the
   * last axis (default: the whole last axis; a head dimension for per-head norms), weight `[group]`.
   */
  | { op: 'rmsnorm'; x: number; weight: number; eps: number; group?: number }
  /** `x / sqrt(sum(x^2) + eps)` over each group of `group` elements of the last axis (per-head L2 norm). */
  | { op: 'l2norm'; x: number; eps: number; group: number }
  /**
   * Depthwise causal convolution along T (a short convolution): with W = the weight's width,
   * `y[b,t,c] = act(sum_i w[c,i] * x[b, t-(W-1)+i, c])`, where rows before the window (t < 0) are
   * read from `tail [B, W-1, C]`, the previous call's last W-1 input rows. weight `[C, W]`.
   */
  | { op: 'conv1d'; x: number; weight: number; tail: number; activation: 'silu' | null }
  /**
   * Cottention's length normalisation: `x[b,t,h,:] / (pos[b] + t + 1)^sigmoid(m[h])` over x
   * `[B, T, H*group]`, with pos `[B]` the tokens before the window and m `[H]` learned.
   */
  | { op: 'length_norm'; x: number; pos: number; m: number; group: number }
  /**
   * Per-token outer product `out[b,t,h,n] = a[b,t,h] * c[b,t,n]` as `[B, T, heads*width]`, a
   * `[B, T, heads]` and c `[B, T, width]`; a missing factor counts as 1 (so `a` alone repeats
   * over n, `c` alone over h, and neither gives ones). Mamba's per-channel B, C and dt.
   */
  | { op: 'outer'; a: number | null; c: number | null; heads: number; width: number }
  /**
   * x `[B, T, C]` read backwards along T, `shift` rows later: `out[b,u,:] = x[b, T-1-u+shift, :]`,
   * zeros where that index is past the end. `shift = 0` reverses; the reverse scan of a
   * bidirectional mixer reads its log-gates with `shift = 1` (docs/mixers.md).
   */
  | { op: 'flip'; x: number; shift: number }
  /**
   * cosFormer's re-weighting (docs/mixers.md): per head, `[x cos(a), x sin(a)]` with
   * `a = pi/2 * (pos[b] + t) / maxLen`, so that products of two such rows weigh q.k by
   * cos(pi/2 (i - j) / maxLen). x `[B, T, H*group]` -> `[B, T, H*2*group]`.
   */
  | { op: 'cos_reweight'; x: number; pos: number; group: number; maxLen: number }
  /**
   * Selective RoPE's angles (docs/mixers.md) in turns: `out[b,t,g,i] = fract(s0[b,0,g,i] +
   * sum_{s<=t} x[b,s,g] * f_i)` with `f_i = theta^(-2i/D) / (2 pi)`, x `[B, T, G]` the per-token
   * steps (a constant 1 gives ordinary RoPE), s0 `[B, 1, G*D/2]` the angles carried in.
   */
  | { op: 'angle_scan'; x: number; s0: number; group: number; theta: number }
  /** Rotates the half-split pairs (i, i + D/2) of each group of D by `2 pi * angles` `[B, T, G'*D/2]` (G' divides G: a group of groups shares its angles). */
  | { op: 'rotate'; x: number; angles: number; group: number }
  /** Per-head dot product `out[b,t,h] = sum_k a[b,t,h,k] * c[b,t,h,k]` over `[B, T, H*group]`. */
  | { op: 'head_dot'; a: number; c: number; group: number }
  /** The last W-1 rows of `[tail; x]` along T, `[B, W-1, C]`: the convolution's state for the next call. */
  | { op: 'conv_tail'; x: number; tail: number }
  /**
   * A per-head feature map (FeatureMapKind) on x `[B, T, H*K]` with K = `group`: `[B, T, H*K']`.
   * `weights` are the map's parameter nodes (featureMapWeightShapes).
   */
  | { op: 'feature_map'; x: number; map: FeatureMapKind; weights: readonly number[]; group: number }
  /** Pointwise expression over same-shaped inputs. */
  | { op: 'elementwise'; expr: EwExpr; inputs: readonly number[] }
  /**
   * Causal linear attention, output o `[B, T, H*V]`. q, k `[B, T, H*K]`, v `[B, T, H*V]`;
   * s0 `[B, H, K, V]` and z0 `[B, H, K]` the carried state (z0 only when normalize);
   * g the log-gates (`[B, T, H]` scalar decay, `[B, T, H*K]` vector decay, else null);
   * beta `[B, T, H]` for the delta rule, else null.
   */
  | {
      op: 'linear_attn';
      q: number;
      k: number;
      v: number;
      s0: number;
      z0: number | null;
      g: number | null;
      beta: number | null;
      knobs: LinearAttnKnobs;
    }
  /**
   * Rotary position embedding (RoPE, half-split pairing as in HF LLaMA's rotate_half) of each group
   * of `group` = D elements of x `[B, T, H*D]`: element i < D/2 pairs with i + D/2, rotated by the
   * angle `p * theta^(-2i/D)` at absolute position p = pos[b] + t (pos `[B]`, or p = t when null).
   */
  | { op: 'rope'; x: number; pos: number | null; group: number; theta: number }
  /** Softmax over each group of `group` consecutive elements of the last axis (a per-head feature map). */
  | { op: 'softmax'; x: number; group: number }
  /**
   * Softmax attention (AttentionKnobs), output `[B, T, H*Dv]`. q `[B, T, H*D]`, k `[B, T, Hkv*D]`,
   * v `[B, T, Hkv*Dv]` are this window's tokens. Causal: pos `[B]` holds each sequence's absolute
   * position before the window, and kc0 `[B, Hkv, W, D]`, vc0 `[B, Hkv, W, Dv]` the KV cache with
   * position j in slot `j mod W` (W = cacheSlots); the updated caches are the secondary outputs
   * `k_cache`, `v_cache` (state_out). Non-causal: pos, kc0, vc0 null, no cache.
   */
  | { op: 'attention'; q: number; k: number; v: number; kc0: number | null; vc0: number | null; pos: number | null; knobs: AttentionKnobs }
  /** A secondary output of a mixer node (`stateOutputNames`): S `[B, H, K, V]`, z `[B, H, K]`, k_cache, v_cache. */
  | { op: 'state_out'; mixer: number; which: string; name: string }
  /**
   * An op of a registered family (compiler/mixers/<family>/, FAMILY_OPS in registry.ts) without
   * carried state: FNet, MoE, softplus attention, ... `inputs` are in the family's fixed order,
   * `attrs` its plain-data knobs. The family checks shapes, plans, generates kernels; its float64
   * definition is in runtime/reference/families.ts.
   */
  | {
      op: 'family';
      family: string;
      inputs: readonly number[];
      attrs: FamilyAttrs;
      /** Names of the state it carries to the next call (secondary outputs, `state_out`), e.g. a KV cache. */
      states?: readonly string[];
    };

/** Knobs of a `family` node: plain JSON data (interned by value). */
export type FamilyAttrs = Readonly<Record<string, number | boolean | string | readonly number[]>>;

export type Node = NodeOp & {
  readonly id: number;
  readonly type: TensorType;
  /** Layer index the node belongs to, or -1 for embedding and head. */
  readonly layer: number;
  /** Readable name for dumps and kernel names: `L3.attn.q`. */
  readonly label: string;
};

/**
 * How seeded weights are initialised (deterministic from the seed and the weight's name); `eye` is
 * the identity in each square matrix of the last two axes (`[.., K, K]`).
 */
export type WeightInit = { kind: 'normal'; std: number } | { kind: 'ones' } | { kind: 'zeros' } | { kind: 'eye' };

export interface WeightDecl {
  name: string;
  shape: readonly number[];
  init: WeightInit;
}

export interface Graph {
  /** Batch size and sequence length the graph is specialised to. */
  dims: { B: number; T: number };
  nodes: readonly Node[];
  weights: readonly WeightDecl[];
  /** Named results: `logits`, and one entry per final state (`L0.attn.S`, ...). */
  outputs: Readonly<Record<string, number>>;
}

/** Input ids of a node, in a fixed order. */
export function nodeInputs(n: NodeOp): number[] {
  switch (n.op) {
    case 'tokens':
    case 'weight':
    case 'state_in':
      return [];
    case 'embed':
      return [n.table, n.ids];
    case 'matmul':
      return [n.x, ...(n.norm ? [n.norm.weight] : []), ...[n, ...(n.parts ?? [])].flatMap(productInputs)];
    case 'matmul_part':
      return [n.group];
    case 'rmsnorm':
      return [n.x, n.weight];
    case 'l2norm':
      return [n.x];
    case 'feature_map':
      return [n.x, ...n.weights];
    case 'conv1d':
      return [n.x, n.weight, n.tail];
    case 'conv_tail':
      return [n.x, n.tail];
    case 'length_norm':
      return [n.x, n.pos, n.m];
    case 'outer':
      return [n.a, n.c].filter((i): i is number => i !== null);
    case 'flip':
      return [n.x];
    case 'cos_reweight':
      return [n.x, n.pos];
    case 'head_dot':
      return [n.a, n.c];
    case 'angle_scan':
      return [n.x, n.s0];
    case 'rotate':
      return [n.x, n.angles];
    case 'elementwise':
      return [...n.inputs];
    case 'linear_attn':
      return [n.q, n.k, n.v, n.s0, n.z0, n.g, n.beta].filter((i): i is number => i !== null);
    case 'rope':
      return n.pos === null ? [n.x] : [n.x, n.pos];
    case 'softmax':
      return [n.x];
    case 'attention':
      return [n.q, n.k, n.v, n.kc0, n.vc0, n.pos].filter((i): i is number => i !== null);
    case 'state_out':
      return [n.mixer];
    case 'family':
      return [...n.inputs];
  }
}

function productInputs(p: MatmulProductOp): number[] {
  return [p.w, ...(p.w2 === undefined ? [] : [p.w2]), ...(p.epilogue?.inputs ?? [])];
}

function mapProduct(p: MatmulProductOp, f: (id: number) => number): MatmulProductOp {
  return {
    w: f(p.w),
    ...(p.w2 === undefined ? {} : { w2: f(p.w2) }),
    ...(p.epilogue ? { epilogue: { ...p.epilogue, inputs: p.epilogue.inputs.map(f) } } : {}),
  };
}

/** The products of a matmul node, its own first: `[n, ...n.parts]`. */
export function matmulProducts(n: { w: number; w2?: number; epilogue?: MatmulEpilogueOp; parts?: readonly MatmulProductOp[] }): MatmulProductOp[] {
  const own: MatmulProductOp = { w: n.w, ...(n.w2 === undefined ? {} : { w2: n.w2 }), ...(n.epilogue ? { epilogue: n.epilogue } : {}) };
  return [own, ...(n.parts ?? [])];
}

/** The named secondary outputs (`state_out` `which`) a mixer node offers; empty for other ops. */
export function stateOutputNames(n: NodeOp): string[] {
  if (n.op === 'linear_attn') return n.z0 === null ? ['S'] : ['S', 'z'];
  if (n.op === 'attention') return n.knobs.causal ? ['k_cache', 'v_cache'] : [];
  if (n.op === 'family') return [...(n.states ?? [])];
  return [];
}

export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** The same op with every input id replaced through `f`. */
export function mapNodeInputs(n: NodeOp, f: (id: number) => number): NodeOp {
  switch (n.op) {
    case 'tokens':
    case 'weight':
    case 'state_in':
      return { ...n };
    case 'embed':
      return { ...n, table: f(n.table), ids: f(n.ids) };
    case 'matmul': {
      const { w: _w, w2: _w2, epilogue: _e, parts, norm, ...rest } = n;
      return {
        ...rest,
        x: f(n.x),
        ...(norm ? { norm: { ...norm, weight: f(norm.weight) } } : {}),
        ...mapProduct(n, f),
        ...(parts ? { parts: parts.map((p) => mapProduct(p, f)) } : {}),
      };
    }
    case 'matmul_part':
      return { ...n, group: f(n.group) };
    case 'rmsnorm':
      return { ...n, x: f(n.x), weight: f(n.weight) };
    case 'l2norm':
      return { ...n, x: f(n.x) };
    case 'feature_map':
      return { ...n, x: f(n.x), weights: n.weights.map(f) };
    case 'conv1d':
      return { ...n, x: f(n.x), weight: f(n.weight), tail: f(n.tail) };
    case 'conv_tail':
      return { ...n, x: f(n.x), tail: f(n.tail) };
    case 'length_norm':
      return { ...n, x: f(n.x), pos: f(n.pos), m: f(n.m) };
    case 'outer':
      return { ...n, a: n.a === null ? null : f(n.a), c: n.c === null ? null : f(n.c) };
    case 'flip':
      return { ...n, x: f(n.x) };
    case 'cos_reweight':
      return { ...n, x: f(n.x), pos: f(n.pos) };
    case 'head_dot':
      return { ...n, a: f(n.a), c: f(n.c) };
    case 'angle_scan':
      return { ...n, x: f(n.x), s0: f(n.s0) };
    case 'rotate':
      return { ...n, x: f(n.x), angles: f(n.angles) };
    case 'elementwise':
      return { ...n, inputs: n.inputs.map(f) };
    case 'linear_attn':
      return {
        ...n,
        q: f(n.q),
        k: f(n.k),
        v: f(n.v),
        s0: f(n.s0),
        z0: n.z0 === null ? null : f(n.z0),
        g: n.g === null ? null : f(n.g),
        beta: n.beta === null ? null : f(n.beta),
      };
    case 'rope':
      return { ...n, x: f(n.x), pos: n.pos === null ? null : f(n.pos) };
    case 'softmax':
      return { ...n, x: f(n.x) };
    case 'attention': {
      const opt = (i: number | null) => (i === null ? null : f(i));
      return { ...n, q: f(n.q), k: f(n.k), v: f(n.v), kc0: opt(n.kc0), vc0: opt(n.vc0), pos: opt(n.pos) };
    }
    case 'state_out':
      return { ...n, mixer: f(n.mixer) };
    case 'family':
      return { ...n, inputs: n.inputs.map(f) };
  }
}

/** Strips a node down to its op (drops id, type, layer, label). */
export function opOf(n: Node): NodeOp {
  const { id: _id, type: _type, layer: _layer, label: _label, ...op } = n;
  return op as NodeOp;
}
