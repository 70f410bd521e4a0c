/**
 * The workgroup-memory variant of the chunkwise schedule (for GPUs): tile sizes, the workgroup
 * grid and what the variant needs of a device. The kernels are wg-state.ts (chunk_h_wg) and
 * wg-output.ts (chunk_o_wg); the register variant (state.ts, output.ts) is barrier-free and is
 * what CPU adapters run.
 *
 * Tiles are sized for WG_TILE_BYTES, the workgroup memory every WebGPU device guarantees, so the
 * generated WGSL does not depend on the adapter; a device reporting less is refused.
 */
import { ceilDiv, rolledBound, type WgslBuilder } from '../../../codegen/wgsl.ts';
import { DEFAULT_LIMITS, type DeviceLimits } from '../../../plan/device.ts';
import { hasGate, valueWidth, type AdditiveShape } from './common.ts';
import type { Chunking } from './state.ts';

/** The chunkwise kernels' variants: `register` (barrier-free, CPU adapters) or `workgroup` (tiles in workgroup memory, GPUs). */
export type ChunkVariant = 'register' | 'workgroup';

/** Workgroup memory the tiles are sized for (16 KiB: WebGPU's guaranteed minimum). */
export const WG_TILE_BYTES = DEFAULT_LIMITS.maxComputeWorkgroupStorageSize;

/** Largest tile extent along K (state rows) and along the chunk's tokens. */
const MAX_TILE = 32;
/** Value columns one chunk_o_wg invocation accumulates (registers), like the register variant's slice. */
const OUT_COLUMNS = 64;
/** Invocations of a chunk_h_wg workgroup (rows x column groups of the state). */
const STATE_INVOCATIONS = 64;
/** Value columns one chunk_h_wg workgroup covers. */
const STATE_COLUMNS = 16;

/**
 * chunk_o_wg: a workgroup per (b, h, chunk, value tile), one invocation per token of the chunk.
 * K is walked in tiles of BK rows; v in slabs of BS tokens.
 */
export interface OutputTiles {
  /** Value column groups (registers of VW columns) per value tile, and value tiles per chunk. */
  BG: number;
  NVT: number;
  /** Floats of one value tile's row (BG * VW). */
  BV: number;
  BK: number;
  NKT: number;
  BS: number;
  NSL: number;
  /** Floats of workgroup memory. */
  floats: number;
}

/** chunk_h_wg: a workgroup per (b, h, row tile, column tile), one invocation per (row, column group). */
export interface StateTiles {
  /** Rows and column groups per tile; the workgroup has BR * BCG invocations. */
  BR: number;
  BCG: number;
  NRT: number;
  NCT: number;
  /** Floats of one tile row (BCG * VW). */
  BCV: number;
  /** Tokens loaded per slab. */
  BT: number;
  NSL: number;
  floats: number;
}

function outputFloats(s: AdditiveShape, C: number, BK: number, BV: number, BS: number): number {
  const gates = s.decay.kind === 'vector' ? C * BK : s.decay.kind === 'scalar' ? C : 0;
  return C * BK + gates + BK * BV + (s.normalize ? BK : 0) + BS * BV;
}

/** Halvings of n (rounded up) down to 1: 32, 16, 8, ... */
function halvings(n: number): number[] {
  const out = [n];
  while (out[out.length - 1] > 1) out.push(Math.ceil(out[out.length - 1] / 2));
  return out;
}

/** The largest K tile (then token slab) whose arrays fit WG_TILE_BYTES, or null. Pure. */
export function outputTiles(s: AdditiveShape, C: number): OutputTiles | null {
  const VW = valueWidth(s.V);
  const VG = s.V / VW;
  const BG = Math.min(VG, OUT_COLUMNS / VW);
  const BV = BG * VW;
  for (const BK of halvings(Math.min(s.K, MAX_TILE))) {
    for (const BS of halvings(Math.min(C, MAX_TILE))) {
      const floats = outputFloats(s, C, BK, BV, BS);
      if (floats * 4 <= WG_TILE_BYTES) return { BG, NVT: ceilDiv(VG, BG), BV, BK, NKT: ceilDiv(s.K, BK), BS, NSL: ceilDiv(C, BS), floats };
    }
  }
  return null;
}

/** Tiles of the state walk: STATE_COLUMNS columns by as many rows as make 64 invocations. Pure. */
export function stateTiles(s: AdditiveShape, C: number): StateTiles {
  const VW = valueWidth(s.V);
  const VG = s.V / VW;
  const BCG = Math.min(VG, Math.max(1, STATE_COLUMNS / VW));
  const BR = Math.min(s.K, Math.floor(STATE_INVOCATIONS / BCG));
  const BT = Math.min(C, MAX_TILE);
  const gates = s.decay.kind === 'vector' ? BT * BR : s.decay.kind === 'scalar' ? BT : 0;
  return { BR, BCG, NRT: ceilDiv(s.K, BR), NCT: ceilDiv(VG, BCG), BCV: BCG * VW, BT, NSL: ceilDiv(C, BT), floats: BT * (BR + BCG * VW) + gates };
}

/** Workgroups of chunk_o_wg and chunk_h_wg. */
export function wgGroups(s: AdditiveShape, chunks: Chunking): { output: number; state: number } {
  const o = outputTiles(s, chunks.C);
  const h = stateTiles(s, chunks.C);
  return { output: s.B * s.H * chunks.NC * (o ? o.NVT : 1), state: s.B * s.H * h.NRT * h.NCT };
}

/** Bytes of private arrays of one chunk_o_wg invocation: its scores over the chunk, output columns, q and (vector) log-gate tiles. */
export function wgPrivateBytes(s: AdditiveShape, C: number): number {
  const t = outputTiles(s, C);
  const BK = t ? t.BK : Math.min(s.K, MAX_TILE);
  return 4 * (C + (t ? t.BV : OUT_COLUMNS) + BK * (s.decay.kind === 'vector' ? 2 : 1));
}

/** Why the workgroup variant cannot run chunkwise(C) with this shape on this device, or null. Pure. */
export function wgProblem(s: AdditiveShape, C: number, limits: DeviceLimits, maxPrivateBytes: number): string | null {
  const maxWg = Math.min(limits.maxComputeInvocationsPerWorkgroup, limits.maxComputeWorkgroupSizeX);
  if (C > maxWg) return `chunk ${C}: the workgroup variant runs one invocation per token of a chunk, the device allows ${maxWg} per workgroup`;
  const o = outputTiles(s, C);
  if (!o) return `chunk ${C}: no K tile of the chunk's keys${hasGate(s) ? ', gates' : ''} and state fits ${WG_TILE_BYTES} bytes of workgroup memory`;
  const h = stateTiles(s, C);
  const bytes = Math.max(o.floats, h.floats) * 4;
  if (bytes > limits.maxComputeWorkgroupStorageSize) return `tiles need ${bytes} bytes of workgroup memory, the device allows ${limits.maxComputeWorkgroupStorageSize}`;
  const priv = wgPrivateBytes(s, C);
  if (priv > maxPrivateBytes) return `chunk ${C}: each invocation keeps its ${C} scores and output columns in ${priv} bytes of private arrays, over WGSL's ${maxPrivateBytes} per function`;
  const groups = wgGroups(s, { C, NC: ceilDiv(s.T, C) });
  const most = Math.max(groups.output, groups.state);
  if (most > limits.maxComputeWorkgroupsPerDimension ** 2) return `${most} workgroups, more than ${limits.maxComputeWorkgroupsPerDimension ** 2} even folded into 2D`;
  return null;
}

/** A grid of n workgroups, folded into (x, y) past the per-dimension limit. */
export interface WgGrid {
  dispatch: [number, number, number];
  consts: [string, number][];
  folded: boolean;
}

export function wgGrid(n: number, maxGroupsPerDim: number): WgGrid {
  if (n <= maxGroupsPerDim) return { dispatch: [n, 1, 1], consts: [], folded: false };
  const y = ceilDiv(n, maxGroupsPerDim);
  const x = ceilDiv(n, y);
  return { dispatch: [x, y, 1], consts: [['NWG', n], ['GRID_X', x]], folded: true };
}

/**
 * `let i_wg = ...;` (the workgroup's index; past NWG a folded grid's spare workgroups return, a
 * uniform exit before any barrier) and `let n_<X> = ...;` loop bounds: constants the GPU compiler
 * may unroll (unrollK), else bounds it cannot fold (wid.z is always 0; workgroup-uniform, so loops
 * holding barriers may use them) -- lavapipe's LLVM unrolls constant nests into slow compiles.
 */
export function emitWgIndex(b: WgslBuilder, folded: boolean, unroll: boolean, bounds: string[]): void {
  if (folded) {
    b.line('let i_wg = wid.y * GRID_X + wid.x;');
    b.line('if (i_wg >= NWG) { return; }');
  } else {
    b.line('let i_wg = wid.x;');
  }
  for (const n of bounds) b.line(unroll ? `let n_${n} = ${n};` : rolledBound(n, 'wid'));
}

