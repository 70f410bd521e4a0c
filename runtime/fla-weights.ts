/**
 * Checkpoints in flash-linear-attention's (and Hugging Face LLaMA's) parameter names and torch
 * layouts, loaded into a Loom model.
 *
 * `checkpointMap(spec, decls, naming)` is a pure function from the model to one entry per Loom
 * weight: `loom name <- checkpoint name(s), transform`. Transforms: `transpose` (a torch Linear
 * weight is `[out, in]`, Loom's matmul weight `[in, out]`), `conv` (a depthwise Conv1d weight
 * `[C, 1, W]` is Loom's `[C, W]`), `none`. Where fla names one tensor differently in different
 * layer classes (the output norm: `g_norm_swish_gate`, `g_norm`, `o_norm`, `norm`), the entry lists
 * every name and the first present is used.
 *
 * The mapping needs fla's layer layout: a block `x = x + m(rmsnorm(x))`, `x = x + swiglu(rmsnorm(x))`
 * (norm0 is `attn_norm`, norm1 `mlp_norm`, mlp0 `mlp`); `loom import` writes exactly that. In a
 * `block pattern` (fla's hybrid models) the layer's weights carry its mixer's name, and fla keeps
 * either mixer under the layer's `attn`, so each is mapped by its mixer's family.
 *
 * `loadCheckpoint` detects the naming from the tensor names (`embed.weight`: Loom;
 * `model.embeddings.weight`: fla; `model.embed_tokens.weight`: HF LLaMA) unless told, and reports
 * every missing, extra or mis-shaped tensor together, naming the checkpoint tensor, the Loom
 * tensor and both shapes, before any tensor data is read.
 */
import type { ModelSpec, BlockExpr } from '../compiler/check/spec.ts';
import type { WeightDecl } from '../compiler/ir/graph.ts';
import { diag, LoomError, type Diagnostic } from '../grammar/diagnostics.ts';
import { openWeights, type WeightSource } from './safetensors-index.ts';
import { loadWeights } from './weights.ts';

export type Transform = 'none' | 'transpose' | 'conv';
export type Naming = 'fla' | 'hf';
export type WeightsFormat = 'auto' | 'loom' | 'fla';
export const WEIGHTS_FORMATS: readonly WeightsFormat[] = ['auto', 'loom', 'fla'];

export interface MappedWeight {
  loom: string;
  /** Loom's shape. */
  shape: readonly number[];
  /** Checkpoint names to try, in order. */
  source: string[];
  transform: Transform;
}

/** Buffers some checkpoints carry that are derived, not weights (RoPE inverse frequencies). */
const DERIVED = /\.rotary(_emb)?\.inv_freq$/;

const shapeText = (s: readonly number[]) => `[${s.join(', ')}]`;

/** The checkpoint's shape for a Loom shape under a transform. */
export function sourceShape(t: Transform, shape: readonly number[]): number[] {
  if (t === 'transpose') return [shape[1], shape[0]];
  if (t === 'conv') return [shape[0], 1, shape[1]];
  return [...shape];
}

/** Parts of a linear-recurrence mixer: Loom part -> fla part under `attn.`, and the transform. */
const LINEAR_PARTS: Record<string, [string[], Transform]> = {
  'q.weight': [['q_proj.weight'], 'transpose'],
  'k.weight': [['k_proj.weight'], 'transpose'],
  'v.weight': [['v_proj.weight'], 'transpose'],
  'o.weight': [['o_proj.weight'], 'transpose'],
  'gate.weight': [['g_proj.weight'], 'transpose'],
  'b.weight': [['b_proj.weight'], 'transpose'],
  'a.weight': [['a_proj.weight'], 'transpose'],
  'g.weight': [['gk_proj.weight'], 'transpose'],
  'g.bias': [['gk_proj.bias'], 'none'],
  'g_down.weight': [['gk_proj.0.weight'], 'transpose'],
  'g_up.weight': [['gk_proj.1.weight'], 'transpose'],
  'g_up.bias': [['gk_proj.1.bias'], 'none'],
  A_log: [['A_log'], 'none'],
  dt_bias: [['dt_bias'], 'none'],
  'q_conv1d.weight': [['q_conv1d.weight'], 'conv'],
  'k_conv1d.weight': [['k_conv1d.weight'], 'conv'],
  'v_conv1d.weight': [['v_conv1d.weight'], 'conv'],
  // GLA/RetNet: g_norm_swish_gate (fused norm and gate) or g_norm; DeltaNet/GDN: o_norm; LinearAttention: norm.
  'o_norm.weight': [['g_norm_swish_gate.weight', 'g_norm.weight', 'o_norm.weight', 'norm.weight'], 'none'],
};

/** fla's Attention (and HF LLaMA's): projections, their biases (qkv_bias), per-head q/k norms (qk_norm). */
const ATTENTION_PARTS: Record<string, [string[], Transform]> = {
  'q.weight': [['q_proj.weight'], 'transpose'],
  'k.weight': [['k_proj.weight'], 'transpose'],
  'v.weight': [['v_proj.weight'], 'transpose'],
  'o.weight': [['o_proj.weight'], 'transpose'],
  'q.bias': [['q_proj.bias'], 'none'],
  'k.bias': [['k_proj.bias'], 'none'],
  'v.bias': [['v_proj.bias'], 'none'],
  'q_norm.weight': [['q_norm.weight'], 'none'],
  'k_norm.weight': [['k_norm.weight'], 'none'],
};

const isVar = (e: BlockExpr) => e.kind === 'var' && e.name === 'x';
const normOfX = (e: BlockExpr) => e.kind === 'rmsnorm' && isVar(e.arg);

/** Why the block is not fla's pre-norm layer, or undefined when it is. */
function blockMismatch(spec: ModelSpec): string | undefined {
  const [a, b, ...rest] = spec.block;
  const residual = (s: typeof a | undefined, inner: (e: BlockExpr) => boolean) =>
    s !== undefined && s.target === 'x' && s.expr.kind === 'add' && isVar(s.expr.left) && inner(s.expr.right);
  const mixerOk = residual(a, (e) => e.kind === 'mixer' && normOfX(e.arg));
  const mlpOk = residual(b, (e) => e.kind === 'swiglu' && normOfX(e.arg));
  return mixerOk && mlpOk && rest.length === 0 ? undefined : 'x = x + MIXER(rmsnorm(x)) then x = x + swiglu(rmsnorm(x))';
}

/**
 * One entry per Loom weight: where it is in an fla (or HF LLaMA) checkpoint and how to turn it
 * into Loom's layout. Throws LOOM5001 when the model has parts with no fla counterpart.
 */
export function checkpointMap(spec: ModelSpec, decls: readonly WeightDecl[], naming: Naming): MappedWeight[] {
  const mismatch = blockMismatch(spec);
  const bad = (message: string) => diag('bad-weights', { message: `${spec.file}: ${message}` }, { file: spec.file });
  if (mismatch) throw new LoomError([bad(`fla/HF checkpoint names fit a block of the form '${mismatch}' (fla's layer); this spec's block differs, so write the checkpoint with Loom's names`)]);
  const errors: Diagnostic[] = [];
  const out: MappedWeight[] = [];
  const layerPrefix = (i: string) => `model.layers.${i}`;
  for (const d of decls) {
    const add = (source: string[], transform: Transform) => out.push({ loom: d.name, shape: d.shape, source, transform });
    let m: RegExpMatchArray | null;
    if (d.name === 'embed.weight') add([naming === 'hf' ? 'model.embed_tokens.weight' : 'model.embeddings.weight'], 'none');
    else if (d.name === 'norm_f.weight') add(['model.norm.weight'], 'none');
    else if (d.name === 'lm_head.weight') add(['lm_head.weight'], 'transpose');
    else if ((m = d.name.match(/^layers\.(\d+)\.norm([01])\.weight$/))) {
      const which = naming === 'hf' ? ['input_layernorm', 'post_attention_layernorm'] : ['attn_norm', 'mlp_norm'];
      add([`${layerPrefix(m[1])}.${which[Number(m[2])]}.weight`], 'none');
    } else if ((m = d.name.match(/^layers\.(\d+)\.mlp0\.(gate|up|down)\.weight$/))) add([`${layerPrefix(m[1])}.mlp.${m[2]}_proj.weight`], 'transpose');
    else if ((m = d.name.match(/^layers\.(\d+)\.([A-Za-z_][A-Za-z0-9_]*)\.(.+)$/)) && Object.hasOwn(spec.mixers, m[2])) {
      const mixer = spec.mixers[m[2]];
      const liger = mixer.family === 'attention' && mixer.liger !== null;
      const parts = mixer.family === 'linear_attn' ? LINEAR_PARTS : mixer.family === 'attention' && !liger ? ATTENTION_PARTS : undefined;
      const part = parts && Object.hasOwn(parts, m[3]) ? parts[m[3]] : undefined;
      if (!part) {
        errors.push(bad(`weight '${d.name}' of mixer '${mixer.name}' (${mixer.preset}) has no counterpart in fla checkpoints`));
        continue;
      }
      // HF LLaMA names the attention `self_attn`, fla (and its hybrid attention layers) `attn`.
      const modules = mixer.family === 'attention' && naming === 'hf' ? ['self_attn', 'attn'] : ['attn'];
      add(modules.flatMap((mod) => part[0].map((p) => `${layerPrefix(m![1])}.${mod}.${p}`)), part[1]);
    } else errors.push(bad(`weight '${d.name}' has no counterpart in fla checkpoints`));
  }
  if (errors.length) throw new LoomError(errors);
  return out;
}

/** 'loom', 'fla' or 'hf' from the names in a checkpoint. */
export function detectNaming(names: Iterable<string>): 'loom' | Naming {
  const set = new Set(names);
  if (set.has('embed.weight')) return 'loom';
  if (set.has('model.embed_tokens.weight')) return 'hf';
  if (set.has('model.embeddings.weight')) return 'fla';
  return [...set].some((n) => n.startsWith('model.layers.')) ? 'fla' : 'loom';
}

/** Loom's `[in, out]` from torch's `[out, in]`. */
function transpose(src: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(src.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = src[r * cols + c];
  return out;
}

/** Checks every mapped tensor's presence, dtype and shape, and that nothing is left over. */
function checkMapped(map: readonly MappedWeight[], src: WeightSource): { chosen: Map<string, string>; errors: Diagnostic[] } {
  const errors: Diagnostic[] = [];
  const chosen = new Map<string, string>();
  const used = new Set<string>();
  for (const w of map) {
    const want = sourceShape(w.transform, w.shape);
    const layout = w.transform === 'transpose' ? 'torch [out, in] layout' : w.transform === 'conv' ? 'Conv1d [C, 1, W] layout' : 'same layout';
    const name = w.source.find((n) => src.entries.has(n));
    if (name === undefined) {
      const also = w.source.length > 1 ? `; also looked for ${w.source.slice(1).map((n) => `'${n}'`).join(', ')}` : '';
      errors.push(diag('missing-weight', { name: w.source[0], shape: `${shapeText(want)}, which holds Loom's '${w.loom}' ${shapeText(w.shape)} (${layout}; in ${src.path}${also})` }, { file: src.path }));
      continue;
    }
    const t = src.entries.get(name)!;
    used.add(name);
    chosen.set(w.loom, name);
    if (t.shape.length !== want.length || t.shape.some((v, i) => v !== want[i])) {
      errors.push(diag('weight-shape', { name, found: shapeText(t.shape), expected: `${shapeText(want)} for Loom's '${w.loom}' ${shapeText(w.shape)} (${layout}; in ${t.file})` }, { file: t.file }));
    } else if (t.dtype.startsWith('I')) {
      errors.push(diag('bad-weights', { message: `${t.file}: tensor '${name}' is ${t.dtype}; Loom's '${w.loom}' needs a float tensor` }, { file: t.file }));
    }
  }
  const extra = [...src.entries.keys()].filter((n) => !used.has(n) && !DERIVED.test(n)).sort();
  if (extra.length) {
    const listed = extra.slice(0, 8).map((n) => `'${n}'`).join(', ') + (extra.length > 8 ? ` and ${extra.length - 8} more` : '');
    errors.push(diag('bad-weights', { message: `${src.path}: tensor(s) ${listed} are not weights of the model (fla naming)` }, { file: src.path }));
  }
  return { chosen, errors };
}

/** Reads an fla/HF checkpoint through `map`, converted to Loom's names and layouts (f32). */
export function loadMapped(map: readonly MappedWeight[], src: WeightSource): Map<string, Float32Array> {
  const { chosen, errors } = checkMapped(map, src);
  if (errors.length) throw new LoomError(errors);
  const out = new Map<string, Float32Array>();
  for (const w of map) {
    const data = src.read(chosen.get(w.loom)!).data as Float32Array;
    out.set(w.loom, w.transform === 'transpose' ? transpose(data, w.shape[1], w.shape[0]) : data);
  }
  return out;
}

/**
 * A model's weights from a safetensors file or sharded index in Loom's names or fla's (detected
 * from the names unless `format` says), checked and converted to Loom's layouts.
 */
export function loadCheckpoint(spec: ModelSpec, decls: readonly WeightDecl[], path: string, format: WeightsFormat = 'auto'): Map<string, Float32Array> {
  if (format === 'loom') return loadWeights(decls, path);
  const src = openWeights(path);
  try {
    const naming = detectNaming(src.entries.keys());
    if (naming !== 'loom') return loadMapped(checkpointMap(spec, decls, naming), src);
  } finally {
    src.close();
  }
  if (format === 'fla') throw new LoomError([diag('bad-weights', { message: `${path}: --weights-format fla, but the checkpoint has Loom's 'embed.weight'` }, { file: path })]);
  return loadWeights(decls, path);
}
