/**
 * Regression: names that are members of Object.prototype (`constructor`, `toString`, `__proto__`,
 * ...) are ordinary names to the checker. They used to be found on the prototype of the plain
 * objects holding mixers and layer functions: a block variable `constructor` was "already defined",
 * a call `toString(x, hidden = 2)` read `.named` of Object.prototype.toString and threw.
 */
import { describe, expect, it } from 'vitest';
import { compileSource } from '../../compiler/pipeline.ts';

const model = (mixer: string, body: string) => `model m {
  vocab = 16
  dim = 8
  heads = 2
  layers = 1
  mixer ${mixer} = linear_attn {}
  block {
${body}
  }
}
`;

function codes(text: string): number[] | 'ok' {
  const r = compileSource(text, 'p.loom', { batch: 1, seq: 4 });
  return r.ok ? 'ok' : r.diagnostics.map((d) => d.code);
}

describe('Object.prototype member names', () => {
  const names = ['constructor', 'toString', '__proto__', 'valueOf', 'hasOwnProperty', 'isPrototypeOf', '__defineGetter__'];

  it.each(names)('%s as a block variable and as a mixer', (name) => {
    expect(codes(model('mx', `    ${name} = rmsnorm(x)\n    x = x + mx(${name})`))).toBe('ok');
    expect(codes(model(name, `    x = x + ${name}(rmsnorm(x))`))).toBe('ok');
  });

  it.each(names)('%s called as a function without a mixer of that name is an unknown function', (name) => {
    expect(codes(model('mx', `    x = x + ${name}(x, hidden = 2)`))).toEqual([2004]);
    expect(codes(model('mx', `    x = x + ${name}(x)`))).toEqual([2004]);
  });
});
