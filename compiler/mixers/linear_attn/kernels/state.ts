/**
 * State-sum kernels shared by the parallel and chunkwise schedules. One invocation per
 * (b, h, i, value column group): S[i, cols] = s0[i, cols] + sum_t k~_t[i] v_t[cols], with
 * z[i] = z0[i] + sum_t k~_t[i] alongside (written by the column-group-0 invocation).
 * Chunked, it also writes the state before each chunk n: h[b, h, n, i, cols] and hz[b, h, n, i].
 * With decay the walk is the recurrence itself, S_t[i] = exp(g_t[i]) S_{t-1}[i] + k~_t[i] v_t:
 * every factor is <= 1, so no cumulative gate (and no exp of one) is ever formed. Over chunk n
 * this is h_{n+1} = exp(G_last) h_n + sum_t exp(G_last - G_t) k~_t v_t^T (docs/mixers.md).
 */
import type { Kernel } from '../../../codegen/kernel.ts';
import { buildKernel, type WgslBuilder } from '../../../codegen/wgsl.ts';
import {
  decayDecls,
  emitFixedGate,
  emitThreadIndex,
  featureHelpers,
  gateArgs,
  gateAt,
  gateBindings,
  input,
  loadValue,
  output,
  phi,
  shapeConsts,
  storeValue,
  threadGrid,
  valueWidth,
  WG,
  type Grid,
  type LaBuffers,
  type AdditiveShape,
  type LaShape,
} from './common.ts';

/** Chunking of T: C tokens per chunk, NC = ceil(T / C) chunks (the last may be partial). */
export interface Chunking {
  C: number;
  NC: number;
}

/** Invocations of a state kernel: B*H*K*VG. */
export function stateThreads(s: LaShape): number {
  return (s.B * s.H * s.K * s.V) / valueWidth(s.V);
}

function emitAccumulate(b: WgslBuilder, s: AdditiveShape, from: string, to: string): void {
  b.block(`for (var i_t = ${from}; i_t < ${to}; i_t++)`, () => {
    b.line('let o_tok = (i_b * T + i_t) * H + i_h;');
    b.line('let o_v = o_tok * V + o_col;');
    b.line(`let b_k = ${phi(s, 'k[o_tok * K + i_i]')};`);
    const kv = `b_k * ${loadValue(s, 'v', 'o_v')}`;
    if (s.decay.kind === 'none') {
      b.line(`b_s += ${kv};`);
      if (s.normalize) b.line('b_z += b_k;');
      return;
    }
    if (s.decay.kind !== 'fixed') b.line(`let b_d = exp(${gateAt(s, 'o_tok', 'i_i')});`);
    b.line(`b_s = b_d * b_s + ${kv};`);
    if (s.normalize) b.line('b_z = b_d * b_z + b_k;');
  });
}

function emitChunkWalk(b: WgslBuilder, s: AdditiveShape): void {
  b.block('for (var i_n = 0u; i_n < NC; i_n++)', () => {
    b.line('// h_n = the state before chunk n');
    b.line('let o_hrow = (i_bh * NC + i_n) * K + i_i;');
    b.line('let o_h = o_hrow * V + o_col;');
    storeValue(b, s, 'h', 'o_h', 'b_s');
    if (s.normalize) b.line('if (i_g == 0u) { hz[o_hrow] = b_z; }');
    emitAccumulate(b, s, 'i_n * C', 'min(i_n * C + C, T)');
  });
}

function emitBody(b: WgslBuilder, s: AdditiveShape, grid: Grid, chunks: Chunking | null): void {
  emitThreadIndex(b, grid);
  b.line('// invocation = (b, h, i, column group g)');
  b.line('let i_g = i_thread % VG;');
  b.line('let i_bhi = i_thread / VG;');
  b.line('let i_i = i_bhi % K;');
  b.line('let i_bh = i_bhi / K;');
  b.line('let i_b = i_bh / H;');
  b.line('let i_h = i_bh % H;');
  b.line('let o_col = i_g * VW;');
  b.line('let o_state = i_bhi * V + o_col;');
  emitFixedGate(b, s);
  if (s.decay.kind === 'fixed') b.line('let b_d = exp(b_lam);');
  b.line(`var b_s = ${loadValue(s, 's0', 'o_state')};`);
  if (s.normalize) b.line('var b_z = z0[i_bhi];');
  if (chunks) emitChunkWalk(b, s);
  else emitAccumulate(b, s, '0u', 'T');
  storeValue(b, s, 'S', 'o_state', 'b_s');
  if (s.normalize) b.line('if (i_g == 0u) { z[i_bhi] = b_z; }');
}

function stateText(normalize: boolean): string {
  return normalize ? 'S = s0 + sum_t k~_t v_t^T, z = z0 + sum_t k~_t' : 'S = s0 + sum_t k~_t v_t^T';
}

/** State-kernel arguments in binding order: `k v [g] s0 [z0] [h [hz]] S [z]`. */
export function stateArgs(buf: LaBuffers, chunkBufs: { h: string; hz: string } | null): string[] {
  const zs = buf.z0 !== null && buf.z !== null ? { z0: buf.z0, z: buf.z } : null;
  const mid = chunkBufs ? [chunkBufs.h, ...(zs ? [chunkBufs.hz] : [])] : [];
  return [buf.k, buf.v, ...gateArgs(buf), buf.s0, ...(zs ? [zs.z0] : []), ...mid, buf.S, ...(zs ? [zs.z] : [])];
}

/** `parallel_state` (chunks = null) or `chunk_h` (chunks given, also writes h and hz). */
export function stateKernel(name: string, s: AdditiveShape, chunks: Chunking | null): Kernel {
  const { B, T, H, K, V } = s;
  const grid = threadGrid(stateThreads(s), 'B*H*K*VG', s.maxGroupsPerDim, s.unrollK);
  const bindings = [input('k', B * T * H * K), input('v', B * T * H * V), ...gateBindings(s), input('s0', B * H * K * V)];
  if (s.normalize) bindings.push(input('z0', B * H * K));
  if (chunks) {
    bindings.push(output('h', B * H * chunks.NC * K * V));
    if (s.normalize) bindings.push(output('hz', B * H * chunks.NC * K));
  }
  bindings.push(output('S', B * H * K * V));
  if (s.normalize) bindings.push(output('z', B * H * K));
  const what = s.decay.kind === 'none' ? stateText(s.normalize) : `S_t = D_t S_{t-1} + k~_t v_t^T${s.normalize ? ', z alike' : ''} (decay ${s.decay.kind})`;
  return buildKernel({
    name,
    summary: chunks ? `chunk states h_n = state before chunk n (C = ${chunks.C}), and final ${what}` : `final state ${what}`,
    bindings,
    consts: [...shapeConsts(s), ...(chunks ? ([['C', chunks.C], ['NC', chunks.NC]] as [string, number][]) : []), ...grid.consts],
    helpers: [...decayDecls(s), ...featureHelpers(s)],
    workgroupSize: [WG, 1, 1],
    dispatch: grid.dispatch,
    dispatchFormula: grid.formula,
    body: (b) => emitBody(b, s, grid, chunks),
  });
}
