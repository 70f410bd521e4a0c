/**
 * cli/progress.ts: a bar appears only once its task has run for a second, on a terminal stream,
 * counts MiB for bytes, is cleared when the task completes, and never draws when disabled.
 */
import { describe, expect, it } from 'vitest';
import { progressBar, showProgress } from '../../cli/progress.ts';
import { processIo } from '../../cli/io.ts';

function terminal() {
  const s = { isTTY: true, columns: 100, text: '', write: (t: string) => ((s.text += t), true) };
  return s;
}

describe('progressBar', () => {
  it('draws nothing during the first second, then the bar in MiB, and clears it at the end', () => {
    const stream = terminal();
    let t = 0;
    const bar = progressBar('loading weights', 'bytes', true, { stream: stream as unknown as NodeJS.WritableStream, now: () => t });
    const MiB = 1024 * 1024;
    bar(0, 100 * MiB);
    t = 400;
    bar(10 * MiB, 100 * MiB);
    expect(stream.text).toBe('');
    t = 1200;
    bar(45 * MiB, 100 * MiB);
    expect(stream.text).toContain('loading weights [');
    expect(stream.text).toContain('45% 45/100 MiB');
    const drawn = stream.text.length;
    bar(100 * MiB, 100 * MiB);
    expect(stream.text.slice(drawn)).toMatch(/\x1b\[2K$/); // the line cleared (erase line) ...
    expect(stream.text.slice(drawn)).not.toContain('loading'); // ... and no bar drawn after it
    const length = stream.text.length;
    bar(100 * MiB, 100 * MiB);
    expect(stream.text.length).toBe(length); // finished: silent
  });

  it('a task done within the second never draws; a disabled bar never draws', () => {
    const stream = terminal();
    let t = 0;
    const fast = progressBar('compiling pipelines', 'items', true, { stream: stream as unknown as NodeJS.WritableStream, now: () => t });
    fast(0, 40);
    t = 900;
    fast(40, 40);
    t = 5000;
    fast(40, 40);
    const off = progressBar('compiling pipelines', 'items', false, { stream: stream as unknown as NodeJS.WritableStream, now: () => t });
    off(0, 40);
    t = 9000;
    off(1, 40);
    expect(stream.text).toBe('');
  });

  it('stop() ends a bar early (an error during the task)', () => {
    const stream = terminal();
    let t = 0;
    const bar = progressBar('compiling pipelines', 'items', true, { stream: stream as unknown as NodeJS.WritableStream, now: () => t });
    bar(0, 40);
    t = 2000;
    bar(12, 40);
    expect(stream.text).toContain('12/40');
    bar.stop();
    const length = stream.text.length;
    bar(13, 40);
    expect(stream.text.length).toBe(length);
  });

  it('is shown only for the process stderr on a terminal and without --json', () => {
    const io = { out: () => {}, err: () => {} };
    expect(showProgress(io, false)).toBe(false);
    expect(showProgress(processIo, true)).toBe(false);
    expect(showProgress(processIo, false)).toBe(process.stderr.isTTY === true);
  });
});
