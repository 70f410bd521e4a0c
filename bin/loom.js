#!/usr/bin/env node
// Entry point of the `loom` command. In a checkout (cli/main.ts beside this folder) it runs the
// TypeScript sources through tsx, so an edit takes effect with no build step and a stale dist/
// never hides one; an installed package has no sources and runs the JavaScript that
// `npm run build` compiled into dist/. A checkout without tsx (dev dependencies not installed)
// falls back to dist/ when it was built.
import { existsSync } from 'node:fs';

const sources = new URL('../cli/main.ts', import.meta.url);
const built = new URL('../dist/cli/main.js', import.meta.url);

async function entry() {
  if (!existsSync(sources)) return import(built.href);
  try {
    const { register } = await import('tsx/esm/api');
    register();
  } catch (e) {
    if (e?.code !== 'ERR_MODULE_NOT_FOUND' || !existsSync(built)) throw e;
    return import(built.href);
  }
  return import(sources.href);
}

const { main } = await entry();
process.exitCode = await main(process.argv.slice(2));
