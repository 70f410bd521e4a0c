/**
 * Float64 reference implementations of the dense graph ops: embedding lookup, matmul, RMSNorm and
 * pointwise expressions. Each is the definition written loop by loop, with no tiling or fusion,
 * so kernels can be checked against it. Every tensor is row-major; every result is a Float64Array.
 */
import type { EwExpr, EwFn } from '../../compiler/ir/graph.ts';

/**
 * Rows of `table [vocab, dim]` picked by `ids [N]`: `[N, dim]`.
 * Throws a RangeError naming the id and its position when an id is outside [0, vocab).
 */
export function embedRef(table: ArrayLike<number>, ids: ArrayLike<number>, vocab: number, dim: number): Float64Array {
  if (table.length !== vocab * dim) {
    throw new RangeError(`embedding table has ${table.length} values, expected vocab*dim = ${vocab}*${dim}`);
  }
  const out = new Float64Array(ids.length * dim);
  for (let n = 0; n < ids.length; n++) {
    const id = ids[n];
    if (!Number.isInteger(id) || id < 0 || id >= vocab) {
      throw new RangeError(`token id ${id} at position ${n} is outside [0, ${vocab})`);
    }
    for (let d = 0; d < dim; d++) out[n * dim + d] = table[id * dim + d];
  }
  return out;
}

/**
 * `x [M, K] · W`: `[M, N]`. W is `[K, N]`, or `[N, K]` when `transposeW` (then y = x · Wᵀ).
 */
export function matmulRef(
  x: ArrayLike<number>,
  w: ArrayLike<number>,
  M: number,
  K: number,
  N: number,
  transposeW: boolean,
): Float64Array {
  if (x.length !== M * K) throw new RangeError(`matmul x has ${x.length} values, expected M*K = ${M}*${K}`);
  if (w.length !== K * N) throw new RangeError(`matmul w has ${w.length} values, expected K*N = ${K}*${N}`);
  const out = new Float64Array(M * N);
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let acc = 0;
      for (let k = 0; k < K; k++) {
        const wkn = transposeW ? w[n * K + k] : w[k * N + n];
        acc += x[m * K + k] * wkn;
      }
      out[m * N + n] = acc;
    }
  }
  return out;
}

/** Per row of `x [M, D]`: `x * 1/sqrt(mean(x^2) + eps) * weight`, weight `[D]`. */
export function rmsnormRef(x: ArrayLike<number>, weight: ArrayLike<number>, M: number, D: number, eps: number): Float64Array {
  if (x.length !== M * D) throw new RangeError(`rmsnorm x has ${x.length} values, expected M*D = ${M}*${D}`);
  if (weight.length !== D) throw new RangeError(`rmsnorm weight has ${weight.length} values, expected D = ${D}`);
  const out = new Float64Array(M * D);
  for (let m = 0; m < M; m++) {
    let sumSq = 0;
    for (let d = 0; d < D; d++) sumSq += x[m * D + d] * x[m * D + d];
    const inv = 1 / Math.sqrt(sumSq / D + eps);
    for (let d = 0; d < D; d++) out[m * D + d] = x[m * D + d] * inv * weight[d];
  }
  return out;
}

/** Row-wise L2 normalisation: `x[m, :] / sqrt(sum(x[m, :]^2) + eps)`, rows of D. */
export function l2normRef(x: ArrayLike<number>, M: number, D: number, eps: number): Float64Array {
  if (x.length !== M * D) throw new RangeError(`l2norm input has ${x.length} values, expected ${M}x${D}`);
  const out = new Float64Array(M * D);
  for (let m = 0; m < M; m++) {
    let sumSq = 0;
    for (let d = 0; d < D; d++) sumSq += x[m * D + d] ** 2;
    const inv = 1 / Math.sqrt(sumSq + eps);
    for (let d = 0; d < D; d++) out[m * D + d] = x[m * D + d] * inv;
  }
  return out;
}

/** silu(x) = x * sigmoid(x) = x / (1 + e^-x). */
/** Row r of the concatenation `[tail; x]` along T for batch b, channel c (tail has P rows). */
function convRow(x: ArrayLike<number>, tail: ArrayLike<number>, b: number, r: number, c: number, T: number, P: number, C: number): number {
  return r < P ? tail[(b * P + r) * C + c] : x[(b * T + r - P) * C + c];
}

/**
 * Depthwise causal convolution along T: `y[b,t,c] = act(sum_i w[c,i] x[b, t-(W-1)+i, c])` over
 * x `[B,T,C]`, weight `[C,W]`, with rows before t = 0 taken from tail `[B,W-1,C]`.
 */
export function conv1dRef(x: ArrayLike<number>, weight: ArrayLike<number>, tail: ArrayLike<number>, B: number, T: number, C: number, W: number, activation: 'silu' | null): Float64Array {
  const out = new Float64Array(B * T * C);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      for (let c = 0; c < C; c++) {
        let acc = 0;
        for (let i = 0; i < W; i++) acc += weight[c * W + i] * convRow(x, tail, b, t + i, c, T, W - 1, C);
        out[(b * T + t) * C + c] = activation === 'silu' ? siluRef(acc) : acc;
      }
    }
  }
  return out;
}

/** The last P rows of `[tail; x]` along T: `[B, P, C]`. */
export function convTailRef(x: ArrayLike<number>, tail: ArrayLike<number>, B: number, T: number, C: number, P: number): Float64Array {
  const out = new Float64Array(B * P * C);
  for (let b = 0; b < B; b++) for (let j = 0; j < P; j++) for (let c = 0; c < C; c++) out[(b * P + j) * C + c] = convRow(x, tail, b, T + j, c, T, P, C);
  return out;
}

/** `x[b,t,h,:] / (pos[b] + t + 1)^sigmoid(m[h])` over x `[B, T, H*G]` (Cottention). */
export function lengthNormRef(x: ArrayLike<number>, pos: ArrayLike<number>, m: ArrayLike<number>, B: number, T: number, H: number, G: number): Float64Array {
  const out = new Float64Array(B * T * H * G);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      for (let h = 0; h < H; h++) {
        const p = Math.pow(pos[b] + t + 1, -1 / (1 + Math.exp(-m[h])));
        for (let j = 0; j < G; j++) {
          const i = ((b * T + t) * H + h) * G + j;
          out[i] = x[i] * p;
        }
      }
    }
  }
  return out;
}

/** `out[b,t,h,n] = a[b,t,h] * c[b,t,n]` with a missing factor = 1; M = B*T rows. */
export function outerRef(a: ArrayLike<number> | null, c: ArrayLike<number> | null, M: number, H: number, N: number): Float64Array {
  const out = new Float64Array(M * H * N);
  for (let r = 0; r < M; r++) {
    for (let h = 0; h < H; h++) {
      for (let n = 0; n < N; n++) out[(r * H + h) * N + n] = (a ? a[r * H + h] : 1) * (c ? c[r * N + n] : 1);
    }
  }
  return out;
}

/** `out[b,u,:] = x[b, T-1-u+shift, :]` over x `[B, T, C]`, zeros past the end. */
export function flipRef(x: ArrayLike<number>, B: number, T: number, C: number, shift: number): Float64Array {
  const out = new Float64Array(B * T * C);
  for (let b = 0; b < B; b++) {
    for (let u = 0; u < T; u++) {
      const t = T - 1 - u + shift;
      if (t >= T) continue;
      for (let c = 0; c < C; c++) out[(b * T + u) * C + c] = x[(b * T + t) * C + c];
    }
  }
  return out;
}

/** cosFormer re-weighting: per head `[x cos a, x sin a]`, a = pi/2 (pos[b] + t) / maxLen; x `[B, T, H*G]`. */
export function cosReweightRef(x: ArrayLike<number>, pos: ArrayLike<number>, B: number, T: number, H: number, G: number, maxLen: number): Float64Array {
  const out = new Float64Array(B * T * H * 2 * G);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const a = (Math.PI / 2) * ((pos[b] + t) / maxLen);
      for (let h = 0; h < H; h++) {
        for (let j = 0; j < G; j++) {
          const v = x[((b * T + t) * H + h) * G + j];
          const o = ((b * T + t) * H + h) * 2 * G;
          out[o + j] = v * Math.cos(a);
          out[o + G + j] = v * Math.sin(a);
        }
      }
    }
  }
  return out;
}

/** Selective RoPE angles in turns: fract(s0 + sum_{s<=t} x[b,s,g] theta^(-2i/D) / 2pi), x `[B, T, G]`. */
export function angleScanRef(x: ArrayLike<number>, s0: ArrayLike<number>, B: number, T: number, G: number, D: number, theta: number): Float64Array {
  const half = D / 2;
  const out = new Float64Array(B * T * G * half);
  for (let b = 0; b < B; b++) {
    for (let g = 0; g < G; g++) {
      for (let i = 0; i < half; i++) {
        const f = Math.pow(theta, (-2 * i) / D) / (2 * Math.PI);
        let acc = s0[(b * G + g) * half + i];
        for (let t = 0; t < T; t++) {
          acc += x[(b * T + t) * G + g] * f;
          acc -= Math.floor(acc);
          out[((b * T + t) * G + g) * half + i] = acc;
        }
      }
    }
  }
  return out;
}

/** Rotates pairs (i, i + D/2) of each D-group of x `[B, T, G*D]` by 2pi * angles `[B, T, G'*D/2]`. */
export function rotateRef(x: ArrayLike<number>, angles: ArrayLike<number>, B: number, T: number, width: number, D: number, angleWidth: number): Float64Array {
  const half = D / 2;
  const G = width / D;
  const share = G / (angleWidth / half);
  const y = new Float64Array(x.length);
  for (let r = 0; r < B * T; r++) {
    for (let g = 0; g < G; g++) {
      for (let i = 0; i < half; i++) {
        const a = 2 * Math.PI * angles[r * angleWidth + Math.floor(g / share) * half + i];
        const o = r * width + g * D + i;
        y[o] = x[o] * Math.cos(a) - x[o + half] * Math.sin(a);
        y[o + half] = x[o + half] * Math.cos(a) + x[o] * Math.sin(a);
      }
    }
  }
  return y;
}

/** `out[r, h] = sum_k a[r, h, k] c[r, h, k]` over rows r, H heads of `group`. */
export function headDotRef(a: ArrayLike<number>, c: ArrayLike<number>, rows: number, H: number, group: number): Float64Array {
  const out = new Float64Array(rows * H);
  for (let i = 0; i < rows * H; i++) {
    let s = 0;
    for (let k = 0; k < group; k++) s += a[i * group + k] * c[i * group + k];
    out[i] = s;
  }
  return out;
}

export function siluRef(x: number): number {
  return x / (1 + Math.exp(-x));
}

/** elu(x) + 1: x + 1 for x > 0, e^x otherwise. */
export function elu1Ref(x: number): number {
  return x > 0 ? x + 1 : Math.exp(x);
}

/** log(1 + e^x), without overflow for large x. */
export function softplusRef(x: number): number {
  return Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
}

function applyFn(fn: EwFn, args: readonly number[]): number {
  switch (fn) {
    case 'add':
      return args[0] + args[1];
    case 'mul':
      return args[0] * args[1];
    case 'silu':
      return siluRef(args[0]);
    case 'elu1':
      return elu1Ref(args[0]);
    case 'relu':
      return Math.max(args[0], 0);
    case 'sigmoid':
      return 1 / (1 + Math.exp(-args[0]));
    case 'exp':
      return Math.exp(args[0]);
    case 'softplus':
      return softplusRef(args[0]);
    case 'logsigmoid':
      return -softplusRef(-args[0]);
    case 'recip':
      return 1 / args[0];
  }
}

function evalAt(expr: EwExpr, inputs: readonly ArrayLike<number>[], i: number): number {
  switch (expr.kind) {
    case 'in': {
      const input = inputs[expr.index];
      return input[i % input.length];
    }
    case 'const':
      return expr.value;
    case 'fn':
      return applyFn(expr.fn, expr.args.map((a) => evalAt(a, inputs, i)));
  }
}

function checkExpr(expr: EwExpr, nInputs: number): void {
  if (expr.kind === 'in' && (expr.index < 0 || expr.index >= nInputs)) {
    throw new RangeError(`elementwise expression reads input ${expr.index}, but only ${nInputs} input(s) are given`);
  }
  if (expr.kind === 'fn') for (const a of expr.args) checkExpr(a, nInputs);
}

/** Evaluates `expr` at each of the `n` elements; a shorter input repeats (trailing-dim broadcast). */
export function elementwiseRef(expr: EwExpr, inputs: readonly ArrayLike<number>[], n: number): Float64Array {
  checkExpr(expr, inputs.length);
  inputs.forEach((inp, j) => {
    if (inp.length === 0 || n % inp.length !== 0) throw new RangeError(`elementwise input ${j} has ${inp.length} values, which does not broadcast to ${n}`);
  });
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = evalAt(expr, inputs, i);
  return out;
}
