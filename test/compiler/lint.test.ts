/**
 * Warnings of the checker (compiler/check/lint.ts): a mixer no layer uses, a parameter nothing
 * reads, a pattern entry no layer reaches; shown but not failing, errors under --strict, and absent
 * from every model in models/ and from specs with errors.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { checkSource, compileSource } from '../../compiler/pipeline.ts';
import { hasErrors, strict } from '../../grammar/diagnostics.ts';
import { renderDiagnostics } from '../../grammar/render.ts';

/** A small valid spec; `items` go into the model after the mixer, `block` replaces its block. */
function spec(o: { layers?: number; items?: string; block?: string; schedule?: string } = {}): string {
  const block = o.block ?? 'block {\n    x = x + attn(rmsnorm(x))\n  }';
  return `model m {\n  vocab  = 256\n  dim    = 64\n  heads  = 2\n  layers = ${o.layers ?? 2}\n${o.items ?? ''}\n  mixer attn = linear_attn\n\n  ${block}\n}\n${o.schedule ?? ''}`;
}

const warnings = (text: string) => checkSource(text, 'w.loom').diagnostics.map((d) => `${d.severity} ${d.code} ${d.message} @${d.span?.line}:${d.span?.col}`);

describe('checker warnings', () => {
  it('a mixer no layer uses (LOOM2101), at its name; the spec still checks', () => {
    const text = spec({ items: '  mixer spare = deltanet' });
    expect(warnings(text)).toEqual(["warning 2101 mixer 'spare' is declared but no layer uses it @6:9"]);
    const r = checkSource(text, 'w.loom');
    expect(r.spec?.name).toBe('m');
    expect(hasErrors(r.diagnostics)).toBe(false);
  });

  it('a parameter nothing reads (LOOM2102); one read by a parameter, a knob, a block argument or the schedule is used', () => {
    expect(warnings(spec({ items: '  unused = 3' }))).toEqual(["warning 2102 parameter 'unused' is defined but never used @6:3"]);
    // Read by a later parameter (itself read by a block argument), by a knob, by a chunk size, by a layer range.
    const used = spec({
      items: '  base   = 32\n  hidden = base * 4\n  kd     = 16\n  chunk  = 8\n  last   = 1\n  mixer other = linear_attn {\n    head_dim = kd\n  }',
      block: 'block {\n    x = x + attn(rmsnorm(x))\n    x = x + other(rmsnorm(x))\n    x = x + swiglu(rmsnorm(x), hidden = hidden)\n  }',
      schedule: 'schedule {\n  prefill = chunkwise(chunk)\n  layers[0..last] = recurrent\n}\n',
    });
    expect(warnings(used)).toEqual([]);
    // The parameters the compiler reads itself are never unused.
    expect(warnings(spec({ items: '  norm_eps = 1e-6\n  head = untied' }))).toEqual([]);
  });

  it('a pattern entry no layer reaches (LOOM3101), each one at its entry', () => {
    const text = spec({ layers: 2, items: '  mixer local = swa {\n    window = 16\n  }', block: 'block pattern [attn, local, local] {\n    x = x + mixer(rmsnorm(x))\n  }' });
    expect(warnings(text)).toEqual(["warning 3101 pattern entry 2 ('local') is used by no layer: with layers = 2, layer i takes entry i mod 3 @11:31"]);
    // With as many layers as entries, every entry is reached.
    expect(warnings(text.replace('layers = 2', 'layers = 3'))).toEqual([]);
  });

  it('is silent on a spec with errors: no cascade from a misspelt call', () => {
    const text = spec({ items: '  mixer spare = deltanet', block: 'block {\n    x = x + atn(rmsnorm(x))\n  }' });
    const d = checkSource(text, 'w.loom').diagnostics;
    expect(d.map((x) => `${x.severity} ${x.code}`)).toEqual(['error 2004']); // unknown function 'atn'; 'attn' and 'spare' unused, unreported
  });

  it('warnings come with a successful compile, and render as warnings', () => {
    const text = spec({ items: '  spare = 1' });
    const r = compileSource(text, 'w.loom', { batch: 1, seq: 8 });
    expect(r.ok).toBe(true);
    expect(renderDiagnostics(r.diagnostics, { 'w.loom': text })).toBe(
      ["w.loom(6,3): warning LOOM2102: parameter 'spare' is defined but never used", '   6 |   spare = 1', '     |   ^^^^^', ''].join('\n'),
    );
  });

  it('--strict makes each warning an error with the same code and message', () => {
    const d = checkSource(spec({ items: '  spare = 1\n  mixer other = deltanet' }), 'w.loom').diagnostics;
    expect(hasErrors(d)).toBe(false);
    const s = strict(d);
    expect(hasErrors(s)).toBe(true);
    expect(s.map((x) => [x.severity, x.code, x.message])).toEqual(d.map((x) => ['error', x.code, x.message]));
    expect(d.every((x) => x.severity === 'warning')).toBe(true); // strict copies, never mutates
  });

  it('no model in models/ warns', () => {
    const models = readdirSync('models').filter((f) => f.endsWith('.loom'));
    expect(models.length).toBeGreaterThan(10);
    for (const f of models) {
      const path = `models/${f}`;
      expect(checkSource(readFileSync(path, 'utf8'), path).diagnostics, path).toEqual([]);
    }
  });
});
