/**
 * Per-head feature maps of the linear recurrence that carry weights or widen the key (FeatureMapKind
 * in ir/graph.ts, float64 definition in runtime/reference/feature-map.ts): taylor, rebased,
 * hedgehog, t2r.
 *
 * Barrier-free and register-friendly: one invocation per (token, head) row keeps the row's K inputs
 * in a private array and writes its K' outputs in order (quadratic maps walk the pairs i <= j).
 * No workgroup memory. Loops over K run to a bound the shader compiler cannot fold, so lavapipe
 * keeps them rolled (see the linear-attention kernels).
 */
import { LoomInternalError } from '../../../grammar/diagnostics.ts';
import { featureMapWeightShapes, featureMapWidth, numel, type FeatureMapKind } from '../../ir/graph.ts';
import type { Kernel, KernelBinding } from '../kernel.ts';
import { buildKernel, type WgslBuilder, rolledBound } from '../wgsl.ts';
import { flatDispatch, flatIndex, needsGuard } from './elementwise.ts';

/** Widest head (K) a feature map accepts: its private arrays stay within WGSL's 8 KiB per function. */
export const MAX_FEATURE_MAP_INPUT = 512;

/** Small, so that a few hundred rows still spread over several workgroups (CPU threads). */
const WG = 32;

export interface FeatureMapDims {
  name: string;
  /** Tokens B*T. */
  N: number;
  H: number;
  K: number;
  map: FeatureMapKind;
}

const WEIGHT_NAMES: Record<FeatureMapKind['kind'], string[]> = { taylor: [], rebased: ['gamma', 'beta'], hedgehog: ['w', 'bias'], t2r: ['w', 'bias'] };

function floatConsts(map: FeatureMapKind): [string, number][] {
  switch (map.kind) {
    case 'taylor':
      return [['SQRT_C', Math.sqrt(map.scale)], ['DIAG', map.scale / Math.SQRT2], ['OFF', map.scale]];
    case 'rebased':
      return [['DIAG', map.scale], ['OFF', Math.SQRT2 * map.scale], ...(map.norm ? ([['EPS', map.norm.eps]] as [string, number][]) : [])];
    default:
      return [];
  }
}

/** The symmetric half of x x^T (i <= j), written from `out[o_p]` on. */
function emitPairs(b: WgslBuilder): void {
  b.block('for (var i_i = 0u; i_i < n_K; i_i++)', () => {
    b.line('out[o_p] = DIAG * b_x[i_i] * b_x[i_i];');
    b.line('o_p++;');
    b.block('for (var i_j = i_i + 1u; i_j < n_K; i_j++)', () => {
      b.line('out[o_p] = OFF * b_x[i_i] * b_x[i_j];');
      b.line('o_p++;');
    });
  });
}

/** x = (x - mean) / sqrt(var + EPS) * gamma + beta over the row (biased variance). */
function emitLayerNorm(b: WgslBuilder): void {
  b.line('var b_mean = 0.0;');
  b.block('for (var i_i = 0u; i_i < n_K; i_i++)', () => b.line('b_mean += b_x[i_i];'));
  b.line('b_mean = b_mean / f32(K);');
  b.line('var b_var = 0.0;');
  b.block('for (var i_i = 0u; i_i < n_K; i_i++)', () => {
    b.line('let b_c = b_x[i_i] - b_mean;');
    b.line('b_var += b_c * b_c;');
  });
  b.line('let b_inv = inverseSqrt(b_var / f32(K) + EPS);');
  b.block('for (var i_i = 0u; i_i < n_K; i_i++)', () => b.line('b_x[i_i] = (b_x[i_i] - b_mean) * b_inv * gamma[i_i] + beta[i_i];'));
}

/** `b_y = x W_h + b_h` at column i_f (inside a loop over i_f < F). */
function emitAffine(b: WgslBuilder): void {
  b.line('var b_y = bias[i_h * F + i_f];');
  b.block('for (var i_i = 0u; i_i < n_K; i_i++)', () => b.line('b_y += b_x[i_i] * w[(i_h * K + i_i) * F + i_f];'));
}

function emitHedgehog(b: WgslBuilder): void {
  b.line('// y = x W_h + b_h; phi = softmax([y, -y]) over 2K, shifted by max |y|');
  b.line('var b_ys: array<f32, K>;');
  b.line('var b_m = 0.0;');
  b.block('for (var i_f = 0u; i_f < n_K; i_f++)', () => {
    emitAffine(b);
    b.line('b_ys[i_f] = b_y;');
    b.line('b_m = max(b_m, abs(b_y));');
  });
  b.line('var b_sum = 0.0;');
  b.block('for (var i_f = 0u; i_f < n_K; i_f++)', () => b.line('b_sum += exp(b_ys[i_f] - b_m) + exp(-b_ys[i_f] - b_m);'));
  b.line('let b_inv = 1.0 / b_sum;');
  b.block('for (var i_f = 0u; i_f < n_K; i_f++)', () => {
    b.line('out[o_out + i_f] = exp(b_ys[i_f] - b_m) * b_inv;');
    b.line('out[o_out + K + i_f] = exp(-b_ys[i_f] - b_m) * b_inv;');
  });
}

function emitMap(b: WgslBuilder, map: FeatureMapKind): void {
  switch (map.kind) {
    case 'taylor':
      b.line('// [1, sqrt(c) x, c x_i^2 / sqrt2, c x_i x_j (i < j)]');
      b.line('out[o_out] = 1.0;');
      b.block('for (var i_i = 0u; i_i < n_K; i_i++)', () => b.line('out[o_out + 1u + i_i] = SQRT_C * b_x[i_i];'));
      b.line('var o_p = o_out + 1u + K;');
      emitPairs(b);
      return;
    case 'rebased':
      if (map.norm) emitLayerNorm(b);
      b.line('// [c x_i^2, sqrt2 c x_i x_j (i < j)]');
      b.line('var o_p = o_out;');
      emitPairs(b);
      return;
    case 'hedgehog':
      emitHedgehog(b);
      return;
    case 't2r':
      b.line('// relu(x W_h + b_h)');
      b.block('for (var i_f = 0u; i_f < F; i_f++)', () => {
        emitAffine(b);
        b.line('out[o_out + i_f] = max(b_y, 0.0);');
      });
  }
}

/** `x f32[N*H*K], weights.. -> out f32[N*H*K']`, one invocation per (token, head). */
export function featureMapKernel(d: FeatureMapDims): Kernel {
  const { N, H, K, map } = d;
  for (const [what, v] of [['N', N], ['H', H], ['K', K]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new LoomInternalError('codegen', `${d.name}: ${what} = ${v} must be a positive integer`);
  }
  if (K > MAX_FEATURE_MAP_INPUT) throw new LoomInternalError('codegen', `${d.name}: K = ${K} > ${MAX_FEATURE_MAP_INPUT}`);
  const KP = featureMapWidth(map, K);
  const rows = N * H;
  const { dispatch, formula } = flatDispatch(rows, WG, 'N*H');
  const index = flatIndex(dispatch, 'gid', WG);
  const weights: KernelBinding[] = featureMapWeightShapes(map, H, K).map((shape, i) => ({ name: WEIGHT_NAMES[map.kind][i], access: 'read', elem: 'f32', elements: numel(shape) }));
  const F = map.kind === 'hedgehog' ? K : map.kind === 't2r' ? map.features : 0;
  return buildKernel({
    name: d.name,
    summary: `feature map ${map.kind} per head: x [N, H, K] -> phi(x) [N, H, KP]; one invocation per (token, head)`,
    bindings: [{ name: 'x', access: 'read', elem: 'f32', elements: rows * K }, ...weights, { name: 'out', access: 'read_write', elem: 'f32', elements: rows * KP }],
    consts: [['ROWS', rows], ['H', H], ['K', K], ['KP', KP], ...(F ? ([['F', F]] as [string, number][]) : []), ...index.consts],
    fconsts: floatConsts(map),
    workgroupSize: [WG, 1, 1],
    dispatch,
    dispatchFormula: formula,
    body: (b) => {
      b.line(`let i_row = ${index.expr};`);
      if (needsGuard(dispatch, WG, rows)) b.line('if (i_row >= ROWS) { return; }');
      if (F) b.line('let i_h = i_row % H;');
      b.line('let o_out = i_row * KP;');
      // A bound the compiler cannot fold (gid.z is always 0) keeps lavapipe from unrolling the K loops.
      b.line(rolledBound('K'));
      b.line('var b_x: array<f32, K>;');
      b.block('for (var i_i = 0u; i_i < n_K; i_i++)', () => b.line('b_x[i_i] = x[i_row * K + i_i];'));
      emitMap(b, map);
    },
  });
}
