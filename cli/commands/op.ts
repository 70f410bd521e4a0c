/**
 * `loom op NAME --in IN.safetensors --out OUT.safetensors`: one mixer op on given tensors, with
 * flash-linear-attention's names and layouts, so kernels compare one to one with that library.
 */
import { opProgram } from '../../compiler/mixers/linear_attn/op-program.ts';
import { checkOpTensors, FLA_OPS } from '../../compiler/mixers/linear_attn/ops.ts';
import { checkDplrTensors, DPLR_OPS, dplrOpProgram } from '../../compiler/mixers/linear_attn/dplr/ops.ts';
import { diag, LoomError } from '../../grammar/diagnostics.ts';
import { suggest } from '../../grammar/suggest.ts';
import { acquireGpu, deviceProfile } from '../../runtime/gpu.ts';
import { Program } from '../../runtime/program.ts';
import { readSafetensors, writeSafetensors } from '../../runtime/safetensors.ts';
import type { CommandDef, Values } from '../command.ts';
import { usageError, type Io } from '../io.ts';
import { commonOptions, OPTION } from '../options.ts';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const OPS = [...Object.keys(FLA_OPS), ...Object.keys(DPLR_OPS)];

export const opCommand: CommandDef = {
  name: 'op',
  args: '<name>',
  summary: `one mixer op on tensors in flash-linear-attention's layout and names; ops: ${OPS.join(', ')}`,
  details:
    'Reads q, k [B,T,H,K], v [B,T,H,V], g [B,T,H] (log-space scalar decay), gk [B,T,H,K], beta [B,T,H] (dplr_delta_rule: a, b, gk [B,T,H,K]; kda: g [B,T,H,K], beta) and an optional initial_state [B,H,K,V] from --in; writes o [B,T,H,V] and final_state [B,H,K,V] (based, rebased: [B,H,K\',V]) to --out.',
  options: [
    { flag: 'in', value: 'FILE', help: 'the input tensors (.safetensors, fla names)' },
    { flag: 'out', value: 'FILE', help: 'where to write o and final_state (.safetensors)' },
    OPTION.schedule,
    { flag: 'chunk', value: 'C', help: 'chunk size of the chunkwise schedule (implies --schedule chunkwise)' },
    { flag: 'scale', value: 'X', help: 'the scale of q (default: K^-1/2 as fla)' },
    { flag: 'normalize', help: 'divide by the normaliser (the ops that have one)' },
    { flag: 'repeat', value: 'N', help: 'run N times and report the median time (default 1)' },
    { ...OPTION.json, help: 'print the op, schedule, shape and median time as one JSON object' },
  ],
  run: ([name], v, io) => op(name, v, io),
};

/** `loom op NAME` on its option values (by long name). */
export async function op(name: string, values: Values, io: Io): Promise<number> {
  const common = commonOptions(name, { schedule: values.schedule });
  const def = FLA_OPS[name];
  const dplr = DPLR_OPS[name];
  if (!def && !dplr) {
    const s = suggest(name, OPS);
    throw usageError(`op: unknown op '${name}'${s ? `, did you mean '${s}'?` : ''}; ops: ${OPS.join(', ')}`);
  }
  if (!values.in || !values.out) throw usageError('op: needs --in IN.safetensors and --out OUT.safetensors');
  if (values.normalize && !def?.normalizable) {
    const always = Object.keys(FLA_OPS).filter((k) => FLA_OPS[k].feature);
    throw usageError(`op: --normalize is only defined for ${Object.keys(FLA_OPS).filter((k) => FLA_OPS[k].normalizable).join(', ')} (${always.join(' and ')} always normalise)`);
  }
  const scale = values.scale === undefined ? undefined : Number(values.scale);
  if (scale !== undefined && !Number.isFinite(scale)) throw usageError(`op: --scale must be a number, got '${values.scale}'`);
  const repeat = values.repeat === undefined ? 1 : Number(values.repeat);
  if (!Number.isInteger(repeat) || repeat < 1) throw usageError(`op: --repeat must be a positive integer, got '${values.repeat}'`);
  let schedule = common.schedule;
  if (values.chunk !== undefined) {
    const chunk = Number(values.chunk);
    if (!Number.isInteger(chunk) || chunk < 1) throw usageError(`op: --chunk must be a positive integer, got '${values.chunk}'`);
    if (schedule && schedule.kind !== 'chunkwise') throw usageError('op: --chunk goes with --schedule chunkwise');
    schedule = { kind: 'chunkwise', chunk };
  }

  const file = readSafetensors(String(values.in));
  const shapes = new Map([...file.tensors].map(([k, t]) => [k, t.shape]));
  const checked = dplr ? checkDplrTensors(name, dplr, shapes) : checkOpTensors(name, def, shapes);
  if (!checked.dims) throw new LoomError(checked.problems.map((message) => diag('bad-weights', { message: `${values.in}: ${message}` })));
  for (const [k, t] of file.tensors) if (!(t.data instanceof Float32Array)) throw new LoomError([diag('bad-weights', { message: `${values.in}: tensor ${k} must be float (F32, F16, BF16), got ${t.dtype}` })]);

  const gpu = await acquireGpu();
  const built = dplr ? dplrOpProgram(name, checked.dims, { scale, schedule }, deviceProfile(gpu)) : opProgram(def, checked.dims, { scale, normalize: !!values.normalize, schedule }, deviceProfile(gpu));
  if ('error' in built) throw new LoomError([diag('schedule-not-supported', { layer: 0, mixer: name, schedule: schedule?.kind ?? 'auto', reason: built.error })]);
  const program = await Program.create(gpu, built.spec);
  try {
    for (const b of built.spec.buffers) {
      const source = b.name === 's0' ? file.tensors.get('initial_state') : file.tensors.get(b.name);
      if (source) program.write(b.name, source.data as Float32Array);
      else if (b.role === 'state_in') program.write(b.name, new Float32Array(b.elements));
      else program.poison(b.name);
    }
    await program.run(); // warm-up: compiles each pipeline on first dispatch
    const times: number[] = [];
    for (let i = 0; i < repeat; i++) {
      const t0 = performance.now();
      await program.run();
      times.push(performance.now() - t0);
    }
    const { o, S } = await program.readMany(['o', 'S']);
    const { B, T, H, K, V } = checked.dims;
    const KS = built.keyDim; // K' after based/rebased's feature map
    writeSafetensors(String(values.out), {
      o: { dtype: 'F32', shape: [B, T, H, V], data: o as Float32Array },
      final_state: { dtype: 'F32', shape: [B, H, KS, V], data: S as Float32Array },
    });
    const used = built.schedule === 'chunkwise' ? `chunkwise(${built.chunk})` : built.schedule;
    const ms = median(times);
    if (values.json) io.out(JSON.stringify({ op: name, schedule: used, B, T, H, K, V, repeat, ms: Number(ms.toFixed(4)) }) + '\n');
    else io.out(`${name} [B=${B}, T=${T}, H=${H}, K=${K}, V=${V}] ${used}: ${ms.toFixed(3)} ms (median of ${repeat}); wrote o, final_state to ${values.out}\n`);
    return 0;
  } finally {
    program.destroy();
  }
}
