/**
 * SOFT kernels (Lu et al. 2021), per batch b and head h, with s = scale and the Gaussian kernel
 * G(a, c) = exp(-||s a - s c||^2 / 2):
 *
 *   landmarks  L_r = mean of q over segment r = [floor(r T/m), floor((r+1) T/m))      [m, D]
 *   gram       A = G(L, L)                                                            [m, m]
 *   pinv       P = Newton-Schulz: V_0 = A / (||A||_1 ||A||_inf), V <- V (2I - A V)     [m, m]
 *   kv         Z = G(L, K) V                                                          [m, Dv]
 *   py         Y = P Z                                                                [m, Dv]
 *   out        o_i = sum_r G(q_i, L_r) Y_r                                            [T, Dv]
 *
 * The pseudo-inverse runs in one invocation per (b, h), all iterations in a row over its own
 * scratch in global memory (m is small: the landmarks); everything else is one invocation per
 * output element, barrier-free.
 */
import { flatDispatch, flatIndex, needsGuard } from '../../codegen/kernels/elementwise.ts';
import { input as rd, output as wr, type Kernel, type KernelBinding } from '../../codegen/kernel.ts';
import { buildKernel, type WgslBuilder, rolledBound } from '../../codegen/wgsl.ts';

export interface SoftShape {
  B: number;
  T: number;
  H: number;
  D: number;
  /** Landmarks m. */
  M: number;
  iterations: number;
  scale: number;
}

const WG = 64;

/** Common frame: flat thread index over `items`, guard, the shape constants. */
function frame(name: string, s: SoftShape, summary: string, items: number, text: string, bindings: KernelBinding[], body: (b: WgslBuilder) => void, extra: [string, number][] = []): Kernel {
  const { dispatch, formula } = flatDispatch(items, WG, text);
  const index = flatIndex(dispatch, 'gid', WG);
  return buildKernel({
    name,
    summary,
    bindings,
    consts: [['T', s.T], ['H', s.H], ['D', s.D], ['M', s.M], ...extra, ['THREADS', items], ...index.consts],
    fconsts: [['SCALE', s.scale]],
    workgroupSize: [WG, 1, 1],
    dispatch,
    dispatchFormula: formula,
    body: (b) => {
      b.line(`let i_thread = ${index.expr};`);
      if (needsGuard(dispatch, WG, items)) b.line('if (i_thread >= THREADS) { return; }');
      b.line(rolledBound('D'));
      body(b);
    },
  });
}

/** `exp(-SCALE^2 ||a - c||^2 / 2)` over D, with a and c read by the given index expressions. */
function gaussian(b: WgslBuilder, out: string, a: (d: string) => string, c: (d: string) => string): void {
  b.line(`var ${out} = 0.0;`);
  b.block('for (var d = 0u; d < n_D; d++)', () => {
    b.line(`let b_diff = ${a('d')} - ${c('d')};`);
    b.line(`${out} += b_diff * b_diff;`);
  });
  b.line(`${out} = exp(-0.5 * SCALE * SCALE * ${out});`);
}

const qkv = (s: SoftShape) => s.B * s.T * s.H * s.D;
const lm = (s: SoftShape) => s.B * s.H * s.M * s.D;
const mm = (s: SoftShape) => s.B * s.H * s.M * s.M;

export function landmarksKernel(name: string, s: SoftShape): Kernel {
  return frame(name, s, 'L[b,h,r] = mean of q[b, t, h] over segment r = [floor(rT/M), floor((r+1)T/M))', lm(s), 'B*H*M*D', [rd('q', qkv(s)), wr('lmk', lm(s))], (b) => {
    b.line('let i_d = i_thread % D;');
    b.line('let i_r = (i_thread / D) % M;');
    b.line('let i_h = (i_thread / (D * M)) % H;');
    b.line('let i_b = i_thread / (D * M * H);');
    b.line('let i_start = (i_r * T) / M;');
    b.line('let i_end = ((i_r + 1u) * T) / M;');
    b.line('var b_sum = 0.0;');
    b.block('for (var t = i_start; t < i_end; t++)', () => b.line('b_sum += q[((i_b * T + t) * H + i_h) * D + i_d];'));
    b.line('lmk[i_thread] = b_sum / f32(i_end - i_start);');
  });
}

export function gramKernel(name: string, s: SoftShape): Kernel {
  return frame(name, s, 'A[b,h,r,c] = G(L_r, L_c)', mm(s), 'B*H*M*M', [rd('lmk', lm(s)), wr('gram', mm(s))], (b) => {
    b.line('let i_c = i_thread % M;');
    b.line('let i_r = (i_thread / M) % M;');
    b.line('let o_bh = (i_thread / (M * M)) * M * D;');
    gaussian(b, 'b_g', (d) => `lmk[o_bh + i_r * D + ${d}]`, (d) => `lmk[o_bh + i_c * D + ${d}]`);
    b.line('gram[i_thread] = b_g;');
  });
}

/**
 * Newton-Schulz for pinv(A): V_0 = A^T / (||A||_1 ||A||_inf) (A is symmetric), then
 * `iterations` times W = A V, V = 2V - V W (W and the next V in `scratch`, then copied back).
 */
export function pinvKernel(name: string, s: SoftShape): Kernel {
  const items = s.B * s.H;
  return frame(name, s, `P = pinv(A) by ${s.iterations} Newton-Schulz iterations V <- V (2I - A V), one invocation per (b, h)`, items, 'B*H', [rd('gram', mm(s)), wr('pinv', mm(s)), wr('scratch', 2 * mm(s))], (b) => {
    b.line(rolledBound('M'));
    b.line('let o_a = i_thread * M * M;');
    b.line('let o_w = 2u * i_thread * M * M;');
    b.line('// ||A||_1 = ||A||_inf for symmetric A: the largest absolute row sum.');
    b.line('var b_norm = 0.0;');
    b.block('for (var r = 0u; r < n_M; r++)', () => {
      b.line('var b_row = 0.0;');
      b.block('for (var c = 0u; c < n_M; c++)', () => b.line('b_row += abs(gram[o_a + r * M + c]);'));
      b.line('b_norm = max(b_norm, b_row);');
    });
    b.block('for (var e = 0u; e < n_M * n_M; e++)', () => b.line('pinv[o_a + e] = gram[o_a + e] / (b_norm * b_norm);'));
    b.block('for (var it = 0u; it < ITERATIONS; it++)', () => {
      b.line('// W = A V into scratch[0..M*M), then V_next = 2V - V W into scratch[M*M..] and back.');
      b.block('for (var r = 0u; r < n_M; r++)', () =>
        b.block('for (var c = 0u; c < n_M; c++)', () => {
          b.line('var b_acc = 0.0;');
          b.block('for (var k = 0u; k < n_M; k++)', () => b.line('b_acc += gram[o_a + r * M + k] * pinv[o_a + k * M + c];'));
          b.line('scratch[o_w + r * M + c] = b_acc;');
        }),
      );
      b.block('for (var r = 0u; r < n_M; r++)', () =>
        b.block('for (var c = 0u; c < n_M; c++)', () => {
          b.line('var b_acc = 0.0;');
          b.block('for (var k = 0u; k < n_M; k++)', () => b.line('b_acc += pinv[o_a + r * M + k] * scratch[o_w + k * M + c];'));
          b.line('scratch[o_w + M * M + r * M + c] = 2.0 * pinv[o_a + r * M + c] - b_acc;');
        }),
      );
      b.block('for (var e = 0u; e < n_M * n_M; e++)', () => b.line('pinv[o_a + e] = scratch[o_w + M * M + e];'));
    });
  }, [['ITERATIONS', s.iterations]]);
}

export function kvKernel(name: string, s: SoftShape): Kernel {
  return frame(name, s, 'Z[b,h,r,c] = sum_t G(L_r, k_t) v[t, c]', lm(s), 'B*H*M*D', [rd('lmk', lm(s)), rd('k', qkv(s)), rd('v', qkv(s)), wr('z', lm(s))], (b) => {
    b.line('let i_c = i_thread % D;');
    b.line('let i_r = (i_thread / D) % M;');
    b.line('let i_h = (i_thread / (D * M)) % H;');
    b.line('let i_b = i_thread / (D * M * H);');
    b.line('let o_l = ((i_b * H + i_h) * M + i_r) * D;');
    b.line(rolledBound('T'));
    b.line('var b_z = 0.0;');
    b.block('for (var t = 0u; t < n_T; t++)', () => {
      b.line('let o_t = ((i_b * T + t) * H + i_h) * D;');
      gaussian(b, 'b_g', (d) => `lmk[o_l + ${d}]`, (d) => `k[o_t + ${d}]`);
      b.line('b_z += b_g * v[o_t + i_c];');
    });
    b.line('z[i_thread] = b_z;');
  });
}

export function pyKernel(name: string, s: SoftShape): Kernel {
  return frame(name, s, 'Y[b,h,r,c] = sum_j P[b,h,r,j] Z[b,h,j,c]', lm(s), 'B*H*M*D', [rd('pinv', mm(s)), rd('z', lm(s)), wr('y', lm(s))], (b) => {
    b.line(rolledBound('M'));
    b.line('let i_c = i_thread % D;');
    b.line('let i_r = (i_thread / D) % M;');
    b.line('let i_bh = i_thread / (D * M);');
    b.line('var b_y = 0.0;');
    b.block('for (var j = 0u; j < n_M; j++)', () => b.line('b_y += pinv[(i_bh * M + i_r) * M + j] * z[(i_bh * M + j) * D + i_c];'));
    b.line('y[i_thread] = b_y;');
  });
}

export function outKernel(name: string, s: SoftShape): Kernel {
  return frame(name, s, 'o[b,t,h,c] = sum_r G(q_t, L_r) Y[b,h,r,c]', qkv(s), 'B*T*H*D', [rd('q', qkv(s)), rd('lmk', lm(s)), rd('y', lm(s)), wr('o', qkv(s))], (b) => {
    b.line(rolledBound('M'));
    b.line('let i_c = i_thread % D;');
    b.line('let i_h = (i_thread / D) % H;');
    b.line('let i_b = i_thread / (D * H * T);');
    b.line('let o_q = i_thread - i_c;');
    b.line('var b_o = 0.0;');
    b.block('for (var r = 0u; r < n_M; r++)', () => {
      b.line('let o_l = ((i_b * H + i_h) * M + r) * D;');
      gaussian(b, 'b_g', (d) => `q[o_q + ${d}]`, (d) => `lmk[o_l + ${d}]`);
      b.line('b_o += b_g * y[o_l + i_c];');
    });
    b.line('o[i_thread] = b_o;');
  });
}
