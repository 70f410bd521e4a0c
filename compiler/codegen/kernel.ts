/**
 * A generated compute kernel: WGSL text plus everything needed to bind and dispatch it.
 *
 * Bindings are all in group 0, binding index = position in `bindings`: read-only inputs first,
 * then outputs. Sizes are baked into the WGSL as named constants, so a kernel is specialised to
 * its shapes and needs no uniforms.
 */
export type ElemType = 'f32' | 'i32' | 'u32' | 'f16';

/** Bytes per element: 2 for f16 (weights stored half precision, `--weights-dtype f16`), else 4. */
export function elemBytes(e: ElemType): number {
  return e === 'f16' ? 2 : 4;
}

export interface KernelBinding {
  /** Parameter name inside the kernel (`q`, `k`, `out`). */
  name: string;
  access: 'read' | 'read_write';
  elem: ElemType;
  /** Number of elements the kernel expects in the bound buffer. */
  elements: number;
  /**
   * The WGSL element type the kernel reads the buffer as, when not `elem` itself: `vec4<f32>` (four
   * f32 per load), `vec2<u32>` (four f16 packed, unpacked with unpack2x16float). `elements` still
   * counts `elem` values.
   */
  view?: string;
}

export interface Kernel {
  /** Readable, unique within a program: `L3.attn.chunk_h`. */
  name: string;
  wgsl: string;
  entryPoint: string;
  bindings: KernelBinding[];
  workgroupSize: [number, number, number];
  /** Workgroup counts to dispatch. */
  dispatch: [number, number, number];
  /** How `dispatch` was derived, for manifests and dumps: `ceil(N/64) x B*H`. */
  dispatchFormula: string;
}

/** A binding the kernel only reads (an input). */
export function input(name: string, elements: number, elem: ElemType = 'f32'): KernelBinding {
  return { name, access: 'read', elem, elements };
}

/** A binding the kernel writes (an output, or a state updated in place). */
export function output(name: string, elements: number, elem: ElemType = 'f32'): KernelBinding {
  return { name, access: 'read_write', elem, elements };
}
