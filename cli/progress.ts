/**
 * Progress bars on stderr for the slow parts of opening a model: compiling its pipelines and
 * uploading its weights. The runtime reports through `(done, total)` callbacks (Session.open,
 * Model.create); the bars (cli-progress) live here only. A bar shows only on a terminal, never
 * with --json, and only once its task has run for a second: a fast task prints nothing. It is
 * cleared when the task completes, so the command's own output follows on a clean line.
 */
import { SingleBar } from 'cli-progress';
import { processIo, type Io } from './io.ts';

const MIB = 1024 * 1024;

export interface ProgressOptions {
  /** Where the bar is drawn (default process.stderr). */
  stream?: NodeJS.WritableStream & { isTTY?: boolean };
  /** Milliseconds; the clock the one-second delay is measured with. */
  now?: () => number;
  delayMs?: number;
}

export type Progress = ((done: number, total: number) => void) & { stop(): void };

/**
 * A `(done, total)` callback drawing `label [=====-----] 45% 690/1530 MiB` (`unit` bytes) or
 * `... 12/40` (items) once the first call is `delayMs` (1 s) old and the task unfinished; the
 * first call (the runtime reports `(0, total)` as a task starts) starts the clock. `stop()` ends
 * it early (an error). Does nothing when not `enabled`.
 */
export function progressBar(label: string, unit: 'bytes' | 'items', enabled: boolean, o: ProgressOptions = {}): Progress {
  const now = o.now ?? (() => performance.now());
  const scale = (x: number) => (unit === 'bytes' ? Math.round(x / MIB) : x);
  let start: number | undefined;
  let bar: SingleBar | undefined;
  let finished = !enabled;
  const stop = () => {
    bar?.stop();
    finished = true;
  };
  const report = (done: number, total: number) => {
    if (finished) return;
    start ??= now();
    if (done >= total) return stop();
    if (!bar && now() - start >= (o.delayMs ?? 1000)) {
      const format = `${label} [{bar}] {percentage}% {value}/{total}${unit === 'bytes' ? ' MiB' : ''}`;
      bar = new SingleBar({ format, stream: o.stream ?? process.stderr, clearOnComplete: true, hideCursor: null, barsize: 30 });
      bar.start(scale(total), scale(done));
    } else bar?.update(scale(done));
  };
  return Object.assign(report, { stop });
}

/** Whether a command draws bars: writing to the process's stderr, a terminal, and no --json. */
export function showProgress(io: Io, json: unknown): boolean {
  return io === processIo && process.stderr.isTTY === true && !json;
}

/**
 * A `(done, total)` compile callback passed on to `bar` that also times the compilation:
 * `pipelines` (the last total reported) and `ms` from the first report to the one completing it.
 */
export function compileTimer(bar: (done: number, total: number) => void): ((done: number, total: number) => void) & { pipelines: number; ms: number } {
  let start: number | undefined;
  const t = Object.assign(
    (done: number, total: number) => {
      start ??= performance.now();
      t.pipelines = total;
      if (done >= total) t.ms = performance.now() - start;
      bar(done, total);
    },
    { pipelines: 0, ms: 0 },
  );
  return t;
}
