/**
 * The float64 reference: definitions of every op, loop by loop, and the graph interpreter that
 * composes them. Kernels and whole compiled models are tested against these.
 */
export { embedRef, matmulRef, rmsnormRef, l2normRef, siluRef, elu1Ref, softplusRef, elementwiseRef } from './ops.ts';
export { interpretGraph } from './interpret.ts';
export type { InterpretResult } from './interpret.ts';
export { linearAttnRef } from './linear-attn.ts';
export type { LinearAttnRefInput, LinearAttnRefOutput } from './linear-attn.ts';
