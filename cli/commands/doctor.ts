/** `loom doctor`: the adapter, its features and the limits the compiler uses. */
import { DEFAULT_LIMITS } from '../../compiler/plan/device.ts';
import { diag, LoomError } from '../../grammar/diagnostics.ts';
import { acquireGpu, INSTALL_HINT, probeAdapter } from '../../runtime/gpu.ts';
import { cachePath, loadProfile } from '../../runtime/tune-cache.ts';
import type { CommandDef } from '../command.ts';
import type { Io } from '../io.ts';
import { OPTION } from '../options.ts';

export const doctorCommand: CommandDef = {
  name: 'doctor',
  args: '',
  summary: 'the adapter, its features, the limits the compiler uses and its calibration',
  options: [
    { flag: 'calibrate', help: "re-measure the adapter's matmul, copy and dispatch rates (cached per adapter)" },
    { ...OPTION.json, help: 'print the adapter, features, limits and calibration as one JSON object' },
  ],
  run: (_, v, io) => doctor({ calibrate: v.calibrate === true, json: v.json === true }, io),
};

export async function doctor({ calibrate, json }: { calibrate: boolean; json: boolean }, io: Io): Promise<number> {
  const found = await probeAdapter();
  if (!found) throw new LoomError([diag('no-adapter', { message: INSTALL_HINT })]);
  const gpu = await acquireGpu();
  const a = gpu.adapter;
  // --calibrate measures now; otherwise the cached calibration, if any (doctor never measures unasked).
  const profile = await loadProfile(gpu, { calibrate: calibrate ? 'always' : 'never', warn: (m) => io.err(`loom: warning: ${m}\n`) });
  const cal = profile.calibration;
  if (json) {
    io.out(JSON.stringify({ adapter: a, features: gpu.features, limits: gpu.limits, calibration: cal ?? null, cache: cachePath(gpu) }) + '\n');
    return 0;
  }
  const lines = [
    'adapter',
    `  vendor        ${a.vendor || '-'}`,
    `  architecture  ${a.architecture || '-'}`,
    `  device        ${a.device || '-'}`,
    `  description   ${a.description || '-'}`,
    `  backend       ${a.backend || '-'}`,
    `  class         ${a.isCpu ? 'CPU adapter (planner prefers barrier-free register-tiled kernels)' : 'GPU (planner prefers workgroup-memory tiles)'}`,
    'features',
    ...[...gpu.features].sort().map((f) => `  ${f}`),
    'limits used by the compiler (WebGPU default in brackets)',
    ...Object.entries(gpu.limits).map(([k, v]) => `  ${k.padEnd(36)} ${String(v).padStart(12)}  [${DEFAULT_LIMITS[k as keyof typeof DEFAULT_LIMITS]}]`),
    `calibration (${cachePath(gpu)})`,
    ...(cal
      ? [
          `  matmul ${cal.matmulShape}`.padEnd(38) + Object.entries(cal.matmulGflops).map(([v, g]) => `${v} ${g.toFixed(2)} GFLOP/s`).join(', '),
          `  copy`.padEnd(38) + `${(cal.bytesPerSec / 1e9).toFixed(2)} GB/s`,
          `  dispatch`.padEnd(38) + `${(cal.dispatchSec * 1e3).toFixed(3)} ms each`,
          `  measured`.padEnd(38) + `${cal.at} (${cal.method === 'timestamps' ? 'GPU timestamps' : 'wall clock'})`,
        ]
      : ['  not calibrated yet: `loom doctor --calibrate` (or the first `loom run`, `explain` or `tune`) measures it']),
  ];
  io.out(lines.join('\n') + '\n');
  return 0;
}
