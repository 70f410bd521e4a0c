#!/usr/bin/env node
// Entry point of the `loom` command. In a checkout (cli/main.ts beside this folder) it runs the
// TypeScript sources through tsx, so an edit takes effect with no build step and a stale dist/
// never hides one; an installed package has no sources and runs the JavaScript that
// `npm run build` compiled into dist/. A checkout without tsx (dev dependencies not installed)
// falls back to dist/ when it was built.
//
// A command that opens the adapter runs in a child process whose stderr comes back through
// runtime/dawn-stderr.ts, which drops Dawn's two limit warnings (printed by Dawn's native code,
// where no callback can catch them) and passes every other byte on at once. On a terminal the
// child draws its progress bars as on one (LOOM_STDERR_TTY: the terminal's width).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const sources = new URL('../cli/main.ts', import.meta.url);
const built = new URL('../dist/cli/main.js', import.meta.url);

/** Whether the sources run (tsx registered), else dist/. */
async function fromSources() {
  if (!existsSync(sources)) return false;
  try {
    const { register } = await import('tsx/esm/api');
    register();
    return true;
  } catch (e) {
    if (e?.code !== 'ERR_MODULE_NOT_FOUND' || !existsSync(built)) throw e;
    return false;
  }
}

let ts;
/** A module of Loom by its path without extension: `cli/main`. */
async function load(path) {
  ts ??= await fromSources();
  return import(new URL(ts ? `../${path}.ts` : `../dist/${path}.js`, import.meta.url).href);
}

/** Commands that never open the adapter, and arguments that only print help or the version. */
const NO_GPU = new Set(['fmt', 'import', 'help']);
const args = process.argv.slice(2);
const child = process.env.LOOM_STDERR_PIPE === '1';
const wrap = !child && args.length > 0 && !args[0].startsWith('-') && !NO_GPU.has(args[0]) && !args.some((a) => a === '--help' || a === '-h');

/** Runs this command again in a child with stderr filtered; its exit status (or signal, re-raised). */
async function filtered() {
  const { dawnStderrFilter } = await load('runtime/dawn-stderr');
  const tty = process.stderr.isTTY ? { LOOM_STDERR_TTY: String(process.stderr.columns || 80) } : {};
  const proc = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), ...args], {
    stdio: ['inherit', 'inherit', 'pipe'],
    env: { ...process.env, LOOM_STDERR_PIPE: '1', ...tty },
  });
  const filter = dawnStderrFilter((t) => process.stderr.write(t));
  proc.stderr.setEncoding('utf8');
  proc.stderr.on('data', (t) => filter.write(t));
  // Ctrl-C reaches both processes; a signal sent to this one alone is passed on.
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => proc.kill(sig));
  const [code, signal] = await new Promise((resolve, reject) => {
    proc.on('error', reject);
    proc.on('close', (c, s) => resolve([c, s]));
  });
  filter.end();
  if (signal) {
    process.removeAllListeners(signal);
    process.kill(process.pid, signal);
  }
  return code ?? 1;
}

if (child && process.env.LOOM_STDERR_TTY) {
  // stderr is the parent's pipe to a terminal: let the progress bars draw (cursor moves are escapes).
  Object.defineProperty(process.stderr, 'isTTY', { value: true });
  Object.defineProperty(process.stderr, 'columns', { value: Number(process.env.LOOM_STDERR_TTY) || 80 });
}
delete process.env.LOOM_STDERR_PIPE;
delete process.env.LOOM_STDERR_TTY;
// `loom explain ... | head`: a reader that stops early is not an error.
process.stdout.on('error', (e) => {
  if (e.code !== 'EPIPE') throw e;
  process.exit(process.exitCode ?? 0);
});

let status;
if (wrap) status = await filtered().catch(() => undefined); // no child (spawn refused): run here
if (status === undefined) {
  const { main } = await load('cli/main');
  status = await main(args);
}
process.exitCode = status;
