/**
 * `node bin/run-ts.js scripts/make-checkpoint.ts KIND DIR [--dtype f32|bf16] [--layers N] [--seed S]`
 * writes a checkpoint directory of a real-size model shape with random weights, in
 * flash-linear-attention's tensor names and torch layouts, as a downloaded one looks:
 * `config.json`, `model.safetensors` (streamed tensor by tensor, never held whole),
 * `generation_config.json` and a byte-level BPE `tokenizer.json`.
 *
 * KIND: `gla-340m` (fla's GLA-340M configuration: hidden 1024, 24 layers, 4 heads, expand_k 0.5,
 * vocab 32000) or `gdn-400m` (a Gated DeltaNet of the same width: 4 heads of head_dim 256,
 * expand_v 1, 24 layers). The tensor names and shapes come from Loom's own mapping of the imported
 * config (runtime/fla-weights.ts), so the file is exactly what `loom run DIR` expects to read.
 */
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { importConfig } from '../compiler/import/config.ts';
import { compileSource } from '../compiler/pipeline.ts';
import { numel } from '../compiler/ir/graph.ts';
import { checkpointMap, sourceShape } from '../runtime/fla-weights.ts';
import { Rng } from '../runtime/random.ts';
import { byteLevelTokenizerJson } from './byte-tokenizer.ts';

const CONFIGS: Record<string, Record<string, unknown>> = {
  'gla-340m': {
    model_type: 'gla', architectures: ['GLAForCausalLM'], hidden_size: 1024, num_hidden_layers: 24, num_heads: 4,
    expand_k: 0.5, expand_v: 1, hidden_ratio: 4, intermediate_size: null, hidden_act: 'swish', norm_eps: 1e-6,
    vocab_size: 32000, tie_word_embeddings: false, use_gk: true, use_gv: false, use_output_gate: true,
    max_position_embeddings: 2048, bos_token_id: 1, eos_token_id: 2, attn_mode: 'chunk', fuse_norm: true,
    fuse_cross_entropy: true, initializer_range: 0.006, use_cache: true,
  },
  'gdn-400m': {
    model_type: 'gated_deltanet', architectures: ['GatedDeltaNetForCausalLM'], hidden_size: 1024, num_hidden_layers: 24,
    num_heads: 4, head_dim: 256, expand_v: 1, hidden_ratio: 4, intermediate_size: null, hidden_act: 'swish',
    norm_eps: 1e-6, vocab_size: 32000, tie_word_embeddings: false, use_gate: true, use_short_conv: true, conv_size: 4,
    max_position_embeddings: 2048, bos_token_id: 1, eos_token_id: 2, attn_mode: 'chunk', fuse_norm: true,
    fuse_cross_entropy: true, initializer_range: 0.006, use_cache: true,
  },
};

/** bf16 bits of an f32 (round to nearest even; NaN stays NaN). */
function toBf16(x: Float32Array): Uint16Array {
  const u = new Uint32Array(x.buffer, x.byteOffset, x.length);
  const out = new Uint16Array(x.length);
  for (let i = 0; i < u.length; i++) {
    const v = u[i];
    out[i] = (v & 0x7fffffff) > 0x7f800000 ? (v >>> 16) | 0x40 : (v + 0x7fff + ((v >>> 16) & 1)) >>> 16;
  }
  return out;
}

export type CheckpointKind = keyof typeof CONFIGS;
export const CHECKPOINT_KINDS = Object.keys(CONFIGS);

/**
 * Writes the checkpoint directory `dir` (created; it must not hold files) of `kind` with random
 * weights stored as `dtype`; `layers` overrides the layer count. Returns the bytes of tensor data.
 */
export function writeCheckpointDir(kind: string, dir: string, dtype: 'f32' | 'bf16', o: { layers?: number; seed?: number } = {}): number {
  const seed = o.seed ?? 0;
  mkdirSync(dir, { recursive: true });
  const config: Record<string, unknown> = { ...CONFIGS[kind], ...(o.layers ? { num_hidden_layers: o.layers } : {}), torch_dtype: dtype === 'bf16' ? 'bfloat16' : 'float32' };
  const configText = JSON.stringify(config, null, 2) + '\n';
  const spec = importConfig(configText, 'config.json', `${kind.replace('-', '_')}.loom`).text;
  const r = compileSource(spec, 'config.json', { batch: 1, seq: 1, mode: 'decode' });
  if (!r.ok) throw new Error(r.diagnostics.map((d) => d.message).join('\n'));
  const map = checkpointMap(r.compiled.spec, r.compiled.graph.weights, 'fla');
  const decls = new Map(r.compiled.graph.weights.map((d) => [d.name, d]));

  const elem = dtype === 'bf16' ? 2 : 4;
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  let offset = 0;
  for (const w of map) {
    const bytes = numel(w.shape) * elem;
    // fla names the output norm g_norm_swish_gate in GLA and o_norm in Gated DeltaNet.
    const name = w.source.find((n) => n.endsWith(kind === 'gdn-400m' ? '.o_norm.weight' : '.g_norm_swish_gate.weight')) ?? w.source[0];
    header[name] = { dtype: dtype === 'bf16' ? 'BF16' : 'F32', shape: sourceShape(w.transform, w.shape), data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const fd = openSync(join(dir, 'model.safetensors'), 'w');
  try {
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(json.length));
    writeSync(fd, len);
    writeSync(fd, json);
    for (const w of map) {
      const d = decls.get(w.loom)!;
      const n = numel(w.shape);
      // The values need no layout change: random normals, constants, or eye (symmetric).
      const data =
        d.init.kind === 'normal' ? Rng.forName(seed, w.loom).normals(n, d.init.std)
        : d.init.kind === 'ones' ? new Float32Array(n).fill(1)
        : new Float32Array(n);
      if (d.init.kind === 'eye') for (let i = 0; i < w.shape[0]; i++) data[i * w.shape[0] + i] = 1;
      const out = dtype === 'bf16' ? toBf16(data) : data;
      writeSync(fd, new Uint8Array(out.buffer, out.byteOffset, out.byteLength));
    }
  } finally {
    closeSync(fd);
  }
  writeFileSync(join(dir, 'config.json'), configText);
  writeFileSync(join(dir, 'generation_config.json'), JSON.stringify({ bos_token_id: 1, eos_token_id: 2 }, null, 2) + '\n');
  writeFileSync(join(dir, 'tokenizer.json'), byteLevelTokenizerJson(Number(CONFIGS[kind].vocab_size)));
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify({ add_bos_token: true, bos_token: '<s>', eos_token: '</s>' }, null, 2) + '\n');
  return offset;
}

function main(): void {
  const args = process.argv.slice(2);
  const flag = (name: string, fallback: string) => {
    const i = args.indexOf(name);
    if (i < 0) return fallback;
    const v = args[i + 1];
    args.splice(i, 2);
    return v;
  };
  const dtype = flag('--dtype', 'f32');
  const layers = Number(flag('--layers', '0'));
  const seed = Number(flag('--seed', '0'));
  const [kind, dir] = args;
  if (!kind || !dir || !CONFIGS[kind] || (dtype !== 'f32' && dtype !== 'bf16') || !Number.isInteger(layers) || layers < 0) {
    console.error(`usage: make-checkpoint.ts ${CHECKPOINT_KINDS.join('|')} DIR [--dtype f32|bf16] [--layers N] [--seed S]`);
    process.exit(2);
  }
  if (existsSync(dir) && readdirSync(dir).length > 0) {
    console.error(`make-checkpoint: ${dir} exists and is not empty; choose a new directory`);
    process.exit(1);
  }
  const bytes = writeCheckpointDir(kind, dir, dtype, { layers: layers || undefined, seed });
  console.error(`make-checkpoint: ${dir}: ${(bytes / 2 ** 20).toFixed(0)} MiB of ${dtype.toUpperCase()} tensors`);
}

if (process.argv[1]?.endsWith('make-checkpoint.ts')) main();
