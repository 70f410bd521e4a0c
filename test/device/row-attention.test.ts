/**
 * Softplus attention, DiagAttention and Linformer kernels on the adapter against their float64
 * definitions, on lengths that are not powers of two, T = 1, blocks that do not divide T, and a
 * Linformer window at exactly max_len.
 */
import { describe, expect, it } from 'vitest';
import type { BufferDecl } from '../../compiler/codegen/program.ts';
import type { FamilyAttrs } from '../../compiler/ir/graph.ts';
import { familyOpOf, type FamilyNode } from '../../compiler/mixers/family-op.ts';
import { runOnce } from '../../runtime/program.ts';
import { Rng } from '../../runtime/random.ts';
import { FAMILY_REFS } from '../../runtime/reference/families.ts';
import { expectClose } from '../helpers/compare.ts';
import { gpu } from './gpu.ts';

/**
 * Tolerances: each output row is a weighted sum over at most 45 keys with exp or softplus weights,
 * normalised: 1.6e-7 measured, so 2e-6. The caches are copies of k and v: exact.
 */
const TOL = 2e-6;
const EXACT = 1e-12;

interface Case {
  family: 'softplus_attention' | 'diag_attention' | 'linformer';
  B: number;
  T: number;
  attrs: FamilyAttrs;
}

const H = 2;
const D = 8;
const base = { heads: H, headDim: D, scale: 1 / Math.sqrt(D) };
const CASES: Case[] = [
  { family: 'softplus_attention', B: 2, T: 33, attrs: { ...base, causal: true, lengthScale: 0 } },
  { family: 'softplus_attention', B: 1, T: 1, attrs: { ...base, causal: true, lengthScale: 16 } },
  { family: 'softplus_attention', B: 1, T: 45, attrs: { ...base, causal: true, lengthScale: 16 } },
  { family: 'softplus_attention', B: 2, T: 19, attrs: { ...base, causal: false, lengthScale: 8 } },
  { family: 'diag_attention', B: 2, T: 10, attrs: { ...base, block: 4, causal: true } },
  { family: 'diag_attention', B: 1, T: 12, attrs: { ...base, block: 5, causal: false } },
  { family: 'diag_attention', B: 1, T: 7, attrs: { ...base, block: 16, causal: true } },
  { family: 'linformer', B: 2, T: 9, attrs: { ...base, proj: 4, maxLen: 16 } },
  { family: 'linformer', B: 1, T: 16, attrs: { ...base, proj: 6, maxLen: 16 } },
];

/** Cached cases: a window continuing sequences at positions `pos` (the old cache holds random rows). */
const CACHED: (Case & { pos: number[] })[] = [
  { family: 'softplus_attention', B: 2, T: 7, pos: [0, 5], attrs: { ...base, causal: true, lengthScale: 16, cacheSlots: 16, maxPositions: 16 } },
  { family: 'softplus_attention', B: 1, T: 1, pos: [9], attrs: { ...base, causal: true, lengthScale: 0, cacheSlots: 12, maxPositions: 12 } },
  { family: 'diag_attention', B: 2, T: 6, pos: [3, 21], attrs: { ...base, block: 4, causal: true, cacheSlots: 4 } },
  { family: 'diag_attention', B: 1, T: 1, pos: [14], attrs: { ...base, block: 5, causal: true, cacheSlots: 5 } },
];

const id = (c: Case) => `${c.family}-B${c.B}-T${c.T}-${Object.entries(c.attrs).filter(([k]) => !(k in base)).map(([k, v]) => `${k}${v}`).join('-')}`;

describe('cache-free attention kernels vs the float64 reference', () => {
  it.each(CASES.map((c) => ({ c, id: id(c) })))('$id', async ({ c, id }) => {
    const { B, T } = c;
    const W = H * D;
    const r = Rng.forName(4, id);
    const data: Record<string, Float32Array> = { q: r.normals(B * T * W), k: r.normals(B * T * W), v: r.normals(B * T * W) };
    const io = (name: string, elements: number, role: BufferDecl['role']): BufferDecl => ({ name, elem: 'f32', elements, role });
    const buffers = ['q', 'k', 'v'].map((n) => io(n, B * T * W, 'input'));
    const shapes = [[B, T, W], [B, T, W], [B, T, W]];
    if (c.family === 'linformer') {
      const [P, maxLen] = [c.attrs.proj as number, c.attrs.maxLen as number];
      for (const n of ['e', 'f']) {
        data[n] = r.normals(P * maxLen, 1 / Math.sqrt(T));
        buffers.push(io(n, P * maxLen, 'weight'));
        shapes.push([P, maxLen]);
      }
    }
    const names = Object.keys(data);
    const node = { op: 'family', family: c.family, inputs: names.map((_, i) => i), attrs: c.attrs, id: 9, layer: 0, label: 'L0.a', type: { shape: [B, T, W], dtype: 'f32' } } as FamilyNode;
    const prog = familyOpOf(c.family).program(node, 'rows', { B, T }, { inputs: names, output: 'o' });
    buffers.push(io('o', B * T * W, 'output'));
    const out = await runOnce(await gpu(), { buffers: [...buffers, ...prog.buffers], steps: prog.steps }, data, ['o']);
    const ref = FAMILY_REFS[c.family](node, names.map((n) => Float64Array.from(data[n])), shapes);
    expectClose(id, out.o as Float32Array, ref instanceof Float64Array ? ref : ref.out, TOL);
  });

  it.each(CACHED.map((c) => ({ c, id: `${id(c)}-pos${c.pos.join('_')}` })))('continues from a KV cache: $id', async ({ c, id }) => {
    const { B, T } = c;
    const W = H * D;
    const S = c.attrs.cacheSlots as number;
    const r = Rng.forName(5, id);
    const data: Record<string, Float32Array> = { q: r.normals(B * T * W), k: r.normals(B * T * W), v: r.normals(B * T * W), pos: Float32Array.from(c.pos), kc: r.normals(B * H * S * D), vc: r.normals(B * H * S * D) };
    const names = Object.keys(data);
    const shapes = [[B, T, W], [B, T, W], [B, T, W], [B], [B, H, S, D], [B, H, S, D]];
    const io = (name: string, elements: number, role: BufferDecl['role']): BufferDecl => ({ name, elem: 'f32', elements, role });
    const buffers = names.map((n, i) => io(n, data[n].length, i < 3 ? 'input' : 'state_in'));
    // The caches are appended in place: each state output is its state input's buffer.
    const inPlace = familyOpOf(c.family).inPlace?.({ attrs: c.attrs } as FamilyNode) ?? {};
    expect(inPlace).toEqual({ k_cache: 4, v_cache: 5 });
    buffers.push(io('o', B * T * W, 'output'), { ...io('k_cache', B * H * S * D, 'state_out'), alias: names[inPlace.k_cache] }, { ...io('v_cache', B * H * S * D, 'state_out'), alias: names[inPlace.v_cache] });
    const node = { op: 'family', family: c.family, inputs: names.map((_, i) => i), attrs: c.attrs, states: ['k_cache', 'v_cache'], id: 9, layer: 0, label: 'L0.a', type: { shape: [B, T, W], dtype: 'f32' } } as FamilyNode;
    const prog = familyOpOf(c.family).program(node, 'rows', { B, T }, { inputs: names, output: 'o', states: { k_cache: 'k_cache', v_cache: 'v_cache' } });
    const out = await runOnce(await gpu(), { buffers: [...buffers, ...prog.buffers], steps: prog.steps }, data, ['o', 'k_cache', 'v_cache']);
    const ref = FAMILY_REFS[c.family](node, names.map((n) => Float64Array.from(data[n])), shapes);
    if (ref instanceof Float64Array) throw new Error('a cached node returns its final caches');
    expectClose(`${id} o`, out.o as Float32Array, ref.out, TOL);
    expectClose(`${id} k_cache`, out.k_cache as Float32Array, ref.finals.k_cache, EXACT);
    expectClose(`${id} v_cache`, out.v_cache as Float32Array, ref.finals.v_cache, EXACT);
  });
});
