/**
 * A float64 forward pass written straight from flash-linear-attention's definitions, on a
 * checkpoint in fla's names and torch layouts (nothing of Loom's graph, names or mapping): the
 * model in fla/models/<kind>/modeling_*.py, the layers in fla/layers/{gla,delta_net,gated_deltanet,
 * multiscale_retention}.py, the naive recurrences of fla/ops/<op>/naive.py, GatedMLP, RMSNorm,
 * ShortConvolution and RotaryEmbedding; and HF's LlamaForCausalLM.
 * It exists to catch mapping mistakes a reference computed from Loom's own graph would share.
 */
import type { Checkpoint } from './fla-checkpoint.ts';
import { ssmForward, SSM_REFERENCE_KINDS } from './fla-reference-ssm.ts';
import { transformerLayer, withHybridAttention } from './fla-reference-attn.ts';

type Mat = Float64Array; // row-major [rows, cols]

/** `x [T, in] @ W^T` for a torch Linear weight `W [out, in]`. */
export function linear(x: Mat, T: number, W: { shape: number[]; data: Float32Array }, bias?: Float32Array): Mat {
  const [o, n] = W.shape;
  const y = new Float64Array(T * o);
  for (let t = 0; t < T; t++) {
    for (let j = 0; j < o; j++) {
      let acc = bias ? bias[j] : 0;
      for (let i = 0; i < n; i++) acc += x[t * n + i] * W.data[j * n + i];
      y[t * o + j] = acc;
    }
  }
  return y;
}

/** RMSNorm over groups of `g` features: `x / sqrt(mean(x^2) + eps) * w`. */
export function rmsnorm(x: Mat, g: number, w: Float32Array, eps: number): Mat {
  const y = new Float64Array(x.length);
  for (let s = 0; s < x.length; s += g) {
    let ms = 0;
    for (let i = 0; i < g; i++) ms += x[s + i] ** 2;
    const r = 1 / Math.sqrt(ms / g + eps);
    for (let i = 0; i < g; i++) y[s + i] = x[s + i] * r * w[i];
  }
  return y;
}

const silu = (v: number) => v / (1 + Math.exp(-v));
const logsigmoid = (v: number) => (v < 0 ? v - Math.log1p(Math.exp(v)) : -Math.log1p(Math.exp(-v)));
const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));

/** ShortConvolution: causal depthwise Conv1d, weight `[C, 1, W]`, left zero padding, then silu. */
function shortConv(x: Mat, T: number, w: { shape: number[]; data: Float32Array }): Mat {
  const [C, , W] = w.shape;
  const y = new Float64Array(T * C);
  for (let t = 0; t < T; t++) {
    for (let c = 0; c < C; c++) {
      let acc = 0;
      for (let j = 0; j < W; j++) {
        const s = t - (W - 1) + j;
        if (s >= 0) acc += w.data[c * W + j] * x[s * C + c];
      }
      y[t * C + c] = silu(acc);
    }
  }
  return y;
}

/** fla's l2norm: x * rsqrt(sum(x^2) + 1e-6) over groups of `g`. */
function l2norm(x: Mat, g: number): Mat {
  const y = new Float64Array(x.length);
  for (let s = 0; s < x.length; s += g) {
    let ss = 0;
    for (let i = 0; i < g; i++) ss += x[s + i] ** 2;
    for (let i = 0; i < g; i++) y[s + i] = x[s + i] / Math.sqrt(ss + 1e-6);
  }
  return y;
}

export type Attn = (h: Mat, T: number, layer: string) => Mat;

/** naive_recurrent_gla: S = diag(exp(gk_t)) S + k_t v_t^T, o_t = S^T (q_t K^-1/2), per head. */
function glaLayer(ck: Checkpoint, cfg: Record<string, number>): Attn {
  return (h, T, L) => {
    const w = (n: string) => ck.get(`${L}.attn.${n}`)!;
    const H = cfg.num_heads;
    const q = linear(h, T, w('q_proj.weight'));
    const k = linear(h, T, w('k_proj.weight'));
    const v = linear(h, T, w('v_proj.weight'));
    const KT = w('q_proj.weight').shape[0];
    const VT = w('v_proj.weight').shape[0];
    const [K, V] = [KT / H, VT / H];
    const gk = linear(linear(h, T, w('gk_proj.0.weight')), T, w('gk_proj.1.weight'), w('gk_proj.1.bias').data).map((x) => logsigmoid(x) / 16);
    const o = new Float64Array(T * VT);
    for (let hh = 0; hh < H; hh++) {
      const S = new Float64Array(K * V);
      for (let t = 0; t < T; t++) {
        for (let a = 0; a < K; a++) {
          const decay = Math.exp(gk[t * KT + hh * K + a]);
          for (let b = 0; b < V; b++) S[a * V + b] = decay * S[a * V + b] + k[t * KT + hh * K + a] * v[t * VT + hh * V + b];
        }
        for (let b = 0; b < V; b++) {
          let acc = 0;
          for (let a = 0; a < K; a++) acc += S[a * V + b] * q[t * KT + hh * K + a] * K ** -0.5;
          o[t * VT + hh * V + b] = acc;
        }
      }
    }
    const g = linear(h, T, w('g_proj.weight'));
    const normed = rmsnorm(o, V, w('g_norm_swish_gate.weight').data, cfg.norm_eps).map((x, i) => x * silu(g[i]));
    return linear(normed, T, w('o_proj.weight'));
  };
}

/** DeltaNet (use_gate false, silu + l2 q/k): v' = beta (v_t - S^T k_t), S += k_t v'^T, o_t = S^T (q_t K^-1/2). */
function deltaNetLayer(ck: Checkpoint, cfg: Record<string, number>): Attn {
  return (h, T, L) => {
    const w = (n: string) => ck.get(`${L}.attn.${n}`)!;
    const H = cfg.num_heads;
    const KT = w('q_proj.weight').shape[0];
    const VT = w('v_proj.weight').shape[0];
    const [K, V] = [KT / H, VT / H];
    const q = l2norm(shortConv(linear(h, T, w('q_proj.weight')), T, w('q_conv1d.weight')), K);
    const k = l2norm(shortConv(linear(h, T, w('k_proj.weight')), T, w('k_conv1d.weight')), K);
    const v = shortConv(linear(h, T, w('v_proj.weight')), T, w('v_conv1d.weight'));
    const beta = linear(h, T, w('b_proj.weight')).map(sigmoid);
    const o = new Float64Array(T * VT);
    for (let hh = 0; hh < H; hh++) {
      const S = new Float64Array(K * V);
      for (let t = 0; t < T; t++) {
        const kt = (a: number) => k[t * KT + hh * K + a];
        const u = new Float64Array(V);
        for (let b = 0; b < V; b++) {
          let sk = 0;
          for (let a = 0; a < K; a++) sk += S[a * V + b] * kt(a);
          u[b] = beta[t * H + hh] * (v[t * VT + hh * V + b] - sk);
        }
        for (let a = 0; a < K; a++) for (let b = 0; b < V; b++) S[a * V + b] += kt(a) * u[b];
        for (let b = 0; b < V; b++) {
          let acc = 0;
          for (let a = 0; a < K; a++) acc += S[a * V + b] * q[t * KT + hh * K + a] * K ** -0.5;
          o[t * VT + hh * V + b] = acc;
        }
      }
    }
    return linear(rmsnorm(o, V, w('o_norm.weight').data, cfg.norm_eps), T, w('o_proj.weight'));
  };
}

/** fla's RotaryEmbedding (interleaved = False) and HF LLaMA's rotate_half: pairs (i, i + D/2) of each head. */
export function rope(x: Mat, T: number, D: number, theta: number): Mat {
  const y = Float64Array.from(x);
  const heads = x.length / (T * D);
  for (let t = 0; t < T; t++) {
    for (let h = 0; h < heads; h++) {
      const o = (t * heads + h) * D;
      for (let i = 0; i < D / 2; i++) {
        const a = t * theta ** ((-2 * i) / D);
        const [x1, x2] = [x[o + i], x[o + i + D / 2]];
        y[o + i] = x1 * Math.cos(a) - x2 * Math.sin(a);
        y[o + i + D / 2] = x1 * Math.sin(a) + x2 * Math.cos(a);
      }
    }
  }
  return y;
}

/** S_t = exp(g_t) S_{t-1} (+ delta rule with beta) + k v^T, o_t = S_t^T (q_t K^-1/2); g, beta per head or null. */
function scan(q: Mat, k: Mat, v: Mat, T: number, H: number, K: number, V: number, g: (t: number, h: number) => number, beta: Mat | null): Mat {
  const o = new Float64Array(T * H * V);
  for (let hh = 0; hh < H; hh++) {
    const S = new Float64Array(K * V);
    for (let t = 0; t < T; t++) {
      const kt = (a: number) => k[(t * H + hh) * K + a];
      const decay = Math.exp(g(t, hh));
      for (let i = 0; i < S.length; i++) S[i] *= decay;
      for (let b = 0; b < V; b++) {
        let sk = 0;
        if (beta) for (let a = 0; a < K; a++) sk += S[a * V + b] * kt(a);
        const u = beta ? beta[t * H + hh] * (v[(t * H + hh) * V + b] - sk) : v[(t * H + hh) * V + b];
        for (let a = 0; a < K; a++) S[a * V + b] += kt(a) * u;
      }
      for (let b = 0; b < V; b++) {
        let acc = 0;
        for (let a = 0; a < K; a++) acc += S[a * V + b] * q[(t * H + hh) * K + a] * K ** -0.5;
        o[(t * H + hh) * V + b] = acc;
      }
    }
  }
  return o;
}

/** MultiScaleRetention: RoPE on q, k, per-head decay 1 - 2^(-5-h), fused RMSNorm-swish gate. */
function retnetLayer(ck: Checkpoint, cfg: Record<string, number>): Attn {
  return (h, T, L) => {
    const w = (n: string) => ck.get(`${L}.attn.${n}`)!;
    const H = cfg.num_heads;
    const [K, V] = [w('q_proj.weight').shape[0] / H, w('v_proj.weight').shape[0] / H];
    const q = rope(linear(h, T, w('q_proj.weight')), T, K, 10000);
    const k = rope(linear(h, T, w('k_proj.weight')), T, K, 10000);
    const o = scan(q, k, linear(h, T, w('v_proj.weight')), T, H, K, V, (_, hh) => Math.log(1 - 2 ** (-5 - hh)), null);
    const g = linear(h, T, w('g_proj.weight'));
    return linear(rmsnorm(o, V, w('g_norm_swish_gate.weight').data, cfg.norm_eps).map((x, i) => x * silu(g[i])), T, w('o_proj.weight'));
  };
}

const softplus = (v: number) => (v > 20 ? v : Math.log1p(Math.exp(v)));

/** GatedDeltaNet: silu short convs, l2 q/k, g = -exp(A_log) softplus(a + dt_bias), beta = sigmoid(b) (x2 with allow_neg_eigval). */
function gatedDeltaNetLayer(ck: Checkpoint, cfg: Record<string, number>): Attn {
  return (h, T, L) => {
    const w = (n: string) => ck.get(`${L}.attn.${n}`)!;
    const H = cfg.num_heads;
    const [K, V] = [w('q_proj.weight').shape[0] / H, w('v_proj.weight').shape[0] / H];
    const q = l2norm(shortConv(linear(h, T, w('q_proj.weight')), T, w('q_conv1d.weight')), K);
    const k = l2norm(shortConv(linear(h, T, w('k_proj.weight')), T, w('k_conv1d.weight')), K);
    const v = shortConv(linear(h, T, w('v_proj.weight')), T, w('v_conv1d.weight'));
    const beta = linear(h, T, w('b_proj.weight')).map((x) => sigmoid(x) * (cfg.allow_neg_eigval ? 2 : 1));
    const a = linear(h, T, w('a_proj.weight'));
    const [Alog, dt] = [w('A_log').data, w('dt_bias').data];
    const o = scan(q, k, v, T, H, K, V, (t, hh) => -Math.exp(Alog[hh]) * softplus(a[t * H + hh] + dt[hh]), beta);
    const g = linear(h, T, w('g_proj.weight'));
    return linear(rmsnorm(o, V, w('o_norm.weight').data, cfg.norm_eps).map((x, i) => x * silu(g[i])), T, w('o_proj.weight'));
  };
}

/** HF LlamaAttention: RoPE (rotate_half), grouped kv heads, causal softmax with scale head_dim^-1/2. */
function llamaLayer(ck: Checkpoint, cfg: Record<string, number>): Attn {
  return (h, T, L) => {
    const w = (n: string) => ck.get(`${L}.self_attn.${n}`)!;
    const [H, Hkv] = [cfg.num_attention_heads, cfg.num_key_value_heads];
    const D = cfg.hidden_size / H;
    const q = rope(linear(h, T, w('q_proj.weight')), T, D, cfg.rope_theta);
    const k = rope(linear(h, T, w('k_proj.weight')), T, D, cfg.rope_theta);
    const v = linear(h, T, w('v_proj.weight'));
    const o = new Float64Array(T * H * D);
    for (let hh = 0; hh < H; hh++) {
      const kv = Math.floor(hh / (H / Hkv));
      for (let i = 0; i < T; i++) {
        const s = Array.from({ length: i + 1 }, (_, j) => {
          let dot = 0;
          for (let d = 0; d < D; d++) dot += q[(i * H + hh) * D + d] * k[(j * Hkv + kv) * D + d];
          return dot / Math.sqrt(D);
        });
        const m = Math.max(...s);
        const p = s.map((x) => Math.exp(x - m));
        const z = p.reduce((x, y) => x + y, 0);
        for (let d = 0; d < D; d++) o[(i * H + hh) * D + d] = p.reduce((acc, pj, j) => acc + (pj / z) * v[(j * Hkv + kv) * D + d], 0);
      }
    }
    return linear(o, T, w('o_proj.weight'));
  };
}

/** LinearAttention with feature_map 'elu' (elu + 1) and norm_feature_map: o / (scale q . cumsum(k) + 1e-10), then RMSNorm. */
function linearAttnLayer(ck: Checkpoint, cfg: Record<string, number>): Attn {
  return (h, T, L) => {
    const w = (n: string) => ck.get(`${L}.attn.${n}`)!;
    const H = cfg.num_heads;
    const [K, V] = [w('q_proj.weight').shape[0] / H, w('v_proj.weight').shape[0] / H];
    const elu1 = (x: number) => (x > 0 ? x + 1 : Math.exp(x));
    const q = linear(h, T, w('q_proj.weight')).map(elu1);
    const k = linear(h, T, w('k_proj.weight')).map(elu1);
    const o = scan(q, k, linear(h, T, w('v_proj.weight')), T, H, K, V, () => 0, null);
    for (let hh = 0; hh < H; hh++) {
      const z = new Float64Array(K);
      for (let t = 0; t < T; t++) {
        let den = 0;
        for (let a = 0; a < K; a++) den += q[(t * H + hh) * K + a] * K ** -0.5 * (z[a] += k[(t * H + hh) * K + a]);
        for (let b = 0; b < V; b++) o[(t * H + hh) * V + b] /= den + 1e-10;
      }
    }
    return linear(rmsnorm(o, V, w('norm.weight').data, cfg.norm_eps), T, w('o_proj.weight'));
  };
}

const LAYERS: Record<string, (ck: Checkpoint, cfg: Record<string, number>) => Attn> = {
  linear_attn: linearAttnLayer,
  gla: glaLayer,
  delta_net: deltaNetLayer,
  gated_deltanet: gatedDeltaNetLayer,
  retnet: retnetLayer,
  llama: llamaLayer,
  transformer: transformerLayer,
};
export const FLA_REFERENCE_KINDS = Object.keys(LAYERS);

/**
 * Logits `[B, T, vocab]` of an fla `<Kind>ForCausalLM` on `ids` (`[B, T]`): embeddings, per layer
 * `x + attn(attn_norm(x))` and `x + mlp(mlp_norm(x))` (GatedMLP: down(silu(gate) * up)), the final
 * norm and lm_head (or the tied embedding).
 */
export function flaForward(kind: string, ck: Checkpoint, cfg: Record<string, number>, ids: Int32Array, B: number, T: number): Float64Array {
  if (SSM_REFERENCE_KINDS.includes(kind)) return ssmForward(kind, ck, cfg, ids, B, T);
  const D = cfg.hidden_size;
  const Vocab = cfg.vocab_size;
  const llama = kind === 'llama';
  const E = ck.get(llama ? 'model.embed_tokens.weight' : 'model.embeddings.weight')!;
  const eps = llama ? cfg.rms_norm_eps : cfg.norm_eps;
  const [norm0, norm1] = llama ? ['input_layernorm', 'post_attention_layernorm'] : ['attn_norm', 'mlp_norm'];
  const attn = withHybridAttention(LAYERS[kind])(ck, cfg);
  const logits = new Float64Array(B * T * Vocab);
  for (let b = 0; b < B; b++) {
    let x: Mat = new Float64Array(T * D);
    for (let t = 0; t < T; t++) for (let i = 0; i < D; i++) x[t * D + i] = E.data[ids[b * T + t] * D + i];
    for (let l = 0; l < cfg.num_hidden_layers; l++) {
      const L = `model.layers.${l}`;
      const a = attn(rmsnorm(x, D, ck.get(`${L}.${norm0}.weight`)!.data, eps), T, L);
      x = x.map((v, i) => v + a[i]);
      const h = rmsnorm(x, D, ck.get(`${L}.${norm1}.weight`)!.data, eps);
      const gate = linear(h, T, ck.get(`${L}.mlp.gate_proj.weight`)!);
      const up = linear(h, T, ck.get(`${L}.mlp.up_proj.weight`)!);
      const m = linear(gate.map((g, i) => silu(g) * up[i]), T, ck.get(`${L}.mlp.down_proj.weight`)!);
      x = x.map((v, i) => v + m[i]);
    }
    const xf = rmsnorm(x, D, ck.get('model.norm.weight')!.data, eps);
    const head = cfg.tie_word_embeddings ? E : ck.get('lm_head.weight')!;
    logits.set(linear(xf, T, head), b * T * Vocab);
  }
  return logits;
}
