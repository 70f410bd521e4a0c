/**
 * Layer patterns: `block pattern [a, b, ...] { ... mixer(e) ... }` parses with its list, formats
 * canonically, checks into ModelSpec.pattern, and lowers layer i with mixer pattern[i mod len].
 */
import { describe, expect, it } from 'vitest';
import { format } from '../../grammar/format.ts';
import { parse } from '../../grammar/index.ts';
import { checkSource } from '../../compiler/pipeline.ts';
import { lower } from '../../compiler/lower/lower.ts';

const SPEC = `model hybrid {
  vocab = 16
  dim = 16
  heads = 2
  layers = 5
  mixer dn = deltanet
  mixer local = swa { window = 4 }
  block   pattern [ dn,dn , local ]  {
    x = x + mixer(rmsnorm(x))
  }
}
`;

describe('block pattern', () => {
  it('parses the pattern list and the mixer(...) slot', () => {
    const { file, diagnostics } = parse(SPEC, 'h.loom');
    expect(diagnostics).toEqual([]);
    const block = file.models[0].items.find((i) => i.kind === 'Block');
    expect(block?.kind === 'Block' && block.pattern?.items.map((e) => (e.kind === 'Name' ? e.name : '?'))).toEqual(['dn', 'dn', 'local']);
  });

  it('formats canonically and idempotently', () => {
    const once = format(SPEC, 'h.loom');
    expect(once.text).toContain('  block pattern [dn, dn, local] {\n    x = x + mixer(rmsnorm(x))\n  }');
    expect(format(once.text!, 'h.loom').text).toBe(once.text);
  });

  it('checks into ModelSpec.pattern and lowers layer i with pattern[i mod 3]', () => {
    const { spec, diagnostics } = checkSource(SPEC, 'h.loom');
    expect(diagnostics).toEqual([]);
    expect(spec!.pattern).toEqual(['dn', 'dn', 'local']);
    const g = lower(spec!, { B: 1, T: 4 });
    const mixers = g.nodes.filter((n) => n.op === 'linear_attn' || n.op === 'attention').map((n) => `${n.layer}:${n.op}`);
    expect(mixers).toEqual(['0:linear_attn', '1:linear_attn', '2:attention', '3:linear_attn', '4:linear_attn']);
    expect(g.weights.map((w) => w.name)).toContain('layers.2.local.q.weight');
    expect(Object.keys(g.outputs)).toEqual(expect.arrayContaining(['L0.dn.S', 'L2.local.k_cache', 'L2.local.v_cache', 'pos']));
  });

  it('refuses a pattern the block never uses', () => {
    const { diagnostics } = checkSource(SPEC.replace('mixer(rmsnorm(x))', 'dn(rmsnorm(x))'), 'h.loom');
    expect(diagnostics.map((d) => d.message)).toEqual(["the block has a pattern but never calls mixer(...), the layer's mixer from it"]);
  });
});
