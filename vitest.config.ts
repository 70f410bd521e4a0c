import { defineConfig } from 'vitest/config';

// Device suites talk to Dawn's native module, which is safest in a process of its own:
// run test files in forked processes, not worker threads.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 120_000,
    hookTimeout: 120_000,
    reporters: ['default'],
  },
});
