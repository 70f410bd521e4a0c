/**
 * fla's softmax attention (fla/layers/attn.py `Attention`) for `loom import`: the `transformer`
 * model type, and the `attn` field of fla's hybrid models, which puts an Attention layer in place
 * of the model's own mixer in the listed layers.
 *
 * fla's Attention: head_dim = hidden_size // num_heads; q, k, v projections (bias when qkv_bias)
 * to num_heads and num_kv_heads heads; optionally per-head RMSNorm of q and k (qk_norm, eps 1e-5,
 * a float32 gain of head_dim); RoPE with base rope_theta on half-split pairs (interleaved = False);
 * causal flash attention with scale head_dim^-1/2, within the last window_size positions when
 * set; o_proj without bias. It keeps every past key (no cache limit): Loom's global attention
 * needs a KV-cache capacity, written as max_len = max_position_embeddings (the context the model
 * was configured for); a sliding window's cache is a ring of window_size slots.
 */
import type { Span } from '../../grammar/ast.ts';
import { diag } from '../../grammar/diagnostics.ts';
import { numText, type Fields, type JsonValue, type MixerDraft } from './fields.ts';

/** One Attention's settings, already read from the config. */
export interface AttnSettings {
  heads: number;
  kvHeads: number;
  qkvBias: boolean;
  qkNorm: boolean;
  window: number | null;
  theta: number;
}

/**
 * Loom `attention` knobs for fla's Attention over `dim` features; `refuse(field, reason)` records
 * a value Loom cannot honour (the caller locates the field). `ownHeads`: write `heads` (hybrid
 * specs, whose model-level heads are the other mixer's). `maxLen` reads max_position_embeddings,
 * only for a global cache (with a window it changes nothing).
 */
export function attentionKnobs(s: AttnSettings, dim: number, maxLen: () => number, ownHeads: boolean, refuse: (field: string, reason: string) => void): [string, string][] {
  const k: [string, string][] = [];
  if (dim % s.heads !== 0) refuse('num_heads', `hidden_size = ${dim} is not divisible by it (fla's head_dim = hidden_size // num_heads)`);
  else if ((dim / s.heads) % 2 !== 0) refuse('num_heads', `head_dim = ${dim / s.heads} is odd; RoPE rotates pairs of features`);
  if (s.heads % s.kvHeads !== 0) refuse('num_kv_heads', `must divide num_heads = ${s.heads}`);
  if (!(s.theta > 1)) refuse('rope_theta', "Loom's RoPE needs a base above 1");
  if (ownHeads) k.push(['heads', String(s.heads)]);
  if (s.kvHeads !== s.heads) k.push(['kv_heads', String(s.kvHeads)]);
  if (s.window !== null) k.push(['window', String(s.window)]);
  k.push(['rope_theta', numText(s.theta)]);
  if (s.window === null) k.push(['max_len', String(maxLen())]);
  if (s.qkvBias) k.push(['qkv_bias', 'true']);
  if (s.qkNorm) k.push(['qk_norm', 'rmsnorm(eps = 1e-5)']);
  return k;
}

/** The Attention settings of fla's TransformerConfig (top-level fields). */
export function transformerKnobs(f: Fields, d: { dim: number; heads: number; notes: string[] }): [string, string][] {
  const kv = f.get('num_kv_heads');
  if (kv !== null) f.num('num_kv_heads', true);
  const theta = f.get('rope_theta');
  if (typeof theta !== 'number') f.refuse('rope_theta', "expected a number (fla's RotaryEmbedding needs a base)");
  const window = f.get('window_size');
  if (window !== null) f.num('window_size', true);
  // TransformerBlock builds its norms without elementwise_affine: every norm has a gain. Configs
  // before fla's qkv_bias (2025-02) carry attention_bias, which the model never read.
  f.ignore('elementwise_affine', 'attention_bias');
  // qk_norm is per head since 2025-04; the week-old whole-vector form's q_norm [hidden] fails the load by shape.
  const s: AttnSettings = {
    heads: d.heads,
    kvHeads: typeof kv === 'number' ? kv : d.heads,
    qkvBias: f.bool('qkv_bias'),
    qkNorm: f.bool('qk_norm'),
    window: typeof window === 'number' ? window : null,
    theta: typeof theta === 'number' ? theta : 10000,
  };
  const maxLen = maxPositions(f);
  d.notes.push(attentionNote(s, maxLen));
  return attentionKnobs(s, d.dim, maxLen, false, (field, reason) => f.refuse(field, reason));
}

/** max_position_embeddings, read (and refused if bad) once, when a global cache needs it. */
function maxPositions(f: Fields): () => number {
  let v: number | undefined;
  return () => (v ??= f.num('max_position_embeddings', true));
}

function attentionNote(s: AttnSettings, maxLen: () => number): string {
  const cache = s.window === null ? `a KV cache of max_position_embeddings = ${maxLen()} positions (fla's has no limit)` : `a ring KV cache of window_size = ${s.window} slots`;
  return `Attention: RoPE (half-split pairs), scale head_dim^-1/2${s.qkNorm ? ', q and k RMSNorm per head (eps 1e-5)' : ''}, ${cache}.`;
}

/** Where a JSON value's key (or list element) is in the text: path of keys and list indices. */
export function jsonSpan(text: string, path: (string | number)[]): Span | undefined {
  let i = 0;
  const ws = () => {
    while (/\s/.test(text[i] ?? '')) i++;
  };
  const str = () => {
    const s = i++;
    while (text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    return JSON.parse(text.slice(s, ++i)) as string;
  };
  // Visits the members of the container at i (calling `at(keyOrIndex, start, end)` before each value) and leaves i after it.
  const members = (at: (key: string | number, start: number, end: number) => boolean): boolean => {
    const open = text[i++];
    for (let n = 0; ; n++) {
      ws();
      if (text[i] === '}' || text[i] === ']') return i++, false;
      const start = i;
      const key = open === '{' ? str() : n;
      if (open === '{') (ws(), i++);
      if (at(key, start, open === '{' ? i - 1 : start + 1)) return true;
      skip();
      ws();
      if (text[i] === ',') i++;
    }
  };
  const skip = (): void => {
    ws();
    if (text[i] === '"') str();
    else if (text[i] === '{' || text[i] === '[') members(() => false);
    else while (i < text.length && !/[\s,}\]]/.test(text[i])) i++;
  };
  let found: [number, number] | undefined;
  const walk = (depth: number): boolean =>
    members((key, start, end) => {
      if (key !== path[depth]) return false;
      const keyEnd = typeof key === 'string' ? start + JSON.stringify(key).length : end;
      if (depth === path.length - 1) return (found = [start, keyEnd]), true;
      ws();
      return (text[i] === '{' || text[i] === '[') && walk(depth + 1);
    });
  ws();
  if (!walk(0) || !found) return undefined;
  const before = text.slice(0, found[0]);
  return { start: found[0], end: found[1], line: before.split('\n').length, col: found[0] - before.lastIndexOf('\n') };
}

const SPEC_KEYS = ['layers', 'num_heads', 'num_kv_heads', 'qkv_bias', 'window_size', 'rope_theta', 'qk_norm'];

/**
 * fla's hybrid attention: the `attn` config field (null, one dict or a list of dicts, fla's
 * HybridAttentionConfig: `layers`, `num_heads`, `num_kv_heads`, `qkv_bias`, `window_size`,
 * `rope_theta`) -> the spec's mixers and block pattern.
 *
 * How to use (a translator of an fla model type whose config has `attn`): translate the model's
 * own mixer into `own` (a MixerDraft named after its preset), then
 *   const { mixers, pattern } = hybridMixers(f, draft, own);
 * and put both in the Draft. Without `attn` (or for a config class without that field) it returns
 * `{ mixers: [own] }` with own renamed `attn` (the single-mixer specs' name). Otherwise layer i
 * gets an `attention` mixer (`attn`, or `attn0`, `attn1`, ... for a list) where a spec lists i,
 * `own` elsewhere; errors are recorded at the offending key inside `attn`. The checkpoint names
 * these layers `model.layers.<i>.attn.{q,k,v,o}_proj` (runtime/fla-weights.ts).
 */
export function hybridMixers(f: Fields, d: { dim: number; layers: number; notes: string[] }, own: MixerDraft): { mixers: MixerDraft[]; pattern?: string[] } {
  const single = { mixers: [{ ...own, name: 'attn' }] };
  if (!Object.hasOwn(f.defaults, 'attn')) return single;
  const attn = f.get('attn');
  if (attn === null) return single;
  const refuse = (path: (string | number)[], value: JsonValue | undefined, reason: string) => {
    const label = path.map((p, n) => (typeof p === 'number' ? `[${p}]` : n ? `.${p}` : p)).join('');
    const shown = value === undefined ? '' : ` = ${JSON.stringify(value)}`;
    f.errors.push(diag('bad-config', { message: `config field '${label}'${shown}: ${reason}` }, { file: f.file, span: jsonSpan(f.text, path) ?? jsonSpan(f.text, path.slice(0, -1)) ?? f.span('attn') }));
  };
  const list = Array.isArray(attn) ? attn : [attn];
  if (typeof attn !== 'object' || list.length === 0) return refuse(['attn'], attn, 'expected null, a dict or a non-empty list of dicts (fla HybridAttentionConfig)'), single;
  const maxLen = maxPositions(f);
  const pattern: string[] = Array(d.layers).fill(own.name);
  const mixers: MixerDraft[] = [own];
  list.forEach((spec, n) => {
    const at = (key?: string): (string | number)[] => [...(Array.isArray(attn) ? ['attn', n] : ['attn']), ...(key ? [key] : [])];
    if (spec === null || typeof spec !== 'object' || Array.isArray(spec)) return refuse(at(), spec, 'expected a dict with layers and num_heads');
    const get = (key: string) => (Object.hasOwn(spec, key) ? spec[key] : undefined);
    for (const key of Object.keys(spec)) if (!SPEC_KEYS.includes(key)) refuse(at(key), spec[key], "not a field of fla's hybrid attention (layers, num_heads, num_kv_heads, qkv_bias, window_size, rope_theta), so loom import cannot tell what it changes");
    const posInt = (key: string, fallback: number | null): number | null => {
      const v = get(key) ?? fallback;
      if (v === null || (typeof v === 'number' && Number.isInteger(v) && v > 0)) return v;
      return refuse(at(key), v, 'expected a positive integer'), null;
    };
    if (get('num_heads') === undefined) refuse(at('num_heads'), undefined, 'required');
    const heads = posInt('num_heads', 1) ?? 1;
    const kvHeads = posInt('num_kv_heads', heads) ?? heads;
    const window = posInt('window_size', null);
    const bias = get('qkv_bias') ?? false;
    if (typeof bias !== 'boolean') refuse(at('qkv_bias'), bias, 'expected true or false');
    const theta = get('rope_theta') ?? 10000;
    if (typeof theta !== 'number' || !Number.isFinite(theta) || theta <= 0) refuse(at('rope_theta'), theta, 'expected a positive number');
    // fla's hybrid blocks do not pass qk_norm to Attention (only the transformer model type does).
    if (get('qk_norm') !== undefined) d.notes.push(`attn${Array.isArray(attn) ? `[${n}]` : ''}.qk_norm is not passed to fla's Attention by the hybrid blocks, so it changes nothing.`);
    const layers = get('layers');
    if (!Array.isArray(layers)) return refuse(at('layers'), layers, 'required: a list of layer indices');
    const name = Array.isArray(attn) && attn.length > 1 ? `attn${n}` : 'attn';
    for (const l of layers) {
      if (typeof l !== 'number' || !Number.isInteger(l) || l < 0 || l >= d.layers) refuse(at('layers'), layers, `layer ${JSON.stringify(l)} is not an index in [0, ${d.layers})`);
      else if (pattern[l] !== own.name) refuse(at('layers'), layers, `layer ${l} is listed twice`);
      else pattern[l] = name;
    }
    const s: AttnSettings = { heads, kvHeads, qkvBias: bias === true, qkNorm: false, window, theta: typeof theta === 'number' ? theta : 10000 };
    const knobs = attentionKnobs(s, d.dim, maxLen, true, (key, reason) => refuse(at(key), get(key), reason));
    mixers.push({ name, preset: 'attention', knobs });
    d.notes.push(`Layers ${layers.join(', ')}: fla's hybrid ${attentionNote(s, maxLen)}`);
  });
  const used = mixers.filter((m) => pattern.includes(m.name));
  return used.length === 1 ? { mixers: used } : { mixers: used, pattern };
}
