/** `loom doctor`: the adapter, its features and the limits the compiler uses. */
import { DEFAULT_LIMITS } from '../../compiler/plan/device.ts';
import { diag, LoomError } from '../../grammar/diagnostics.ts';
import { acquireGpu, INSTALL_HINT, probeAdapter } from '../../runtime/gpu.ts';
import type { Io } from '../io.ts';

export async function doctorCommand(args: string[], io: Io): Promise<number> {
  const json = args.includes('--json');
  const found = await probeAdapter();
  if (!found) throw new LoomError([diag('no-adapter', { message: INSTALL_HINT })]);
  const gpu = await acquireGpu();
  const a = gpu.adapter;
  if (json) {
    io.out(JSON.stringify({ adapter: a, features: gpu.features, limits: gpu.limits }) + '\n');
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
  ];
  io.out(lines.join('\n') + '\n');
  return 0;
}
