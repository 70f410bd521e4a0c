/** The layer-glue kernels: embedding gather, matmul variants, RMSNorm, fused elementwise. */
export { embedKernel } from './embed.ts';
export { matmulKernel, matmulVariants, type MatmulDims, type MatmulVariant } from './matmul.ts';
export { rmsnormKernel } from './rmsnorm.ts';
export { conv1dKernel, convTailKernel } from './conv.ts';
export { angleScanKernel, cosReweightKernel, lengthNormKernel, rotateKernel } from './position.ts';
export { flipKernel, headDotKernel, outerKernel } from './rows.ts';
export { elementwiseKernel, flatIndex, foldGrid, MAX_GROUPS_PER_DIM } from './elementwise.ts';
export { featureMapKernel, MAX_FEATURE_MAP_INPUT } from './feature-map.ts';
