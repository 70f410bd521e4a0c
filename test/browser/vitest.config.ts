// `npm run test:browser`: the playground driven in the system's Chromium (puppeteer-core), kept out
// of the plain `npm test` run (the root config includes only test/**/*.test.ts; these are *.browser.ts).
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/browser/**/*.browser.ts'],
    pool: 'forks',
    setupFiles: ['runtime/node/host.ts'], // the runtime's host on Node (the disk, Dawn), for the test's own files
    maxWorkers: 1,
    testTimeout: 180_000,
    hookTimeout: 120_000,
    env: { LOOM_CALIBRATE: '0' },
  },
});
