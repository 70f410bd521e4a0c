/**
 * A program as plain data: the buffers a forward pass needs and the ordered kernel dispatches
 * over them. The runtime turns it into pipelines and GPU buffers (`runtime/program.ts`).
 */
import type { ElemType, Kernel } from './kernel.ts';

export type BufferRole = 'weight' | 'input' | 'output' | 'state_in' | 'state_out' | 'activation';

export interface BufferDecl {
  name: string;
  elem: ElemType;
  elements: number;
  role: BufferRole;
  /**
   * Another buffer of the program this name refers to: a state updated in place (a KV cache whose
   * window appends only its new slots) has its output name alias its input buffer.
   */
  alias?: string;
}

export interface Step {
  kernel: Kernel;
  /** Buffer name bound at each of the kernel's bindings, in binding order. */
  args: string[];
}

export interface ProgramSpec {
  buffers: BufferDecl[];
  steps: Step[];
}
