/**
 * `node bin/run-ts.js scripts/weights-rss.ts [--dir DIR] [--dtype F32|BF16] [--layers N]`: the host
 * memory that loading a checkpoint costs. Writes (once per DIR and dtype) a synthetic checkpoint in
 * fla's names and torch layouts with the shape of fla-hub's GLA-340M (hidden 1024, 24 layers,
 * vocab 32000, untied head: 1.5 GB in F32) and the spec `loom import` makes of its config, then
 * loads it in fresh processes, each once:
 *
 *   lazy  the provider (fla-weights.ts openCheckpoint) uploaded tensor by tensor by Session.create
 *   map   every tensor read into a Map first (loadCheckpoint), then Session.create
 *
 * and prints, per way, the bytes the device holds for the weights, the process's RSS before the
 * load, its peak RSS during the load (VmHWM, reset after compiling through /proc/self/clear_refs)
 * and after it. On lavapipe device memory is host memory, so the floor of the peak is the RSS
 * before plus the device bytes. Linux only (/proc).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { importConfig } from '../compiler/import/config.ts';
import { compileSource } from '../compiler/pipeline.ts';
import { loadCheckpoint, openCheckpoint } from '../runtime/fla-weights.ts';
import { acquireGpu, deviceProfile } from '../runtime/gpu.ts';
import { bufferBytes, pipelineCache } from '../runtime/program.ts';
import { Rng } from '../runtime/random.ts';
import { writeSafetensors, type LazyTensor } from '../runtime/safetensors.ts';
import { Session } from '../runtime/session.ts';

const MIB = 1024 * 1024;

function config(layers: number): Record<string, unknown> {
  return { model_type: 'gla', hidden_size: 1024, expand_k: 0.5, expand_v: 1, num_heads: 4, num_hidden_layers: layers, vocab_size: 32000, hidden_ratio: 4, intermediate_size: null, use_short_conv: false, use_output_gate: true, norm_eps: 1e-6, tie_word_embeddings: false, attn_mode: 'chunk', fuse_norm: true };
}

/** fla GLA's tensors (torch shapes) for hidden 1024: K = 512, V = 1024, GatedMLP 2816, gate rank 16. */
function tensors(layers: number): [string, number[]][] {
  const [D, K, V, I] = [1024, 512, 1024, 2816];
  const out: [string, number[]][] = [['model.embeddings.weight', [32000, D]], ['model.norm.weight', [D]], ['lm_head.weight', [32000, D]]];
  for (let i = 0; i < layers; i++) {
    const L = `model.layers.${i}`;
    out.push([`${L}.attn_norm.weight`, [D]], [`${L}.mlp_norm.weight`, [D]]);
    out.push([`${L}.mlp.gate_proj.weight`, [I, D]], [`${L}.mlp.up_proj.weight`, [I, D]], [`${L}.mlp.down_proj.weight`, [D, I]]);
    out.push([`${L}.attn.q_proj.weight`, [K, D]], [`${L}.attn.k_proj.weight`, [K, D]], [`${L}.attn.v_proj.weight`, [V, D]], [`${L}.attn.g_proj.weight`, [V, D]]);
    out.push([`${L}.attn.gk_proj.0.weight`, [16, D]], [`${L}.attn.gk_proj.1.weight`, [K, 16]], [`${L}.attn.gk_proj.1.bias`, [K]]);
    out.push([`${L}.attn.o_proj.weight`, [D, V]], [`${L}.attn.g_norm_swish_gate.weight`, [V / 4]]);
  }
  return out;
}

/** bf16 bits of f32 values, rounded to nearest even. */
function bf16(x: Float32Array): Uint16Array {
  const u = new Uint32Array(x.buffer, x.byteOffset, x.length);
  return Uint16Array.from(u, (b) => (b + 0x7fff + ((b >>> 16) & 1)) >>> 16);
}

function generate(dir: string, dtype: 'F32' | 'BF16', layers: number): { spec: string; weights: string } {
  mkdirSync(dir, { recursive: true });
  const spec = join(dir, 'gla.loom');
  const weights = join(dir, `model-${dtype}.safetensors`);
  if (!existsSync(spec)) writeFileSync(spec, importConfig(JSON.stringify(config(layers)), 'config.json', spec).text);
  if (!existsSync(weights)) {
    const all: Record<string, LazyTensor> = {};
    for (const [name, shape] of tensors(layers)) {
      const values = () => Rng.forName(1, name).normals(shape.reduce((a, b) => a * b, 1), name.endsWith('norm.weight') ? 0.1 : 0.02);
      all[name] = { dtype, shape, data: () => (dtype === 'F32' ? values() : bf16(values())) };
    }
    writeSafetensors(weights, all);
  }
  return { spec, weights };
}

const status = (key: string) => Number(/(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8').split('\n').find((l) => l.startsWith(key))!)![1]) * 1024;

/** One load in this process; prints a JSON line. */
async function child(spec: string, weights: string, way: 'lazy' | 'map', dtype: 'f32' | 'f16'): Promise<void> {
  const gpu = await acquireGpu();
  const r = compileSource(readFileSync(spec, 'utf8'), spec, { batch: 1, seq: 16, schedule: { kind: 'recurrent' }, device: deviceProfile(gpu), ...(dtype === 'f16' ? { weights: 'f16' as const } : {}) });
  if (!r.ok) throw new Error(r.diagnostics.map((d) => d.message).join('\n'));
  const c = r.compiled;
  const deviceBytes = c.program.buffers.filter((b) => b.role === 'weight').reduce((a, b) => a + bufferBytes(b), 0);
  // The pipelines compiled first (Session.create finds them in the cache), so that the baseline holds the model's code.
  await Promise.all(c.program.steps.map((s) => pipelineCache(gpu.device).get(s.kernel)));
  writeFileSync('/proc/self/clear_refs', '5'); // resets VmHWM to the current RSS
  const before = status('VmRSS:');
  const t0 = performance.now();
  const source = way === 'lazy' ? openCheckpoint(c.spec, c.graph.weights, weights) : loadCheckpoint(c.spec, c.graph.weights, weights);
  const session = await Session.create(gpu, c, source);
  const ms = performance.now() - t0;
  if (!(source instanceof Map)) source.close();
  const peak = status('VmHWM:');
  const after = status('VmRSS:');
  const out = await session.forward(new Int32Array(16).fill(1));
  session.destroy();
  console.log(JSON.stringify({ way, dtype, deviceBytes, before, peak, after, ms, finite: out.logits.every(Number.isFinite) }));
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { dir: { type: 'string' }, dtype: { type: 'string' }, layers: { type: 'string' }, child: { type: 'string' } }, allowPositionals: true, strict: true });
  if (values.child) {
    const [spec, weights, way, dtype] = values.child.split(',');
    return child(spec, weights, way as 'lazy' | 'map', dtype as 'f32' | 'f16');
  }
  const dtype = (values.dtype ?? 'F32') as 'F32' | 'BF16';
  const layers = Number(values.layers ?? 24);
  const { spec, weights } = generate(values.dir ?? join(tmpdir(), `loom-rss-${layers}`), dtype, layers);
  const fileBytes = statSync(weights).size;
  console.log(`checkpoint ${weights}: ${(fileBytes / MIB).toFixed(0)} MiB ${dtype}, ${layers} layers`);
  const deviceDtypes: ('f32' | 'f16')[] = dtype === 'BF16' ? ['f16', 'f32'] : ['f32'];
  for (const d of deviceDtypes) {
    for (const way of ['lazy', 'map'] as const) {
      const line = execFileSync(process.execPath, ['bin/run-ts.js', process.argv[1], '--child', [spec, weights, way, d].join(',')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 20 });
      const r = JSON.parse(line.trim().split('\n').pop()!);
      const mib = (x: number) => `${(x / MIB).toFixed(0)} MiB`;
      console.log(`${way.padEnd(4)} device ${d}: weights on the device ${mib(r.deviceBytes)}; RSS before ${mib(r.before)}, peak ${mib(r.peak)} (+${mib(r.peak - r.before)} = ${((r.peak - r.before) / r.deviceBytes).toFixed(2)}x the device bytes), after ${mib(r.after)}; ${(r.ms / 1000).toFixed(1)} s; logits finite: ${r.finite}`);
    }
  }
}

await main();
