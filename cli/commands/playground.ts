/**
 * `loom playground`: the browser playground (web/) served on localhost. The static site is
 * dist/web (`npm run build:web`); in a checkout without it, it is built first with Vite.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { diag, LoomError } from '../../grammar/diagnostics.ts';
import type { CommandDef } from '../command.ts';
import { usageError, type Io } from '../io.ts';
import { nonNegativeInt } from '../options.ts';

export const playgroundCommand: CommandDef = {
  name: 'playground',
  args: '',
  summary: 'serve the browser playground (edit, compile, run and generate in a WebGPU browser) on localhost and print its URL',
  details: 'The site is dist/web (npm run build:web); a checkout without it builds it first. Stop with Ctrl-C.',
  options: [
    { flag: 'port', value: 'N', help: 'the port to listen on (default 5178; 0: any free port)' },
    { flag: 'host', value: 'HOST', help: 'the address to listen on (default 127.0.0.1)' },
    { flag: 'build', help: 'rebuild the site first (a checkout only)' },
  ],
  run: async (_, v, io) => {
    const site = await playgroundSite(io, v.build === true);
    const port = nonNegativeInt(v.port, 5178, '--port');
    if (port > 65535) throw usageError(`--port must be a TCP port in [0, 65535], got ${port}`);
    const server = await servePlayground(site, port, typeof v.host === 'string' ? v.host : '127.0.0.1');
    io.out(`Loom playground: ${server.url}\n(serving ${site}; Ctrl-C stops it)\n`);
    await new Promise<void>((resolve) => process.once('SIGINT', () => server.close().then(resolve)));
    return 0;
  },
};

/** The package's root: the folder above this file's holding Loom's package.json. */
function packageRoot(): string {
  for (let dir = new URL('..', import.meta.url); ; dir = new URL('..', dir)) {
    const pkg = new URL('package.json', dir);
    if (existsSync(pkg) && JSON.parse(readFileSync(pkg, 'utf8')).name === 'loom') return fileURLToPath(dir);
    if (new URL('..', dir).href === dir.href) throw new LoomError([diag('file-error', { message: "cannot find Loom's package.json above the playground command" })]);
  }
}

/** dist/web, built first (with Vite, from web/) when missing or when `rebuild` is asked. */
export async function playgroundSite(io: Io, rebuild = false): Promise<string> {
  const root = packageRoot();
  const site = join(root, 'dist', 'web');
  const config = join(root, 'web', 'vite.config.ts');
  if (existsSync(join(site, 'index.html')) && !rebuild) return site;
  if (!existsSync(config)) throw new LoomError([diag('file-error', { message: `the playground is not built (${site} has no index.html) and this installation has no web/ sources to build it from` })]);
  io.err('loom: building the playground (vite build)...\n');
  const vite = await import('vite');
  await vite.build({ configFile: config, logLevel: 'warn' });
  return site;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.json': 'application/json', '.svg': 'image/svg+xml', '.png': 'image/png', '.wasm': 'application/wasm', '.map': 'application/json',
};

/** Serves the files under `dir` (GET and HEAD only, nothing outside it); resolves once listening. */
export function servePlayground(dir: string, port: number, host = '127.0.0.1'): Promise<{ url: string; server: Server; close: () => Promise<void> }> {
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    let file = normalize(join(dir, path));
    if (file !== dir && !file.startsWith(dir + sep)) return void res.writeHead(403).end();
    if (existsSync(file) && statSync(file).isDirectory()) file = join(file, 'index.html');
    if (req.method !== 'GET' && req.method !== 'HEAD') return void res.writeHead(405).end();
    if (!existsSync(file)) return void res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: ${path}\n`);
    const body = readFileSync(file);
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'content-length': body.length, 'cache-control': 'no-cache' });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  return new Promise((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => reject(new LoomError([diag('file-error', { message: `cannot listen on ${host}:${port}: ${e.code === 'EADDRINUSE' ? 'the port is in use (pick another with --port)' : e.message}` })])));
    server.listen(port, host, () => {
      const a = server.address();
      const p = typeof a === 'object' && a ? a.port : port;
      resolve({ url: `http://${host.includes(':') ? `[${host}]` : host}:${p}/`, server, close: () => new Promise((r) => server.close(() => r())) });
    });
  });
}
