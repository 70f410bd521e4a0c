/**
 * Pieces shared by the linear-attention kernel generators: the specialised shape, the thread
 * grid (folded into 2D past the per-dimension workgroup limit), the fused feature map, the
 * decay's log-gates, and value-column loads/stores that use vec4 registers when V is a multiple of 4.
 */
import { input, output, type KernelBinding } from '../../../codegen/kernel.ts';
import { ceilDiv, f32Lit, rolledBound, WGSL_HELPERS, type WgslBuilder } from '../../../codegen/wgsl.ts';
import type { Decay, FeatureMap } from '../../../ir/graph.ts';

/** Everything a kernel is specialised to. */
export interface LaShape {
  B: number;
  T: number;
  H: number;
  K: number;
  V: number;
  feature: FeatureMap;
  normalize: boolean;
  scale: number;
  eps: number;
  /** Largest workgroup count per dispatch dimension (65535 on every WebGPU device). */
  maxGroupsPerDim: number;
  /** Constant loop bounds over K (a GPU variant, planner's `unrollLoops`); else bounds the compiler cannot fold. */
  unrollK?: boolean;
}

/** The shape of the additive recurrence's kernels: LaShape plus the decay. */
export interface AdditiveShape extends LaShape {
  /** Decay of the state (log space, factor exp(g) with g <= 0); fixed carries one log-decay per head. */
  decay: Decay;
}

/** Buffers the schedule reads and writes (names chosen by the caller); z0, z non-null exactly when normalized. */
export interface LaBuffers {
  q: string;
  k: string;
  v: string;
  s0: string;
  z0: string | null;
  /** Log-gates `[B, T, H]` (scalar decay) or `[B, T, H, K]` (vector decay); null otherwise. */
  g: string | null;
  o: string;
  S: string;
  z: string | null;
}

/** Invocations per workgroup of every linear-attention kernel (1D). */
export const WG = 64;

/** Value columns one register holds: 4 (a vec4) when V is a multiple of 4, else 1. */
export function valueWidth(V: number): 1 | 4 {
  return V % 4 === 0 ? 4 : 1;
}

/** WGSL type of one value register. */
export function valueType(s: LaShape): string {
  return valueWidth(s.V) === 4 ? 'vec4<f32>' : 'f32';
}

/** Zero of the value register type. */
export function valueZero(s: LaShape): string {
  return valueWidth(s.V) === 4 ? 'vec4<f32>()' : '0.0';
}

/** Reads VW consecutive f32 starting at `off` as one value register. */
export function loadValue(s: LaShape, buf: string, off: string): string {
  if (valueWidth(s.V) === 1) return `${buf}[${off}]`;
  return `vec4<f32>(${buf}[${off}], ${buf}[${off} + 1u], ${buf}[${off} + 2u], ${buf}[${off} + 3u])`;
}

/** Writes the value register named `x` (an identifier) to VW consecutive f32 starting at `off`. */
export function storeValue(b: WgslBuilder, s: LaShape, buf: string, off: string, x: string): void {
  if (valueWidth(s.V) === 1) {
    b.line(`${buf}[${off}] = ${x};`);
    return;
  }
  ['x', 'y', 'z', 'w'].forEach((c, i) => b.line(`${buf}[${off}${i ? ` + ${i}u` : ''}] = ${x}.${c};`));
}

/** The feature map phi applied to a WGSL expression (only the chosen map is emitted). */
export function phi(s: LaShape, x: string): string {
  return s.feature === 'elu1' ? `elu1(${x})` : x;
}

/** Helper functions the feature map needs. */
export function featureHelpers(s: LaShape): string[] {
  return s.feature === 'elu1' ? [WGSL_HELPERS.elu1] : [];
}

/** Whether the decay reads a log-gate buffer g (data-dependent decay). */
export function hasGate(s: AdditiveShape): boolean {
  return s.decay.kind === 'scalar' || s.decay.kind === 'vector';
}

/** The log-gate input binding, when the decay has one. */
export function gateBindings(s: AdditiveShape): KernelBinding[] {
  if (s.decay.kind === 'scalar') return [input('g', s.B * s.T * s.H)];
  if (s.decay.kind === 'vector') return [input('g', s.B * s.T * s.H * s.K)];
  return [];
}

/** The gate buffer's name as a step argument, when the call binds one. */
export function gateArgs(buf: LaBuffers): string[] {
  return buf.g === null ? [] : [buf.g];
}

/** Module-scope declarations the decay needs: fixed decay's per-head `LOG_DECAY` table. */
export function decayDecls(s: AdditiveShape): string[] {
  if (s.decay.kind !== 'fixed') return [];
  return [`const LOG_DECAY = array<f32, H>(${s.decay.logDecay.map(f32Lit).join(', ')});`];
}

/** Fixed decay: `let b_lam = LOG_DECAY[i_h];` (the head's log-decay), emitted once per invocation. */
export function emitFixedGate(b: WgslBuilder, s: AdditiveShape): void {
  if (s.decay.kind === 'fixed') b.line('let b_lam = LOG_DECAY[i_h];');
}

/**
 * The log-gate of token `tok` (a WGSL expression for (b*T + t)*H + h) on state row `row`:
 * `b_lam` (fixed), `g[tok]` (scalar) or `g[tok * K + row]` (vector). Not for decay none.
 */
export function gateAt(s: AdditiveShape, tok: string, row: string): string {
  switch (s.decay.kind) {
    case 'fixed':
      return 'b_lam';
    case 'scalar':
      return `g[${tok}]`;
    case 'vector':
      return `g[${tok} * K + ${row}]`;
    case 'none':
      throw new Error('gateAt: decay none has no gate');
  }
}

/** The named sizes every kernel declares, in a fixed order. */
export function shapeConsts(s: LaShape): [string, number][] {
  return [
    ['B', s.B],
    ['T', s.T],
    ['H', s.H],
    ['K', s.K],
    ['V', s.V],
    ['VW', valueWidth(s.V)],
    ['VG', s.V / valueWidth(s.V)],
  ];
}

/** SCALE always; EPS only when the output is normalized. */
export function floatConsts(s: LaShape): [string, number][] {
  return s.normalize ? [['SCALE', s.scale], ['EPS', s.eps]] : [['SCALE', s.scale]];
}

/** A 1D thread grid of `n` invocations, folded into (x, y) when it needs too many workgroups. */
export interface Grid {
  n: number;
  dispatch: [number, number, number];
  formula: string;
  /** `N` and, when folded, `WG` and `GRID_X` (invocations per row = GRID_X * WG). */
  consts: [string, number][];
  folded: boolean;
  /** `n_K` is the constant K (unrollable) rather than a bound the compiler cannot fold. */
  unrollK: boolean;
}

export function threadGrid(n: number, what: string, maxGroupsPerDim: number, unrollK = false): Grid {
  const groups = ceilDiv(n, WG);
  if (groups <= maxGroupsPerDim) {
    return { n, dispatch: [groups, 1, 1], formula: `ceil(${what}/${WG})`, consts: [['N', n]], folded: false, unrollK };
  }
  const y = ceilDiv(groups, maxGroupsPerDim);
  const x = ceilDiv(groups, y);
  return {
    n,
    dispatch: [x, y, 1],
    formula: `ceil(${what}/${WG}) folded as GRID_X x ceil(groups/GRID_X)`,
    consts: [['N', n], ['WG', WG], ['GRID_X', x]],
    folded: true,
    unrollK,
  };
}

/** Workgroups a grid of n invocations needs in total (for supports()). */
export function groupsFor(n: number): number {
  return ceilDiv(n, WG);
}

/** `let i_thread = ...;` and the early return past N. */
export function emitThreadIndex(b: WgslBuilder, g: Grid): void {
  b.line(g.folded ? 'let i_thread = gid.y * (GRID_X * WG) + gid.x;' : 'let i_thread = gid.x;');
  b.line('if (i_thread >= N) { return; }');
  // On CPU adapters loops over K use a bound the shader compiler cannot fold (gid.z is always 0):
  // with a constant trip count, lavapipe's LLVM unrolls the nested K loops fully and one kernel
  // took 28 s to compile instead of 0.6 s. GPU compilers get the constant, so they can unroll and
  // keep the per-invocation arrays in registers.
  if (g.unrollK) b.line('let n_K = K;');
  else b.line(rolledBound('K'));
}

export { input, output };
