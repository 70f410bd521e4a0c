/**
 * Real-size models (`npm run bench -- --only realsize`): GLA-340M- and Gated-DeltaNet-400M-shaped
 * checkpoints in fla's names with random weights, as f32 and bf16 files (scripts/make-checkpoint.ts,
 * written once under .loom-cache/bench-checkpoints/), each measured by bench/realsize-run.ts in a
 * process of its own: load time and host peak RSS against the file and the device bytes, prefill
 * of prompts of 17, 100 and 1000 tokens, decode per token against the bandwidth limit (the bytes a
 * step reads over the calibrated copy rate).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { DeviceProfile } from '../compiler/plan/device.ts';
import { writeCheckpointDir } from '../scripts/make-checkpoint.ts';

const CHECKPOINTS = join('.loom-cache', 'bench-checkpoints');
const MODELS = [['gla-340m', 'f32'], ['gla-340m', 'bf16'], ['gdn-400m', 'f32'], ['gdn-400m', 'bf16']] as const;

interface Run {
  dir: string; loadMs: number; baseRss: number; loadRss: number; deviceBytes: number; weightBytes: number; stepReadBytes: number;
  f16Weights: string; prefill: Record<string, { ms: number; widths: number[] }>; stepMs: number; stepMinMs: number;
}
export interface RealRow extends Run { kind: string; dtype: string; fileBytes: number; limitMs: number }

export async function realsizeBench(device: DeviceProfile, o: { quick: boolean; log: (l: string) => void }): Promise<RealRow[]> {
  const rate = device.calibration?.bytesPerSec;
  if (!rate) throw new Error('realsize: needs a calibrated copy rate');
  const rows: RealRow[] = [];
  for (const [kind, dtype] of MODELS) {
    const dir = join(CHECKPOINTS, `${kind}-${dtype}`);
    if (!existsSync(join(dir, 'model.safetensors'))) {
      o.log(`realsize: writing ${dir}`);
      writeCheckpointDir(kind, dir, dtype);
    }
    o.log(`realsize: ${kind} ${dtype}`);
    const out = execFileSync(process.execPath, ['bin/run-ts.js', 'bench/realsize-run.ts', dir, '--prompts', o.quick ? '17,100' : '17,100,1000'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 20 });
    const run = JSON.parse(out.trim().split('\n').pop()!) as Run;
    rows.push({ ...run, kind, dtype, fileBytes: statSync(join(dir, 'model.safetensors')).size, limitMs: (run.stepReadBytes / rate) * 1e3 });
  }
  return rows;
}

const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;
const tps = (n: number, ms: number) => ((n * 1000) / ms).toFixed(n * 1000 / ms < 10 ? 2 : 1);

export function realsizeMd(rows: RealRow[]): string[] {
  const out = ['## Real-size models', '',
    'Checkpoint directories in fla\'s names with random weights (scripts/make-checkpoint.ts): GLA-340M\'s configuration (hidden 1024, 24 layers, 4 heads, vocab 32000) and a Gated DeltaNet of the same width (4 heads of 256, 24 layers), as f32 and bf16 files, opened with `openPretrained` (config imported in memory, weights uploaded tensor by tensor, `--weights-dtype auto`: f16 on the device for a bf16 file when the adapter has shader-f16). Each line is one process; prefill as generation runs it (only the last position\'s logits: the calls before the last skip the final norm and LM head) of 17 and 100 tokens and decode after a warm-up call (lavapipe compiles a pipeline at its first dispatch), 1000 tokens on the first call after its window programs were made (most kernels then come from Mesa\'s shader cache).', '',
    '| checkpoint | file | on device | f16 weights | load | peak RSS (base) | RSS / device | prefill 17 | prefill 100 | prefill 1000 | decode | limit | decode / limit | prefill 100 / 100 steps |',
    '|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|'];
  for (const r of rows) {
    const p = (n: number) => (r.prefill[n] ? `${tps(n, r.prefill[n].ms)} tok/s` : 'n/a');
    out.push(`| ${r.kind} ${r.dtype} | ${mib(r.fileBytes)} | ${mib(r.deviceBytes)} | ${r.f16Weights} | ${(r.loadMs / 1000).toFixed(1)} s | ${mib(r.loadRss)} (${mib(r.baseRss)}) | ${(r.loadRss / r.deviceBytes).toFixed(2)} | ${p(17)} | ${p(100)} | ${p(1000)} | ${r.stepMs.toFixed(0)} ms (${tps(1, r.stepMs)} tok/s) | ${r.limitMs.toFixed(0)} ms | ${(r.stepMs / r.limitMs).toFixed(2)} | ${r.prefill[100] ? (r.prefill[100].ms / (100 * r.stepMs)).toFixed(2) : 'n/a'} |`);
  }
  const by = (k: string, d: string) => rows.find((r) => r.kind === k && r.dtype === d);
  for (const k of new Set(rows.map((r) => r.kind))) {
    const [a, b] = [by(k, 'f32'), by(k, 'bf16')];
    if (a && b) out.push('', `${k}: decode with the bf16 checkpoint (${b.f16Weights} weights f16) ${(a.stepMs / b.stepMs).toFixed(2)}x the speed of the f32 one.`);
  }
  out.push('', 'Targets on this adapter: peak RSS at most 1.3x the device bytes; a 100-token prompt in less than a quarter of the time of 100 decode steps; decode within 2x of the limit; f16 decode at least 1.6x faster than f32.',
    '', 'The limit is the bytes a step reads (every weight but the embedding table) over the calibrated copy rate. On lavapipe the calibration\'s copy kernel is bound by its per-element work, not by memory, so a decode step can beat it (decode / limit below 1): read it as an upper bound on what a step should take. Device bytes include the activations of the 1024-token forward program, allocated but mostly never touched, so RSS / device is below 1; the process holds about 0.27 GiB (base, in brackets) before it loads anything.', '');
  return out;
}
