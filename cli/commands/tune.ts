/**
 * `loom tune SPEC [--seq T ...] [--batch B] [--calibrate] [--quick] [--max-seconds S] [--json]`: measures every
 * legal schedule, chunk size and kernel variant of each distinct layer shape at each T on this
 * adapter, stores the times in the per-adapter cache, and shows what `auto` picks now.
 */
import { acquireGpu } from '../../runtime/gpu.ts';
import { cachePath, readCache, writeCache } from '../../runtime/tune-cache.ts';
import { tuneGraph, type TunedShape } from '../../runtime/tune.ts';
import { build } from '../build.ts';
import type { CommandDef, Values } from '../command.ts';
import { specWarnings, usageError, type Io } from '../io.ts';
import { commonOptions, OPTION, SPEC_OPTIONS } from '../options.ts';
import { commandProfile, progressBar } from '../profile.ts';

const ms = (x: number | undefined) => (x === undefined ? '-' : `${x.toPrecision(3)} ms`);

function render(s: TunedShape, T: number): string[] {
  const kind = s.shape.split(' ')[0];
  const out = [`  ${kind} at T=${T}: ${s.labels.join(', ')}`, `    ${'candidate'.padEnd(22)} ${'estimate'.padStart(12)} ${'measured'.padStart(12)}`];
  for (const c of s.candidates) {
    const mark = c.key === s.best ? '  <- fastest' : '';
    out.push(`    ${c.key.padEnd(22)} ${ms(c.estimateMs).padStart(12)} ${(c.skipped ?? ms(c.measuredMs)).padStart(12)}${mark}`);
  }
  if (s.best) out.push(`    auto now picks ${s.best} (measured)${s.byEstimate && s.byEstimate !== s.best ? `; the estimates alone would pick ${s.byEstimate}` : ''}`);
  return out;
}

export const tuneCommand: CommandDef = {
  name: 'tune',
  args: '<spec>',
  summary: "measure every legal schedule, chunk size and kernel variant of each distinct layer shape on this adapter; auto then prefers the measured times",
  details: 'The times are cached per adapter in ~/.cache/loom (or $LOOM_CACHE_DIR); `loom explain` shows them.',
  options: [
    { ...OPTION.seq, repeat: true, help: 'a sequence length to tune for; repeat it or list several (--seq 256,1024) (default 128)' },
    ...SPEC_OPTIONS.filter((o) => o.flag !== 'seq'),
    { flag: 'calibrate', help: "re-measure the adapter's matmul, copy and dispatch rates first" },
    { flag: 'quick', help: 'one short timing round per candidate (a rough ranking, fast)' },
    { flag: 'max-seconds', value: 'S', help: "skip candidates estimated to take longer than S seconds (default 20)" },
    { ...OPTION.json, help: 'print the measurements as one JSON object' },
  ],
  run: ([spec], v, io) => tune(spec, v, io),
};

/** `loom tune SPEC` on its option values (by long name; `seq`: every --seq given). */
export async function tune(spec: string, values: Values, io: Io): Promise<number> {
  const seqs = ((values.seq as string[] | undefined) ?? []).flatMap((s) => s.split(','));
  const common = commonOptions(spec, { ...values, seq: undefined });
  const lengths = (seqs.length ? seqs : [String(common.seq)]).map((t) => {
    const n = Number(t);
    if (!Number.isInteger(n) || n < 1) throw usageError(`--seq must be a positive integer, got '${t}'`);
    return n;
  });
  const maxSeconds = values['max-seconds'] === undefined ? 20 : Number(values['max-seconds']);
  if (!(maxSeconds > 0)) throw usageError(`--max-seconds must be a positive number, got '${values['max-seconds']}'`);
  specWarnings(io, common.spec, common.strict);
  const gpu = await acquireGpu();
  const quick = values.quick === true;
  const device = await commandProfile(gpu, io, values.calibrate ? 'always' : undefined, quick);
  const path = cachePath(gpu);
  const lines = [`tune ${common.spec} on ${device.name}, B=${common.batch}; cache ${path}`];
  const report: { T: number; shapes: TunedShape[] }[] = [];
  for (const T of lengths) {
    const compiled = build({ ...common, seq: T }, device);
    // Re-read before each write: another tune may have added entries meanwhile.
    const before = readCache(path, device.name).cache;
    const { shapes, table } = await tuneGraph(gpu, compiled.fused, device, before.measured, { maxEstimateMs: maxSeconds * 1000, progress: progressBar(io), time: quick ? { targetMs: 20, rounds: 1 } : undefined });
    writeCache(path, { ...before, calibration: before.calibration ?? device.calibration, measured: table });
    report.push({ T, shapes });
    if (!shapes.length) lines.push(`  T=${T}: no layer has alternatives to measure`);
    for (const s of shapes) lines.push(...render(s, T));
  }
  io.out(values.json ? JSON.stringify({ adapter: device.name, cache: path, batch: common.batch, results: report }) + '\n' : lines.join('\n') + '\n');
  return 0;
}
