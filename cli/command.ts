/**
 * The command-line framework. Each command (cli/commands/*.ts) declares its arguments and options,
 * each with a one-line description, and a function doing the work; `cli` turns the declarations
 * into commander commands (help per command, `loom help CMD`, `--version`) and every parsing error
 * into a LOOM6001 diagnostic with a suggestion. The option values stay strings here: each command
 * validates them (cli/options.ts), so a bad value is a coded diagnostic like any other.
 */
import { Command, CommanderError, Option } from 'commander';
import { suggest } from '../grammar/suggest.ts';
import { usageError, type Io } from './io.ts';

export interface OptionDef {
  /** The long name, without dashes: `seq`, `weights-dtype`. */
  flag: string;
  /** A one-letter alias: `o` for `-o`. */
  short?: string;
  /** The value's placeholder (`T`, `FILE`); absent for a switch. */
  value?: string;
  /** One line: what the option does, its default. */
  help: string;
  /** May be given more than once; the values are collected in order. */
  repeat?: boolean;
}

/** Option values by long name: a string, `true` for a switch, a list for a repeatable option. */
export type Values = Record<string, string | boolean | string[] | undefined>;

export interface CommandDef {
  name: string;
  /** Positional arguments in commander's syntax: `<spec>`, `<files...>`. */
  args: string;
  /** One line, for the list of commands. */
  summary: string;
  /** Paragraphs after the options in the command's help. */
  details?: string;
  options: readonly OptionDef[];
  /** The work: positional arguments and option values in, exit status out. */
  run(args: string[], values: Values, io: Io): Promise<number>;
}

/** Exit status of a usage error: the command line is wrong, nothing was done. */
export const USAGE_EXIT = 2;

function option(o: OptionDef): Option {
  const flags = `${o.short ? `-${o.short}, ` : ''}--${o.flag}${o.value ? ` <${o.value}>` : ''}`;
  const opt = new Option(flags, o.help);
  return o.repeat ? opt.argParser((v: string, previous: string[] | undefined) => [...(previous ?? []), v]) : opt;
}

/**
 * The `loom` program over `commands`: help and version text go to `io.out`, the exit status of a
 * command's work to `status.code`. Parsing errors are thrown (commander's `exitOverride`).
 */
export function cli(commands: readonly CommandDef[], io: Io, version: string, about: { description: string; after: string }, status: { code: number }): Command {
  const program = new Command('loom')
    .description(about.description)
    .version(version, '-V, --version', 'print the version of loom')
    .helpOption('-h, --help', 'print this help')
    .helpCommand('help [command]', 'print the help of a command')
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err, outputError: () => {} })
    .showSuggestionAfterError(false) // ours: prefixes too (`--temp`), and the spec language's thresholds
    .allowExcessArguments(false)
    .addHelpText('after', about.after);
  for (const def of commands) {
    const cmd = program.command(def.name).summary(def.summary).description(def.summary).helpOption('-h, --help', 'print this help');
    if (def.args) cmd.arguments(def.args);
    for (const o of def.options) cmd.addOption(option(o));
    if (def.details) cmd.addHelpText('after', `\n${def.details}`);
    cmd.action(async (...a: unknown[]) => {
      const self = a[a.length - 1] as Command;
      const opts = self.opts();
      const values: Values = {};
      for (const o of self.options) if (o.long) values[o.long.slice(2)] = opts[o.attributeName()];
      status.code = await def.run(self.processedArgs.flat() as string[], values, io);
    });
  }
  return program;
}

/** The long options a command takes (with the global ones), for suggestions. */
function flagsOf(def: CommandDef | undefined): string[] {
  return [...(def?.options.map((o) => `--${o.flag}`) ?? []), '--help', ...(def ? [] : ['--version'])];
}

/** `'--temp'` -> `--temperature` (a unique prefix) or the nearest spelling; nothing when unsure. */
export function nearest(word: string, candidates: readonly string[]): string | undefined {
  const prefixed = candidates.filter((c) => c.startsWith(word));
  return prefixed.length === 1 && word.replace(/^-+/, '').length >= 2 ? prefixed[0] : suggest(word, candidates);
}

/**
 * A commander parsing error as a LOOM6001 (`def`: the command being parsed, if known):
 * `generate: unknown option '--temp', did you mean --temperature?`.
 */
export function usageFromCommander(e: CommanderError, def: CommandDef | undefined, commands: readonly CommandDef[]) {
  const text = e.message
    .replace(/^error: /, '')
    .replace(/\s*\(Did you mean[^)]*\)\s*$/, '')
    .replace(/ for '[^']*'\. Expected/, ': expected')
    .replace(/\.$/, '');
  const word = /'([^']*)'/.exec(text)?.[1] ?? '';
  const hint =
    e.code === 'commander.unknownOption'
      ? nearest(word.split('=')[0], flagsOf(def))
      : e.code === 'commander.unknownCommand'
        ? nearest(word, [...commands.map((c) => c.name), 'help'])
        : undefined;
  const usage = def ? `loom ${def.name}${def.options.length ? ' [options]' : ''}${def.args ? ` ${def.args}` : ''}` : 'loom [options] [command]';
  const more = e.code === 'commander.unknownOption' ? `; '${def ? `loom help ${def.name}` : 'loom --help'}' lists the options` : e.code === 'commander.unknownCommand' ? "; 'loom help' lists the commands" : `; usage: ${usage}`;
  return usageError(`${def ? `${def.name}: ` : ''}${text}${hint ? `, did you mean '${hint}'?` : more}`);
}
