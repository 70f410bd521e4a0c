/**
 * The graph IR: tensor-valued nodes in topological order, each with a concrete shape.
 *
 * A graph is specialised to a batch size B and a sequence length T (`graph.dims`). Nodes are
 * immutable and created only through `GraphBuilder`, which interns them: two structurally equal
 * nodes are the same node (same id). Passes are pure functions `Graph -> Graph`.
 *
 * Conventions (design/MIXERS.md): activations are row-major `[B, T, D]`; per-head tensors are
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
 * softplus(a) = log(1 + e^a), logsigmoid(a) = -softplus(-a).
 */
export type EwFn = 'add' | 'mul' | 'silu' | 'elu1' | 'relu' | 'sigmoid' | 'exp' | 'softplus' | 'logsigmoid';

export const EW_ARITY: Record<EwFn, number> = { add: 2, mul: 2, silu: 1, elu1: 1, relu: 1, sigmoid: 1, exp: 1, softplus: 1, logsigmoid: 1 };

/** Whether `inner` broadcasts to `outer`: equal, or a suffix of it (trailing dimensions). */
export function broadcasts(inner: readonly number[], outer: readonly number[]): boolean {
  if (inner.length > outer.length) return false;
  const off = outer.length - inner.length;
  return inner.every((d, i) => d === outer[off + i]);
}

/** Feature maps phi of the linear recurrence that this IR knows (MIXERS.md §1). */
export type FeatureMap = 'identity' | 'elu1';

/**
 * How the state decays between tokens, D_t in MIXERS.md §1. Gates are in log space (the decay
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

export type Schedule = 'parallel' | 'chunkwise' | 'recurrent';

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
  | { op: 'matmul'; x: number; w: number; transposeW: boolean }
  /**
   * `x * rsqrt(mean(x^2) + eps) * weight` over each group of `group` consecutive elements of the
   * last axis (default: the whole last axis; a head dimension for per-head norms), weight `[group]`.
   */
  | { op: 'rmsnorm'; x: number; weight: number; eps: number; group?: number }
  /** `x / sqrt(sum(x^2) + eps)` over each group of `group` elements of the last axis (per-head L2 norm). */
  | { op: 'l2norm'; x: number; eps: number; group: number }
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
  /** The final state of a mixer node: S `[B, H, K, V]` or z `[B, H, K]`. */
  | { op: 'state_out'; mixer: number; which: 'S' | 'z'; name: string };

export type Node = NodeOp & {
  readonly id: number;
  readonly type: TensorType;
  /** Layer index the node belongs to, or -1 for embedding and head. */
  readonly layer: number;
  /** Readable name for dumps and kernel names: `L3.attn.q`. */
  readonly label: string;
};

/** How seeded weights are initialised (deterministic from the seed and the weight's name). */
export type WeightInit = { kind: 'normal'; std: number } | { kind: 'ones' } | { kind: 'zeros' };

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
      return [n.x, n.w];
    case 'rmsnorm':
      return [n.x, n.weight];
    case 'l2norm':
      return [n.x];
    case 'elementwise':
      return [...n.inputs];
    case 'linear_attn':
      return [n.q, n.k, n.v, n.s0, n.z0, n.g, n.beta].filter((i): i is number => i !== null);
    case 'state_out':
      return [n.mixer];
  }
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
    case 'matmul':
      return { ...n, x: f(n.x), w: f(n.w) };
    case 'rmsnorm':
      return { ...n, x: f(n.x), weight: f(n.weight) };
    case 'l2norm':
      return { ...n, x: f(n.x) };
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
    case 'state_out':
      return { ...n, mixer: f(n.mixer) };
  }
}

/** Strips a node down to its op (drops id, type, layer, label). */
export function opOf(n: Node): NodeOp {
  const { id: _id, type: _type, layer: _layer, label: _label, ...op } = n;
  return op as NodeOp;
}
