/**
 * A Hugging Face / flash-linear-attention checkpoint directory as one unit: `config.json` (turned
 * into a spec in memory by `loom import`'s translator), the weights (`model.safetensors`, a sharded
 * `model.safetensors.index.json`, or the one `.safetensors` file there is), and the tokenizer files
 * (`tokenizer.json`, `tokenizer_config.json`, `generation_config.json`) when present.
 *
 * `readCheckpointDir` reads only small files (the config and tokenizer texts) and lists the
 * directory; no tensor data is read. Every problem is a LoomError (LOOM6011 bad-checkpoint, or
 * LOOM6010 from the config's translation) naming the directory or file.
 */
import { importConfig } from '../compiler/import/config.ts';
import { diag, LoomError } from '../grammar/diagnostics.ts';
import { errorCode, hostFiles, type Files } from './host.ts';
import { INDEX_SUFFIX } from './safetensors-index.ts';
import { tokenizerFromFiles, type Tokenizer } from './tokenizer.ts';

/** Largest config or tokenizer-config file read; tokenizer.json files of real models reach ~20 MB. */
const MAX_SMALL_FILE = 16 * 1024 * 1024;
const MAX_TOKENIZER_FILE = 256 * 1024 * 1024;

export interface CheckpointDir {
  dir: string;
  /** `DIR/config.json`: the file the spec's diagnostics refer to. */
  configPath: string;
  configText: string;
  /** The spec computed by `loom import` from config.json, in canonical form. */
  specText: string;
  /** The model kind (`gla`, `gated_deltanet`, ...). */
  kind: string;
  /** A `.safetensors` file or a sharded checkpoint's index. */
  weights: string;
  /** Texts of the tokenizer files present (file name -> text). */
  tokenizerFiles: Map<string, string>;
}

export const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'generation_config.json', 'special_tokens_map.json'] as const;

function fail(dir: string, message: string, file?: string): never {
  throw new LoomError([diag('bad-checkpoint', { message: `${file ?? dir}: ${message}` }, { file: file ?? dir })]);
}

/** Whether `path` is a directory (false for files and missing paths). */
export function isDirectory(path: string, files: Files = hostFiles()): boolean {
  try {
    return files.stat(path).isDirectory;
  } catch {
    return false;
  }
}

function readText(dir: string, path: string, limit: number, files: Files): string {
  let size: number;
  try {
    size = files.stat(path).size;
  } catch (e) {
    return fail(dir, `cannot read (${errorCode(e)})`, path);
  }
  if (size > limit) fail(dir, `${size} bytes, over the ${limit}-byte limit for this file`, path);
  return files.readText(path);
}

/** The weights of a checkpoint directory: the index if there is one, else its one safetensors file. */
export function findWeights(dir: string, names: readonly string[], paths: Files = hostFiles()): string {
  const join = paths.join;
  const indexes = names.filter((n) => n.endsWith(`.safetensors${INDEX_SUFFIX}`));
  if (indexes.length === 1) return join(dir, indexes[0]);
  if (indexes.length > 1) fail(dir, `several sharded-checkpoint indexes (${indexes.join(', ')}); keep one`);
  const files = names.filter((n) => n.endsWith('.safetensors')).sort();
  if (files.length === 1) return join(dir, files[0]);
  if (files.includes('model.safetensors')) return join(dir, 'model.safetensors');
  if (files.length === 0) return fail(dir, 'no weights: expected model.safetensors or a sharded model.safetensors.index.json');
  const shown = files.slice(0, 4).join(', ') + (files.length > 4 ? ` and ${files.length - 4} more` : '');
  return fail(dir, `${files.length} safetensors files (${shown}) and no index (model.safetensors.index.json) saying which tensor is where`);
}

/** Reads a checkpoint directory's config (as a spec), finds its weights and reads its tokenizer files. */
export function readCheckpointDir(dir: string, files: Files = hostFiles()): CheckpointDir {
  const join = files.join;
  let names: string[];
  try {
    names = files.list(dir);
  } catch (e) {
    return fail(dir, `cannot list the directory (${errorCode(e)})`);
  }
  if (!names.includes('config.json')) {
    const spec = names.filter((n) => n.endsWith('.loom'));
    const hint = spec.length ? `; to run the spec here, name it: ${join(dir, spec[0])}` : '';
    fail(dir, `not a checkpoint directory: it has no config.json (a Hugging Face / fla model directory has config.json, model.safetensors and tokenizer.json)${hint}`);
  }
  const configPath = join(dir, 'config.json');
  const configText = readText(dir, configPath, MAX_SMALL_FILE, files);
  const name = files.basename(files.resolve(dir));
  const imported = importConfig(configText, configPath, `${name}.loom`);
  const weights = findWeights(dir, names, files);
  const tokenizerFiles = new Map<string, string>();
  for (const f of TOKENIZER_FILES) if (names.includes(f)) tokenizerFiles.set(f, readText(dir, join(dir, f), f === 'tokenizer.json' ? MAX_TOKENIZER_FILE : MAX_SMALL_FILE, files));
  return { dir, configPath, configText, specText: imported.text, kind: imported.kind, weights, tokenizerFiles };
}

/** The checkpoint's tokenizer (tokenizer.json with its configs), or undefined when it has none. */
export function checkpointTokenizer(cp: CheckpointDir, files: Files = hostFiles()): Tokenizer | undefined {
  const f = cp.tokenizerFiles;
  const json = f.get('tokenizer.json');
  if (json === undefined) return undefined;
  const at = (name: string) => files.join(cp.dir, name);
  return tokenizerFromFiles(
    { tokenizerJson: json, tokenizerConfig: f.get('tokenizer_config.json'), generationConfig: f.get('generation_config.json'), config: cp.configText, specialTokensMap: f.get('special_tokens_map.json') },
    { tokenizerJson: at('tokenizer.json'), tokenizerConfig: at('tokenizer_config.json'), generationConfig: at('generation_config.json'), config: cp.configPath, specialTokensMap: at('special_tokens_map.json') },
  );
}
