/**
 * `loom import` reads configs people download: nothing in a config, its file name or the output
 * name may add code to the generated spec. Regressions: a config file name with a line break
 * ended the header comment and its rest became spec text; a model_type naming an Object.prototype
 * member ('constructor', 'toString') was taken for a known kind and crashed the importer.
 */
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../cli/main.ts';
import { importConfig } from '../../compiler/import/config.ts';
import { compileSource } from '../../compiler/pipeline.ts';
import { LoomError } from '../../grammar/diagnostics.ts';
import { parse } from '../../grammar/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'loom-import-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const GLA = { model_type: 'gla', vocab_size: 64, hidden_size: 32, num_heads: 2, num_hidden_layers: 2 };

function bad(config: unknown, file = 'config.json'): string {
  try {
    importConfig(JSON.stringify(config), file);
  } catch (e) {
    expect(e).toBeInstanceOf(LoomError);
    expect((e as LoomError).diagnostics[0].code).toBe(6010);
    return (e as LoomError).message;
  }
  throw new Error('expected LOOM6010');
}

/** The generated spec declares one model, the expected one, and compiles. */
function expectOnlyModel(spec: string, name: string): void {
  const { file, diagnostics } = parse(spec, 'imported.loom');
  expect(diagnostics).toEqual([]);
  expect(file.models.map((m) => m.name.name)).toEqual([name]);
  const r = compileSource(spec, 'imported.loom', { batch: 1, seq: 4 });
  expect(r.ok, r.ok ? '' : r.diagnostics.map((d) => d.message).join('\n')).toBe(true);
}

describe('loom import cannot be made to write code', () => {
  it.each(['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf'])('model_type %s is an unknown kind (LOOM6010)', (type) => {
    expect(bad({ ...GLA, model_type: type })).toContain(`model_type '${type}' is not one loom import reads`);
  });

  it('config values and keys with line breaks and spec syntax are refused', () => {
    expect(bad({ ...GLA, model_type: 'linear_attn', feature_map: 'elu\n}\nmodel x {' })).toContain("config field 'feature_map'");
    expect(bad({ ...GLA, hidden_act: 'swish\n}\n' })).toContain("config field 'hidden_act'");
    expect(bad({ ...GLA, 'x\nmodel evil {}': 1 })).toContain('is not known to loom import');
    expect(bad(JSON.parse('{"model_type":"gla","__proto__":{"hidden_size":8}}'))).toContain("config field '__proto__' is not known");
  });

  it('a config file name with a line break stays inside the header comment', async () => {
    const path = join(dir, 'x\nmodel evil {\n}\n# .json');
    writeFileSync(path, JSON.stringify(GLA));
    const out = join(dir, 'gla.loom');
    let log = '';
    expect(await main(['import', path, '-o', out], { out: (t) => (log += t), err: (t) => (log += t) }), log).toBe(0);
    const spec = readFileSync(out, 'utf8');
    expect(spec.split('\n')[0]).toContain('from x?model evil {?}?# .json');
    expectOnlyModel(spec, 'gla');
  });

  it('a config over 16 MiB is refused without being read (sparse file)', async () => {
    const path = join(dir, 'huge.json');
    writeFileSync(path, '');
    truncateSync(path, 2 * 1024 ** 3);
    let log = '';
    expect(await main(['import', path], { out: (t) => (log += t), err: (t) => (log += t) })).toBe(1);
    expect(log).toContain(`config '${path}' is 2147483648 bytes, over the 16777216-byte limit of a config.json`);
  });

  it.each(['fn', 'constructor', '__proto__', 'Promise', 'model', 'x y;z', '9lives', `n${'_'.repeat(200)}`])('output file %s.loom gives a plain model name', (stem) => {
    const r = importConfig(JSON.stringify(GLA), 'config.json', join(dir, `${stem}.loom`));
    const name = /^model (\S+) \{$/m.exec(r.text)![1];
    expect(name).toMatch(/^[A-Za-z_][A-Za-z0-9_]*$/);
    expectOnlyModel(r.text, name);
  });
});
