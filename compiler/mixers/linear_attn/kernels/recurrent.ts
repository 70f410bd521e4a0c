/**
 * Recurrent schedule: the definition, one token after another. One invocation per
 * (b, h, value column group): it keeps its VW columns of S (K registers) and its own copy of z,
 * walks t = 0..T-1, and writes o_t for its columns; at the end it writes its columns of S (and
 * the group-0 invocation writes z). With decay, each step first scales row i of S (and z) by
 * exp(g): one factor per head (fixed, scalar) or per row (vector); factors <= 1, so the walk is
 * stable for any T. Barrier-free; O(T K V) work, T serial steps.
 */
import type { Kernel } from '../../../codegen/kernel.ts';
import type { Step } from '../../../codegen/program.ts';
import { buildKernel, type WgslBuilder } from '../../../codegen/wgsl.ts';
import {
  decayDecls,
  emitFixedGate,
  emitThreadIndex,
  featureHelpers,
  floatConsts,
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
  valueType,
  valueWidth,
  valueZero,
  WG,
  type Grid,
  type LaBuffers,
  type AdditiveShape,
  type LaShape,
} from './common.ts';

/** Invocations of the recurrent kernel: B*H*VG. */
export function recurrentThreads(s: LaShape): number {
  return (s.B * s.H * s.V) / valueWidth(s.V);
}

function emitLoadState(b: WgslBuilder, s: AdditiveShape): void {
  b.line(`var b_S: array<${valueType(s)}, K>;`);
  if (s.normalize) b.line('var b_z: array<f32, K>;');
  b.block('for (var i_i = 0u; i_i < n_K; i_i++)', () => {
    b.line('let o_row = o_state + i_i * V;');
    b.line(`b_S[i_i] = ${loadValue(s, 's0', 'o_row')};`);
    if (s.normalize) b.line('b_z[i_i] = z0[i_bh * K + i_i];');
  });
}

/** `x += b_k * y` without decay, `x = b_d * x + b_k * y` with it. */
function decayedAdd(s: AdditiveShape, x: string, y: string): string {
  return s.decay.kind === 'none' ? `${x} += ${y};` : `${x} = b_d * ${x} + ${y};`;
}

function emitTokenLoop(b: WgslBuilder, s: AdditiveShape): void {
  if (s.decay.kind === 'fixed') b.line('let b_d = exp(b_lam);');
  b.block('for (var i_t = 0u; i_t < T; i_t++)', () => {
    b.line('let o_tok = (i_b * T + i_t) * H + i_h;');
    b.line('let o_v = o_tok * V + o_col;');
    b.line(`let b_v = ${loadValue(s, 'v', 'o_v')};`);
    if (s.decay.kind === 'scalar') b.line(`let b_d = exp(${gateAt(s, 'o_tok', '')});`);
    b.line(`var b_num = ${valueZero(s)};`);
    if (s.normalize) b.line('var b_den = EPS;');
    b.block('for (var i_i = 0u; i_i < n_K; i_i++)', () => {
      b.line(`let b_k = ${phi(s, 'k[o_tok * K + i_i]')};`);
      b.line(`let b_q = SCALE * ${phi(s, 'q[o_tok * K + i_i]')};`);
      if (s.decay.kind === 'vector') b.line(`let b_d = exp(${gateAt(s, 'o_tok', 'i_i')});`);
      b.line(decayedAdd(s, 'b_S[i_i]', 'b_k * b_v'));
      b.line('b_num += b_q * b_S[i_i];');
      if (s.normalize) {
        b.line(decayedAdd(s, 'b_z[i_i]', 'b_k'));
        b.line('b_den += b_q * b_z[i_i];');
      }
    });
    if (s.normalize) b.line('let b_o = b_num / b_den;');
    storeValue(b, s, 'o', 'o_v', s.normalize ? 'b_o' : 'b_num');
  });
}

function emitBody(b: WgslBuilder, s: AdditiveShape, grid: Grid): void {
  emitThreadIndex(b, grid);
  b.line('// invocation = (b, h, column group g): columns g*VW .. g*VW+VW-1 of S');
  b.line('let i_g = i_thread % VG;');
  b.line('let i_bh = i_thread / VG;');
  b.line('let i_b = i_bh / H;');
  b.line('let i_h = i_bh % H;');
  b.line('let o_col = i_g * VW;');
  b.line('let o_state = i_bh * K * V + o_col;');
  emitFixedGate(b, s);
  emitLoadState(b, s);
  const D = s.decay.kind === 'none' ? '' : 'D_t ';
  b.line(`// S_t = ${D}S_{t-1} + k~_t v_t^T;  o_t = S_t^T (scale q~_t)` + (s.normalize ? ' / ((scale q~_t) . z_t + eps)' : ''));
  emitTokenLoop(b, s);
  b.block('for (var i_i = 0u; i_i < n_K; i_i++)', () => {
    b.line('let o_row = o_state + i_i * V;');
    b.line('let b_s = b_S[i_i];');
    storeValue(b, s, 'S', 'o_row', 'b_s');
  });
  if (s.normalize) {
    b.block('if (i_g == 0u)', () => {
      b.block('for (var i_i = 0u; i_i < n_K; i_i++)', () => b.line('z[i_bh * K + i_i] = b_z[i_i];'));
    });
  }
}

export function recurrentKernel(name: string, s: AdditiveShape): Kernel {
  const { B, T, H, K, V } = s;
  const grid = threadGrid(recurrentThreads(s), 'B*H*VG', s.maxGroupsPerDim, s.unrollK);
  const bindings = [input('q', B * T * H * K), input('k', B * T * H * K), input('v', B * T * H * V), ...gateBindings(s), input('s0', B * H * K * V)];
  if (s.normalize) bindings.push(input('z0', B * H * K));
  bindings.push(output('o', B * T * H * V), output('S', B * H * K * V));
  if (s.normalize) bindings.push(output('z', B * H * K));
  const D = s.decay.kind === 'none' ? '' : 'D_t ';
  return buildKernel({
    name,
    summary: `recurrent linear attention (phi = ${s.feature}${s.normalize ? ', normalized' : ''}, decay ${s.decay.kind}): o_t = S_t^T (scale q~_t), S_t = ${D}S_{t-1} + k~_t v_t^T`,
    bindings,
    consts: [...shapeConsts(s), ...grid.consts],
    fconsts: floatConsts(s),
    helpers: [...decayDecls(s), ...featureHelpers(s)],
    workgroupSize: [WG, 1, 1],
    dispatch: grid.dispatch,
    dispatchFormula: grid.formula,
    body: (b) => emitBody(b, s, grid),
  });
}

export function recurrentProgram(label: string, s: AdditiveShape, buf: LaBuffers): { buffers: []; steps: Step[] } {
  const z = s.normalize && buf.z0 !== null && buf.z !== null ? { z0: buf.z0, z: buf.z } : null;
  const args = [buf.q, buf.k, buf.v, ...gateArgs(buf), buf.s0, ...(z ? [z.z0] : []), buf.o, buf.S, ...(z ? [z.z] : [])];
  return { buffers: [], steps: [{ kernel: recurrentKernel(`${label}.recurrent`, s), args }] };
}
