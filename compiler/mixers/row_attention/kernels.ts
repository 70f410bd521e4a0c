/**
 * Kernels of the row-attention variants. One invocation per (batch, query, head) keeps
 * `scale q_i` and the output row in registers and walks its keys once, barrier-free:
 *
 *   softplus:  o_i = sum_j softplus(lam_i s_ij) v_j / sum_j softplus(lam_i s_ij)
 *   softmax:   o_i = sum_j exp(s_ij - m) v_j / sum_j exp(s_ij - m)      (running max m, one pass)
 *
 * with s_ij = scale q_i . k_j over the keys the range allows: all, causal (j <= i), or the
 * query's block of BLOCK tokens (causal inside it). `project` is Linformer's `E[:, :T] K`.
 */
import { flatDispatch, flatIndex, needsGuard, perElementKernel } from '../../codegen/kernels/elementwise.ts';
import { input as rd, output as wr, type Kernel, type KernelBinding } from '../../codegen/kernel.ts';
import { buildKernel, WGSL_HELPERS, type WgslBuilder, rolledBound } from '../../codegen/wgsl.ts';

export type KeyRange = { kind: 'all' } | { kind: 'causal' } | { kind: 'block'; block: number; causal: boolean };

export interface RowAttentionShape {
  B: number;
  /** Queries per sequence. */
  TQ: number;
  /** Keys per sequence (TQ, or Linformer's projected length). */
  TK: number;
  H: number;
  DK: number;
  DV: number;
  scale: number;
  weight: 'softmax' | 'softplus';
  range: KeyRange;
  /** Softplus only: T_train of the length scale lam_i = log(n_i) / log(T_train), n_i keys of query i; null: lam = 1. */
  lengthScale: number | null;
  /**
   * Causal ranges only: a KV cache `[B, H, SLOTS, D]` of the keys before this window (absolute
   * position p0 = pos[b] of the window's first token). linear: position j in slot j (SLOTS =
   * max_len); ring: position j in slot j mod SLOTS (DiagAttention: SLOTS = block).
   */
  cache: { slots: number; ring: boolean } | null;
}

/** Largest DK or DV: q and the output row live in private arrays. */
export const MAX_ROW = 256;

const WG = 64;

/**
 * `i_start`, `i_end`: the keys of query `i_q` as window indices; with a cache also `i_abs` (its
 * absolute position) and `i_first` (the absolute position of its first key).
 */
function emitRange(b: WgslBuilder, r: KeyRange, cached: boolean): void {
  if (cached) {
    b.line('let i_abs = u32(pos[i_b]) + i_q;');
    b.line(r.kind === 'block' ? 'let i_first = (i_abs / BLOCK) * BLOCK;' : 'let i_first = 0u;');
    b.line('let i_start = max(i_first, u32(pos[i_b])) - u32(pos[i_b]);');
    b.line('let i_end = i_q + 1u;');
    return;
  }
  switch (r.kind) {
    case 'all':
      b.line('let i_start = 0u;');
      b.line('let i_end = TK;');
      return;
    case 'causal':
      b.line('let i_start = 0u;');
      b.line('let i_end = i_q + 1u;');
      return;
    case 'block':
      b.line('let i_start = (i_q / BLOCK) * BLOCK;');
      b.line(r.causal ? 'let i_end = i_q + 1u;' : 'let i_end = min(i_start + BLOCK, TK);');
  }
}

/** Scores one key (offsets `o_k`, `o_v` into `kbuf`, `vbuf`) and folds it into the running sums. */
function emitVisit(b: WgslBuilder, s: RowAttentionShape, kbuf: string, vbuf: string): void {
  b.line('var b_s = 0.0;');
  b.block('for (var d = 0u; d < n_DK; d++)', () => b.line(`b_s += b_q[d] * ${kbuf}[o_k + d];`));
  if (s.weight === 'softplus') {
    b.line(s.lengthScale ? 'let b_w = softplus(b_lam * b_s);' : 'let b_w = softplus(b_s);');
    b.line('b_den += b_w;');
    b.block('for (var c = 0u; c < n_DV; c++)', () => b.line(`b_o[c] += b_w * ${vbuf}[o_v + c];`));
    return;
  }
  b.line('let b_new = max(b_max, b_s);');
  b.line('let b_corr = exp(b_max - b_new);');
  b.line('let b_w = exp(b_s - b_new);');
  b.line('b_max = b_new;');
  b.line('b_den = b_den * b_corr + b_w;');
  b.block('for (var c = 0u; c < n_DV; c++)', () => b.line(`b_o[c] = b_o[c] * b_corr + b_w * ${vbuf}[o_v + c];`));
}

export function rowAttentionKernel(name: string, s: RowAttentionShape): Kernel {
  const threads = s.B * s.TQ * s.H;
  const { dispatch, formula } = flatDispatch(threads, WG, 'B*TQ*H');
  const index = flatIndex(dispatch, 'gid', WG);
  const softplus = s.weight === 'softplus';
  const rangeText = s.range.kind === 'block' ? `blocks of ${s.range.block}${s.range.causal ? ', causal inside' : ''}` : s.range.kind;
  return buildKernel({
    name,
    summary: `o_i = sum_j w_ij v_j / sum_j w_ij, w = ${softplus ? `softplus(${s.lengthScale ? 'lam_i ' : ''}s_ij)` : 'exp(s_ij)'}, s = scale q_i . k_j, keys: ${rangeText}`,
    bindings: [
      rd('q', s.B * s.TQ * s.H * s.DK),
      rd('k', s.B * s.TK * s.H * s.DK),
      rd('v', s.B * s.TK * s.H * s.DV),
      ...(s.cache ? [rd('pos', s.B), rd('kc', s.B * s.H * s.cache.slots * s.DK), rd('vc', s.B * s.H * s.cache.slots * s.DV)] : []),
      wr('o', s.B * s.TQ * s.H * s.DV),
    ],
    consts: [
      ['TQ', s.TQ],
      ['TK', s.TK],
      ['H', s.H],
      ['DK', s.DK],
      ['DV', s.DV],
      ...(s.range.kind === 'block' ? [['BLOCK', s.range.block] as [string, number]] : []),
      ...(s.cache ? [['SLOTS', s.cache.slots] as [string, number]] : []),
      ['THREADS', threads],
      ...index.consts,
    ],
    fconsts: [['SCALE', s.scale], ...(softplus && s.lengthScale ? [['LOG_T_TRAIN', Math.log(s.lengthScale)] as [string, number]] : [])],
    helpers: softplus ? [WGSL_HELPERS.softplus] : [],
    workgroupSize: [WG, 1, 1],
    dispatch,
    dispatchFormula: formula,
    body: (b) => {
      b.line(`let i_thread = ${index.expr};`);
      if (needsGuard(dispatch, WG, threads)) b.line('if (i_thread >= THREADS) { return; }');
      // Trip counts the shader compiler cannot fold keep the loops rolled (lavapipe compiles fast).
      b.line(rolledBound('DK'));
      b.line(rolledBound('DV'));
      b.line('let i_h = i_thread % H;');
      b.line('let i_q = (i_thread / H) % TQ;');
      b.line('let i_b = i_thread / (H * TQ);');
      b.line('var b_q: array<f32, DK>;');
      b.line('let o_q = i_thread * DK;');
      b.block('for (var d = 0u; d < n_DK; d++)', () => b.line('b_q[d] = SCALE * q[o_q + d];'));
      emitRange(b, s.range, s.cache !== null);
      if (softplus && s.lengthScale) b.line(s.cache ? 'let b_lam = log(f32(i_abs + 1u - i_first)) / LOG_T_TRAIN;' : 'let b_lam = log(f32(i_end - i_start)) / LOG_T_TRAIN;');
      b.line('var b_o: array<f32, DV>;');
      b.line('var b_den = 0.0;');
      if (!softplus) b.line('var b_max = -3.0e38;');
      if (s.cache) {
        b.line('// Keys before the window, from the cache.');
        b.block('for (var j = i_first; j < u32(pos[i_b]); j++)', () => {
          b.line(`let o_slot = (i_b * H + i_h) * SLOTS + ${s.cache!.ring ? 'j % SLOTS' : 'j'};`);
          b.line('let o_k = o_slot * DK;');
          b.line('let o_v = o_slot * DV;');
          emitVisit(b, s, 'kc', 'vc');
        });
      }
      b.block('for (var j = i_start; j < i_end; j++)', () => {
        b.line('let o_k = ((i_b * TK + j) * H + i_h) * DK;');
        b.line('let o_v = ((i_b * TK + j) * H + i_h) * DV;');
        emitVisit(b, s, 'k', 'v');
      });
      b.line('let o_o = i_thread * DV;');
      b.block('for (var c = 0u; c < n_DV; c++)', () => b.line('o[o_o + c] = b_o[c] / b_den;'));
    },
  });
}

/** Linformer's projection along T: `y[b, j, c] = sum_{t < T} E[j, t] x[b, t, c]`, E `[P, MAX_LEN]`. */
export function projectKernel(name: string, o: { B: number; T: number; P: number; C: number; maxLen: number }): Kernel {
  const threads = o.B * o.P * o.C;
  const { dispatch, formula } = flatDispatch(threads, WG, 'B*P*C');
  const index = flatIndex(dispatch, 'gid', WG);
  return buildKernel({
    name,
    summary: 'y[b,j,c] = sum_{t<T} E[j,t] x[b,t,c] (the learned projection along T, its first T columns)',
    bindings: [rd('x', o.B * o.T * o.C), rd('e', o.P * o.maxLen), wr('y', threads)],
    consts: [['T', o.T], ['P', o.P], ['C', o.C], ['MAX_LEN', o.maxLen], ['THREADS', threads], ...index.consts],
    workgroupSize: [WG, 1, 1],
    dispatch,
    dispatchFormula: formula,
    body: (b) => {
      b.line(`let i_thread = ${index.expr};`);
      if (needsGuard(dispatch, WG, threads)) b.line('if (i_thread >= THREADS) { return; }');
      b.line(rolledBound('T'));
      b.line('let i_c = i_thread % C;');
      b.line('let i_j = (i_thread / C) % P;');
      b.line('let i_b = i_thread / (C * P);');
      b.line('var b_y = 0.0;');
      b.block('for (var t = 0u; t < n_T; t++)', () => b.line('b_y += e[i_j * MAX_LEN + t] * x[(i_b * T + t) * C + i_c];'));
      b.line('y[i_thread] = b_y;');
    },
  });
}

/**
 * The window's keys and values appended to the KV cache in place (the state output aliases its
 * input; the rows kernel read the old cache first): token t of sequence b sits at position
 * j = pos[b] + t, in slot j (linear) or j mod SLOTS (ring). In a ring, a window longer than the
 * ring maps several tokens to one slot and only the latest (t >= T - SLOTS) writes it. Slots the
 * window does not reach keep their values: O(T) work per call, not O(SLOTS).
 */
export function cacheAppendKernel(name: string, s: RowAttentionShape): Kernel {
  const slots = s.cache!.slots;
  const ring = s.cache!.ring;
  const kv = (n: number, d: number) => s.B * n * s.H * d;
  return perElementKernel({
    name,
    summary: `k_cache, v_cache appended in place: the window's rows at positions pos .. pos + T - 1 (${ring ? 'ring: slot j mod SLOTS, the latest token per slot' : 'slot j'}), other slots untouched`,
    elements: s.B * s.H * s.TK,
    elementsText: 'B*H*T',
    bindings: [rd('k', kv(s.TK, s.DK)), rd('v', kv(s.TK, s.DV)), rd('pos', s.B), wr('k_cache', s.B * s.H * slots * s.DK), wr('v_cache', s.B * s.H * slots * s.DV)],
    consts: [['T', s.TK], ['H', s.H], ['DK', s.DK], ['DV', s.DV], ['SLOTS', slots]],
    body: (b) => {
      b.line(rolledBound('DK'));
      b.line(rolledBound('DV'));
      b.line('// element = (b, h, t), t fastest');
      b.line('let i_t = i_el % T;');
      b.line('let i_h = (i_el / T) % H;');
      b.line('let i_b = i_el / (T * H);');
      b.line('let i_pos = u32(pos[i_b]) + i_t;');
      if (ring) {
        if (s.TK > slots) b.line('if (i_t + SLOTS < T) { return; } // a later token of the window takes this slot');
        b.line('let i_slot = i_pos % SLOTS;');
      } else {
        b.line('if (i_pos >= SLOTS) { return; } // refused before dispatch (LOOM5010); never written out of bounds');
        b.line('let i_slot = i_pos;');
      }
      b.line('let o_slot = (i_b * H + i_h) * SLOTS + i_slot;');
      b.line('let o_tok = (i_b * T + i_t) * H + i_h;');
      b.block('for (var d = 0u; d < n_DK; d++)', () => b.line('k_cache[o_slot * DK + d] = k[o_tok * DK + d];'));
      b.block('for (var d = 0u; d < n_DV; d++)', () => b.line('v_cache[o_slot * DV + d] = v[o_tok * DV + d];'));
    },
  });
}
