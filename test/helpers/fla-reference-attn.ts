/**
 * fla's softmax attention in float64, written from fla/layers/attn.py (`Attention`) on a
 * checkpoint in fla's names: the `transformer` model type (TransformerBlock: every layer is
 * Attention) and the layers that fla's hybrid models (the config's `attn` field, one dict or a
 * list, fla/models/hybrid.py) give to Attention instead of their own mixer. Nothing of Loom's
 * graph, names or mapping is used.
 *
 * Attention: head_dim = hidden_size // num_heads; q = x Wq^T (+ bq), k, v likewise over
 * num_kv_heads heads; with qk_norm an RMSNorm (eps 1e-5) of each q and k head; RoPE
 * (interleaved = False: pairs (i, i + D/2), base rope_theta) at absolute positions 0..T-1; causal
 * softmax(q k^T / sqrt(D)) over keys j <= i, and i - j <= window_size - 1 with a window (flash
 * attention's window (w - 1, 0)); o_proj without bias.
 */
import type { Checkpoint } from './fla-checkpoint.ts';
import { linear, rmsnorm, rope, type Attn } from './fla-reference.ts';

/** The settings fla passes to one Attention (TransformerConfig's fields, or one `attn` spec). */
interface AttnConfig {
  num_heads: number;
  num_kv_heads?: number | null;
  qkv_bias?: boolean;
  qk_norm?: boolean;
  window_size?: number | null;
  rope_theta?: number;
}

/** fla's Attention under `model.layers.<l>.attn` for a model of `hidden` features. */
function attention(ck: Checkpoint, hidden: number, a: AttnConfig): Attn {
  return (h, T, L) => {
    const w = (n: string) => ck.get(`${L}.attn.${n}`)!;
    const H = a.num_heads;
    const Hkv = a.num_kv_heads ?? H;
    const D = Math.floor(hidden / H);
    const proj = (n: string) => linear(h, T, w(`${n}_proj.weight`), a.qkv_bias ? w(`${n}_proj.bias`).data : undefined);
    const norm = (x: Float64Array, n: string) => (a.qk_norm ? rmsnorm(x, D, w(`${n}_norm.weight`).data, 1e-5) : x);
    const theta = a.rope_theta ?? 10000;
    const q = rope(norm(proj('q'), 'q'), T, D, theta);
    const k = rope(norm(proj('k'), 'k'), T, D, theta);
    const v = proj('v');
    const o = new Float64Array(T * H * D);
    for (let hh = 0; hh < H; hh++) {
      const kv = Math.floor(hh / (H / Hkv));
      for (let i = 0; i < T; i++) {
        const first = a.window_size ? Math.max(0, i - a.window_size + 1) : 0;
        const s: number[] = [];
        for (let j = first; j <= i; j++) {
          let dot = 0;
          for (let d = 0; d < D; d++) dot += q[(i * H + hh) * D + d] * k[(j * Hkv + kv) * D + d];
          s.push(dot / Math.sqrt(D));
        }
        const m = Math.max(...s);
        const p = s.map((x) => Math.exp(x - m));
        const z = p.reduce((x, y) => x + y, 0);
        for (let d = 0; d < D; d++) {
          let acc = 0;
          for (let j = first; j <= i; j++) acc += (p[j - first] / z) * v[(j * Hkv + kv) * D + d];
          o[(i * H + hh) * D + d] = acc;
        }
      }
    }
    return linear(o, T, w('o_proj.weight'));
  };
}

/** fla's TransformerForCausalLM layer: Attention with the config's own fields. */
export function transformerLayer(ck: Checkpoint, cfg: Record<string, number>): Attn {
  return attention(ck, cfg.hidden_size, cfg as unknown as AttnConfig);
}

/** The `attn` spec (fla's HybridAttentionConfig: a dict or a list of dicts) listing layer `l`, if any. */
export function hybridSpec(cfg: Record<string, unknown>, l: number): AttnConfig | undefined {
  const attn = cfg.attn as (AttnConfig & { layers: number[] }) | (AttnConfig & { layers: number[] })[] | null | undefined;
  if (!attn) return undefined;
  return (Array.isArray(attn) ? attn : [attn]).find((s) => s.layers.includes(l));
}

/** A kind's layer with fla's hybrid attention: the layers `cfg.attn` lists use Attention instead. */
export function withHybridAttention(layer: (ck: Checkpoint, cfg: Record<string, number>) => Attn): (ck: Checkpoint, cfg: Record<string, number>) => Attn {
  return (ck, cfg) => {
    const own = layer(ck, cfg);
    return (h, T, L) => {
      const spec = hybridSpec(cfg, Number(L.split('.').pop()));
      return spec ? attention(ck, cfg.hidden_size, spec)(h, T, L) : own(h, T, L);
    };
  };
}
