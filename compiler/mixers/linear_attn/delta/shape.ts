/**
 * Pieces shared by the delta-rule kernel generators: the specialised shape (the linear-attention
 * shape plus the decay), the log-space gate at a token (common.ts's gate helpers), and loads/stores of D consecutive
 * columns as one vec4 register when D is a multiple of 4.
 */
import type { WgslBuilder } from '../../../codegen/wgsl.ts';
import { decayDecls, emitFixedGate, emitThreadIndex, gateAt, phi, valueWidth, type AdditiveShape, type Grid } from '../kernels/common.ts';

/** Everything a delta kernel is specialised to: decay none, fixed, scalar or (recurrent only) vector; normalize always false. */
export type DeltaShape = AdditiveShape;

/** Buffers of a delta call (names chosen by the caller); g non-null iff decay is scalar. */
export interface DeltaBuffers {
  q: string;
  k: string;
  v: string;
  beta: string;
  g: string | null;
  s0: string;
  o: string;
  S: string;
}

/** WGSL type of a register holding `w` consecutive f32. */
export function vecType(w: 1 | 4): string {
  return w === 4 ? 'vec4<f32>' : 'f32';
}

export function vecZero(w: 1 | 4): string {
  return w === 4 ? 'vec4<f32>()' : '0.0';
}

/** Reads `w` consecutive f32 starting at `off`, each through `map` (e.g. the feature map). */
export function loadVec(w: 1 | 4, buf: string, off: string, map: (x: string) => string = (x) => x): string {
  if (w === 1) return map(`${buf}[${off}]`);
  const parts = [0, 1, 2, 3].map((i) => map(`${buf}[${off}${i ? ` + ${i}u` : ''}]`));
  return `vec4<f32>(${parts.join(', ')})`;
}

/** Writes the register `x` (an identifier) to `w` consecutive f32 starting at `off`. */
export function storeVec(b: WgslBuilder, w: 1 | 4, buf: string, off: string, x: string): void {
  if (w === 1) {
    b.line(`${buf}[${off}] = ${x};`);
    return;
  }
  ['x', 'y', 'z', 'w'].forEach((c, i) => b.line(`${buf}[${off}${i ? ` + ${i}u` : ''}] = ${x}.${c};`));
}

/** Value columns per register (VW) and key columns per register (KW). */
export function widths(s: DeltaShape): { VW: 1 | 4; KW: 1 | 4 } {
  return { VW: valueWidth(s.V), KW: valueWidth(s.K) };
}

/** k~ at a flat offset of k. */
export function kFeat(s: DeltaShape, off: string): string {
  return phi(s, `k[${off}]`);
}

/** Whether the state decays (vector decay only reaches the recurrent kernel: deltaSupports refuses it elsewhere). */
export function hasDecay(s: DeltaShape): boolean {
  return s.decay.kind !== 'none';
}

/** Per-invocation gate setup, after i_h is known: fixed decay reads its head's log-decay once. */
export const emitGateSetup = emitFixedGate;

/** Module-scope declarations the gate needs (fixed decay's LOG_DECAY table). */
export const gateHelpers = decayDecls;

/** The log-space gate g at token offset `tok` (= (b*T + t)*H + h); only called with a decay. */
export function gate(s: DeltaShape, tok: string): string {
  return gateAt(s, tok, '0u');
}

/** The sizes every delta kernel declares, in a fixed order; `cols` adds the column grouping it walks. */
export function deltaConsts(s: DeltaShape, cols: 'V' | 'K' | null): [string, number][] {
  const base: [string, number][] = [['B', s.B], ['T', s.T], ['H', s.H], ['K', s.K], ['V', s.V]];
  const { VW, KW } = widths(s);
  if (cols === 'V') base.push(['VW', VW], ['VG', s.V / VW]);
  if (cols === 'K') base.push(['KW', KW], ['KG', s.K / KW]);
  return base;
}

/**
 * Prologue of the kernels that own value columns g*VW .. g*VW+VW-1 of one (b, h) state: the
 * invocation's indices, its gate setup, and `state` (a private array of K rows) loaded from s0.
 */
export function emitColumnGroupState(b: WgslBuilder, s: DeltaShape, grid: Grid, state: string, comment: string): void {
  const { VW } = widths(s);
  emitThreadIndex(b, grid);
  b.line(`// invocation = (b, h, column group g)${comment}`);
  b.line('let i_g = i_thread % VG;');
  b.line('let i_bh = i_thread / VG;');
  b.line('let i_b = i_bh / H;');
  b.line('let i_h = i_bh % H;');
  b.line('let o_col = i_g * VW;');
  b.line('let o_state = i_bh * K * V + o_col;');
  emitGateSetup(b, s);
  b.line(`var ${state}: array<${vecType(VW)}, K>;`);
  b.block('for (var i_i = 0u; i_i < n_K; i_i++)', () => b.line(`${state}[i_i] = ${loadVec(VW, 's0', 'o_state + i_i * V')};`));
}
