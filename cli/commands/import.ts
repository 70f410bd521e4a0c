/**
 * `loom import CONFIG.json [-o SPEC.loom] [--force]`: a Hugging Face config of a
 * flash-linear-attention model (GLA, DeltaNet, GatedDeltaNet, RetNet, LinearAttention, their
 * hybrids with softmax attention layers, Transformer) or of `LlamaForCausalLM` -> a `.loom` spec
 * computing the same function (compiler/import/). Without -o
 * the spec goes to stdout. An existing output file is replaced only with --force.
 */
import { existsSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { importConfig } from '../../compiler/import/config.ts';
import { diag, LoomError } from '../../grammar/diagnostics.ts';
import { sources, usageError, type Io } from '../io.ts';

/** Largest config.json read. */
const MAX_CONFIG_BYTES = 16 * 1024 * 1024;

export async function importCommand(args: string[], io: Io): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args, options: { out: { type: 'string', short: 'o' }, force: { type: 'boolean' } }, allowPositionals: true, strict: true });
  } catch (e) {
    throw usageError(`import: ${(e as Error).message}`);
  }
  const { values, positionals } = parsed;
  if (positionals.length !== 1) throw usageError(`import: expected one config.json, got ${positionals.length ? positionals.join(' ') : 'none'}`);
  const path = positionals[0];
  const out = values.out;
  if (out !== undefined && existsSync(out) && !values.force) {
    throw new LoomError([diag('file-error', { message: `import: '${out}' exists; use --force to overwrite it` })]);
  }
  let text: string;
  try {
    // A config is a few kilobytes; refuse a huge file instead of reading it whole.
    const bytes = statSync(path).size;
    if (bytes > MAX_CONFIG_BYTES) throw new LoomError([diag('file-error', { message: `config '${path}' is ${bytes} bytes, over the ${MAX_CONFIG_BYTES}-byte limit of a config.json` })]);
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if (e instanceof LoomError) throw e;
    const reason = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message;
    throw new LoomError([diag('file-error', { message: `cannot read config '${path}': ${reason}` })]);
  }
  sources.set(path, text);
  const result = importConfig(text, path, out);
  if (out === undefined) {
    io.out(result.text);
    return 0;
  }
  const temp = join(dirname(out), `.${basename(out)}.${process.pid}.import-tmp`);
  try {
    writeFileSync(temp, result.text);
    renameSync(temp, out);
  } catch (e) {
    rmSync(temp, { force: true });
    throw new LoomError([diag('file-error', { message: `cannot write '${out}': ${(e as Error).message}` })]);
  }
  io.err(`wrote ${out} (${result.kind}); run it with: loom run ${out} --weights model.safetensors --ids ids.json --out logits.safetensors\n`);
  return 0;
}
