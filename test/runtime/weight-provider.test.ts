/**
 * Weights read tensor by tensor: the bf16 -> f16 conversion (exhaustive over bf16's bit patterns
 * against the f32 -> f16 rounding of the same values, plus the edge cases spelled out), the
 * safetensors writer's F16/BF16 and lazily produced tensors, `readFloat` in both storage types,
 * the providers over a Loom-named file, an fla-named file (transposed) and a Map, and
 * `uploadWeights`: one tensor held at a time, a flush every FLUSH_BYTES, progress in bytes.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { WeightDecl } from '../../compiler/ir/graph.ts';
import { importConfig } from '../../compiler/import/config.ts';
import { compileSource } from '../../compiler/pipeline.ts';
import { LoomError } from '../../grammar/diagnostics.ts';
import { bf16ToF16, f16Bits, f16Value, toF16 } from '../../runtime/f16.ts';
import { loadCheckpoint, openCheckpoint } from '../../runtime/fla-weights.ts';
import { Rng } from '../../runtime/random.ts';
import { openSafetensors, readSafetensors, writeSafetensors } from '../../runtime/safetensors.ts';
import { checkpointDtypes } from '../../runtime/safetensors-index.ts';
import { checkProvided, FLUSH_BYTES, loadWeights, openLoomWeights, readAll, uploadWeights, weightProvider, type WeightProvider } from '../../runtime/weights.ts';
import { CONFIGS, synthesize, writeCheckpoint } from '../helpers/fla-checkpoint.ts';

const dir = fs.mkdtempSync(join(os.tmpdir(), 'loom-wp-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const hex = (h: number) => `0x${h.toString(16).padStart(4, '0')}`;
const bf16Value = (h: number) => new Float32Array(new Uint32Array([h << 16]).buffer)[0];
/** bf16 bits of f32 values, rounded to nearest even (an f32 that is exactly a bf16 keeps its value). */
const bf16Of = (x: Float32Array) => Uint16Array.from(new Uint32Array(Float32Array.from(x).buffer), (b) => (b + 0x7fff + ((b >>> 16) & 1)) >>> 16);

function loomError(fn: () => unknown): LoomError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(LoomError);
    return e as LoomError;
  }
  throw new Error('expected a LoomError');
}

describe('bf16ToF16', () => {
  it('equals f16 rounding of the bf16 value for every finite bf16 pattern (one rounding, ties to even)', () => {
    let checked = 0;
    for (let h = 0; h < 0x10000; h++) {
      if ((h & 0x7f80) === 0x7f80) continue; // infinities and NaN are refused before conversion
      const got = bf16ToF16(h);
      const want = f16Bits(bf16Value(h));
      if (got !== want) throw new Error(`bf16 ${hex(h)} (${bf16Value(h)}): got ${hex(got)}, want ${hex(want)}`);
      checked++;
    }
    expect(checked).toBe(0x10000 - 256); // all but the 2 x 128 patterns with exponent 0xff
  });

  it('is exact in the normal range: 1, -2.5, 0.1 (bf16), 65280 (largest bf16 below 65504), 2^-14', () => {
    for (const x of [1, -2.5, bf16Value(0x3dcd), 65280, 2 ** -14, -(2 ** -14) * 1.5]) {
      const h = bf16Of(Float32Array.of(x))[0];
      expect(bf16Value(h)).toBe(Math.fround(x));
      expect(f16Value(bf16ToF16(h))).toBe(bf16Value(h));
    }
  });

  it('rounds subnormals to nearest, ties to even', () => {
    const s = 2 ** -24; // the smallest f16 subnormal; bf16 holds these values exactly
    const at = (x: number) => f16Value(bf16ToF16(bf16Of(Float32Array.of(x))[0]));
    expect(at(s / 2)).toBe(0); // tie between 0 and s: 0 is even
    expect(at(1.5 * s)).toBe(2 * s); // tie between s and 2s: 2s is even
    expect(at(2.5 * s)).toBe(2 * s); // tie between 2s and 3s: 2s
    expect(at(0.75 * s)).toBe(s); // past the tie: up
    expect(at(s / 4)).toBe(0);
    expect(at(3.5 * s)).toBe(4 * s); // tie between 3s and 4s: 4s
    expect(at(s * (1 + 1 / 128))).toBe(s); // bf16's finer bits below f16's last: down
    expect(at(255 * s)).toBe(255 * s); // 8 significant bits: exact
    expect(at(-1.5 * s)).toBe(-2 * s);
    expect(Object.is(at(-(s / 4)), -0)).toBe(true); // the sign survives underflow
  });

  it('gives infinity from 65536 up (no f16 holds it), which the loader refuses', () => {
    expect(hex(bf16ToF16(bf16Of(Float32Array.of(65536))[0]))).toBe('0x7c00');
    expect(hex(bf16ToF16(bf16Of(Float32Array.of(-1e30))[0]))).toBe('0xfc00');
  });
});

describe('safetensors: F16 and BF16 writing, lazy tensors, readFloat', () => {
  const values = Float32Array.of(1, -2.5, 0.1, 2 ** -20, 3e-8, 1000.5, 0, -0.75);

  it('writes F16 and BF16 bit patterns and reads them back as f32 and as f16 bits', () => {
    const path = join(dir, 'half.safetensors');
    const h = toF16(values).subarray(0, values.length);
    const b = bf16Of(values);
    writeSafetensors(path, { h: { dtype: 'F16', shape: [2, 4], data: h }, b: { dtype: 'BF16', shape: [8], data: b }, f: { dtype: 'F32', shape: [8], data: values } });
    const all = readSafetensors(path).tensors;
    expect(Array.from(all.get('h')!.data)).toEqual(Array.from(h, f16Value));
    expect(Array.from(all.get('b')!.data)).toEqual(Array.from(b, bf16Value));
    const r = openSafetensors(path);
    try {
      expect(Array.from(r.readFloat('h', 'f16'))).toEqual(Array.from(h)); // F16 as stored
      expect(Array.from(r.readFloat('b', 'f16'))).toEqual(Array.from(b, bf16ToF16));
      expect(Array.from(r.readFloat('f', 'f16'))).toEqual(Array.from(values, f16Bits));
      expect(Array.from(r.readFloat('f', 'f32'))).toEqual(Array.from(values));
      expect(r.readFloat('b', 'f32')).toBeInstanceOf(Float32Array);
    } finally {
      r.close();
    }
  });

  it('produces lazy tensors one at a time as it writes them, checking each', () => {
    const path = join(dir, 'lazy.safetensors');
    const made: string[] = [];
    const lazy = (name: string, n: number) => () => (made.push(name), Rng.forName(3, name).normals(n, 1));
    writeSafetensors(path, { b: { dtype: 'F32', shape: [3], data: lazy('b', 3) }, a: { dtype: 'F32', shape: [2, 2], data: lazy('a', 4) } });
    expect(made).toEqual(['a', 'b']); // in file order, each when written
    expect(Array.from(readSafetensors(path).tensors.get('b')!.data)).toEqual(Array.from(Rng.forName(3, 'b').normals(3, 1)));
    const bad = join(dir, 'lazy-bad.safetensors');
    expect(loomError(() => writeSafetensors(bad, { x: { dtype: 'F32', shape: [3], data: () => new Float32Array(2) } })).message).toMatch(/tensor 'x': shape \[3\] needs 3 values, got 2/);
    expect(loomError(() => writeSafetensors(bad, { x: { dtype: 'BF16', shape: [1], data: Uint16Array.of(0x7f80) } })).message).toMatch(/tensor 'x': value at index 0 is Infinity/);
    expect(fs.existsSync(bad)).toBe(false);
  });

  it('refuses a value beyond f16 range when reading as f16, naming the tensor, index and value', () => {
    const path = join(dir, 'big.safetensors');
    writeSafetensors(path, { big: { dtype: 'BF16', shape: [3], data: bf16Of(Float32Array.of(1, 2, 70000)) }, wide: { dtype: 'F32', shape: [2], data: Float32Array.of(65519, 65520) } });
    const r = openSafetensors(path);
    try {
      expect(Array.from(r.readFloat('big', 'f32'))).toEqual([1, 2, bf16Value(bf16Of(Float32Array.of(70000))[0])]);
      const e = loomError(() => r.readFloat('big', 'f16'));
      expect(e.diagnostics[0].code).toBe(5001);
      expect(e.message).toMatch(/tensor 'big': value 70144 at index 2 is beyond f16's range \(largest finite 65504\).*--weights-dtype f32/);
      expect(loomError(() => r.readFloat('wide', 'f16')).message).toMatch(/tensor 'wide': value 65520 at index 1 is beyond f16's range/); // 65519 rounds to 65504
    } finally {
      r.close();
    }
  });

  it('reads a checkpoint\'s float dtypes from its headers, RoPE inverse frequencies left out', () => {
    expect(checkpointDtypes(join(dir, 'half.safetensors'))).toEqual(['BF16', 'F16', 'F32']);
    expect(checkpointDtypes(join(dir, 'big.safetensors'))).toEqual(['BF16', 'F32']);
    const rope = join(dir, 'rope.safetensors'); // F16 weights and an F32 RoPE buffer: a 16-bit checkpoint
    writeSafetensors(rope, { w: { dtype: 'F16', shape: [2], data: Uint16Array.of(0x3c00, 0x4000) }, 'model.layers.0.self_attn.rotary_emb.inv_freq': { dtype: 'F32', shape: [2], data: Float32Array.of(1, 0.01) } });
    expect(checkpointDtypes(rope)).toEqual(['F16']);
  });
});

const decls: WeightDecl[] = [
  { name: 'embed', shape: [6, 4], init: { kind: 'normal', std: 1 } },
  { name: 'norm', shape: [4], init: { kind: 'ones' } },
  { name: 'proj', shape: [4, 3], init: { kind: 'normal', std: 1 } },
];

describe('providers', () => {
  const values = (d: WeightDecl) => Rng.forName(7, d.name).normals(d.shape.reduce((a, b) => a * b, 1), 1);

  it('a Loom-named BF16 file: names, shapes and dtypes from the header, each tensor read when asked', () => {
    const path = join(dir, 'loom-bf16.safetensors');
    writeSafetensors(path, Object.fromEntries(decls.map((d) => [d.name, { dtype: 'BF16' as const, shape: [...d.shape], data: bf16Of(values(d)) }])));
    const p = openLoomWeights(decls, path);
    try {
      expect(p.names).toEqual(['embed', 'norm', 'proj']);
      expect(p.shape('proj')).toEqual([4, 3]);
      expect(p.dtype('proj')).toBe('BF16');
      for (const d of decls) {
        expect(Array.from(p.read(d.name, 'f32'))).toEqual(Array.from(bf16Of(values(d)), bf16Value));
        expect(Array.from(p.read(d.name, 'f16'))).toEqual(Array.from(bf16Of(values(d)), bf16ToF16));
      }
      expect(readAll(p)).toEqual(loadWeights(decls, path));
    } finally {
      p.close();
    }
    // Problems are found from the header, before any read, all together.
    const e = loomError(() => openLoomWeights([...decls.slice(1), { name: 'extra', shape: [2], init: { kind: 'ones' } }], path));
    expect(e.diagnostics.map((d) => d.code)).toEqual([5002, 5001]);
  });

  it('an fla-named checkpoint: torch [out, in] Linear weights transposed, as f32 values and as f16 bits', () => {
    const text = importConfig(JSON.stringify(CONFIGS.gla), 'gla.json', 'gla.loom').text;
    const r = compileSource(text, 'gla.loom', { batch: 1, seq: 4 });
    if (!r.ok) throw new Error(r.diagnostics.map((d) => d.message).join('\n'));
    const { spec, graph } = r.compiled;
    const ck = synthesize('gla', 5, true);
    const path = join(dir, 'gla-bf16.safetensors');
    writeCheckpoint(path, ck, 'BF16');
    const p = openCheckpoint(spec, graph.weights, path);
    try {
      expect(p.dtype('layers.0.attn.q.weight')).toBe('BF16');
      const torch = ck.get('model.layers.0.attn.q_proj.weight')!; // [K, D] = [32, 64]
      const [K, D] = torch.shape;
      expect(p.shape('layers.0.attn.q.weight')).toEqual([D, K]);
      const q = p.read('layers.0.attn.q.weight', 'f32');
      const q16 = p.read('layers.0.attn.q.weight', 'f16');
      for (const [i, k] of [[0, 0], [3, 17], [D - 1, K - 1], [10, 0]]) {
        expect(q[i * K + k]).toBe(torch.data[k * D + i]);
        expect(q16[i * K + k]).toBe(f16Bits(torch.data[k * D + i]));
      }
      expect(readAll(p)).toEqual(loadCheckpoint(spec, graph.weights, path));
    } finally {
      p.close();
    }
  });

  it('a Map: its arrays as f32, converted to f16 on read; checkProvided names every problem', () => {
    const map = new Map(decls.map((d) => [d.name, values(d)]));
    const p = weightProvider(map);
    expect(p.read('proj', 'f32')).toBe(map.get('proj'));
    expect(Array.from(p.read('proj', 'f16'))).toEqual(Array.from(map.get('proj')!, f16Bits));
    expect(() => checkProvided(decls, p, 'm')).not.toThrow();
    const bad = weightProvider({ embed: new Float32Array(24), proj: new Float32Array(11), stray: new Float32Array(1) });
    const e = loomError(() => checkProvided(decls, bad, 'model m'));
    expect(e.diagnostics.map((d) => d.code)).toEqual([5001, 5002, 5003]);
    expect(e.message).toContain("'stray' are not weights of model m");
    expect(e.message).toMatch(/tensor 'proj' has shape 11 elements, the model needs \[4, 3\]/);
    expect(loomError(() => weightProvider({ big: Float32Array.of(1e5) }).read('big', 'f16')).message).toMatch(/weight 'big': value 100000 at index 0 is beyond f16's range/);
  });
});

describe('uploadWeights', () => {
  /** A provider of `sizes` (elements) counting the tensors read and not yet written. */
  function counted(sizes: Record<string, number>) {
    const state = { live: 0, maxLive: 0, events: [] as string[] };
    const p: WeightProvider = {
      names: Object.keys(sizes),
      shape: (n) => [sizes[n]],
      dtype: () => 'F32',
      read: (n, as) => {
        state.live++;
        state.maxLive = Math.max(state.maxLive, state.live);
        state.events.push(`read ${n} ${as}`);
        return as === 'f16' ? new Uint16Array(sizes[n]) : new Float32Array(sizes[n]);
      },
      close: () => {},
    };
    return { p, state };
  }

  it('holds one tensor at a time, flushes every FLUSH_BYTES and at the end, and reports bytes', async () => {
    const quarter = FLUSH_BYTES / 16; // f32 elements in a quarter of FLUSH_BYTES
    const sizes = { a: quarter, b: quarter, c: 2 * quarter, d: 8, e: 8 * quarter, f: 3 }; // e: FLUSH_BYTES as f16
    const { p, state } = counted(sizes);
    const progress: [number, number][] = [];
    const targets = Object.entries(sizes).map(([name, elements]) => ({ name, elements, elem: name === 'e' ? ('f16' as const) : ('f32' as const) }));
    await uploadWeights(p, targets, {
      write: (name, data) => {
        state.live--;
        state.events.push(`write ${name} ${data.constructor.name}`);
      },
      flush: async () => {
        state.events.push('flush');
      },
    }, (done, total) => progress.push([done, total]));
    expect(state.maxLive).toBe(1);
    expect(state.events).toEqual([
      'read a f32', 'write a Float32Array', 'read b f32', 'write b Float32Array',
      'read c f32', 'write c Float32Array', 'flush', // a + b + c: FLUSH_BYTES
      'read d f32', 'write d Float32Array', 'read e f16', 'write e Uint16Array', 'flush', // 32 bytes + FLUSH_BYTES
      'read f f32', 'write f Float32Array', 'flush', // the end
    ]);
    const total = 2 * FLUSH_BYTES + 4 * (8 + 3);
    expect(progress[0]).toEqual([0, total]);
    expect(progress[progress.length - 1]).toEqual([total, total]);
    expect(progress.every(([d], i) => i === 0 || d > progress[i - 1][0])).toBe(true);
  });
});
