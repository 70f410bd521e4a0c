import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';

// Device suites talk to Dawn's native module, which is safest in a process of its own:
// run test files in forked processes, not worker threads. One file at a time: two processes
// each driving lavapipe (whose thread pool already uses every core) made the suite six times
// slower than running them one after the other (2m41s against 26s on the 2-core CI machine).
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    // The runtime's host on Node (runtime/host.ts: the disk, Dawn), as its entry points set it.
    setupFiles: ['runtime/node/host.ts'],
    maxWorkers: 1,
    testTimeout: 120_000,
    hookTimeout: 120_000,
    reporters: ['default', './test/helpers/summary-reporter.ts'],
    // Plans in tests never depend on this machine's `loom tune` cache or on a calibration run
    // (test/device/tune.test.ts sets its own temporary cache).
    env: { LOOM_CACHE_DIR: join(tmpdir(), `loom-test-cache-${process.pid}`), LOOM_CALIBRATE: '0' },
  },
});
