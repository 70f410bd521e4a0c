/**
 * MoE kernels, all barrier-free, one invocation per output:
 *   route:      per token, the top-k experts of the router logits (ties: lowest index) and their
 *               weights, softmax over the k chosen logits (= the full softmax renormalised over k);
 *   expert_h:   per (token, slot, hidden unit), h = silu(x . Wg[e, :, n]) * (x . Wu[e, :, n]) for the
 *               slot's expert e;
 *   expert_out: per (token, channel), y = sum_slot w_slot * (h_slot . Wd[e_slot, :, d]).
 *
 * Experts are computed by gather, not densely: each token reads only the weights of its k
 * experts, so the work is k/E of a dense evaluation of every expert on every token, and one
 * invocation per (token, slot) needs no sorting of tokens by expert, no capacity and no dropped
 * tokens. (A GPU kernel would group tokens by expert to reuse weight tiles; on lavapipe the
 * per-token gather is the simple, cache-friendly choice, and its output does not depend on batching.)
 */
import { flatDispatch, flatIndex, needsGuard } from '../../codegen/kernels/elementwise.ts';
import { input as rd, output as wr, type Kernel, type KernelBinding } from '../../codegen/kernel.ts';
import { buildKernel, WGSL_HELPERS, rolledBound } from '../../codegen/wgsl.ts';

export interface MoeShape {
  /** Tokens B * T. */
  tokens: number;
  D: number;
  E: number;
  K: number;
  N: number;
}

const WG = 64;

/** Dispatch over `items` invocations with the flat index `i_thread` and its bounds guard. */
function grid(items: number, text: string) {
  const { dispatch, formula } = flatDispatch(items, WG, text);
  const index = flatIndex(dispatch, 'gid', WG);
  return { dispatch, formula, consts: index.consts, head: [`let i_thread = ${index.expr};`, ...(needsGuard(dispatch, WG, items) ? ['if (i_thread >= THREADS) { return; }'] : [])] };
}

export function routeKernel(name: string, s: MoeShape): Kernel {
  const g = grid(s.tokens, 'B*T');
  return buildKernel({
    name,
    summary: 'top-k experts of each token (ties: lowest index) and their weights softmax(logits of the k chosen)',
    bindings: [rd('logits', s.tokens * s.E), wr('sel', s.tokens * s.K, 'u32'), wr('weight', s.tokens * s.K)],
    consts: [['E', s.E], ['TOP_K', s.K], ['THREADS', s.tokens], ...g.consts],
    workgroupSize: [WG, 1, 1],
    dispatch: g.dispatch,
    dispatchFormula: g.formula,
    body: (b) => {
      for (const l of g.head) b.line(l);
      // A trip count the shader compiler cannot fold keeps the loops rolled (lavapipe compiles fast).
      b.line(rolledBound('E'));
      b.line('let o_logits = i_thread * E;');
      b.line('var m_taken: array<bool, E>;');
      b.line('var b_top: array<f32, TOP_K>;');
      b.block('for (var j = 0u; j < TOP_K; j++)', () => {
        b.line('var i_best = 0u;');
        b.line('var b_best = 0.0;');
        b.line('var m_found = false;');
        b.block('for (var e = 0u; e < n_E; e++)', () => {
          b.line('let l = logits[o_logits + e];');
          b.block('if (!m_taken[e] && (!m_found || l > b_best))', () => {
            b.line('i_best = e;');
            b.line('b_best = l;');
            b.line('m_found = true;');
          });
        });
        b.line('m_taken[i_best] = true;');
        b.line('b_top[j] = b_best;');
        b.line('sel[i_thread * TOP_K + j] = i_best;');
      });
      b.line('// The first choice holds the largest logit: subtract it before exp.');
      b.line('let b_max = b_top[0];');
      b.line('var b_sum = 0.0;');
      b.block('for (var j = 0u; j < TOP_K; j++)', () => {
        b.line('b_top[j] = exp(b_top[j] - b_max);');
        b.line('b_sum += b_top[j];');
      });
      b.block('for (var j = 0u; j < TOP_K; j++)', () => b.line('weight[i_thread * TOP_K + j] = b_top[j] / b_sum;'));
    },
  });
}

export function expertHiddenKernel(name: string, s: MoeShape): Kernel {
  const items = s.tokens * s.K * s.N;
  const g = grid(items, 'B*T*TOP_K*N');
  return buildKernel({
    name,
    summary: "h[t,j,n] = silu(x[t] . Wg[e,:,n]) * (x[t] . Wu[e,:,n]) for the token's j-th expert e",
    bindings: [rd('x', s.tokens * s.D), rd('sel', s.tokens * s.K, 'u32'), rd('w_gate', s.E * s.D * s.N), rd('w_up', s.E * s.D * s.N), wr('h', items)],
    consts: [['D', s.D], ['N', s.N], ['TOP_K', s.K], ['THREADS', items], ...g.consts],
    helpers: [WGSL_HELPERS.silu],
    workgroupSize: [WG, 1, 1],
    dispatch: g.dispatch,
    dispatchFormula: g.formula,
    body: (b) => {
      for (const l of g.head) b.line(l);
      b.line(rolledBound('D'));
      b.line('let i_n = i_thread % N;');
      b.line('let i_slot = i_thread / N;');
      b.line('let i_token = i_slot / TOP_K;');
      b.line('let o_w = sel[i_slot] * D * N + i_n;');
      b.line('let o_x = i_token * D;');
      b.line('var b_gate = 0.0;');
      b.line('var b_up = 0.0;');
      b.block('for (var d = 0u; d < n_D; d++)', () => {
        b.line('let x_d = x[o_x + d];');
        b.line('b_gate += x_d * w_gate[o_w + d * N];');
        b.line('b_up += x_d * w_up[o_w + d * N];');
      });
      b.line('h[i_thread] = silu(b_gate) * b_up;');
    },
  });
}

export function expertOutKernel(name: string, s: MoeShape): Kernel {
  const items = s.tokens * s.D;
  const g = grid(items, 'B*T*D');
  return buildKernel({
    name,
    summary: 'y[t,d] = sum_j weight[t,j] * (h[t,j] . Wd[e_j,:,d])',
    bindings: [rd('h', s.tokens * s.K * s.N), rd('sel', s.tokens * s.K, 'u32'), rd('weight', s.tokens * s.K), rd('w_down', s.E * s.N * s.D), wr('y', items)],
    consts: [['D', s.D], ['N', s.N], ['TOP_K', s.K], ['THREADS', items], ...g.consts],
    workgroupSize: [WG, 1, 1],
    dispatch: g.dispatch,
    dispatchFormula: g.formula,
    body: (b) => {
      for (const l of g.head) b.line(l);
      b.line(rolledBound('N'));
      b.line('let i_d = i_thread % D;');
      b.line('let i_token = i_thread / D;');
      b.line('var b_y = 0.0;');
      b.block('for (var j = 0u; j < TOP_K; j++)', () => {
        b.line('let i_slot = i_token * TOP_K + j;');
        b.line('let o_w = sel[i_slot] * N * D + i_d;');
        b.line('let o_h = i_slot * N;');
        b.line('var b_dot = 0.0;');
        b.block('for (var n = 0u; n < n_N; n++)', () => b.line('b_dot += h[o_h + n] * w_down[o_w + n * D];'));
        b.line('b_y += weight[i_slot] * b_dot;');
      });
      b.line('y[i_thread] = b_y;');
    },
  });
}
