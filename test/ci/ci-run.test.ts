/**
 * CI must fail on a missing snapshot or baseline instead of writing it: `.ci/run` exports CI=true
 * (vitest writes new snapshots only when CI is unset), and the baseline helper writes only under
 * UPDATE_BASELINES=1.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { expectBaseline, updating } from '../grammar/baseline.ts';

/** Runs vitest on a one-test project whose snapshot file does not exist; the exit status and whether it wrote one. */
function snapshotRun(ci: boolean): { status: number; wrote: boolean } {
  const dir = mkdtempSync(join(tmpdir(), 'loom-ci-'));
  try {
    writeFileSync(join(dir, 'snap.test.ts'), "import { expect, it } from 'vitest';\nit('snap', () => expect('x').toMatchSnapshot());\n");
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VITEST') && k !== 'CI' && k !== 'NODE_OPTIONS'));
    if (ci) env.CI = 'true';
    let status = 0;
    try {
      execFileSync(process.execPath, [resolve('node_modules/vitest/vitest.mjs'), 'run', '--root', dir], { env, stdio: 'pipe' });
    } catch (e) {
      status = (e as { status: number }).status;
    }
    return { status, wrote: existsSync(join(dir, '__snapshots__', 'snap.test.ts.snap')) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('CI fails on missing snapshots and baselines', () => {
  it('.ci/run exports CI=true before it runs the tests', () => {
    const lines = readFileSync('.ci/run', 'utf8').split('\n');
    const ci = lines.findIndex((l) => /^export CI=true\b/.test(l));
    expect(ci).toBeGreaterThanOrEqual(0);
    expect(ci).toBeLessThan(lines.findIndex((l) => /^npm test\b/.test(l)));
  });

  it('with CI=true vitest fails on a missing snapshot and writes nothing; without CI it writes one', { timeout: 60_000 }, () => {
    expect(snapshotRun(true)).toEqual({ status: 1, wrote: false });
    expect(snapshotRun(false)).toEqual({ status: 0, wrote: true });
  });

  it('a missing baseline fails unless UPDATE_BASELINES=1', () => {
    expect(updating).toBe(false);
    const path = join(mkdtempSync(join(tmpdir(), 'loom-baseline-')), 'missing.errors.txt');
    expect(() => expectBaseline(path, 'text')).toThrow(/missing baseline/);
    expect(existsSync(path)).toBe(false);
  });
});
