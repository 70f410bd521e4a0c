/**
 * `loom import` of fla's state-space models (Mamba, Mamba2, Samba) and LinearAttention's learned
 * feature maps, and the configs' bare NaN / Infinity tokens (Python's json writes them).
 */
import { describe, expect, it } from 'vitest';
import { importConfig } from '../../compiler/import/config.ts';
import { parseConfigJson } from '../../compiler/import/fields.ts';
import { LoomError } from '../../grammar/diagnostics.ts';
import { renderDiagnostics } from '../../grammar/render.ts';

/** The rendered diagnostics of a config text that must be refused. */
function refusedText(text: string): string {
  try {
    importConfig(text, 'config.json');
  } catch (e) {
    if (e instanceof LoomError) return renderDiagnostics(e.diagnostics, { 'config.json': text });
    throw e;
  }
  throw new Error('expected the config to be refused');
}

describe('config.json with NaN and Infinity', () => {
  it('reads bare NaN, Infinity and -Infinity outside strings, and leaves strings alone', () => {
    const v = parseConfigJson('{"a": [0.0, Infinity], "b": -Infinity, "c": NaN, "s": "NaN Infinity \\" -Infinity", "d": {"x": [NaN]}}') as Record<string, unknown>;
    expect(v.a).toEqual([0, Infinity]);
    expect(v.b).toBe(-Infinity);
    expect(v.c).toBeNaN();
    expect(v.s).toBe('NaN Infinity " -Infinity');
    expect((v.d as { x: number[] }).x[0]).toBeNaN();
  });

  it('keeps positions: a JSON error after the tokens points where it is in the original text', () => {
    const text = '{"a": NaN, "b": -Infinity,\n "c": Infinity Infinity}';
    expect(() => parseConfigJson(text)).toThrow(new RegExp(`position ${text.lastIndexOf('Infinity')}\\b`));
    expect(() => parseConfigJson('{"a": Infinityx}')).toThrow(/JSON/); // not a token: still an error
  });

  it('a refused field after Infinity is located at its line and column, its value written as Python writes it', () => {
    const text = '{\n  "model_type": "gla",\n  "hidden_size": 64, "num_heads": 4, "vocab_size": 64, "num_hidden_layers": 2,\n  "norm_eps": 1e-6, "x_limit": [0.0, Infinity],   "clamp_min": -Infinity\n}';
    const out = refusedText(text);
    expect(out).toContain("config.json(4,51): error LOOM6010: config field 'clamp_min' = -Infinity: clamping the log-gates is not supported");
    expect(out).toContain("config.json(4,21): error LOOM6010: config field 'x_limit' is not known to loom import");
  });
});
