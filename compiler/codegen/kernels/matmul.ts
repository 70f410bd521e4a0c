/**
 * Matrix multiply `out[M, N] = x[M, K] · W`, with W stored `[K, N]` or, when `transposeW`,
 * `[N, K]` (a tied LM head reading the embedding table `[V, D]`).
 *
 * Three variants for two device classes (CPU adapters reward barrier-free register tiling, GPUs
 * workgroup memory):
 * - `register4x4`: barrier-free; each invocation accumulates a 4x4 output tile (min(4, M) rows)
 *   in one vec4 register per row. Fastest on CPU adapters (lavapipe) and, measured, on an H200 too. Needs N % 4 == 0 for W [K, N] (whole vec4
 *   rows of W) or K % 4 == 0 for W [N, K] (vec4 dot products along K).
 * - `naive`: one invocation per output, any size.
 * - `workgroup16`: 16x16 output tiles staged through workgroup memory with barriers; any size
 *   (edges clamped and masked at generation time only where needed). Expected to win on GPUs,
 *   it ran at 0.4x register4x4 on an H200: a 16x16 tile with one output per invocation is too
 *   little work per barrier there. Second choice on GPUs.
 *
 * Fusion (compiler/fuse/fuse.ts) gives every variant three extensions, all in the one loop over K:
 * an RMS norm of x's rows in front (`norm`: the sum of squares accumulated beside the products,
 * the norm weight `g` scaling x's column k or W's row k, the reciprocal root applied to the
 * accumulators), a second weight whose product the epilogue combines with the first (`w2`,
 * SwiGLU), and further products of the same x into their own outputs (`parts`, merged q/k/v
 * projections: the tiles of every product in one dispatch, each part's code in its own function).
 *
 * With `weights: 'f16'` every weight binding (`w`, `w2` of each product) holds f16 values (half the
 * bytes to read): naive and workgroup16 read them as `array<f16>` (`enable f16;`, the device needs
 * shader-f16) converted to f32; register4x4 reads four at a time packed in a `vec2<u32>` and
 * unpacks them with unpack2x16float (f32 weights: one `vec4<f32>` load). The products accumulate
 * in f32 as before. x, the norm weight, epilogue inputs and outputs stay f32.
 */
import { LoomInternalError } from '../../../grammar/diagnostics.ts';
import type { DeviceLimits } from '../../plan/device.ts';
import { elemBytes, input, output, type Kernel, type KernelBinding } from '../kernel.ts';
import { buildKernel, ceilDiv, u32Lit, WgslBuilder } from '../wgsl.ts';
import { matmulProducts, numel, type EwExpr, type Graph, type Node } from '../../ir/graph.ts';
import { ewHelpers, flatDispatch, flatIndex, foldGrid, MAX_GROUPS_PER_DIM, needsGuard, renderEwExpr } from './elementwise.ts';

export type MatmulVariant = 'register4x4' | 'naive' | 'workgroup16';

/** One product of a matmul kernel: `out = epilogue(x · w [, x · w2])`, N columns. */
export interface MatmulProduct {
  N: number;
  /** A second weight of the same shape; the epilogue reads its product as `$1`. */
  w2?: boolean;
  /** A pointwise epilogue applied before each store (fusion of a consumer; see MatmulEpilogue). */
  epilogue?: MatmulEpilogue;
}

export interface MatmulDims extends MatmulProduct {
  M: number;
  K: number;
  transposeW: boolean;
  /** RMS norm of each row of x over K in front of the product, weight `g` [K]. */
  norm?: { eps: number };
  /** Further products of the same x, each with its own weights and output. */
  parts?: readonly MatmulProduct[];
  /** Every weight binding stored as f16, read into f32 (absent: f32). */
  weights?: 'f16';
}

/**
 * `out[i] = expr(acc, in1[i], ...)`: `$0` in the expression is the product, `$1` the second
 * product when there is one, then `$k` reads input buffer `in{k}`, of `inputElements` elements in
 * order, broadcast over the output (element i reads `in_k[i % size]`). The expression is the
 * consumer's elementwise tree (compiler/fuse/fuse.ts).
 */
export interface MatmulEpilogue {
  expr: EwExpr;
  inputElements: readonly number[];
}

/**
 * The kernel dims of a matmul node of `g` (with its parts' shapes from their matmul_part nodes),
 * and the buffers its kernel binds, in binding order.
 */
export function matmulNodeDims(g: Graph, n: Node & { op: 'matmul' }): { dims: MatmulDims; args: number[] } {
  const K = g.nodes[n.x].type.shape.at(-1)!;
  const M = numel(g.nodes[n.x].type.shape) / K;
  const outs: number[] = [n.id];
  if (n.parts) for (const m of g.nodes) if (m.op === 'matmul_part' && m.group === n.id) outs[m.index] = m.id;
  const products = matmulProducts(n).map((p, k): MatmulProduct => {
    const epilogue = p.epilogue ? { expr: p.epilogue.expr, inputElements: p.epilogue.inputs.map((i) => numel(g.nodes[i].type.shape)) } : undefined;
    return { N: g.nodes[outs[k]].type.shape.at(-1)!, ...(p.w2 === undefined ? {} : { w2: true }), ...(epilogue ? { epilogue } : {}) };
  });
  const [own, ...parts] = products;
  const dims: MatmulDims = { M, K, transposeW: n.transposeW, ...own, ...(n.norm ? { norm: { eps: n.norm.eps } } : {}), ...(parts.length ? { parts } : {}) };
  const args = [
    n.x,
    ...(n.norm ? [n.norm.weight] : []),
    ...matmulProducts(n).flatMap((p, k) => [p.w, ...(p.w2 === undefined ? [] : [p.w2]), ...(p.epilogue?.inputs ?? []), outs[k]]),
  ];
  return { dims, args };
}

/** The products of a kernel, its own first. */
function productsOf(d: MatmulDims): MatmulProduct[] {
  const own: MatmulProduct = { N: d.N, ...(d.w2 ? { w2: true } : {}), ...(d.epilogue ? { epilogue: d.epilogue } : {}) };
  return [own, ...(d.parts ?? [])];
}

/**
 * How one product's code names its buffers and sizes. A kernel with one product uses the plain
 * names and module constants; product k of several suffixes its buffers with `_k` and declares
 * its sizes (N, TILES_N, ...) as constants inside its own function.
 */
interface Names {
  sfx: string;
  local: boolean;
}

const single: Names = { sfx: '', local: false };

/** Input expression index of an epilogue's first buffer: after `$0` and the second product. */
function firstInput(p: MatmulProduct): number {
  return p.w2 ? 2 : 1;
}

/** Sizes of the epilogue's broadcast inputs, as constants. */
function epilogueConsts(d: MatmulDims, p: MatmulProduct): [string, number][] {
  const total = d.M * p.N;
  const base = firstInput(p);
  return (p.epilogue?.inputElements ?? []).flatMap((n, j): [string, number][] => (n === total ? [] : [[`N${j + base}`, n]]));
}

/** The product's epilogue function (`epilogue`, `epilogue_1`, ...). */
function epilogueFn(d: MatmulDims, p: MatmulProduct, names: Names): string[] {
  const e = p.epilogue;
  if (!e) return [];
  const total = d.M * p.N;
  const base = firstInput(p);
  const consts = names.local ? epilogueConsts(d, p).map(([k, v]) => `  const ${k} = ${u32Lit(v)};`) : [];
  const lets = e.inputElements.map((n, j) => `  let x${j + base} = in${j + base}${names.sfx}[${n === total ? 'i' : `i % N${j + base}`}];`);
  const params = p.w2 ? 'i: u32, acc: f32, acc2: f32' : 'i: u32, acc: f32';
  const fn = [`fn epilogue${names.sfx}(${params}) -> f32 {`, ...consts, '  let x0 = acc;', ...(p.w2 ? ['  let x1 = acc2;'] : []), ...lets, `  return ${renderEwExpr(e.expr)};`, '}'];
  return [fn.join('\n')];
}

/** The value stored at flat output index `i`: the accumulator(s), through the epilogue when there is one. */
function finish(p: MatmulProduct, names: Names, i: string, acc: string, acc2: string): string {
  if (!p.epilogue) return acc;
  return `epilogue${names.sfx}(${i}, ${acc}${p.w2 ? `, ${acc2}` : ''})`;
}

/** `acc * rs` with the norm's reciprocal root, or `acc`. */
function normed(d: MatmulDims, acc: string, rs: string): string {
  return d.norm ? `${acc} * ${rs}` : acc;
}

const FLAT_WG = 64;
const TS = 16;

/** Workgroup shape of each variant. */
const SHAPE: Record<MatmulVariant, [number, number, number]> = {
  register4x4: [FLAT_WG, 1, 1],
  naive: [FLAT_WG, 1, 1],
  workgroup16: [TS, TS, 1],
};

/** Workgroup memory (bytes) a variant needs: workgroup16 stages an x tile and one W tile per weight. */
function storageOf(variant: MatmulVariant, d: MatmulDims): number {
  if (variant !== 'workgroup16') return 0;
  const weights = productsOf(d).some((p) => p.w2) ? 2 : 1;
  return (1 + weights) * TS * TS * 4;
}

function checkDims(name: string, d: MatmulDims): void {
  for (const p of productsOf(d)) {
    for (const [k, v] of [['M', d.M], ['K', d.K], ['N', p.N]] as const) {
      if (!Number.isInteger(v) || v < 1) throw new LoomInternalError('codegen', `${name}: ${k} = ${v} must be a positive integer`);
    }
  }
}

/** register4x4 reads W four values at a time: vec4<f32>, or four f16 packed in a vec2<u32>. */
function weightView(d: MatmulDims): string {
  return d.weights === 'f16' ? 'vec2<u32>' : 'vec4<f32>';
}

function matmulBindings(d: MatmulDims, variant?: MatmulVariant): KernelBinding[] {
  const view = variant === 'register4x4' ? { view: weightView(d) } : {};
  const weight = (name: string, elements: number) => ({ ...input(name, elements, d.weights ?? 'f32'), ...view });
  const products = productsOf(d).flatMap((p, k): KernelBinding[] => {
    const sfx = d.parts?.length ? (k ? `_${k}` : '_0') : '';
    const base = firstInput(p);
    return [
      weight(`w${sfx}`, d.K * p.N),
      ...(p.w2 ? [weight(`w2${sfx}`, d.K * p.N)] : []),
      ...(p.epilogue?.inputElements ?? []).map((elements, j) => input(`in${j + base}${sfx}`, elements)),
      output(`out${sfx}`, d.M * p.N),
    ];
  });
  return [input('x', d.M * d.K), ...(d.norm ? [input('g', d.K)] : []), ...products];
}

function summary(d: MatmulDims, how: string): string {
  const xn = d.norm ? 'rmsnorm(x[M, K], g)' : 'x[M, K]';
  const one = (p: MatmulProduct, sfx: string) => {
    const w = (name: string) => (d.transposeW ? `transpose(${name}${sfx}[N, K])` : `${name}${sfx}[K, N]`);
    const product = `${xn} · ${w('w')}${p.w2 ? ` and ${xn} · ${w('w2')}` : ''}`;
    const lhs = p.epilogue ? `out${sfx}[M, N] = epilogue(${product})` : `out${sfx}[M, N] = ${product}`;
    return { lhs, epilogue: p.epilogue ? `epilogue ${renderEwExpr(p.epilogue.expr)} with x0 the product${p.w2 ? ', x1 the second' : ''}` : '' };
  };
  const products = productsOf(d);
  if (products.length === 1) {
    const { lhs, epilogue } = one(products[0], '');
    return `${lhs}; ${how}${epilogue ? `; ${epilogue}` : ''}`;
  }
  return `${products.map((p, k) => Object.values(one(p, `_${k}`)).filter(Boolean).join(', ')).join('; ')}; ${how}`;
}

/** Why register4x4 cannot tile these dims, or undefined. */
function register4x4Refusal(d: MatmulDims): string | undefined {
  for (const p of productsOf(d)) {
    if (!d.transposeW && p.N % 4 !== 0) return `needs N % 4 == 0 for W [K, N] (vec4 rows of W); N = ${p.N}`;
  }
  if (d.transposeW && d.K % 4 !== 0) return `needs K % 4 == 0 for W [N, K] (vec4 dot products along K); K = ${d.K}`;
  return undefined;
}

/** Tiles (register4x4: 4x4 outputs; workgroup16: 16x16; naive: single outputs) of one product. */
function tilesOf(variant: MatmulVariant, d: MatmulDims, p: MatmulProduct): { tilesN: number; tiles: number } {
  const side = variant === 'register4x4' ? 4 : variant === 'workgroup16' ? TS : 1;
  const tilesN = ceilDiv(p.N, side);
  return { tilesN, tiles: ceilDiv(d.M, side) * tilesN };
}

/** Workgroups the variant dispatches before folding. */
function groupsFor(variant: MatmulVariant, d: MatmulDims): number {
  const tiles = productsOf(d).reduce((a, p) => a + tilesOf(variant, d, p).tiles, 0);
  return variant === 'workgroup16' ? tiles : ceilDiv(tiles, FLAT_WG);
}

function refusal(variant: MatmulVariant, d: MatmulDims, limits: DeviceLimits): string | undefined {
  const wg = SHAPE[variant];
  const storage = storageOf(variant, d);
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
    if (b.elements * elemBytes(b.elem) > limits.maxStorageBufferBindingSize) {
      return `${b.name} is ${b.elements * elemBytes(b.elem)} bytes, over maxStorageBufferBindingSize ${limits.maxStorageBufferBindingSize}`;
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

/** `w[i]` as f32: converted when the weights are stored f16. */
function wLoad(d: MatmulDims, w: string, i: string): string {
  return d.weights === 'f16' ? `f32(${w}[${i}])` : `${w}[${i}]`;
}

/** Index of W(k, n) in the flat `w` buffer. */
export function wAt(d: { transposeW: boolean }, k: string, n: string): string {
  return d.transposeW ? `${n} * K + ${k}` : `${k} * N + ${n}`;
}

/** The kernel's products with the names their code uses. */
function namedProducts(d: MatmulDims): { p: MatmulProduct; names: Names }[] {
  const products = productsOf(d);
  if (products.length === 1) return [{ p: products[0], names: single }];
  return products.map((p, k) => ({ p, names: { sfx: `_${k}`, local: true } }));
}

/**
 * Everything the variants share: bindings, constants, helpers (epilogues, and one function per
 * product when there are several), dispatch over the tiles of every product, and `main`, which
 * runs the product a tile belongs to.
 */
function matmulSource(
  name: string,
  d: MatmulDims,
  variant: MatmulVariant,
  how: string,
  tile: (b: WgslBuilder, p: MatmulProduct, names: Names) => void,
): Kernel {
  checkDims(name, d);
  const products = namedProducts(d);
  const counts = products.map(({ p }) => tilesOf(variant, d, p));
  const total = counts.reduce((a, c) => a + c.tiles, 0);
  const wg = SHAPE[variant];
  const perGroup = variant === 'workgroup16' ? 1 : FLAT_WG;
  const what = variant === 'naive' ? 'M*N' : variant === 'register4x4' ? 'ceil(M/4)*ceil(N/4)' : 'ceil(M/16)*ceil(N/16)';
  const base = products.length === 1 ? what : `sum over ${products.length} products of ${what}`;
  let dispatch: [number, number, number];
  let formula: string;
  if (variant === 'workgroup16') {
    dispatch = foldGrid(total);
    formula = dispatch[1] === 1 ? base : `fold(${base}) into x*y`;
  } else ({ dispatch, formula } = flatDispatch(total, FLAT_WG, base));
  const index = flatIndex(dispatch, variant === 'workgroup16' ? 'wid' : 'gid', perGroup);
  const item = variant === 'naive' ? 'i_el' : 'i_tile';
  const guard = needsGuard(dispatch, perGroup, total);
  const unpack = variant === 'register4x4' && d.weights === 'f16' ? [UNPACK_W] : [];
  const helpers = [...unpack, ...(variant === 'workgroup16' ? [workgroupArrays(d)] : []), ...new Set(products.flatMap(({ p }) => (p.epilogue ? ewHelpers(p.epilogue.expr) : [])))];
  const consts: [string, number][] = [['M', d.M], ['K', d.K]];
  const localConsts = (p: MatmulProduct, c: { tilesN: number; tiles: number }, ts: boolean): [string, number][] => [
    ['N', p.N],
    ...(ts ? [['TS', TS] as [string, number]] : []),
    ...(variant === 'naive' ? ([['MN', d.M * p.N]] as [string, number][]) : [['TILES_N', c.tilesN], ['TILES', c.tiles]] as [string, number][]),
  ];
  if (products.length === 1) {
    consts.push(...localConsts(products[0].p, counts[0], variant === 'workgroup16'), ...index.consts, ...epilogueConsts(d, products[0].p));
    helpers.push(...epilogueFn(d, products[0].p, single));
  } else {
    if (variant === 'workgroup16') consts.push(['TS', TS]);
    consts.push(['ITEMS', total], ...index.consts);
    for (const [k, { p, names }] of products.entries()) {
      helpers.push(...epilogueFn(d, p, names));
      const f = new WgslBuilder();
      const params = [`${item}: u32`, ...(variant === 'workgroup16' ? ['lid: vec3<u32>'] : [])].join(', ');
      f.block(`fn product${names.sfx}(${params})`, () => {
        for (const [c, v] of localConsts(p, counts[k], false)) f.line(`const ${c} = ${u32Lit(v)};`);
        tile(f, p, names);
      });
      helpers.push(f.toString());
    }
  }
  return buildKernel({
    name,
    summary: summary(d, d.weights === 'f16' ? `${how}; f16 weights read as f32, f32 accumulation` : how),
    bindings: matmulBindings(d, variant),
    consts,
    ...(d.norm ? { fconsts: [['EPS', d.norm.eps]] as [string, number][] } : {}),
    helpers,
    workgroupSize: wg,
    dispatch,
    dispatchFormula: formula,
    ...(variant === 'workgroup16' ? { builtins: ['lid', 'wid'] as ('lid' | 'wid')[] } : {}),
    body: (b) => {
      b.line(`let ${item} = ${index.expr};`);
      // Depends only on the workgroup id for workgroup16, so a workgroup returns together.
      if (products.length === 1) {
        if (guard) b.line(variant === 'naive' ? 'if (i_el >= MN) { return; }' : 'if (i_tile >= TILES) { return; }');
        tile(b, products[0].p, single);
        return;
      }
      if (guard) b.line(`if (${item} >= ITEMS) { return; }`);
      let start = 0;
      for (const [k, { names }] of products.entries()) {
        const end = start + counts[k].tiles;
        const call = `product${names.sfx}(${start ? `${item} - ${u32Lit(start)}` : item}${variant === 'workgroup16' ? ', lid' : ''});`;
        if (k === products.length - 1) b.line(k ? `else { ${call} }` : call);
        else b.line(`${k ? 'else ' : ''}if (${item} < ${u32Lit(end)}) { ${call} }`);
        start = end;
      }
    },
  });
}

/** `x f32[M*K], w f32[K*N] -> out f32[M*N]` with the chosen variant. */
export function matmulKernel(o: MatmulDims & { name: string; variant: MatmulVariant }): Kernel {
  switch (o.variant) {
    case 'naive':
      return matmulSource(o.name, o, 'naive', 'one invocation per output', (b, p, names) => naiveBody(b, o, p, names));
    case 'register4x4': {
      const why = register4x4Refusal(o);
      if (why) throw new LoomInternalError('codegen', `${o.name}: register4x4 ${why}`);
      return matmulSource(o.name, o, 'register4x4', 'one invocation per 4x4 output tile, vec4 register accumulators, no barriers', (b, p, names) => register4x4Body(b, o, p, names));
    }
    case 'workgroup16':
      return matmulSource(o.name, o, 'workgroup16', '16x16 output tiles staged through workgroup memory', (b, p, names) => workgroup16Body(b, o, p, names));
  }
}

function naiveBody(b: WgslBuilder, d: MatmulDims, p: MatmulProduct, names: Names): void {
  const { sfx } = names;
  b.line('let i_m = i_el / N;');
  b.line('let i_n = i_el % N;');
  b.line('let o_x = i_m * K;');
  b.line('var b_acc = 0.0;');
  if (p.w2) b.line('var b_acc2 = 0.0;');
  if (d.norm) b.line('var b_ss = 0.0;');
  b.block('for (var i_k = 0u; i_k < K; i_k++)', () => {
    const x = d.norm ? 'b_x' : `x[o_x + i_k]`;
    if (d.norm) {
      b.line('let b_x = x[o_x + i_k];');
      b.line('b_ss += b_x * b_x;');
    }
    const g = d.norm ? ' * g[i_k]' : '';
    b.line(`b_acc += ${x} * ${wLoad(d, `w${sfx}`, wAt(d, 'i_k', 'i_n'))}${g};`);
    if (p.w2) b.line(`b_acc2 += ${x} * ${wLoad(d, `w2${sfx}`, wAt(d, 'i_k', 'i_n'))}${g};`);
  });
  if (d.norm) b.line('let b_rs = inverseSqrt(b_ss / f32(K) + EPS);');
  b.line(`out${sfx}[i_el] = ${finish(p, names, 'i_el', normed(d, 'b_acc', 'b_rs'), normed(d, 'b_acc2', 'b_rs'))};`);
}

function workgroupArrays(d: MatmulDims): string {
  const arrays = ['s_x', 's_w', ...(productsOf(d).some((p) => p.w2) ? ['s_w2'] : [])];
  return arrays.map((a) => `var<workgroup> ${a}: array<array<f32, TS>, TS>;`).join('\n');
}

function workgroup16Body(b: WgslBuilder, d: MatmulDims, p: MatmulProduct, names: Names): void {
  const { sfx } = names;
  const edgeM = d.M % TS !== 0;
  const edgeN = p.N % TS !== 0;
  const edgeK = d.K % TS !== 0;
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
  if (p.w2) b.line('var b_acc2 = 0.0;');
  if (d.norm) b.line('var b_ss = 0.0;');
  // For W [N, K] the W element's K index is the x element's: i_kx.
  const kw = d.transposeW ? 'i_kx' : 'i_kw';
  const weights: [string, string][] = [['s_w', `w${sfx}`], ...(p.w2 ? [['s_w2', `w2${sfx}`] as [string, string]] : [])];
  b.block('for (var i_k0 = 0u; i_k0 < K; i_k0 += TS)', () => {
    b.line('let i_kx = i_k0 + lid.x;');
    if (!d.transposeW) b.line('let i_kw = i_k0 + lid.y;');
    // The norm weight scales W's rows, so the staged x stays raw for the sum of squares.
    if (edgeK) {
      b.line('// K past the edge: clamped loads, zeroed by the masks.');
      b.line(`s_x[lid.y][lid.x] = select(0.0, x[o_x + min(i_kx, K - 1u)], i_kx < K);`);
      for (const [s, w] of weights) b.line(`${s}[${wRow}][${wCol}] = select(0.0, ${wLoad(d, w, wAt(d, `min(${kw}, K - 1u)`, nw))}${d.norm ? ` * g[min(${kw}, K - 1u)]` : ''}, ${kw} < K);`);
    } else {
      b.line('s_x[lid.y][lid.x] = x[o_x + i_kx];');
      for (const [s, w] of weights) b.line(`${s}[${wRow}][${wCol}] = ${wLoad(d, w, wAt(d, kw, nw))}${d.norm ? ` * g[${kw}]` : ''};`);
    }
    b.line('workgroupBarrier();');
    b.block('for (var i_kk = 0u; i_kk < TS; i_kk++)', () => {
      if (d.norm || p.w2) {
        b.line('let b_x = s_x[lid.y][i_kk];');
        if (d.norm) b.line('b_ss += b_x * b_x;');
        b.line('b_acc += b_x * s_w[i_kk][lid.x];');
        if (p.w2) b.line('b_acc2 += b_x * s_w2[i_kk][lid.x];');
      } else b.line('b_acc += s_x[lid.y][i_kk] * s_w[i_kk][lid.x];');
    });
    b.line('workgroupBarrier();');
  });
  if (d.norm) b.line('let b_rs = inverseSqrt(b_ss / f32(K) + EPS);');
  const store = `out${sfx}[i_m * N + i_n] = ${finish(p, names, 'i_m * N + i_n', normed(d, 'b_acc', 'b_rs'), normed(d, 'b_acc2', 'b_rs'))};`;
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

const UNPACK_W = 'fn unpackW(p: vec2<u32>) -> vec4<f32> {\n  return vec4<f32>(unpack2x16float(p.x), unpack2x16float(p.y));\n}';

/**
 * W's four values at vec4 index `at` as vec4<f32>: one load of a vec4<f32>, or of a vec2<u32>
 * holding four f16 unpacked (fewer, wider loads: on lavapipe each load is a gather across lanes).
 */
function wVec(d: MatmulDims, w: string, at: string): string {
  return d.weights === 'f16' ? `unpackW(${w}[${at}])` : `${w}[${at}]`;
}

/**
 * Accumulates the tile at (i_m, i_n), 4 columns by min(4, M) rows (a decode step's M = B < 4 rows
 * compute no clamped copies), in one vec4 register per row, and stores it.
 */
function register4x4Body(b: WgslBuilder, d: MatmulDims, p: MatmulProduct, names: Names): void {
  const { sfx } = names;
  const rows = R4.filter((r) => r < d.M);
  const edgeM = d.M > 4 && d.M % 4 !== 0;
  const edgeN = p.N % 4 !== 0;
  b.line('let i_m = (i_tile / TILES_N) * 4u;');
  b.line('let i_n = (i_tile % TILES_N) * 4u;');
  if (edgeM || edgeN) b.line('// Rows and columns past the edge load clamped (valid) data and are not stored.');
  for (const r of rows) b.line(`let o_x${r} = ${clamped('i_m', r, edgeM, 'M')} * K;`);
  if (d.transposeW) for (const c of R4) b.line(`let o_w${c} = ${clamped('i_n', c, edgeN, 'N')} * (K / 4u);`);
  for (const r of rows) b.line(`var b_acc${r} = vec4<f32>();`);
  if (p.w2) for (const r of rows) b.line(`var b_sec${r} = vec4<f32>();`);
  if (d.norm) b.line('var b_ss = vec4<f32>();');
  if (d.transposeW) {
    b.block('for (var i_k = 0u; i_k < K; i_k += 4u)', () => {
      for (const r of rows) b.line(`let b_x${r} = ${vec4Load('x', `o_x${r} + i_k`)};`);
      if (d.norm) {
        b.line(`b_ss += vec4<f32>(${R4.map((r) => (r < d.M ? `dot(b_x${r}, b_x${r})` : '0.0')).join(', ')});`);
        b.line(`let b_g = ${vec4Load('g', 'i_k')};`);
      }
      const dots = (w: string, acc: string) => {
        for (const c of R4) b.line(`let b_${w}${c} = ${wVec(d, `${w}${sfx}`, `o_w${c} + i_k / 4u`)}${d.norm ? ' * b_g' : ''};`);
        for (const r of rows) b.line(`${acc}${r} += vec4<f32>(${R4.map((c) => `dot(b_x${r}, b_${w}${c})`).join(', ')});`);
      };
      dots('w', 'b_acc');
      if (p.w2) dots('w2', 'b_sec');
    });
  } else {
    b.block('for (var i_k = 0u; i_k < K; i_k++)', () => {
      b.line('let o_w = (i_k * N + i_n) / 4u;');
      b.line(`let b_w = ${wVec(d, `w${sfx}`, 'o_w')};`);
      if (p.w2) b.line(`let b_w2 = ${wVec(d, `w2${sfx}`, 'o_w')};`);
      if (d.norm || p.w2) {
        b.line(`let b_x = vec4<f32>(${R4.map((r) => (r < d.M ? `x[o_x${r} + i_k]` : '0.0')).join(', ')});`);
        // The norm weight scales x's column k once for the 4 rows, whatever the number of weights.
        if (d.norm) b.line('b_ss += b_x * b_x;');
        if (d.norm) b.line('let b_xg = b_x * g[i_k];');
        const xv = d.norm ? 'b_xg' : 'b_x';
        for (const r of rows) b.line(`b_acc${r} += ${xv}.${LANES[r]} * b_w;`);
        if (p.w2) for (const r of rows) b.line(`b_sec${r} += ${xv}.${LANES[r]} * b_w2;`);
      } else for (const r of rows) b.line(`b_acc${r} += x[o_x${r} + i_k] * b_w;`);
    });
  }
  if (d.norm) b.line('let b_rs = inverseSqrt(b_ss / f32(K) + EPS);');
  storeTile(b, d, p, names, rows, edgeM, edgeN);
}

function storeTile(b: WgslBuilder, d: MatmulDims, p: MatmulProduct, names: Names, rows: readonly number[], edgeM: boolean, edgeN: boolean): void {
  for (const r of rows) {
    const row = () => {
      b.line(`let o_out${r} = ${r ? `(i_m + ${r}u)` : 'i_m'} * N + i_n;`);
      for (const c of R4) {
        const at = `o_out${r}${c ? ` + ${c}u` : ''}`;
        const lane = (acc: string) => normed(d, `${acc}${r}.${LANES[c]}`, `b_rs.${LANES[r]}`);
        const st = `out${names.sfx}[${at}] = ${finish(p, names, at, lane('b_acc'), lane('b_sec'))};`;
        b.line(edgeN && c > 0 ? `if (i_n + ${c}u < N) { ${st} }` : st);
      }
    };
    if (edgeM && r > 0) b.block(`if (i_m + ${r}u < M)`, row);
    else row();
  }
}
