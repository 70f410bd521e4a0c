/**
 * Float64 forwards of fla's state-space models and LinearAttention's learned feature maps, written
 * from fla's code on checkpoints in fla's names and torch layouts (nothing of Loom's graph or its
 * weight mapping): MambaForCausalLM (fla/layers/mamba.py's slow_forward), Mamba2ForCausalLM
 * (fla/layers/mamba2.py's torch_forward, as its step-by-step recurrence), SambaForCausalLM (Mamba
 * and sliding-window Attention layers, fla/layers/attn.py, each followed by a GatedMLP), and
 * LinearAttention with feature_map hedgehog / t2r (fla/modules/feature_map.py and
 * fla/ops/linear_attn/naive.py).
 */
import type { Checkpoint } from './fla-checkpoint.ts';
import { linear, rmsnorm, rope } from './fla-reference.ts';

type Mat = Float64Array;
type Tensor = { shape: number[]; data: Float32Array };
type Layer = (h: Mat, T: number, L: string, i: number) => Mat;

const silu = (v: number) => v / (1 + Math.exp(-v));
const softplus = (v: number) => (v > 20 ? v : Math.log1p(Math.exp(v)));

/** Columns [a, b) of a `[T, n]` matrix. */
function cols(x: Mat, T: number, n: number, a: number, b: number): Mat {
  const y = new Float64Array(T * (b - a));
  for (let t = 0; t < T; t++) for (let j = a; j < b; j++) y[t * (b - a) + j - a] = x[t * n + j];
  return y;
}

/** nn.Conv1d(C, C, W, groups = C, padding = W - 1, bias) cut to the first T outputs (causal), then silu. */
function causalConv(x: Mat, T: number, w: Tensor, bias: Float32Array | undefined): Mat {
  const [C, , W] = w.shape;
  const y = new Float64Array(T * C);
  for (let t = 0; t < T; t++) {
    for (let c = 0; c < C; c++) {
      let acc = bias ? bias[c] : 0;
      for (let j = 0; j < W; j++) if (t - (W - 1) + j >= 0) acc += w.data[c * W + j] * x[(t - (W - 1) + j) * C + c];
      y[t * C + c] = silu(acc);
    }
  }
  return y;
}

/** Mamba.slow_forward: discretised S6 scan per channel and state entry, D skip, silu(gate). */
function mamba(ck: Checkpoint, cfg: Record<string, number>): Layer {
  return (h, T, L) => {
    const w = (n: string) => ck.get(`${L}.mixer.${n}`)!;
    const Di = w('in_proj.weight').shape[0] / 2;
    const N = cfg.state_size;
    const R = w('x_proj.weight').shape[0] - 2 * N;
    const proj = linear(h, T, w('in_proj.weight'));
    const x = causalConv(cols(proj, T, 2 * Di, 0, Di), T, w('conv1d.weight'), ck.get(`${L}.mixer.conv1d.bias`)?.data);
    const gate = cols(proj, T, 2 * Di, Di, 2 * Di);
    const ssm = linear(x, T, w('x_proj.weight'));
    const dt = linear(cols(ssm, T, R + 2 * N, 0, R), T, w('dt_proj.weight'), w('dt_proj.bias').data).map(softplus);
    const [Alog, D] = [w('A_log').data, w('D').data];
    const state = new Float64Array(Di * N);
    const y = new Float64Array(T * Di);
    for (let t = 0; t < T; t++) {
      for (let c = 0; c < Di; c++) {
        const d = dt[t * Di + c];
        let acc = 0;
        for (let n = 0; n < N; n++) {
          const s = (state[c * N + n] = Math.exp(-Math.exp(Alog[c * N + n]) * d) * state[c * N + n] + d * ssm[t * (R + 2 * N) + R + n] * x[t * Di + c]);
          acc += s * ssm[t * (R + 2 * N) + R + N + n];
        }
        y[t * Di + c] = (acc + x[t * Di + c] * D[c]) * silu(gate[t * Di + c]);
      }
    }
    return linear(y, T, w('out_proj.weight'));
  };
}

/** Mamba2.torch_forward with one group: per head a [P, N] state, scalar decay exp(dt A), D skip, norm(y * silu(z)). */
function mamba2(ck: Checkpoint, cfg: Record<string, number>): Layer {
  return (h, T, L) => {
    const w = (n: string) => ck.get(`${L}.mixer.${n}`)!;
    const [N, P] = [cfg.state_size, cfg.head_dim];
    const Di = cfg.expand * cfg.hidden_size;
    const H = Di / P;
    const width = 2 * Di + 2 * N + H;
    const proj = linear(h, T, w('in_proj.weight'));
    const gate = cols(proj, T, width, 0, Di);
    const xBC = causalConv(cols(proj, T, width, Di, 2 * Di + 2 * N), T, w('conv1d.weight'), ck.get(`${L}.mixer.conv1d.bias`)?.data);
    const dt = cols(proj, T, width, 2 * Di + 2 * N, width).map((v, i) => softplus(v + w('dt_bias').data[i % H]));
    const [Alog, D] = [w('A_log').data, w('D').data];
    const state = new Float64Array(H * P * N);
    const y = new Float64Array(T * Di);
    for (let t = 0; t < T; t++) {
      const row = t * (Di + 2 * N);
      for (let hh = 0; hh < H; hh++) {
        const d = dt[t * H + hh];
        const decay = Math.exp(d * -Math.exp(Alog[hh]));
        for (let p = 0; p < P; p++) {
          const c = hh * P + p;
          let acc = 0;
          for (let n = 0; n < N; n++) {
            const s = (state[c * N + n] = decay * state[c * N + n] + d * xBC[row + c] * xBC[row + Di + n]);
            acc += s * xBC[row + Di + N + n];
          }
          y[t * Di + c] = (acc + xBC[row + c] * (D.length === H ? D[hh] : D[c])) * silu(gate[t * Di + c]);
        }
      }
    }
    return linear(rmsnorm(y, Di, w('norm.weight').data, cfg.layer_norm_epsilon ?? cfg.norm_eps), T, w('out_proj.weight'));
  };
}

/** fla's Attention: RoPE on q, k (half-split), grouped kv heads, causal softmax over the last window_size keys. */
function windowAttention(ck: Checkpoint, a: Record<string, number>, D: number): Layer {
  return (h, T, L) => {
    const w = (n: string) => ck.get(`${L}.mixer.${n}`)!;
    const [H, Hkv] = [a.num_heads, a.num_kv_heads ?? a.num_heads];
    const hd = D / H;
    const q = rope(linear(h, T, w('q_proj.weight')), T, hd, a.rope_theta ?? 10000);
    const k = rope(linear(h, T, w('k_proj.weight')), T, hd, a.rope_theta ?? 10000);
    const v = linear(h, T, w('v_proj.weight'));
    const o = new Float64Array(T * H * hd);
    for (let hh = 0; hh < H; hh++) {
      const g = Math.floor(hh / (H / Hkv));
      for (let i = 0; i < T; i++) {
        const from = a.window_size ? Math.max(0, i - a.window_size + 1) : 0;
        const s: number[] = [];
        for (let j = from; j <= i; j++) {
          let dot = 0;
          for (let d = 0; d < hd; d++) dot += q[(i * H + hh) * hd + d] * k[(j * Hkv + g) * hd + d];
          s.push(dot / Math.sqrt(hd));
        }
        const m = Math.max(...s);
        const p = s.map((x) => Math.exp(x - m));
        const z = p.reduce((x, y) => x + y, 0);
        for (let d = 0; d < hd; d++) o[(i * H + hh) * hd + d] = p.reduce((acc, pj, j) => acc + (pj / z) * v[((from + j) * Hkv + g) * hd + d], 0);
      }
    }
    return linear(o, T, w('o_proj.weight'));
  };
}

/** LinearAttention with a learned map shared by the heads: Hedgehog softmax([2y, -2y]), y = x W^T + b; T2R relu(x W^T). */
function learnedLinearAttention(ck: Checkpoint, cfg: Record<string, number>, map: string): Layer {
  return (h, T, L) => {
    const w = (n: string) => ck.get(`${L}.attn.${n}`)!;
    const H = cfg.num_heads;
    const K = w('q_proj.weight').shape[0] / H;
    const V = w('v_proj.weight').shape[0] / H;
    // tie_feature_map_qk: one module for q and k.
    const fm = (which: string) => ck.get(`${L}.attn.feature_map_${which}.layer.weight`) ?? w('feature_map_q.layer.weight');
    const phi = (x: Mat, which: string): Mat => {
      const y = linear(x, T * H, fm(which), ck.get(`${L}.attn.feature_map_${which}.layer.bias`)?.data);
      const F = map === 'hedgehog' ? 2 * K : K;
      const out = new Float64Array(T * H * F);
      for (let r = 0; r < T * H; r++) {
        if (map === 't2r') for (let i = 0; i < K; i++) out[r * F + i] = Math.max(0, y[r * K + i]);
        else {
          const z = Array.from({ length: F }, (_, i) => (i < K ? 2 * y[r * K + i] : -2 * y[r * K + i - K]));
          const m = Math.max(...z);
          const e = z.map((v) => Math.exp(v - m));
          const s = e.reduce((a, b) => a + b, 0);
          for (let i = 0; i < F; i++) out[r * F + i] = e[i] / s;
        }
      }
      return out;
    };
    const q = phi(linear(h, T, w('q_proj.weight')), 'q');
    const k = phi(linear(h, T, w('k_proj.weight')), 'k');
    const v = linear(h, T, w('v_proj.weight'));
    const F = q.length / (T * H);
    const scale = F ** -0.5;
    const o = new Float64Array(T * H * V);
    for (let hh = 0; hh < H; hh++) {
      const S = new Float64Array(F * V);
      const z = new Float64Array(F);
      for (let t = 0; t < T; t++) {
        const r = t * H + hh;
        let den = 0;
        for (let a = 0; a < F; a++) {
          z[a] += k[r * F + a];
          den += q[r * F + a] * scale * z[a];
          for (let b = 0; b < V; b++) S[a * V + b] += k[r * F + a] * v[r * V + b];
        }
        for (let b = 0; b < V; b++) {
          let acc = 0;
          for (let a = 0; a < F; a++) acc += S[a * V + b] * q[r * F + a] * scale;
          o[r * V + b] = cfg.norm_feature_map ? acc / (den + 1e-10) : acc;
        }
      }
    }
    return linear(rmsnorm(o, V, w('norm.weight').data, cfg.norm_eps), T, w('o_proj.weight'));
  };
}

/** The kinds of test/helpers/fla-checkpoint.ts's SSM_CONFIGS. */
export const SSM_REFERENCE_KINDS = ['mamba', 'mamba2', 'samba', 'linear_attn_hedgehog', 'linear_attn_t2r'];

/**
 * Logits `[B, T, vocab]`: embeddings; per layer `x + mixer(norm(x))` (Mamba, Mamba2: no MLP;
 * Samba: `mixer_norm`, then `x + mlp(mlp_norm(x))`; LinearAttention: `attn_norm`, `mlp_norm`);
 * the final norm; lm_head or the tied embedding.
 */
export function ssmForward(kind: string, ck: Checkpoint, cfg: Record<string, unknown>, ids: Int32Array, B: number, T: number): Float64Array {
  const c = cfg as Record<string, number>;
  const [D, Vocab] = [c.hidden_size, c.vocab_size];
  const eps = c.norm_eps ?? c.layer_norm_epsilon;
  const la = kind.startsWith('linear_attn');
  const root = la ? 'model' : 'backbone';
  const attn = cfg.attn as { layers: number[] } | undefined;
  const ssm = kind === 'mamba2' ? mamba2(ck, c) : la ? learnedLinearAttention(ck, c, String(cfg.feature_map)) : mamba(ck, c);
  const window = attn ? windowAttention(ck, attn as unknown as Record<string, number>, D) : undefined;
  const [norm0, mlpNorm] = la ? ['attn_norm', 'mlp_norm'] : kind === 'samba' ? ['mixer_norm', 'mlp_norm'] : ['norm', null];
  const E = ck.get(`${root}.embeddings.weight`)!;
  const logits = new Float64Array(B * T * Vocab);
  for (let b = 0; b < B; b++) {
    let x: Mat = new Float64Array(T * D);
    for (let t = 0; t < T; t++) for (let i = 0; i < D; i++) x[t * D + i] = E.data[ids[b * T + t] * D + i];
    for (let l = 0; l < c.num_hidden_layers; l++) {
      const L = `${root}.layers.${l}`;
      const mixer = window && attn!.layers.includes(l) ? window : ssm;
      const a = mixer(rmsnorm(x, D, ck.get(`${L}.${norm0}.weight`)!.data, eps), T, L, l);
      x = x.map((v, i) => v + a[i]);
      if (!mlpNorm) continue;
      const hn = rmsnorm(x, D, ck.get(`${L}.${mlpNorm}.weight`)!.data, eps);
      const gate = linear(hn, T, ck.get(`${L}.mlp.gate_proj.weight`)!);
      const up = linear(hn, T, ck.get(`${L}.mlp.up_proj.weight`)!);
      const m = linear(gate.map((g, i) => silu(g) * up[i]), T, ck.get(`${L}.mlp.down_proj.weight`)!);
      x = x.map((v, i) => v + m[i]);
    }
    const xf = rmsnorm(x, D, ck.get(la ? 'model.norm.weight' : 'backbone.norm_f.weight')!.data, eps);
    logits.set(linear(xf, T, c.tie_word_embeddings ? E : ck.get('lm_head.weight')!), b * T * Vocab);
  }
  return logits;
}
