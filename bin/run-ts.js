#!/usr/bin/env node
// Runs a TypeScript script of the project (benchmarks, maintenance scripts) through tsx.
import { register } from 'tsx/esm/api';
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';

register();
// The runtime's host on Node (runtime/host.ts): the disk and Dawn, as the CLI and the package entry set it.
await import('../runtime/node/host.ts');
const [script, ...rest] = process.argv.slice(2);
process.argv = [process.argv[0], script, ...rest];
await import(pathToFileURL(resolve(script)).href);
