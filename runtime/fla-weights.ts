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
 * `openCheckpoint` (a provider reading each tensor when the upload asks for it; `loadCheckpoint`
 * reads them all) detects the naming from the tensor names (`embed.weight`: Loom;
 * `model.embeddings.weight`: fla; `model.embed_tokens.weight`: HF LLaMA) unless told, and reports
 * every missing, extra or mis-shaped tensor together, naming the checkpoint tensor, the Loom
 * tensor and both shapes, before any tensor data is read.
 */
import type { BlockExpr, LinearAttnMixer, MambaKnobs, ModelSpec } from '../compiler/check/spec.ts';
import type { WeightDecl } from '../compiler/ir/graph.ts';
import { diag, LoomError, type Diagnostic } from '../grammar/diagnostics.ts';
import { f16Bits, f16Value } from './f16.ts';
import { openWeights, type WeightSource } from './safetensors-index.ts';
import { hostFiles, type Files } from './host.ts';
import { openLoomWeights, readAll, summarizeWeightErrors, type WeightProvider } from './weights.ts';

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
  /** Rows [start, end) of a checkpoint tensor of shape `of` hold this weight (fla's fused in_proj, x_proj, conv1d). */
  rows?: { of: number[]; start: number; end: number };
  /** The checkpoint holds 1/repeat of the values, each repeated (Mamba2's per-head D), or all of them. */
  repeat?: number;
  /** The checkpoint holds one head's tensor, shared by every head (fla's feature maps): Loom's first axis. */
  shared?: true;
  /** Multiplies the values (fla's Hedgehog doubles its logits before the softmax). */
  scale?: number;
  /** Absent from the checkpoint means zeros (fla's T2R map has no bias). */
  zerosIfAbsent?: true;
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

/** The checkpoint tensor's shape for a mapped weight (a fused tensor's full shape; one head's for a shared map; per head for `repeat`). */
export function mappedShape(w: MappedWeight): number[] {
  if (w.rows) return [...w.rows.of];
  const one = w.shared ? w.shape.slice(1) : w.repeat ? [w.shape[0] / w.repeat] : w.shape;
  return sourceShape(w.transform, one);
}

/** Loom's values of `w` from the checkpoint tensor's (f32 values, or f16 bits when loading as f16). */
export function convertMapped<A extends Float32Array | Uint16Array>(w: MappedWeight, data: A): A {
  const make = (n: number) => new (data.constructor as new (n: number) => A)(n);
  let v = data;
  if (w.rows) {
    const row = w.rows.of.slice(1).reduce((a, b) => a * b, 1);
    v = data.slice(w.rows.start * row, w.rows.end * row) as A;
  }
  const one = w.shared ? w.shape.slice(1) : w.shape;
  if (w.transform === 'transpose') v = transpose(v, one[1], one[0]);
  const n = w.shape.reduce((a, b) => a * b, 1);
  if (w.repeat && v.length < n) {
    const out = make(n);
    for (let i = 0; i < n; i++) out[i] = v[Math.floor(i / w.repeat)];
    v = out;
  }
  if (w.scale !== undefined) {
    const s = w.scale;
    v = (v instanceof Float32Array ? v.map((x) => x * s) : v.map((h) => f16Bits(f16Value(h) * s))) as A;
  }
  if (w.shared) {
    const out = make(n);
    for (let h = 0; h < w.shape[0]; h++) out.set(v, h * v.length);
    v = out;
  }
  return v;
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

type Part = [string[], Transform, Omit<MappedWeight, 'loom' | 'shape' | 'source' | 'transform'>?];

/** Mamba's (S6) parts under `mixer.`: in_proj = [x; z], x_proj = [dt_low; B; C] (fla/layers/mamba.py, mamba_ssm). */
function mambaParts(k: MambaKnobs, dim: number): Record<string, Part> {
  const { inner: Di, dtRank: R, dState: N } = k;
  const inProj = (start: number, end: number): Part => [['in_proj.weight'], 'transpose', { rows: { of: [2 * Di, dim], start, end } }];
  const xProj = (start: number, end: number): Part => [['x_proj.weight'], 'transpose', { rows: { of: [R + 2 * N, Di], start, end } }];
  return {
    'x.weight': inProj(0, Di),
    'z.weight': inProj(Di, 2 * Di),
    'x_conv1d.weight': [['conv1d.weight'], 'conv'],
    'x_conv1d.bias': [['conv1d.bias'], 'none'],
    'dt_down.weight': xProj(0, R),
    'B.weight': xProj(R, R + N),
    'C.weight': xProj(R + N, R + 2 * N),
    'dt_up.weight': [['dt_proj.weight'], 'transpose'],
    dt_bias: [['dt_proj.bias'], 'none'],
    A_log: [['A_log'], 'none', { rows: { of: [Di, N], start: 0, end: Di } }],
    D: [['D'], 'none'],
    'out.weight': [['out_proj.weight'], 'transpose'],
  };
}

/** Mamba2's (SSD, one group) parts under `mixer.`: in_proj = [z; x; B; C; dt], conv1d over [x; B; C] (fla/layers/mamba2.py). */
function ssdParts(k: MambaKnobs, dim: number): Record<string, Part> {
  const { inner: Di, dState: N, shortConv: W } = k;
  const H = Di / k.headDim!;
  const inProj = (start: number, end: number): Part => [['in_proj.weight'], 'transpose', { rows: { of: [2 * Di + 2 * N + H, dim], start, end } }];
  const conv = (start: number, end: number): Part => [['conv1d.weight'], 'conv', { rows: { of: [Di + 2 * N, 1, W ?? 0], start, end } }];
  const bias = (start: number, end: number): Part => [['conv1d.bias'], 'none', { rows: { of: [Di + 2 * N], start, end } }];
  return {
    'z.weight': inProj(0, Di),
    'x.weight': inProj(Di, 2 * Di),
    'B.weight': inProj(2 * Di, 2 * Di + N),
    'C.weight': inProj(2 * Di + N, 2 * Di + 2 * N),
    'dt.weight': inProj(2 * Di + 2 * N, 2 * Di + 2 * N + H),
    'x_conv1d.weight': conv(0, Di),
    'B_conv1d.weight': conv(Di, Di + N),
    'C_conv1d.weight': conv(Di + N, Di + 2 * N),
    'x_conv1d.bias': bias(0, Di),
    'B_conv1d.bias': bias(Di, Di + N),
    'C_conv1d.bias': bias(Di + N, Di + 2 * N),
    dt_bias: [['dt_bias'], 'none'],
    A_log: [['A_log'], 'none'],
    D: [['D'], 'none', { repeat: k.headDim! }],
    'norm.weight': [['norm.weight'], 'none'],
    'out.weight': [['out_proj.weight'], 'transpose'],
  };
}

/**
 * LinearAttention's learned maps (fla/modules/feature_map.py): one `Linear(head_dim, ...)` per q
 * and k shared by every head, `feature_map_q.layer.*`; with tie_feature_map_qk one module, which
 * a checkpoint may hold under either name. Hedgehog doubles its logits (softmax([2y, -2y])), so
 * its weights load doubled into Loom's softmax([y, -y]); T2R has no bias (zeros).
 */
function featureMapParts(map: LinearAttnMixer['featureMap']): Record<string, Part> {
  if (!map || (map.map.kind !== 'hedgehog' && map.map.kind !== 't2r')) return {};
  const hedgehog = map.map.kind === 'hedgehog';
  const parts: Record<string, Part> = {};
  for (const [own, other] of [['q', 'k'], ['k', 'q']]) {
    const names = (p: string) => [`feature_map_${own}.layer.${p}`, `feature_map_${other}.layer.${p}`];
    parts[`feature_map_${own}.weight`] = [names('weight'), 'transpose', { shared: true, ...(hedgehog ? { scale: 2 } : {}) }];
    parts[`feature_map_${own}.bias`] = [names('bias'), 'none', { shared: true, ...(hedgehog ? { scale: 2 } : { zerosIfAbsent: true }) }];
  }
  return parts;
}

const isVar = (e: BlockExpr) => e.kind === 'var' && e.name === 'x';
const normOfX = (e: BlockExpr) => e.kind === 'rmsnorm' && isVar(e.arg);

/** Why the block is not fla's pre-norm layer, or undefined when it is. */
function blockMismatch(spec: ModelSpec): string | undefined {
  const [a, b, ...rest] = spec.block;
  const residual = (s: typeof a | undefined, inner: (e: BlockExpr) => boolean) =>
    s !== undefined && s.target === 'x' && s.expr.kind === 'add' && isVar(s.expr.left) && inner(s.expr.right);
  const mixerOk = residual(a, (e) => e.kind === 'mixer' && normOfX(e.arg));
  const mlpOk = residual(b, (e) => e.kind === 'swiglu' && normOfX(e.arg));
  // Mamba's and Mamba2's blocks have no MLP.
  const ssmOnly = b === undefined && Object.values(spec.mixers).every((m) => m.family === 'mamba');
  return mixerOk && (mlpOk || ssmOnly) && rest.length === 0 ? undefined : 'x = x + MIXER(rmsnorm(x)) then x = x + swiglu(rmsnorm(x))';
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
  // Mamba, Mamba2 and Samba (any spec with a state-space mixer): `backbone.` models, `mixer` modules.
  const ssm = Object.values(spec.mixers).some((x) => x.family === 'mamba');
  const layerPrefix = (i: string) => `${ssm ? 'backbone' : 'model'}.layers.${i}`;
  for (const d of decls) {
    const add = (source: string[], transform: Transform, more?: Part[2]) => out.push({ loom: d.name, shape: d.shape, source, transform, ...more });
    let m: RegExpMatchArray | null;
    // mamba_ssm's own checkpoints say `embedding` (fla's MambaModel renames it when loading).
    if (d.name === 'embed.weight') add(ssm ? ['backbone.embeddings.weight', 'backbone.embedding.weight'] : [naming === 'hf' ? 'model.embed_tokens.weight' : 'model.embeddings.weight'], 'none');
    else if (d.name === 'norm_f.weight') add([ssm ? 'backbone.norm_f.weight' : 'model.norm.weight'], 'none');
    else if (d.name === 'lm_head.weight') add(['lm_head.weight'], 'transpose');
    else if ((m = d.name.match(/^layers\.(\d+)\.norm([01])\.weight$/))) {
      const fla = ssm ? (spec.block.length === 1 ? ['norm'] : ['mixer_norm', 'mlp_norm']) : ['attn_norm', 'mlp_norm'];
      const which = naming === 'hf' && !ssm ? ['input_layernorm', 'post_attention_layernorm'] : fla;
      add([`${layerPrefix(m[1])}.${which[Number(m[2])]}.weight`], 'none');
    } else if ((m = d.name.match(/^layers\.(\d+)\.mlp0\.(gate|up|down)\.weight$/))) add([`${layerPrefix(m[1])}.mlp.${m[2]}_proj.weight`], 'transpose');
    else if ((m = d.name.match(/^layers\.(\d+)\.([A-Za-z_][A-Za-z0-9_]*)\.(.+)$/)) && Object.hasOwn(spec.mixers, m[2])) {
      const mixer = spec.mixers[m[2]];
      const liger = mixer.family === 'attention' && mixer.liger !== null;
      const parts: Record<string, Part> | undefined =
        mixer.family === 'linear_attn' ? { ...LINEAR_PARTS, ...featureMapParts(mixer.featureMap) }
        : mixer.family === 'attention' && !liger ? ATTENTION_PARTS
        : mixer.family === 'mamba' ? (mixer.preset === 'ssd' ? ssdParts : mambaParts)(mixer.knobs, spec.dim)
        : undefined;
      const part = parts && Object.hasOwn(parts, m[3]) ? parts[m[3]] : undefined;
      if (!part) {
        errors.push(bad(`weight '${d.name}' of mixer '${mixer.name}' (${mixer.preset}) has no counterpart in fla checkpoints`));
        continue;
      }
      // HF LLaMA names the attention `self_attn`, fla (and its hybrid attention layers) `attn`.
      const modules = ssm ? ['mixer'] : mixer.family === 'attention' && naming === 'hf' ? ['self_attn', 'attn'] : ['attn'];
      add(modules.flatMap((mod) => part[0].map((p) => `${layerPrefix(m![1])}.${mod}.${p}`)), part[1], part[2]);
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
  if (set.has('model.embeddings.weight') || set.has('backbone.embeddings.weight') || set.has('backbone.embedding.weight')) return 'fla';
  return [...set].some((n) => n.startsWith('model.layers.')) ? 'fla' : 'loom';
}

/** Loom's `[in, out]` from torch's `[out, in]` (f32 values or f16 bits). */
function transpose<A extends Float32Array | Uint16Array>(src: A, rows: number, cols: number): A {
  const out = new (src.constructor as new (n: number) => A)(src.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = src[r * cols + c];
  return out;
}

/** Checks every mapped tensor's presence, dtype and shape, and that nothing is left over. */
function checkMapped(map: readonly MappedWeight[], src: WeightSource): { chosen: Map<string, string>; errors: Diagnostic[] } {
  const errors: Diagnostic[] = [];
  const chosen = new Map<string, string>();
  const used = new Set<string>();
  for (const w of map) {
    const want = mappedShape(w);
    const layout = w.transform === 'transpose' ? 'torch [out, in] layout' : w.transform === 'conv' ? 'Conv1d [C, 1, W] layout' : 'same layout';
    const name = w.source.find((n) => src.entries.has(n));
    if (name === undefined && w.zerosIfAbsent) continue;
    if (name === undefined) {
      const also = w.source.length > 1 ? `; also looked for ${w.source.slice(1).map((n) => `'${n}'`).join(', ')}` : '';
      errors.push(diag('missing-weight', { name: w.source[0], shape: `${shapeText(want)}, which holds Loom's '${w.loom}' ${shapeText(w.shape)} (${layout}; in ${src.path}${also})` }, { file: src.path }));
      continue;
    }
    const t = src.entries.get(name)!;
    used.add(name);
    chosen.set(w.loom, name);
    const same = (s: readonly number[]) => t.shape.length === s.length && t.shape.every((v, i) => v === s[i]);
    if (!same(want) && !(w.repeat && same(w.shape))) {
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

/**
 * An fla/HF checkpoint through `map` as a provider in Loom's names and layouts: each tensor read
 * when asked for, converted (f32 or f16) and transposed or reshaped. Closing it closes `src`.
 */
export function mappedProvider(map: readonly MappedWeight[], src: WeightSource): WeightProvider {
  const { chosen, errors } = checkMapped(map, src);
  if (errors.length) throw new LoomError(summarizeWeightErrors(errors, src.path, "fla's / Hugging Face's names"));
  const byLoom = new Map(map.map((w) => [w.loom, w]));
  const entry = (loom: string) => {
    const w = byLoom.get(loom);
    if (!w) throw new LoomError([diag('bad-weights', { message: `${src.path}: no weight '${loom}'` })]);
    return { w, name: chosen.get(loom)! };
  };
  return {
    names: map.map((w) => w.loom),
    shape: (loom) => entry(loom).w.shape,
    dtype: (loom) => src.entries.get(entry(loom).name)?.dtype ?? 'F32',
    prefetch: async (loom) => {
      const { name } = entry(loom);
      if (name !== undefined) await src.prefetch(name);
    },
    read: (loom, as) => {
      const { w, name } = entry(loom);
      // A weight the checkpoint leaves out as zeros (zerosIfAbsent) reads as zeros of its shape.
      if (name === undefined) return as === 'f16' ? new Uint16Array(w.shape.reduce((a, b) => a * b, 1)) : new Float32Array(w.shape.reduce((a, b) => a * b, 1));
      return convertMapped(w, src.readFloat(name, as));
    },
    close: () => src.close(),
  };
}

/** Reads an fla/HF checkpoint through `map`, converted to Loom's names and layouts (f32). */
export function loadMapped(map: readonly MappedWeight[], src: WeightSource): Map<string, Float32Array> {
  return readAll(mappedProvider(map, src));
}

/**
 * A model's weights in a safetensors file or sharded index in Loom's names or fla's (detected from
 * the names unless `format` says) as a provider: names and shapes checked from the headers, each
 * tensor read and converted to Loom's layout when asked for. Close it when done.
 */
export function openCheckpoint(spec: ModelSpec, decls: readonly WeightDecl[], path: string, format: WeightsFormat = 'auto', files: Files = hostFiles()): WeightProvider {
  if (format === 'loom') return openLoomWeights(decls, path, files);
  const src = openWeights(path, files);
  try {
    const naming = detectNaming(src.entries.keys());
    if (naming !== 'loom') return mappedProvider(checkpointMap(spec, decls, naming), src);
  } catch (e) {
    src.close();
    throw e;
  }
  src.close();
  if (format === 'fla') throw new LoomError([diag('bad-weights', { message: `${path}: --weights-format fla, but the checkpoint has Loom's 'embed.weight'` }, { file: path })]);
  return openLoomWeights(decls, path, files);
}

/** `openCheckpoint`'s weights all read into memory as f32. */
export function loadCheckpoint(spec: ModelSpec, decls: readonly WeightDecl[], path: string, format: WeightsFormat = 'auto', files: Files = hostFiles()): Map<string, Float32Array> {
  const p = openCheckpoint(spec, decls, path, format, files);
  try {
    return readAll(p);
  } finally {
    p.close();
  }
}
