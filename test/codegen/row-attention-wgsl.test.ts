/**
 * Cache-free attention variants without an adapter: WGSL snapshots of each key range and weight,
 * Linformer refused past max_len at plan time (LOOM4021), and the decode refusal of each model.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compileArtifacts } from '../../compiler/emit/emit.ts';
import { cacheAppendKernel, projectKernel, rowAttentionKernel, type RowAttentionShape } from '../../compiler/mixers/row_attention/kernels.ts';
import { compileSource } from '../../compiler/pipeline.ts';
import { stateSizes } from '../../compiler/plan/state-size.ts';
import { DEFAULT_PROFILE } from '../../compiler/plan/device.ts';

const base: RowAttentionShape = { B: 2, TQ: 10, TK: 10, H: 2, DK: 8, DV: 8, scale: 0.35, weight: 'softmax', range: { kind: 'all' }, lengthScale: null, cache: null };
const SNAPSHOTS: [string, () => string][] = [
  ['softplus-causal-length-scale', () => rowAttentionKernel('L0.attn.rows', { ...base, weight: 'softplus', range: { kind: 'causal' }, lengthScale: 512 }).wgsl],
  ['softplus-all', () => rowAttentionKernel('L0.attn.rows', { ...base, weight: 'softplus' }).wgsl],
  ['diag-block4-causal', () => rowAttentionKernel('L0.diag.rows', { ...base, range: { kind: 'block', block: 4, causal: true } }).wgsl],
  ['softplus-cached-linear', () => rowAttentionKernel('L0.attn.rows', { ...base, weight: 'softplus', range: { kind: 'causal' }, lengthScale: 512, cache: { slots: 64, ring: false } }).wgsl],
  ['diag-cached-ring', () => rowAttentionKernel('L0.diag.rows', { ...base, range: { kind: 'block', block: 4, causal: true }, cache: { slots: 4, ring: true } }).wgsl],
  ['cache-append-linear', () => cacheAppendKernel('L0.attn.cache', { ...base, cache: { slots: 64, ring: false } }).wgsl],
  ['cache-append-ring', () => cacheAppendKernel('L0.diag.cache', { ...base, cache: { slots: 4, ring: true } }).wgsl],
  ['linformer-rows-P4', () => rowAttentionKernel('L0.lin.rows', { ...base, TK: 4 }).wgsl],
  ['linformer-project', () => projectKernel('L0.lin.project', { B: 2, T: 10, P: 4, C: 16, maxLen: 32 }).wgsl],
];

describe('row-attention WGSL snapshots', () => {
  it.each(SNAPSHOTS.map(([id, make]) => ({ id, make })))('$id', async ({ id, make }) => {
    expect(make(), 'deterministic').toBe(make());
    await expect(make()).toMatchFileSnapshot(`__snapshots__/row_attention/${id}.wgsl`);
  });
});

describe('row-attention models', () => {
  const spec = (path: string) => readFileSync(path, 'utf8');
  it('refuses a Linformer window longer than max_len when planning, naming T and max_len', () => {
    const r = compileSource(spec('models/linformer.loom'), 'models/linformer.loom', { batch: 1, seq: 129 });
    expect(r.ok).toBe(false);
    expect(r.diagnostics.map((d) => `LOOM${d.code}: ${d.message}`)).toEqual([
      'LOOM4021: L0.attn: T = 129 is longer than max_len = 128, the length its learned projections E and F cover',
      'LOOM4021: L1.attn: T = 129 is longer than max_len = 128, the length its learned projections E and F cover',
    ]);
    expect(compileSource(spec('models/linformer.loom'), 'models/linformer.loom', { batch: 1, seq: 128 }).ok).toBe(true);
  });

  it('reports the decode state: a growing cache for softplus attention, a ring for DiagAttention', () => {
    const sizes = (path: string) => {
      const r = compileSource(spec(path), path, { batch: 1, seq: 1 });
      if (!r.ok) throw new Error(r.diagnostics.map((d) => d.message).join('\n'));
      return stateSizes(r.compiled.graph).filter((s) => s.name.startsWith('L0.') && s.name.endsWith('k_cache'));
    };
    expect(sizes('models/softplus-attention.loom').map((s) => s.growth)).toEqual([{ kind: 'kv-cache', maxLen: 512, bytesPerToken: 4 * 4 * 16 }]);
    expect(sizes('models/transnormer.loom').map((s) => s.growth)).toEqual([{ kind: 'kv-ring', window: 8 }]);
  });

  it('gives Linformer no step program, and the causal variants a step program with their KV cache', () => {
    const emit = (path: string) => compileArtifacts(spec(path), path, { batch: 1, seq: 8, device: DEFAULT_PROFILE, emit: ['wgsl'], runtimeImport: '', source: path });
    const lin = emit('models/linformer.loom');
    expect(lin.ok && lin.pair.step === null && lin.pair.noDecode).toBe("mixer 'attn' (linformer) is not causal: decode is not defined");
    for (const [path, slots] of [['models/softplus-attention.loom', 512], ['models/transnormer.loom', 8]] as const) {
      const r = emit(path);
      if (!r.ok) throw new Error(r.diagnostics.map((d) => d.message).join('\n'));
      expect(r.pair.step).not.toBeNull();
      const caches = r.pair.forward.graph.nodes.filter((n) => n.op === 'state_in' && n.name.endsWith('_cache')).map((n) => n.type.shape[2]);
      expect(caches).toEqual([slots, slots, slots, slots]);
    }
  });
});
