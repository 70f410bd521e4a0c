/**
 * Opening a model from its source without writing an artifact directory: a spec compiled in
 * memory into its two programs (with the window programs at hand), or a checkpoint directory
 * (config.json imported, weights in fla/HF or Loom names, its tokenizer). `loom run`, `loom
 * generate`, the benchmarks and the typed API use these.
 */
import type { ScheduleChoice } from '../compiler/check/spec.ts';
import { compileArtifacts, DEFAULT_RUNTIME_IMPORT, emitFiles, type CompiledPair } from '../compiler/emit/emit-files.ts';
import type { DeviceProfile } from '../compiler/plan/device.ts';
import { chooseWeightDtype, type WeightDtype, type WeightDtypeRequest } from '../compiler/plan/weight-dtype.ts';
import { LoomError } from '../grammar/diagnostics.ts';
import { artifactsFromFiles, compileWindows, type Artifacts } from './artifacts.ts';
import { checkpointTokenizer, readCheckpointDir, type CheckpointDir } from './checkpoint-dir.ts';
import { openCheckpoint } from './fla-weights.ts';
import { deviceProfile, type Gpu } from './gpu.ts';
import { hostFiles, type Files } from './host.ts';
import { Model, type LoadCallbacks } from './model.ts';
import { checkpointDtypes } from './safetensors-index.ts';
import { byteTokenizer, checkTokenizerVocab, type Tokenizer } from './tokenizer.ts';


export interface OpenOptions {
  batch: number;
  seq: number;
  schedule?: ScheduleChoice;
  device: DeviceProfile;
  /** `f16`: the matmuls' weights stored as f16 (`--weights-dtype f16`). */
  weights?: WeightDtype;
}

/**
 * The forward (prefill plan) and step (decode plan) programs of `text` as in-memory artifacts,
 * with the prefill programs of other window widths at hand.
 */
export function compileInMemory(text: string, path: string, o: OpenOptions): { pair: CompiledPair; artifacts: Artifacts } {
  const options = { ...o, emit: ['wgsl'] as const, runtimeImport: DEFAULT_RUNTIME_IMPORT, source: path };
  const r = compileArtifacts(text, path, options);
  if (!r.ok) throw new LoomError(r.diagnostics.map((d) => ({ ...d, file: d.file ?? (d.span ? path : undefined) })));
  const artifacts = artifactsFromFiles(emitFiles(r.pair, options));
  if (!r.pair.step) return { pair: r.pair, artifacts };
  const windows = compileWindows({ text, path, batch: o.batch, schedule: o.schedule, device: o.device, ...(o.weights === 'f16' ? { weights: 'f16' as const } : {}) });
  return { pair: r.pair, artifacts: { ...artifacts, windows } };
}

export interface PretrainedOptions extends LoadCallbacks {
  /** The largest prefill window (default 128); shorter prompts run as windows of powers of two. */
  seq?: number;
  batch?: number;
  schedule?: ScheduleChoice;
  /** How the matmul weights are stored (default `auto`: f16 for a 16-bit checkpoint on an adapter with shader-f16). */
  weightsDtype?: WeightDtypeRequest;
}

export interface Pretrained {
  model: Model;
  /** The checkpoint's tokenizer, or the byte-level one when it has no tokenizer.json. */
  tokenizer: Tokenizer;
  checkpoint: CheckpointDir;
  pair: CompiledPair;
}

/**
 * A Hugging Face / fla checkpoint directory opened as a Model on `gpu`: config.json imported into
 * a spec and compiled, the weights uploaded tensor by tensor, the tokenizer checked against the
 * model's vocabulary. Errors are LoomErrors naming the file (LOOM6011, LOOM6010, LOOM5xxx).
 * `files`: where `dir` is (default: the host's; in a browser, the files chosen from disk).
 */
export async function openPretrained(gpu: Gpu, dir: string, o: PretrainedOptions = {}, files: Files = hostFiles()): Promise<Pretrained> {
  const checkpoint = readCheckpointDir(dir, files);
  const device = deviceProfile(gpu);
  const { dtype } = chooseWeightDtype(o.weightsDtype ?? 'auto', checkpointDtypes(checkpoint.weights, files), device.shaderF16);
  const { pair, artifacts } = compileInMemory(checkpoint.specText, checkpoint.configPath, {
    batch: o.batch ?? 1, seq: o.seq ?? 128, schedule: o.schedule, device, ...(dtype === 'f16' ? { weights: dtype } : {}),
  });
  const tokenizer = checkpointTokenizer(checkpoint, files) ?? byteTokenizer();
  checkTokenizerVocab(tokenizer, artifacts.vocab, `${dir}/tokenizer.json`);
  const weights = openCheckpoint(pair.forward.spec, pair.forward.graph.weights, checkpoint.weights, 'auto', files);
  try {
    const model = await Model.create(gpu, artifacts, weights, { onLoad: o.onLoad, onCompile: o.onCompile });
    return { model, tokenizer, checkpoint, pair };
  } finally {
    weights.close();
  }
}
