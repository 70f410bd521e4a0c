/**
 * The `loom` command line. Thin: every command parses its options and calls the library.
 * Errors are rendered diagnostics on stderr and a non-zero exit status, never a stack trace
 * (except for internal errors, which are bugs and say so).
 */
import { LoomError, LoomInternalError } from '../grammar/diagnostics.ts';
import { checkCommand } from './commands/check.ts';
import { compileCommand } from './commands/compile.ts';
import { doctorCommand } from './commands/doctor.ts';
import { explainCommand } from './commands/explain.ts';
import { fmtCommand } from './commands/fmt.ts';
import { generateCommand } from './commands/generate.ts';
import { importCommand } from './commands/import.ts';
import { opCommand } from './commands/op.ts';
import { runCommand } from './commands/run.ts';
import { tuneCommand } from './commands/tune.ts';
import { ShaderCompileError } from '../runtime/program.ts';
import { printDiagnostics, processIo, usageError, type Io } from './io.ts';

export const USAGE = `loom: compile .loom model specs to WGSL and run them on WebGPU (Dawn)

usage:
  loom doctor [--calibrate]           the adapter, its features and the limits the compiler uses;
                                      --calibrate re-measures its matmul, copy and dispatch rates
  loom compile SPEC -o DIR [options]  write one .wgsl per kernel and manifest.json to DIR
  loom run SPEC [options]             run a forward pass on random token ids
  loom generate SPEC --prompt TEXT [--max-tokens N] [--temperature X] [--top-k K] [--top-p P]
                                      byte-level text generation: prefill, then step; the text
                                      streams to stdout, statistics to stderr (temperature 0: greedy)
  loom explain SPEC [options] [--ir] [--mode prefill|decode]
                                      the plan: schedule per layer with every alternative's estimate;
                                      --mode decode: the step program and every state's size
                                      (and its measured time once tuned)
  loom tune SPEC [--seq T ...] [--batch B] [--calibrate] [--quick] [--max-seconds S] [--json]
                                      measure every legal schedule, chunk size and kernel variant of
                                      each distinct layer shape on this adapter; auto then prefers
                                      the measured times (cached per adapter in ~/.cache/loom or
                                      $LOOM_CACHE_DIR)
  loom check DIR [--update [--yes]]   re-emit a compiled directory, diff every file, run its kernels
                                      against the float64 reference; --update rewrites it
  loom import CONFIG.json [-o SPEC.loom] [--force]
                                      a .loom spec from a Hugging Face config.json of an fla model
                                      (gla, delta_net, gated_deltanet, retnet, linear_attn, with or
                                      without hybrid attn layers; transformer; mamba, mamba2,
                                      samba) or LLaMA
  loom fmt FILE... [--check]          rewrite specs in canonical form; --check: list files that would
                                      change (exit 1), write nothing
  loom op NAME --in IN.safetensors --out OUT.safetensors [--schedule S] [--chunk C] [--scale X]
          [--normalize] [--repeat N] [--json]
                                      one mixer op on tensors in flash-linear-attention's layout:
                                      linear_attn, retention, simple_gla, gla, delta_rule, gated_delta_rule,
                                      based, rebased

options:
  --seq T          sequence length (default 128)
  --batch B        batch size (default 1)
  --schedule S     parallel | chunkwise | chunkwise(C) | recurrent | auto (default: the spec's)
  --weights FILE   weights from a .safetensors file or a sharded model.safetensors.index.json
                   (default: random from --seed); Loom's tensor names or fla's / HF's
  --weights-format F  auto | loom | fla: how --weights names its tensors (default auto: detected)
  --seed N         seed for random weights and token ids (default 0)
  --strict         the spec's warnings (unused mixers and parameters, pattern entries no layer
                   reaches) fail the command as errors
  --check          run: also run the float64 reference and report rms(out-ref)/rms(ref)
  --json           run: print exactly one JSON object on stdout
  --ids IDS.json   run: token ids [[id, ...], ...] (sets B and T) instead of random ones
  --out FILE       run: write the logits [B, T, vocab] (float32) to a .safetensors file
  --check-finite   run: run kernel by kernel and stop at the first output with NaN or Inf,
                   naming the layer, the kernel and the first bad index (exit 1, LOOM5006)
  --force          compile: write into a directory that holds files loom did not write
  --emit wgsl,ts   compile: also write model.ts, a typed module over the runtime (default wgsl)
  --runtime-import M  compile: the module model.ts imports the runtime from (default loom/runtime)
  --ir             explain: dump the graph after each pass
`;

type Command = (args: string[], io: Io) => Promise<number>;

const COMMANDS: Record<string, Command> = {
  doctor: doctorCommand,
  compile: compileCommand,
  run: runCommand,
  generate: generateCommand,
  explain: explainCommand,
  fmt: fmtCommand,
  op: opCommand,
  check: checkCommand,
  import: importCommand,
  tune: tuneCommand,
};

export async function main(argv: string[], io: Io = processIo): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    io.out(USAGE);
    return name ? 0 : 1;
  }
  const command = COMMANDS[name];
  try {
    if (!command) throw usageError(`unknown command '${name}'; try: ${Object.keys(COMMANDS).join(', ')}`);
    return await command(rest, io);
  } catch (e) {
    if (e instanceof LoomError) {
      printDiagnostics(io, e.diagnostics);
      return 1;
    }
    if (e instanceof LoomInternalError) {
      io.err(`loom: ${e.message}\nThis is a bug in Loom; please report it with the spec that caused it.\n`);
      return 70;
    }
    if (e instanceof ShaderCompileError) {
      // WGSL read from an artifact directory is input like any other; ours compiles (tested).
      io.err(`loom: ${e.message}\nIf this kernel comes from an artifact directory, it was changed after \`loom compile\`; otherwise this is a bug in Loom.\n`);
      return 1;
    }
    throw e;
  }
}
