import * as fs from 'node:fs';
import * as os from 'node:os';
import * as nodePath from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { WeightDecl } from '../../compiler/ir/graph.ts';
import { LoomError } from '../../grammar/diagnostics.ts';
import { readSafetensors, writeSafetensors } from '../../runtime/safetensors.ts';
import { loadWeights, saveWeights, seededWeights } from '../../runtime/weights.ts';

const dir = fs.mkdtempSync(nodePath.join(os.tmpdir(), 'loom-w-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
let fileCount = 0;
const tmpFile = () => nodePath.join(dir, `w${fileCount++}.safetensors`);

const decls: WeightDecl[] = [
  { name: 'embed', shape: [50, 16], init: { kind: 'normal', std: 0.02 } },
  { name: 'L0.norm', shape: [16], init: { kind: 'ones' } },
  { name: 'L0.attn.q', shape: [16, 8], init: { kind: 'normal', std: 1 } },
  { name: 'L0.bias', shape: [8], init: { kind: 'zeros' } },
];

function loomError(fn: () => unknown): LoomError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(LoomError);
    return e as LoomError;
  }
  throw new Error('expected a LoomError');
}

describe('seededWeights', () => {
  it('gives every declaration its shape and init', () => {
    const w = seededWeights(decls, 1);
    expect([...w.keys()]).toEqual(decls.map((d) => d.name));
    expect(w.get('embed')!.length).toBe(800);
    expect(Array.from(w.get('L0.norm')!)).toEqual(new Array(16).fill(1));
    expect(Array.from(w.get('L0.bias')!)).toEqual(new Array(8).fill(0));
  });

  it('draws normals with the declared std', () => {
    const n = 20000;
    const w = seededWeights([{ name: 'big', shape: [n], init: { kind: 'normal', std: 0.5 } }], 9).get('big')!;
    const mean = w.reduce((a, b) => a + b, 0) / n;
    const std = Math.sqrt(w.reduce((a, b) => a + (b - mean) ** 2, 0) / n);
    expect(Math.abs(mean)).toBeLessThan(0.02); // 4 sigma of the mean's spread 0.5/sqrt(n)
    expect(std).toBeGreaterThan(0.49);
    expect(std).toBeLessThan(0.51);
    expect(new Set(w).size).toBeGreaterThan(n * 0.99);
  });

  it('is deterministic for a seed and differs across seeds', () => {
    const a = seededWeights(decls, 42);
    const b = seededWeights(decls, 42);
    const c = seededWeights(decls, 43);
    for (const d of decls) expect(Array.from(a.get(d.name)!)).toEqual(Array.from(b.get(d.name)!));
    expect(Array.from(a.get('embed')!)).not.toEqual(Array.from(c.get('embed')!));
  });

  it('gives each weight its own stream: adding or reordering weights changes no other', () => {
    const base = seededWeights(decls, 5);
    const extra: WeightDecl = { name: 'extra', shape: [100], init: { kind: 'normal', std: 1 } };
    const more = seededWeights([extra, ...decls].reverse(), 5);
    for (const d of decls) expect(Array.from(more.get(d.name)!)).toEqual(Array.from(base.get(d.name)!));
    // two weights of the same shape and std still get different values
    const twins = seededWeights([
      { name: 'a', shape: [32], init: { kind: 'normal', std: 1 } },
      { name: 'b', shape: [32], init: { kind: 'normal', std: 1 } },
    ], 5);
    expect(Array.from(twins.get('a')!)).not.toEqual(Array.from(twins.get('b')!));
  });
});

describe('saveWeights / loadWeights', () => {
  it('round-trips bit-exactly with metadata', () => {
    const path = tmpFile();
    const w = seededWeights(decls, 3);
    saveWeights(path, decls, w, { model: 'tiny' });
    const back = loadWeights(decls, path);
    for (const d of decls) expect(Array.from(back.get(d.name)!)).toEqual(Array.from(w.get(d.name)!));
    const raw = readSafetensors(path);
    expect(raw.metadata).toEqual({ model: 'tiny' });
    expect(raw.tensors.get('L0.attn.q')!.shape).toEqual([16, 8]);
    expect(raw.tensors.get('L0.attn.q')!.dtype).toBe('F32');
  });

  it('reports a missing weight (LOOM5002) naming the tensor, its shape and the file', () => {
    const path = tmpFile();
    saveWeights(path, decls.slice(1), seededWeights(decls, 3));
    const err = loomError(() => loadWeights(decls, path));
    expect(err.diagnostics.map((d) => d.code)).toEqual([5002]);
    expect(err.message).toContain(`LOOM5002: weights file has no tensor 'embed' [50, 16] (in ${path})`);
    expect(err.diagnostics[0].file).toBe(path);
  });

  it('reports a wrong shape (LOOM5003) naming both shapes and the file', () => {
    const path = tmpFile();
    const wrong = decls.map((d) => (d.name === 'L0.attn.q' ? { ...d, shape: [8, 16] } : d));
    saveWeights(path, wrong, seededWeights(wrong, 3));
    const err = loomError(() => loadWeights(decls, path));
    expect(err.diagnostics.map((d) => d.code)).toEqual([5003]);
    expect(err.message).toContain(`LOOM5003: tensor 'L0.attn.q' has shape [8, 16], the model needs [16, 8] (in ${path})`);
  });

  it('reports tensors the model does not declare (LOOM5001), with every other problem', () => {
    const path = tmpFile();
    const extra: WeightDecl[] = [...decls.slice(1), { name: 'zz.old', shape: [2], init: { kind: 'zeros' } }, { name: 'aa.old', shape: [1], init: { kind: 'zeros' } }];
    saveWeights(path, extra, seededWeights(extra, 3));
    const err = loomError(() => loadWeights(decls, path));
    expect(err.diagnostics.map((d) => d.code)).toEqual([5002, 5001]);
    expect(err.message).toContain(`${path}: tensor(s) 'aa.old', 'zz.old' are not weights of the model`);
  });

  it('rejects an integer tensor for a float weight', () => {
    const path = tmpFile();
    writeSafetensors(path, { b: { dtype: 'I32', shape: [2], data: Int32Array.of(1, 2) } });
    const err = loomError(() => loadWeights([{ name: 'b', shape: [2], init: { kind: 'zeros' } }], path));
    expect(err.message).toContain(`LOOM5001: ${path}: tensor 'b' is I32, the model needs a float tensor`);
  });

  it('passes file errors through', () => {
    const err = loomError(() => loadWeights(decls, nodePath.join(dir, 'missing.safetensors')));
    expect(err.message).toMatch(/LOOM5001: .*missing\.safetensors: cannot open the weights file/);
  });

  it('saveWeights refuses a missing or wrong-length weight and writes nothing', () => {
    const path = tmpFile();
    const w = seededWeights(decls, 3);
    w.delete('L0.norm');
    expect(() => saveWeights(path, decls, w)).toThrow(`LOOM5001: ${path}: cannot save weight 'L0.norm' [16]: no value given`);
    w.set('L0.norm', new Float32Array(3));
    expect(() => saveWeights(path, decls, w)).toThrow(`LOOM5001: ${path}: cannot save weight 'L0.norm' [16]: got 3 values, need 16`);
    expect(fs.existsSync(path)).toBe(false);
  });
});
