/**
 * The one place WGSL text is assembled: a line builder with indentation, named constants and a
 * header comment that documents the kernel's bindings and dispatch.
 */
import type { ElemType, Kernel, KernelBinding } from './kernel.ts';

export class WgslBuilder {
  private readonly lines: string[] = [];
  private depth = 0;

  /** Appends one line (or several, split on '\n') at the current indentation. */
  line(text = ''): this {
    for (const l of text.split('\n')) this.lines.push(l.length ? '  '.repeat(this.depth) + l : '');
    return this;
  }

  /** `head {` ... `}` with the body indented. */
  block(head: string, body: () => void): this {
    this.line(`${head} {`);
    this.depth++;
    body();
    this.depth--;
    this.line('}');
    return this;
  }

  toString(): string {
    return this.lines.join('\n') + '\n';
  }
}

/** The shortest WGSL float literal that denotes the same f32 (`1e-6` -> `1e-6`, `2` -> `2.0`). */
export function f32Lit(x: number): string {
  if (!Number.isFinite(x)) throw new Error(`non-finite constant ${x} cannot be a WGSL literal`);
  const target = Math.fround(x);
  let text = String(target);
  for (let p = 1; p <= 9; p++) {
    const candidate = String(Number(target.toPrecision(p)));
    if (Math.fround(Number(candidate)) === target) {
      text = candidate;
      break;
    }
  }
  return /[.e]/.test(text) ? text : `${text}.0`;
}

export function u32Lit(x: number): string {
  if (!Number.isInteger(x) || x < 0 || x > 0xffffffff) throw new Error(`${x} is not a u32`);
  return `${x}u`;
}

export interface KernelSource {
  name: string;
  /** One sentence: what the kernel computes, in docs/mixers.md notation. */
  summary: string;
  bindings: KernelBinding[];
  /** Named sizes emitted as `const NAME: u32 = ...u;` in this order. */
  consts: [string, number][];
  /** Named float constants emitted as `const NAME: f32 = ...;`. */
  fconsts?: [string, number][];
  /** Helper functions the body uses (each a complete WGSL function). */
  helpers?: string[];
  workgroupSize: [number, number, number];
  dispatch: [number, number, number];
  dispatchFormula: string;
  /** Emits the body of `main(@builtin(global_invocation_id) gid, ...)`. */
  body: (b: WgslBuilder) => void;
  /** Builtins `main` receives; default only `gid`. */
  builtins?: ('gid' | 'lid' | 'wid')[];
}

const BUILTIN_DECL: Record<'gid' | 'lid' | 'wid', string> = {
  gid: '@builtin(global_invocation_id) gid: vec3<u32>',
  lid: '@builtin(local_invocation_id) lid: vec3<u32>',
  wid: '@builtin(workgroup_id) wid: vec3<u32>',
};

function storageDecl(i: number, b: KernelBinding): string {
  const access = b.access === 'read' ? 'read' : 'read_write';
  return `@group(0) @binding(${i}) var<storage, ${access}> ${b.name}: array<${b.view ?? b.elem}>;`;
}

/** Renders a kernel: header comment, bindings, constants, helpers, entry point. */
export function buildKernel(src: KernelSource): Kernel {
  const b = new WgslBuilder();
  // f16 storage (weights stored half precision) needs the extension; the device must have shader-f16.
  if (src.bindings.some((bd) => bd.elem === 'f16' && !bd.view)) b.line('enable f16;');
  b.line(`// ${src.name}: ${src.summary}`);
  for (const [i, bd] of src.bindings.entries()) {
    b.line(`//   @binding(${i}) ${bd.name}: ${bd.access === 'read' ? 'in ' : 'out'} ${bd.elem}[${bd.elements}]${bd.view ? ` read as ${bd.view}` : ''}`);
  }
  b.line(`// dispatch: ${src.dispatchFormula} = (${src.dispatch.join(', ')}) workgroups of ${src.workgroupSize.join('x')}`);
  b.line();
  for (const [i, bd] of src.bindings.entries()) b.line(storageDecl(i, bd));
  b.line();
  for (const [name, value] of src.consts) b.line(`const ${name}: u32 = ${u32Lit(value)};`);
  for (const [name, value] of src.fconsts ?? []) b.line(`const ${name}: f32 = ${f32Lit(value)};`);
  for (const h of src.helpers ?? []) {
    b.line();
    b.line(h.trimEnd());
  }
  b.line();
  const builtins = (src.builtins ?? ['gid']).map((k) => BUILTIN_DECL[k]).join(', ');
  b.line(`@compute @workgroup_size(${src.workgroupSize.join(', ')})`);
  b.block(`fn main(${builtins})`, () => src.body(b));
  return {
    name: src.name,
    wgsl: b.toString(),
    entryPoint: 'main',
    bindings: src.bindings,
    workgroupSize: src.workgroupSize,
    dispatch: src.dispatch,
    dispatchFormula: src.dispatchFormula,
  };
}

/** Shared WGSL helper functions, included only by kernels that call them. */
export const WGSL_HELPERS = {
  elu1: 'fn elu1(x: f32) -> f32 {\n  return select(exp(x), x + 1.0, x > 0.0);\n}',
  silu: 'fn silu(x: f32) -> f32 {\n  return x / (1.0 + exp(-x));\n}',
  relu: 'fn relu(x: f32) -> f32 {\n  return max(x, 0.0);\n}',
  sigmoid: 'fn sigmoid(x: f32) -> f32 {\n  return 1.0 / (1.0 + exp(-x));\n}',
  softplus: 'fn softplus(x: f32) -> f32 {\n  return max(x, 0.0) + log(1.0 + exp(-abs(x)));\n}',
  recip: 'fn recip(x: f32) -> f32 {\n  return 1.0 / x;\n}',
  logsigmoid: 'fn logsigmoid(x: f32) -> f32 {\n  return min(x, 0.0) - log(1.0 + exp(-abs(x)));\n}',
} as const;

/**
 * `let n_NAME = select(NAME, 0u, gid.z == 0xffffffffu);`: a loop bound equal to the constant NAME
 * that the shader compiler cannot fold (no invocation has that id), so it keeps the loop rolled.
 * Fully unrolled, such loops took lavapipe tens of seconds to compile; GPU-class variants use
 * the constant itself where unrolling into registers pays (compiler/plan/device.ts unrollLoops).
 */
export function rolledBound(name: string, builtin: 'gid' | 'lid' | 'wid' = 'gid'): string {
  return `let n_${name} = select(${name}, 0u, ${builtin}.z == 0xffffffffu);`;
}

export function ceilDiv(a: number, b: number): number {
  return Math.ceil(a / b);
}
