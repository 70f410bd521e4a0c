/**
 * Pieces shared by the DPLR kernel generators: the shape a kernel is specialised to, the buffer
 * names of a call, the chunking, the named sizes and the layout of the two per-chunk buffers.
 *
 *   mats `[B, H, T, 4, C]`: for token t (row) and s in t's chunk (column s - chunk start), the
 *     matrices Aqk, Aqb (s <= t) and Aak, Aab (s < t), in that order; entries past t are never read.
 *   dec `[B, T, H, 4, K]`: the decayed vectors of token t: qg = scale q_t exp(G_t),
 *     ag = a_t exp(G_{t-1}), kd = k_t exp(G_last - G_t), bd = b_t exp(G_last - G_t).
 */
import { ceilDiv } from '../../../codegen/wgsl.ts';
import { valueWidth } from '../kernels/common.ts';

/** Everything a DPLR kernel is specialised to (a, b and gk are always read; no feature map). */
export interface DplrShape {
  B: number;
  T: number;
  H: number;
  K: number;
  V: number;
  /** Multiplies q (fla: K^-1/2). */
  scale: number;
  /** Largest workgroup count per dispatch dimension (65535 on every WebGPU device). */
  maxGroupsPerDim: number;
  unrollK?: boolean;
}

/** Buffer names of a call: q, k, a, b, gk `[B, T, H, K]`, v, o `[B, T, H, V]`, s0, S `[B, H, K, V]`. */
export interface DplrBuffers {
  q: string;
  k: string;
  v: string;
  a: string;
  b: string;
  gk: string;
  s0: string;
  o: string;
  S: string;
}

/** C tokens per chunk, NC = ceil(T / C) chunks (the last may be partial). */
export interface DplrChunking {
  C: number;
  NC: number;
}

export function dplrChunking(T: number, C: number): DplrChunking {
  return { C, NC: ceilDiv(T, C) };
}

/** Value (VW) and key (KW) columns per register: 4 (a vec4) when the width is a multiple of 4. */
export function widths(s: DplrShape): { VW: 1 | 4; KW: 1 | 4 } {
  return { VW: valueWidth(s.V), KW: valueWidth(s.K) };
}

/** The sizes every DPLR kernel declares; `cols` adds the column grouping it walks. */
export function dplrConsts(s: DplrShape, cols: 'V' | 'K' | null, ch?: DplrChunking): [string, number][] {
  const out: [string, number][] = [['B', s.B], ['T', s.T], ['H', s.H], ['K', s.K], ['V', s.V]];
  const { VW, KW } = widths(s);
  if (cols === 'V') out.push(['VW', VW], ['VG', s.V / VW]);
  if (cols === 'K') out.push(['KW', KW], ['KG', s.K / KW]);
  if (ch) out.push(['C', ch.C], ['NC', ch.NC]);
  return out;
}

/** Matrix index in `mats` and vector slot in `dec`. */
export const MAT = { qk: 0, qb: 1, ak: 2, ab: 3 } as const;
export const DEC = { qg: 0, ag: 1, kd: 2, bd: 3 } as const;

/** `mats` entry of matrix m at the row base `row` (= (bh*T + t)*4) and chunk column `col`. */
export function matAt(m: keyof typeof MAT, row: string, col: string): string {
  return `mats[(${row}${MAT[m] ? ` + ${MAT[m]}u` : ''}) * C + ${col}]`;
}

/** Offset of slot `slot` of `dec` at token offset `tok` (= (b*T + t)*H + h), key row `row`. */
export function decOff(slot: keyof typeof DEC, tok: string, row: string): string {
  return `(${tok} * 4u${DEC[slot] ? ` + ${DEC[slot]}u` : ''}) * K + ${row}`;
}
