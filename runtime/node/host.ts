/**
 * Node's host (runtime/host.ts): the disk, Dawn's adapter, process.env. Importing this module sets
 * it; the Node entry points do (runtime/index.ts, compiler/index.ts, cli/main.ts, bin/run-ts.js,
 * and the tests' setup in vitest.config.ts).
 */
import { homedir } from 'node:os';
import { INSTALL_HINT } from '../gpu.ts';
import { setHost } from '../host.ts';
import { probeDawn } from './dawn.ts';
import { nodeFiles } from './files.ts';

setHost({ files: nodeFiles, env: process.env, home: homedir, probeAdapter: probeDawn, noAdapter: INSTALL_HINT });
