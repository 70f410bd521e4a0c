/**
 * Matrix multiply `out[M, N] = x[M, K] · W`, with W stored `[K, N]` or, when `transposeW`,
 * `[N, K]` (a tied LM head reading the embedding table `[V, D]`).
 *
 * Three variants for two device classes (design/ARCHITECTURE.md, "Kernels on very different
 * devices"):
 * - `register4x4`: barrier-free; each invocation accumulates a 4x4 output tile in four vec4
 *   registers. Fastest on CPU adapters (lavapipe) and, measured, on an H200 too. Needs N % 4 == 0 for W [K, N] (whole vec4
 *   rows of W) or K % 4 == 0 for W [N, K] (vec4 dot products along K).
 * - `naive`: one invocation per output, any size.
 * - `workgroup16`: 16x16 output tiles staged through workgroup memory with barriers; any size
 *   (edges clamped and masked at generation time only where needed). Expected to win on GPUs,
 *   it ran at 0.4x register4x4 on an H200: a 16x16 tile with one output per invocation is too
 *   little work per barrier there. Second choice on GPUs.
 */
import { LoomInternalError } from '../../../grammar/diagnostics.ts';
import type { DeviceLimits } from '../../plan/device.ts';
import type { Kernel, KernelBinding } from '../kernel.ts';
import { buildKernel, ceilDiv, type WgslBuilder } from '../wgsl.ts';
import type { EwExpr } from '../../ir/graph.ts';
import { ewHelpers, flatDispatch, flatIndex, foldGrid, MAX_GROUPS_PER_DIM, needsGuard, renderEwExpr } from './elementwise.ts';

export type MatmulVariant = 'register4x4' | 'naive' | 'workgroup16';

export interface MatmulDims {
  M: number;
  K: number;
  N: number;
  transposeW: boolean;
  /** A pointwise epilogue applied before each store (fusion of a consumer; see MatmulEpilogue). */
  epilogue?: MatmulEpilogue;
}

/**
 * `out[i] = expr(acc, in1[i], ...)`: `$0` in the expression is the product, `$k` (k >= 1) reads
 * input buffer k, of `inputElements[k-1]` elements broadcast over the output (element i reads
 * `in_k[i % size]`). The expression is the consumer's elementwise tree (compiler/fuse/fuse.ts).
 */
export interface MatmulEpilogue {
  expr: EwExpr;
  inputElements: readonly number[];
}

/** The epilogue's helper function and the consts its broadcast inputs need. */
function epilogueParts(d: MatmulDims): { helpers: string[]; consts: [string, number][] } {
  const e = d.epilogue;
  if (!e) return { helpers: [], consts: [] };
  const total = d.M * d.N;
  const lets = e.inputElements.map((n, j) => `  let x${j + 1} = in${j + 1}[${n === total ? 'i' : `i % N${j + 1}`}];`);
  const fn = [`fn epilogue(i: u32, acc: f32) -> f32 {`, '  let x0 = acc;', ...lets, `  return ${renderEwExpr(e.expr)};`, '}'].join('\n');
  const consts = e.inputElements.flatMap((n, j): [string, number][] => (n === total ? [] : [[`N${j + 1}`, n]]));
  return { helpers: [...ewHelpers(e.expr), fn], consts };
}

/** The value stored at flat output index `i`: the accumulator, through the epilogue when there is one. */
function finish(d: MatmulDims, i: string, acc: string): string {
  return d.epilogue ? `epilogue(${i}, ${acc})` : acc;
}

const FLAT_WG = 64;
const TS = 16;

/** Workgroup shape and workgroup memory (bytes) of each variant. */
const SHAPE: Record<MatmulVariant, { wg: [number, number, number]; storage: number }> = {
  register4x4: { wg: [FLAT_WG, 1, 1], storage: 0 },
  naive: { wg: [FLAT_WG, 1, 1], storage: 0 },
  workgroup16: { wg: [TS, TS, 1], storage: 2 * TS * TS * 4 },
};

function checkDims(name: string, d: MatmulDims): void {
  for (const k of ['M', 'K', 'N'] as const) {
    if (!Number.isInteger(d[k]) || d[k] < 1) throw new LoomInternalError('codegen', `${name}: ${k} = ${d[k]} must be a positive integer`);
  }
}

function matmulBindings(d: MatmulDims): KernelBinding[] {
  const extra = (d.epilogue?.inputElements ?? []).map((elements, j): KernelBinding => ({ name: `in${j + 1}`, access: 'read', elem: 'f32', elements }));
  return [
    { name: 'x', access: 'read', elem: 'f32', elements: d.M * d.K },
    { name: 'w', access: 'read', elem: 'f32', elements: d.K * d.N },
    ...extra,
    { name: 'out', access: 'read_write', elem: 'f32', elements: d.M * d.N },
  ];
}

function summary(d: MatmulDims, how: string): string {
  const product = `x[M, K] · ${d.transposeW ? 'transpose(w[N, K])' : 'w[K, N]'}`;
  const lhs = d.epilogue ? `out[M, N] = epilogue(${product})` : `out[M, N] = ${product}`;
  return `${lhs}; ${how}${d.epilogue ? `; epilogue ${renderEwExpr(d.epilogue.expr)} with x0 the product` : ''}`;
}

/** Why register4x4 cannot tile these dims, or undefined. */
function register4x4Refusal(d: MatmulDims): string | undefined {
  if (!d.transposeW && d.N % 4 !== 0) return `needs N % 4 == 0 for W [K, N] (vec4 rows of W); N = ${d.N}`;
  if (d.transposeW && d.K % 4 !== 0) return `needs K % 4 == 0 for W [N, K] (vec4 dot products along K); K = ${d.K}`;
  return undefined;
}

/** Workgroups the variant dispatches before folding. */
function groupsFor(variant: MatmulVariant, d: MatmulDims): number {
  switch (variant) {
    case 'naive':
      return ceilDiv(d.M * d.N, FLAT_WG);
    case 'register4x4':
      return ceilDiv(ceilDiv(d.M, 4) * ceilDiv(d.N, 4), FLAT_WG);
    case 'workgroup16':
      return ceilDiv(d.M, TS) * ceilDiv(d.N, TS);
  }
}

function refusal(variant: MatmulVariant, d: MatmulDims, limits: DeviceLimits): string | undefined {
  const { wg, storage } = SHAPE[variant];
  const invocations = wg[0] * wg[1] * wg[2];
  if (variant === 'register4x4') {
    const r = register4x4Refusal(d);
    if (r) return r;
  }
  if (invocations > limits.maxComputeInvocationsPerWorkgroup) {
    return `needs ${invocations} invocations per workgroup, the device allows ${limits.maxComputeInvocationsPerWorkgroup}`;
  }
  if (wg[0] > limits.maxComputeWorkgroupSizeX) return `needs workgroup size x = ${wg[0]}, the device allows ${limits.maxComputeWorkgroupSizeX}`;
  if (storage > limits.maxComputeWorkgroupStorageSize) {
    return `needs ${storage} bytes of workgroup memory, the device allows ${limits.maxComputeWorkgroupStorageSize}`;
  }
  for (const b of matmulBindings(d)) {
    if (b.elements * 4 > limits.maxStorageBufferBindingSize) {
      return `${b.name} is ${b.elements * 4} bytes, over maxStorageBufferBindingSize ${limits.maxStorageBufferBindingSize}`;
    }
  }
  const perDim = Math.min(MAX_GROUPS_PER_DIM, limits.maxComputeWorkgroupsPerDimension);
  const groups = groupsFor(variant, d);
  if (groups > perDim * perDim) return `needs ${groups} workgroups, more than ${perDim}^2 even folded into (x, y)`;
  return undefined;
}

const ORDER_CPU: MatmulVariant[] = ['register4x4', 'naive', 'workgroup16'];
// Measured on an NVIDIA H200 through Dawn/Vulkan (bench/gpu/h200-2026-11-28.md): register4x4
// 1.8 / 3.9 TFLOP/s, workgroup16 1.2 / 1.4, naive 1.2 / 1.3 at 1024^3 / 4096x1024x4096. The
// barrier-free register tile wins on this GPU too; workgroup16 stays as the fallback for shapes
// register4x4 cannot tile.
const ORDER_GPU: MatmulVariant[] = ['register4x4', 'workgroup16', 'naive'];

/** Every variant with whether it runs these dims on this device and why not, best first for the device class. Pure. */
export function matmulVariants(
  d: MatmulDims,
  limits: DeviceLimits,
  isCpu: boolean,
): { variant: MatmulVariant; ok: boolean; reason?: string }[] {
  return (isCpu ? ORDER_CPU : ORDER_GPU).map((variant) => {
    const reason = refusal(variant, d, limits);
    return reason === undefined ? { variant, ok: true } : { variant, ok: false, reason };
  });
}

/** Index of W(k, n) in the flat `w` buffer. */
export function wAt(d: MatmulDims, k: string, n: string): string {
  return d.transposeW ? `${n} * K + ${k}` : `${k} * N + ${n}`;
}

/** `x f32[M*K], w f32[K*N] -> out f32[M*N]` with the chosen variant. */
export function matmulKernel(o: MatmulDims & { name: string; variant: MatmulVariant }): Kernel {
  checkDims(o.name, o);
  switch (o.variant) {
    case 'naive':
      return naiveKernel(o.name, o);
    case 'register4x4':
      return register4x4Kernel(o.name, o);
    case 'workgroup16':
      return workgroup16Kernel(o.name, o);
  }
}

function naiveKernel(name: string, d: MatmulDims): Kernel {
  const total = d.M * d.N;
  const { dispatch, formula } = flatDispatch(total, FLAT_WG, 'M*N');
  const index = flatIndex(dispatch, 'gid', FLAT_WG);
  return buildKernel({
    name,
    summary: summary(d, 'one invocation per output'),
    bindings: matmulBindings(d),
    consts: [['M', d.M], ['K', d.K], ['N', d.N], ['MN', total], ...index.consts, ...epilogueParts(d).consts],
    helpers: epilogueParts(d).helpers,
    workgroupSize: SHAPE.naive.wg,
    dispatch,
    dispatchFormula: formula,
    body: (b) => {
      b.line(`let i_el = ${index.expr};`);
      if (needsGuard(dispatch, FLAT_WG, total)) b.line('if (i_el >= MN) { return; }');
      b.line('let i_m = i_el / N;');
      b.line('let i_n = i_el % N;');
      b.line('let o_x = i_m * K;');
      b.line('var b_acc = 0.0;');
      b.block('for (var i_k = 0u; i_k < K; i_k++)', () => {
        b.line(`b_acc += x[o_x + i_k] * w[${wAt(d, 'i_k', 'i_n')}];`);
      });
      b.line(`out[i_el] = ${finish(d, 'i_el', 'b_acc')};`);
    },
  });
}

function register4x4Kernel(name: string, d: MatmulDims): Kernel {
  const why = register4x4Refusal(d);
  if (why) throw new LoomInternalError('codegen', `${name}: register4x4 ${why}`);
  const tilesN = ceilDiv(d.N, 4);
  const tiles = ceilDiv(d.M, 4) * tilesN;
  const { dispatch, formula } = flatDispatch(tiles, FLAT_WG, 'ceil(M/4)*ceil(N/4)');
  const index = flatIndex(dispatch, 'gid', FLAT_WG);
  return buildKernel({
    name,
    summary: summary(d, 'one invocation per 4x4 output tile, vec4 register accumulators, no barriers'),
    bindings: matmulBindings(d),
    consts: [['M', d.M], ['K', d.K], ['N', d.N], ['TILES_N', tilesN], ['TILES', tiles], ...index.consts, ...epilogueParts(d).consts],
    helpers: epilogueParts(d).helpers,
    workgroupSize: SHAPE.register4x4.wg,
    dispatch,
    dispatchFormula: formula,
    body: (b) => {
      b.line(`let i_tile = ${index.expr};`);
      if (needsGuard(dispatch, FLAT_WG, tiles)) b.line('if (i_tile >= TILES) { return; }');
      b.line('let i_m = (i_tile / TILES_N) * 4u;');
      b.line('let i_n = (i_tile % TILES_N) * 4u;');
      register4x4Body(b, d);
    },
  });
}

function workgroup16Kernel(name: string, d: MatmulDims): Kernel {
  const tilesN = ceilDiv(d.N, TS);
  const tiles = ceilDiv(d.M, TS) * tilesN;
  const dispatch = foldGrid(tiles);
  const index = flatIndex(dispatch, 'wid', 1);
  const base = 'ceil(M/16)*ceil(N/16)';
  return buildKernel({
    name,
    summary: summary(d, '16x16 output tiles staged through workgroup memory'),
    bindings: matmulBindings(d),
    consts: [['M', d.M], ['K', d.K], ['N', d.N], ['TS', TS], ['TILES_N', tilesN], ['TILES', tiles], ...index.consts, ...epilogueParts(d).consts],
    helpers: ['var<workgroup> s_x: array<array<f32, TS>, TS>;\nvar<workgroup> s_w: array<array<f32, TS>, TS>;', ...epilogueParts(d).helpers],
    workgroupSize: SHAPE.workgroup16.wg,
    dispatch,
    dispatchFormula: dispatch[1] === 1 ? base : `fold(${base}) into x*y`,
    builtins: ['lid', 'wid'],
    body: (b) => workgroup16Body(b, d, index.expr, needsGuard(dispatch, 1, tiles)),
  });
}

function workgroup16Body(b: WgslBuilder, d: MatmulDims, tileExpr: string, guardTile: boolean): void {
  const edgeM = d.M % TS !== 0;
  const edgeN = d.N % TS !== 0;
  const edgeK = d.K % TS !== 0;
  b.line(`let i_tile = ${tileExpr};`);
  // Depends only on the workgroup id, so every invocation of a workgroup returns together.
  if (guardTile) b.line('if (i_tile >= TILES) { return; }');
  b.line('let i_m = (i_tile / TILES_N) * TS + lid.y;');
  b.line('let i_n = (i_tile % TILES_N) * TS + lid.x;');
  if (edgeM || edgeN) b.line('// Rows and columns past the edge load clamped (valid) data and are not stored.');
  b.line(`let o_x = ${edgeM ? 'min(i_m, M - 1u)' : 'i_m'} * K;`);
  // Each invocation loads one W element per K step: W(k0 + r, n0 + c) with c along lid.x for
  // W [K, N] and along the K step for W [N, K], so that neighbouring invocations read
  // neighbouring addresses either way.
  const wRow = d.transposeW ? 'lid.x' : 'lid.y';
  const wCol = d.transposeW ? 'lid.y' : 'lid.x';
  // W's column: i_n itself for W [K, N]; for W [N, K] the tile column along lid.y.
  if (d.transposeW) b.line(`let i_nw = (i_tile % TILES_N) * TS + ${wCol};`);
  const nwBase = d.transposeW ? 'i_nw' : 'i_n';
  if (edgeN) b.line(`let i_nwc = min(${nwBase}, N - 1u);`);
  const nw = edgeN ? 'i_nwc' : nwBase;
  b.line('var b_acc = 0.0;');
  // For W [N, K] the W element's K index is the x element's: i_kx.
  const kw = d.transposeW ? 'i_kx' : 'i_kw';
  b.block('for (var i_k0 = 0u; i_k0 < K; i_k0 += TS)', () => {
    b.line('let i_kx = i_k0 + lid.x;');
    if (!d.transposeW) b.line('let i_kw = i_k0 + lid.y;');
    if (edgeK) {
      b.line('// K past the edge: clamped loads, zeroed by the masks.');
      b.line(`s_x[lid.y][lid.x] = select(0.0, x[o_x + min(i_kx, K - 1u)], i_kx < K);`);
      b.line(`s_w[${wRow}][${wCol}] = select(0.0, w[${wAt(d, `min(${kw}, K - 1u)`, nw)}], ${kw} < K);`);
    } else {
      b.line('s_x[lid.y][lid.x] = x[o_x + i_kx];');
      b.line(`s_w[${wRow}][${wCol}] = w[${wAt(d, kw, nw)}];`);
    }
    b.line('workgroupBarrier();');
    b.block('for (var i_kk = 0u; i_kk < TS; i_kk++)', () => {
      b.line('b_acc += s_x[lid.y][i_kk] * s_w[i_kk][lid.x];');
    });
    b.line('workgroupBarrier();');
  });
  const store = `out[i_m * N + i_n] = ${finish(d, 'i_m * N + i_n', 'b_acc')};`;
  if (edgeM && edgeN) b.line(`if (i_m < M && i_n < N) { ${store} }`);
  else if (edgeM) b.line(`if (i_m < M) { ${store} }`);
  else if (edgeN) b.line(`if (i_n < N) { ${store} }`);
  else b.line(store);
}

const R4 = [0, 1, 2, 3];
const LANES = ['x', 'y', 'z', 'w'];

/** `vec4<f32>(a[o], a[o + 1u], a[o + 2u], a[o + 3u])`. */
function vec4Load(arr: string, offset: string): string {
  return `vec4<f32>(${R4.map((j) => `${arr}[${offset}${j ? ` + ${j}u` : ''}]`).join(', ')})`;
}

/** `base + r`, clamped to `limit - 1` when the tile can run past the edge (r = 0 never does). */
function clamped(base: string, r: number, edge: boolean, limit: string): string {
  if (r === 0) return base;
  return edge ? `min(${base} + ${r}u, ${limit} - 1u)` : `(${base} + ${r}u)`;
}

/** Accumulates the 4x4 tile at (i_m, i_n) into b_acc0..3 (one vec4 per row) and stores it. */
function register4x4Body(b: WgslBuilder, d: MatmulDims): void {
  const edgeM = d.M % 4 !== 0;
  const edgeN = d.N % 4 !== 0;
  if (edgeM || edgeN) b.line('// Rows and columns past the edge load clamped (valid) data and are not stored.');
  for (const r of R4) b.line(`let o_x${r} = ${clamped('i_m', r, edgeM, 'M')} * K;`);
  if (d.transposeW) for (const c of R4) b.line(`let o_w${c} = ${clamped('i_n', c, edgeN, 'N')} * K;`);
  for (const r of R4) b.line(`var b_acc${r} = vec4<f32>();`);
  if (d.transposeW) {
    b.block('for (var i_k = 0u; i_k < K; i_k += 4u)', () => {
      for (const r of R4) b.line(`let b_x${r} = ${vec4Load('x', `o_x${r} + i_k`)};`);
      for (const c of R4) b.line(`let b_w${c} = ${vec4Load('w', `o_w${c} + i_k`)};`);
      for (const r of R4) {
        b.line(`b_acc${r} += vec4<f32>(${R4.map((c) => `dot(b_x${r}, b_w${c})`).join(', ')});`);
      }
    });
  } else {
    b.block('for (var i_k = 0u; i_k < K; i_k++)', () => {
      b.line('let o_w = i_k * N + i_n;');
      b.line(`let b_w = ${vec4Load('w', 'o_w')};`);
      for (const r of R4) b.line(`b_acc${r} += x[o_x${r} + i_k] * b_w;`);
    });
  }
  storeTile(b, d, edgeM, edgeN);
}

function storeTile(b: WgslBuilder, d: MatmulDims, edgeM: boolean, edgeN: boolean): void {
  for (const r of R4) {
    const row = () => {
      b.line(`let o_out${r} = ${r ? `(i_m + ${r}u)` : 'i_m'} * N + i_n;`);
      for (const c of R4) {
        const at = `o_out${r}${c ? ` + ${c}u` : ''}`;
        const st = `out[${at}] = ${finish(d, at, `b_acc${r}.${LANES[c]}`)};`;
        b.line(edgeN && c > 0 ? `if (i_n + ${c}u < N) { ${st} }` : st);
      }
    };
    if (edgeM && r > 0) b.block(`if (i_m + ${r}u < M)`, row);
    else row();
  }
}
