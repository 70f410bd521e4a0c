/**
 * The `loom` command line. Thin: each command declares its options (cli/command.ts) and calls a
 * function doing the work. Every failure is a rendered diagnostic on stderr and an exit status,
 * never a stack trace: 0 done; 1 the work failed (a spec, file, weights or device error); 2 the
 * command line is wrong (LOOM6001), or, for `run --check` and `check`, the numbers are off the
 * reference; 70 a bug in Loom (an internal error).
 */
import { readFileSync } from 'node:fs';
import { CommanderError } from 'commander';
import '../runtime/node/host.ts'; // the runtime's files and adapter on Node (runtime/host.ts)
import { diag, LoomError, LoomInternalError } from '../grammar/diagnostics.ts';
import { cli, nearest, usageFromCommander, USAGE_EXIT, type CommandDef } from './command.ts';
import { checkCommand } from './commands/check.ts';
import { compileCommand } from './commands/compile.ts';
import { doctorCommand } from './commands/doctor.ts';
import { explainCommand } from './commands/explain.ts';
import { fmtCommand } from './commands/fmt.ts';
import { generateCommand } from './commands/generate.ts';
import { importCommand } from './commands/import.ts';
import { opCommand } from './commands/op.ts';
import { playgroundCommand } from './commands/playground.ts';
import { runCommand } from './commands/run.ts';
import { tuneCommand } from './commands/tune.ts';
import { ShaderCompileError } from '../runtime/program.ts';
import { printDiagnostics, processIo, usageError, type Io } from './io.ts';

/** Every command, in the order `loom help` lists them. */
export const COMMANDS: readonly CommandDef[] = [doctorCommand, compileCommand, runCommand, generateCommand, explainCommand, tuneCommand, checkCommand, importCommand, fmtCommand, opCommand, playgroundCommand];

const ABOUT = {
  description: 'loom: compile .loom model specs to WGSL and run them on WebGPU (Dawn)',
  after: `
'loom help COMMAND' or 'loom COMMAND --help' lists the command's options.

Exit status: 0 done; 1 the work failed (a spec, file, weights or device error, as a coded
diagnostic on stderr); 2 a usage error (LOOM6001: an unknown command or option, a bad value),
or for 'run --check' and 'check' the numbers are off the float64 reference; 70 a bug in Loom.`,
};

/** The version in Loom's package.json (the folder above this file's, in a checkout or in dist/). */
function version(): string {
  for (let dir = new URL('..', import.meta.url); ; dir = new URL('..', dir)) {
    try {
      const p = JSON.parse(readFileSync(new URL('package.json', dir), 'utf8'));
      if (p.name === 'loom') return String(p.version);
    } catch {
      // not here: one folder up
    }
    if (new URL('..', dir).href === dir.href) return 'unknown';
  }
}

export async function main(argv: string[], io: Io = processIo): Promise<number> {
  const status = { code: 0 };
  const def = COMMANDS.find((c) => c.name === argv[0]);
  try {
    if (argv[0] === 'help' && argv[1] !== undefined && !COMMANDS.some((c) => c.name === argv[1])) {
      const hint = nearest(argv[1], COMMANDS.map((c) => c.name));
      throw usageError(`help: unknown command '${argv[1]}'${hint ? `, did you mean '${hint}'?` : `; commands: ${COMMANDS.map((c) => c.name).join(', ')}`}`);
    }
    await cli(COMMANDS, io, version(), ABOUT, status).parseAsync(argv, { from: 'user' });
    return status.code;
  } catch (e) {
    return failure(e, io, def);
  }
}

/** What an error thrown by a command becomes: text on stderr and an exit status. */
function failure(e: unknown, io: Io, def: CommandDef | undefined): number {
  if (e instanceof CommanderError) {
    // --help, help, --version: printed on stdout. `loom` alone: the help on stderr, a usage error.
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return e.exitCode === 0 ? 0 : USAGE_EXIT;
    e = usageFromCommander(e, def, COMMANDS);
  }
  if (e instanceof LoomError) {
    printDiagnostics(io, e.diagnostics);
    return e.diagnostics.every((d) => d.code === 6001) ? USAGE_EXIT : 1;
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
  const sys = e as NodeJS.ErrnoException;
  if (sys instanceof Error && typeof sys.code === 'string' && sys.syscall) {
    // A file or system call that failed where no command expected it (a path, a permission).
    printDiagnostics(io, [diag('file-error', { message: sys.message })]);
    return 1;
  }
  const debug = process.env.LOOM_DEBUG === '1';
  io.err(`loom: internal error: ${e instanceof Error ? (debug ? e.stack : e.message) : String(e)}\nThis is a bug in Loom; please report it with the command that caused it${debug ? '' : ' (LOOM_DEBUG=1 shows where it happened)'}.\n`);
  return 70;
}
