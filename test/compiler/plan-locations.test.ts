/**
 * Planner refusals point at what asked for them (compiler/plan/plan.ts `locate`): the schedule
 * line that chose the schedule, the knob a window does not fit (or the mixer whose default it
 * took), and for `--schedule` a note instead of a file location.
 */
import { describe, expect, it } from 'vitest';
import { compileSource, type CompileOptions } from '../../compiler/pipeline.ts';
import { DEFAULT_LIMITS, type DeviceProfile } from '../../compiler/plan/device.ts';
import { locate } from '../../compiler/plan/plan.ts';
import { renderDiagnostics } from '../../grammar/render.ts';

function spec(mixer: string, o: { dim?: number; heads?: number; schedule?: string } = {}): string {
  return `model m {\n  vocab  = 256\n  dim    = ${o.dim ?? 64}\n  heads  = ${o.heads ?? 2}\n  layers = 2\n\n  mixer a = ${mixer}\n\n  block {\n    x = x + a(rmsnorm(x))\n  }\n}\n${o.schedule ? `\nschedule {\n${o.schedule}\n}\n` : ''}`;
}

/** The diagnostics of a failing compile as `code line:col message | notes`, one per layer. */
function refusals(text: string, o: Partial<CompileOptions>): string[] {
  const r = compileSource(text, 'm.loom', { batch: 1, seq: 16, ...o });
  expect(r.ok).toBe(false);
  return r.diagnostics.map((d) => `${d.code} ${d.file ?? '-'}:${d.span ? `${d.span.line}:${d.span.col}` : '-'}${d.notes.map((n) => ` | ${n.message}`).join('')}`);
}

// K = dim / heads = 1024: the recurrent kernel's private arrays are over WGSL's limit.
const WIDE = { dim: 1024, heads: 1 };

describe('located planner errors', () => {
  it('a schedule a mixer cannot run: at the prefill, default or layers[a..b] line that chose it', () => {
    expect(refusals(spec('linear_attn', { ...WIDE, schedule: '  prefill = recurrent' }), {})).toEqual(['4003 m.loom:15:3', '4003 m.loom:15:3']);
    expect(refusals(spec('linear_attn', { ...WIDE, schedule: '  default = recurrent' }), {})).toEqual(['4003 m.loom:15:3', '4003 m.loom:15:3']);
    // The last layers entry covering a layer decides it; the earlier default is not to blame.
    const layered = spec('linear_attn', { ...WIDE, schedule: '  default   = parallel\n  layers[1] = recurrent' });
    expect(refusals(layered, {})).toEqual(['4003 m.loom:16:3']);
    // A decode run is decided by the decode line.
    const decode = spec('linear_attn', { ...WIDE, schedule: '  prefill = chunkwise\n  decode  = recurrent' });
    expect(refusals(decode, { seq: 1, mode: 'decode' })).toEqual(['4003 m.loom:16:3', '4003 m.loom:16:3']);
  });

  it('--schedule: no file location, a note naming the command line', () => {
    const text = spec('linear_attn', WIDE);
    expect(refusals(text, { schedule: { kind: 'recurrent' } })).toEqual([
      '4003 -:- | the schedule was given on the command line (--schedule), for every layer',
      '4003 -:- | the schedule was given on the command line (--schedule), for every layer',
    ]);
  });

  it('a non-causal mixer asked for a recurrent schedule: at the layers line', () => {
    expect(refusals(spec('fnet', { schedule: '  layers[1] = recurrent' }), {})).toEqual(['4003 m.loom:15:3']);
  });

  it('a window longer than a learned or cached length: at max_len, or at the mixer that took the default', () => {
    expect(refusals(spec('linformer {\n    max_len = 8\n  }'), {})).toEqual(['4021 m.loom:8:15', '4021 m.loom:8:15']);
    // The KV cache of causal attention: LOOM4003 at max_len.
    expect(refusals(spec('attention {\n    max_len = 8\n  }'), {})).toEqual(['4003 m.loom:8:15', '4003 m.loom:8:15']);
    const defaulted = spec('linformer');
    expect(refusals(defaulted, { seq: 600 })).toEqual([
      "4021 m.loom:7:9 | mixer 'a' does not set max_len, so it takes the default",
      "4021 m.loom:7:9 | mixer 'a' does not set max_len, so it takes the default",
    ]);
  });

  it('bidirectional attention in a decode run: at causal = false', () => {
    expect(refusals(spec('attention {\n    causal = false\n  }'), { seq: 1, mode: 'decode' })).toEqual(['4003 m.loom:8:14', '4003 m.loom:8:14']);
  });

  it('renders with the source line', () => {
    const text = spec('linformer {\n    max_len = 8\n  }');
    const r = compileSource(text, 'm.loom', { batch: 1, seq: 16 });
    expect(renderDiagnostics(r.diagnostics.slice(0, 1), { 'm.loom': text })).toBe(
      ['m.loom(8,15): error LOOM4021: L0.a: T = 16 is longer than max_len = 8, the length its learned projections E and F cover', '   8 |     max_len = 8', '     |               ^', ''].join('\n'),
    );
  });

  it('locate: without the spec (a graph planned on its own) no location; a node of no mixer gets the file only', () => {
    expect(locate({ label: 'L0.a', layer: 0 }, 'mixer', undefined)).toEqual({ where: {}, notes: [] });
    const r = compileSource(spec('linear_attn'), 'm.loom', { batch: 1, seq: 16 });
    if (!r.ok) throw new Error('compiles');
    expect(locate({ label: 'L0.mlp0.up', layer: 0 }, 'mixer', r.compiled.spec)).toEqual({ where: { file: 'm.loom' }, notes: [] });
    expect(locate({ label: 'L1.a', layer: 1 }, 'mixer', r.compiled.spec).where.span?.line).toBe(7);
  });
});

describe('located device limits', () => {
  it('a tensor over the binding limit: at the declaration of its mixer; the model-level ones at the file', () => {
    const device: DeviceProfile = { name: 'tiny', isCpu: false, limits: { ...DEFAULT_LIMITS, maxStorageBufferBindingSize: 1 << 16, maxBufferSize: 1 << 16 } };
    const text = spec('linear_attn', { dim: 256 });
    const r = compileSource(text, 'm.loom', { batch: 1, seq: 16, device });
    expect(r.ok).toBe(false);
    const limits = r.diagnostics.filter((d) => d.code === 4004);
    const mixer = limits.filter((d) => /'layers\.\d\.a\./.test(d.message));
    expect(mixer.length).toBeGreaterThan(0);
    for (const d of mixer) expect(`${d.file}:${d.span?.line}:${d.span?.col}`, d.message).toBe('m.loom:7:9');
    const embed = limits.find((d) => d.message.startsWith("weight 'embed.weight'"))!;
    expect([embed.file, embed.span]).toEqual(['m.loom', undefined]);
  });
});
