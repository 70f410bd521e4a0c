/**
 * Loom's runtime API for generated modules (`loom compile --emit ts`): the device, the artifact
 * loader and the Model over its forward and step programs. Nothing here imports the compiler's
 * code, only its types; the compiler is loaded on demand when a prefill needs a window program
 * of a width an artifact directory lacks (runtime/artifacts.ts, from the spec it names).
 */
// The declarations use WebGPU's global types (GPUDevice, ...): kept in dist/runtime/index.d.ts for users.
/// <reference types="@webgpu/types" preserve="true" />
import './node/host.ts'; // Node's host: the disk, Dawn (runtime/host.ts)
import type { Weights } from './model.ts';
export { acquireGpu, probeAdapter } from './gpu.ts';
export type { Gpu, AdapterDescription } from './gpu.ts';
export { artifactsFromFiles, loadArtifacts } from './artifacts.ts';
export type { Artifacts, WindowSource } from './artifacts.ts';
export { Model, prefillWidths } from './model.ts';
export type { PrefillOptions, Weights } from './model.ts';
/** What `create()` of a generated module takes: an object with every name in `Name`, or any other form of weights `Model.create` accepts (a Map, ...). */
export type ModelWeights<Name extends string> = Readonly<Record<Name, Float32Array>> | Exclude<Weights, Readonly<Record<string, Float32Array>>>;
export { encodeBytes, generate, sampleToken } from './generate.ts';
export type { GenerateOptions, GenerateResult, SamplingOptions, TokenDecoding } from './generate.ts';
export { byteTokenizer, checkTokenizerVocab, encodePrompt, loadTokenizer, tokenizerFromFiles } from './tokenizer.ts';
export type { TextStream, Tokenizer, TokenizerFiles } from './tokenizer.ts';
export type { StateIdentity } from './state.ts';
export type { ForwardResult, StateDecl } from './session.ts';
export { loadWeights, openLoomWeights, saveWeights, seededWeights, type WeightProvider } from './weights.ts';
export { loadCheckpoint, openCheckpoint, type WeightsFormat } from './fla-weights.ts';
export { LoomError } from '../grammar/diagnostics.ts';
