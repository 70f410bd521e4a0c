/** Decode-state sizes (`loom explain --mode decode`): pure, from the lowered graph. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { main } from '../../cli/main.ts';
import { compileSource } from '../../compiler/pipeline.ts';
import { stateReport, stateSizes } from '../../compiler/plan/state-size.ts';

function graphOf(path: string, batch = 1, seq = 1) {
  const r = compileSource(readFileSync(path, 'utf8'), path, { batch, seq });
  if (!r.ok) throw new Error(r.diagnostics.map((d) => d.message).join('\n'));
  return r.compiled.graph;
}

describe('stateSizes', () => {
  it('a linear-only model: every state constant in context length, the same at any T', () => {
    const s = stateSizes(graphOf('models/gated-deltanet.loom'));
    expect(s.map((x) => x.name)).toEqual(['L0.gdn.q_conv', 'L0.gdn.k_conv', 'L0.gdn.v_conv', 'L0.gdn.S', 'L1.gdn.q_conv', 'L1.gdn.k_conv', 'L1.gdn.v_conv', 'L1.gdn.S']);
    expect(s.every((x) => x.growth.kind === 'constant')).toBe(true);
    expect(s.find((x) => x.name === 'L0.gdn.S')).toMatchObject({ shape: [1, 2, 32, 32], elements: 2048, bytes: 8192, layer: 0 });
    expect(stateSizes(graphOf('models/gated-deltanet.loom', 1, 64))).toEqual(s);
  });

  it('global attention: KV caches grow per token up to max_len; pos once; batch scales every state', () => {
    const s = stateSizes(graphOf('models/gated-deltanet-hybrid.loom'));
    expect(s.filter((x) => x.name === 'pos')).toEqual([{ name: 'pos', layer: -1, shape: [1], elements: 1, bytes: 4, growth: { kind: 'position' } }]);
    const k = s.find((x) => x.name === 'L1.attn.k_cache')!;
    expect(k).toMatchObject({ shape: [1, 2, 1024, 16], bytes: 131072, growth: { kind: 'kv-cache', maxLen: 1024, bytesPerToken: 128 } });
    const b3 = stateSizes(graphOf('models/gated-deltanet-hybrid.loom', 3));
    expect(b3.map((x) => x.bytes)).toEqual(s.map((x) => x.bytes * 3));
    const text = stateReport(s, 1).join('\n');
    expect(text).toMatch(/layer 1: 262144 bytes\n +L1\.attn\.k_cache +\[1, 2, 1024, 16\] +32768 elements 131072 bytes +grows with context up to max_len = 1024 \(128 bytes per token/);
    expect(text).toMatch(/total 540676 bytes \(528\.0 KiB\) in 7 states: 16388 bytes constant in context length, 524288 bytes of KV cache allocated for max_len, in use 512 bytes per token of context/);
  });

  it('sliding-window attention: a ring of window slots, constant', () => {
    const s = stateSizes(graphOf('models/deltanet-swa.loom'));
    expect(s.find((x) => x.name === 'L3.local.v_cache')).toMatchObject({ shape: [1, 2, 16, 32], growth: { kind: 'kv-ring', window: 16 } });
    expect(stateReport(s, 1).join('\n')).toMatch(/constant: ring of 16 window slots[^]*total 32772 bytes \(32\.0 KiB\) in 6 states: 32772 bytes constant in context length$/);
  });
});

describe('loom explain --mode decode', () => {
  it('prints the decode plan and the state table; a bad mode is LOOM6001', async () => {
    let out = '';
    let err = '';
    const io = { out: (t: string) => (out += t), err: (t: string) => (err += t) };
    expect(await main(['explain', 'models/linear-transformer.loom', '--mode', 'decode'], io)).toBe(0);
    expect(out).toMatch(/^plan for \w+, B=1 T=1, mode decode/);
    expect(out).toMatch(/decode state, B=1[^]*L0\.attn\.S +\[1, 4, 32, 32\] +4096 elements +16384 bytes +constant in context length/);
    expect(await main(['explain', 'models/linear-transformer.loom', '--mode', 'sideways'], io)).toBe(2); // a usage error
    expect(err).toMatch(/LOOM6001: explain: --mode must be prefill or decode, got 'sideways'/);
  });
});
