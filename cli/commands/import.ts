/**
 * `loom import CONFIG.json [-o SPEC.loom] [--force]`: a Hugging Face config of a
 * flash-linear-attention model (GLA, DeltaNet, GatedDeltaNet, RetNet, LinearAttention, their
 * hybrids with softmax attention layers, Transformer) or of `LlamaForCausalLM` -> a `.loom` spec
 * computing the same function (compiler/import/). Without -o
 * the spec goes to stdout. An existing output file is replaced only with --force.
 */
import { existsSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { importConfig } from '../../compiler/import/config.ts';
import { diag, LoomError } from '../../grammar/diagnostics.ts';
import type { CommandDef } from '../command.ts';
import { sources, type Io } from '../io.ts';

/** Largest config.json read. */
const MAX_CONFIG_BYTES = 16 * 1024 * 1024;

export const importCommand: CommandDef = {
  name: 'import',
  args: '<config>',
  summary: "a .loom spec from a Hugging Face config.json of an fla model (gla, delta_net, gated_deltanet, retnet, linear_attn, mamba, mamba2, samba, hybrids with attn layers, transformer) or LLaMA",
  options: [
    { flag: 'out', short: 'o', value: 'SPEC', help: 'write the spec to this .loom file (default: stdout)' },
    { flag: 'force', help: 'replace the -o file when it exists' },
  ],
  run: ([config], v, io) => importSpec({ config, out: v.out as string | undefined, force: v.force === true }, io),
};

/** `loom import` without its argument parsing. */
export async function importSpec({ config: path, out, force }: { config: string; out?: string; force: boolean }, io: Io): Promise<number> {
  if (out !== undefined && existsSync(out) && !force) {
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
