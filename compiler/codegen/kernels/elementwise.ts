/**
 * Pointwise kernels: one fused EwExpr tree evaluated per element, `out[i] = expr(in0[i], ...)`.
 *
 * Also home of the 1-D grid folding every glue kernel uses: a flat count of workgroups larger
 * than WebGPU's 65535 per dimension is folded into (x, y) and unfolded in the kernel.
 */
import { EW_ARITY, type EwExpr, type EwFn } from '../../ir/graph.ts';
import { LoomInternalError } from '../../../grammar/diagnostics.ts';
import type { Kernel, KernelBinding } from '../kernel.ts';
import { buildKernel, ceilDiv, f32Lit, WGSL_HELPERS, type WgslBuilder } from '../wgsl.ts';

/** WebGPU's guaranteed minimum of `maxComputeWorkgroupsPerDimension`. */
export const MAX_GROUPS_PER_DIM = 65535;

/**
 * Folds `groups` workgroups into a dispatch (x, y, 1) with x, y <= maxPerDim and x * y >= groups,
 * as square-free as possible: y = ceil(groups / max), x = ceil(groups / y).
 */
export function foldGrid(groups: number, maxPerDim = MAX_GROUPS_PER_DIM): [number, number, number] {
  if (!Number.isInteger(groups) || groups < 1) throw new LoomInternalError('codegen', `cannot dispatch ${groups} workgroups`);
  if (groups > maxPerDim * maxPerDim) {
    throw new LoomInternalError('codegen', `${groups} workgroups exceed ${maxPerDim}^2 even when folded into (x, y)`);
  }
  const y = ceilDiv(groups, maxPerDim);
  return [ceilDiv(groups, y), y, 1];
}

/**
 * The constant and the WGSL expression giving the flat index of an invocation (`gid`) or of a
 * workgroup (`wid`) in a dispatch made by `foldGrid`. `GRID_X` is the extent of x in the same
 * unit (invocations for gid, workgroups for wid); it exists only when the grid was folded.
 */
export function flatIndex(
  dispatch: [number, number, number],
  builtin: 'gid' | 'wid',
  wgX: number,
): { consts: [string, number][]; expr: string } {
  if (dispatch[1] === 1) return { consts: [], expr: `${builtin}.x` };
  const extent = builtin === 'gid' ? dispatch[0] * wgX : dispatch[0];
  return { consts: [['GRID_X', extent]], expr: `${builtin}.x + ${builtin}.y * GRID_X` };
}

/** `foldGrid(ceil(items / wg))` with its formula text (`ceil(n/64)`, folded when needed). */
export function flatDispatch(items: number, wg: number, itemsText: string): { dispatch: [number, number, number]; formula: string } {
  const dispatch = foldGrid(ceilDiv(items, wg));
  const base = `ceil(${itemsText}/${wg})`;
  return { dispatch, formula: dispatch[1] === 1 ? base : `fold(${base}) into x*y` };
}

/** Whether the flat index may exceed `items` (so the kernel needs a bounds guard). */
export function needsGuard(dispatch: [number, number, number], wg: number, items: number): boolean {
  return dispatch[0] * dispatch[1] * wg !== items;
}

const WG = 64;

/** Throws when a size is not a positive integer (a compiler bug upstream, named by kernel). */
export function positiveDims(name: string, dims: Record<string, number>): void {
  for (const [what, v] of Object.entries(dims)) {
    if (!Number.isInteger(v) || v < 1) throw new LoomInternalError('codegen', `${name}: ${what} = ${v} must be a positive integer`);
  }
}

/**
 * A kernel with one invocation per output element: `i_el` is the flat index (the grid folded past
 * 65535 workgroups), guarded against `N` = `elements`; `body` writes element i_el. The glue kernels
 * that look along T or across heads (conv, flip, positions, outer products) are built with it.
 */
export function perElementKernel(o: {
  name: string;
  summary: string;
  elements: number;
  /** How `elements` is formed, for the dispatch comment (`B*T*C`). */
  elementsText: string;
  bindings: KernelBinding[];
  consts: [string, number][];
  fconsts?: [string, number][];
  helpers?: string[];
  body: (b: WgslBuilder) => void;
}): Kernel {
  const { dispatch, formula } = flatDispatch(o.elements, WG, o.elementsText);
  const index = flatIndex(dispatch, 'gid', WG);
  return buildKernel({
    name: o.name,
    summary: o.summary,
    bindings: o.bindings,
    consts: [...o.consts, ['N', o.elements], ...index.consts],
    ...(o.fconsts ? { fconsts: o.fconsts } : {}),
    ...(o.helpers ? { helpers: o.helpers } : {}),
    workgroupSize: [WG, 1, 1],
    dispatch,
    dispatchFormula: formula,
    body: (b) => {
      b.line(`let i_el = ${index.expr};`);
      if (needsGuard(dispatch, WG, o.elements)) b.line('if (i_el >= N) { return; }');
      o.body(b);
    },
  });
}

/** Operator precedence for rendering: higher binds tighter. */
const INFIX: Partial<Record<EwFn, { op: string; prec: number }>> = {
  add: { op: '+', prec: 1 },
  mul: { op: '*', prec: 2 },
};

function validate(e: EwExpr, arity: number, used: Set<number>): void {
  switch (e.kind) {
    case 'in':
      if (!Number.isInteger(e.index) || e.index < 0 || e.index >= arity) {
        throw new LoomInternalError('codegen', `elementwise input ${e.index} is out of range for arity ${arity}`);
      }
      used.add(e.index);
      return;
    case 'const':
      if (!Number.isFinite(e.value)) throw new LoomInternalError('codegen', `elementwise constant ${e.value} is not finite`);
      return;
    case 'fn':
      if (e.args.length !== EW_ARITY[e.fn]) {
        throw new LoomInternalError('codegen', `${e.fn} takes ${EW_ARITY[e.fn]} argument(s), got ${e.args.length}`);
      }
      for (const a of e.args) validate(a, arity, used);
  }
}

/** Renders the tree as one WGSL expression over `x0, x1, ...`, with only the parentheses needed. */
export function renderEwExpr(e: EwExpr, parentPrec = 0, rightOperand = false): string {
  switch (e.kind) {
    case 'in':
      return `x${e.index}`;
    case 'const': {
      const lit = f32Lit(e.value);
      return e.value < 0 || Object.is(e.value, -0) ? `(${lit})` : lit;
    }
    case 'fn': {
      const infix = INFIX[e.fn];
      if (!infix) return `${e.fn}(${e.args.map((a) => renderEwExpr(a)).join(', ')})`;
      const text = `${renderEwExpr(e.args[0], infix.prec, false)} ${infix.op} ${renderEwExpr(e.args[1], infix.prec, true)}`;
      const paren = infix.prec < parentPrec || (rightOperand && infix.prec === parentPrec);
      return paren ? `(${text})` : text;
    }
  }
}

/** Helper functions the tree calls, in WGSL_HELPERS order. */
export function ewHelpers(e: EwExpr): string[] {
  const fns = new Set<string>();
  const walk = (x: EwExpr): void => {
    if (x.kind !== 'fn') return;
    fns.add(x.fn);
    x.args.forEach(walk);
  };
  walk(e);
  return Object.entries(WGSL_HELPERS)
    .filter(([name]) => fns.has(name))
    .map(([, src]) => src);
}

/**
 * `out[i] = expr(in0[i], ..., in{arity-1}[i])` for i < elements; one invocation per element.
 * Every input must appear in the tree (an unused binding would be dropped from the layout).
 */
export function elementwiseKernel(o: { name: string; elements: number; expr: EwExpr; arity: number; inputElements?: readonly number[] }): Kernel {
  const used = new Set<number>();
  validate(o.expr, o.arity, used);
  for (let k = 0; k < o.arity; k++) {
    if (!used.has(k)) throw new LoomInternalError('codegen', `${o.name}: elementwise input ${k} is not used by the expression`);
  }
  const n = o.elements;
  const { dispatch, formula } = flatDispatch(n, WG, 'n');
  const index = flatIndex(dispatch, 'gid', WG);
  const rendered = renderEwExpr(o.expr);
  const inputs = Array.from({ length: o.arity }, (_, k) => k);
  // Inputs smaller than the output broadcast over leading dimensions: element i reads in_k[i % N_k].
  const sizes = inputs.map((k) => o.inputElements?.[k] ?? n);
  for (const [k, size] of sizes.entries()) {
    if (!(size > 0 && n % size === 0)) throw new LoomInternalError('codegen', `${o.name}: input ${k} of ${size} elements does not broadcast to ${n}`);
  }
  const broadcast = inputs.filter((k) => sizes[k] !== n);
  return buildKernel({
    name: o.name,
    summary: `out[i] = ${rendered} where xk = in{k}[i]`,
    bindings: [
      ...inputs.map((k) => ({ name: `in${k}`, access: 'read' as const, elem: 'f32' as const, elements: sizes[k] })),
      { name: 'out', access: 'read_write', elem: 'f32', elements: n },
    ],
    consts: [['N', n], ...broadcast.map((k): [string, number] => [`N${k}`, sizes[k]]), ...index.consts],
    helpers: ewHelpers(o.expr),
    workgroupSize: [WG, 1, 1],
    dispatch,
    dispatchFormula: formula,
    body: (b) => {
      b.line(`let i_el = ${index.expr};`);
      if (needsGuard(dispatch, WG, n)) b.line('if (i_el >= N) { return; }');
      for (const k of inputs) b.line(broadcast.includes(k) ? `let x${k} = in${k}[i_el % N${k}];` : `let x${k} = in${k}[i_el];`);
      b.line(`out[i_el] = ${rendered};`);
    },
  });
}
