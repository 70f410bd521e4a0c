/**
 * The runtime in a browser (or a worker): the device from `navigator.gpu`, files chosen from disk
 * read tensor by tensor (runtime/memory-files.ts), the tune cache and state files in memory.
 * Importing this module sets the browser's host (runtime/host.ts); it imports nothing of Node's.
 * Everything runtime/index.ts exports that needs no file path is here too, and the float64
 * reference `loom run --check` compares with.
 */
/// <reference types="@webgpu/types" preserve="true" />
import { acquireGpu, describe, type Gpu } from './gpu.ts';
import { setHost } from './host.ts';
import { filesFromBlobs, memoryFiles, type ChosenFile } from './memory-files.ts';
import { openPretrained, type Pretrained, type PretrainedOptions } from './open.ts';

const gpuOf = () => (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;

setHost({
  files: memoryFiles(),
  env: {},
  home: () => '/',
  async probeAdapter() {
    const adapter = await gpuOf()?.requestAdapter({ powerPreference: 'high-performance' });
    return adapter ? { adapter, info: describe(adapter) } : null;
  },
  get noAdapter() {
    return gpuOf()
      ? 'WebGPU is available but offered no adapter (navigator.gpu.requestAdapter() gave null): the GPU may be blocklisted or disabled in the browser settings (chrome://gpu says why)'
      : 'this browser has no WebGPU (navigator.gpu is missing): use a recent Chrome, Edge or Safari, or Firefox with WebGPU enabled, on a secure (https or localhost) page';
  },
});

/**
 * The page's (or worker's) device: navigator.gpu's adapter with its full storage limits, and
 * shader-f16 and timestamp-query when it has them. A LoomError (LOOM6002 no-adapter) saying why
 * when WebGPU is missing or offers no adapter; once the device is lost, the next call opens a new one.
 */
export function acquireBrowserGpu(): Promise<Gpu> {
  return acquireGpu();
}

/**
 * A checkpoint directory chosen from disk (config.json, one or more .safetensors with their
 * index, tokenizer.json and its configs when present) opened as `openPretrained` opens one on
 * disk: the config imported and compiled in memory, the weights read and uploaded tensor by tensor
 * (each a `slice()` of its File), the tokenizer checked against the vocabulary. `options.gpu`:
 * the device (default: acquireBrowserGpu()).
 */
export async function openPretrainedFromFiles(files: ArrayLike<ChosenFile>, options: PretrainedOptions & { gpu?: Gpu } = {}): Promise<Pretrained> {
  const chosen = await filesFromBlobs(files);
  return openPretrained(options.gpu ?? (await acquireBrowserGpu()), chosen.dir, options, chosen.files);
}

export { acquireGpu, createGpu, deviceProfile, openDevice, probeAdapter, type AdapterDescription, type Gpu } from './gpu.ts';
export { blobSource, filesFromBlobs, memoryFiles, type BlobLike, type ChosenFile } from './memory-files.ts';
export type { ByteSource, Files, Host } from './host.ts';
export { compileInMemory, openPretrained, type OpenOptions, type Pretrained, type PretrainedOptions } from './open.ts';
export { artifactsFromFiles, type Artifacts, type WindowSource } from './artifacts.ts';
export { Model, prefillWidths, type PrefillOptions, type Weights } from './model.ts';
export { Session, type ForwardResult, type StateDecl } from './session.ts';
export { encodeBytes, generate, sampleToken, type GenerateOptions, type GenerateResult, type SamplingOptions, type TokenDecoding } from './generate.ts';
export { byteTokenizer, checkTokenizerVocab, encodePrompt, tokenizerFromFiles, type TextStream, type Tokenizer, type TokenizerFiles } from './tokenizer.ts';
export { readAll, seededWeights, weightProvider, type WeightProvider } from './weights.ts';
export { openCheckpoint, type WeightsFormat } from './fla-weights.ts';
export { safetensorsReader, type SafetensorsReader } from './safetensors.ts';
export { storedWeights } from './f16.ts';
export { hasTimestamps, timeProgram, timeSpec, type Timed } from './measure.ts';
export { loadProfile } from './tune-cache.ts';
export { randomTokens, Rng } from './random.ts';
export { interpretGraph, type InterpretResult } from './reference/index.ts';
export { relativeError } from './check-finite.ts';
export { LoomError, type Diagnostic } from '../grammar/diagnostics.ts';
