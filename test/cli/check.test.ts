/**
 * `loom check` on the committed goldens (test/golden/<model>/, one per models/*.loom): each must
 * match the current compiler byte for byte and numerically; a one-character change to a kernel
 * must give a non-zero exit and a readable diff naming the file, fail that kernel alone (each
 * kernel runs on the float64 reference's inputs), and WGSL that does not compile is a located
 * LOOM5007 on the file.
 */
import { cpSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Kernel } from '../../compiler/codegen/kernel.ts';
import type { BufferDecl, ProgramSpec } from '../../compiler/codegen/program.ts';
import { main } from '../../cli/main.ts';
import { kernelError, kernelIo } from '../../cli/kernel-check.ts';

async function loom(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (t) => (out += t), err: (t) => (err += t) });
  return { code, out, err };
}

const MODELS = readdirSync('models').filter((f) => f.endsWith('.loom')).sort();

describe('loom check on the goldens', () => {
  it('has one golden per model', () => {
    expect(readdirSync('test/golden').sort()).toEqual(MODELS.map((m) => basename(m, '.loom')).sort());
  });

  it.each(MODELS)('%s: identical files and numerics within 1e-4', { timeout: 300_000 }, async (model) => {
    const r = await loom('check', join('test/golden', basename(model, '.loom')));
    expect(r.code, r.out + r.err).toBe(0);
    expect(r.out).toMatch(/files\s+\d+ files identical/);
    expect(r.out).toMatch(/kernels\s+(\d+)\/\1 kernels within 0\.0001 of the float64 reference, each alone/);
    expect(r.out).toMatch(/end-to-end (\d+)\/\1 outputs within 0\.0001/);
    expect(r.out).not.toContain('FAILED');
  });
});

describe('loom check on a changed directory', () => {
  it('reports a one-character kernel change with a diff, refuses --update without a terminal, and --update --yes restores it', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'loom-check-')), 'fw');
    cpSync('test/golden/fast-weights', dir, { recursive: true });
    const victim = 'step/L1.fw.recurrent.wgsl';
    const before = readFileSync(join(dir, victim), 'utf8');
    const after = before.replace(/const (\w+): u32 = (\d)/, (_, n: string, d: string) => `const ${n}: u32 = ${(Number(d) + 1) % 10}`);
    expect(after).not.toBe(before);
    writeFileSync(join(dir, victim), after);
    const spec = ['--spec', 'models/fast-weights.loom'];
    const r = await loom('check', dir, ...spec);
    expect(r.code).not.toBe(0);
    expect(r.out).toContain(`changed  ${victim}`);
    expect(r.out).toContain(`--- a/${victim}\tartifact directory`);
    expect(r.out).toContain(`+++ b/${victim}\tcurrent compiler`);
    expect(r.out).toMatch(/files\s+1 of \d+ files differ: step\/L1\.fw\.recurrent\.wgsl/);
    const refused = await loom('check', dir, ...spec, '--update');
    expect(refused.code).toBe(2); // a usage error
    expect(refused.err).toMatch(/LOOM6001: check --update: not a terminal.*--yes/);
    expect(readFileSync(join(dir, victim), 'utf8')).toBe(after);
    const updated = await loom('check', dir, ...spec, '--update', '--yes');
    expect(updated.code, updated.out).toBe(0);
    expect(readFileSync(join(dir, victim), 'utf8')).toBe(before);
  });

  it('names the file when the manifest is missing or corrupt, or its spec is gone', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'loom-check-bad-'));
    const missing = await loom('check', dir);
    expect(missing.code).toBe(1);
    expect(missing.err).toContain(`LOOM5005: ${join(dir, 'manifest.json')}: no such file`);
    writeFileSync(join(dir, 'manifest.json'), '{"format": "loom-manifest/2", ');
    expect((await loom('check', dir)).err).toMatch(/LOOM5005: .*manifest\.json: cannot be read: .*JSON/);
    const m = JSON.parse(readFileSync('test/golden/fast-weights/manifest.json', 'utf8'));
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ ...m, source: 'nowhere.loom' }));
    expect((await loom('check', dir)).err).toMatch(/manifest\.json: names the spec 'nowhere\.loom' .*does not exist; pass --spec FILE/);
  });
});

/** A copy of the fast-weights golden (38 kernels: a few seconds on lavapipe) to edit. */
function copyGolden(): string {
  const dir = join(mkdtempSync(join(tmpdir(), 'loom-check-edit-')), 'fw');
  cpSync('test/golden/fast-weights', dir, { recursive: true });
  return dir;
}

function edit(dir: string, file: string, from: string, to: string): void {
  const before = readFileSync(join(dir, file), 'utf8');
  expect(before).toContain(from);
  writeFileSync(join(dir, file), before.replace(from, to));
}

const failedLines = (out: string) => out.split('\n').filter((l) => l.startsWith('  FAILED  '));
const kernelSection = (out: string) => out.slice(out.indexOf('\nkernels '), out.indexOf('\nend-to-end'));

describe('loom check runs each kernel on the reference\'s inputs', () => {
  const spec = ['--spec', 'models/fast-weights.loom'];

  it('an arithmetic edit of an early kernel fails that kernel alone and is named first', { timeout: 300_000 }, async () => {
    const dir = copyGolden();
    // L0.mlp0.act feeds every later layer: run in sequence, every kernel after it would fail.
    edit(dir, 'L0.mlp0.act.wgsl', 'return silu(x0) * x1;', 'return silu(x0) + x1;');
    const r = await loom('check', dir, ...spec);
    expect(r.code).toBe(1);
    expect(failedLines(kernelSection(r.out))).toEqual([expect.stringMatching(/^ {2}FAILED {2}L0\.mlp0\.act\.wgsl \(changed\): kernel L0\.mlp0\.act of the forward program: L0\.mlp0\.act \d/)]);
    expect(r.out).toMatch(/kernels\s+37\/38 kernels within/);
    expect(r.out).toMatch(/FAILED {2}forward logits/); // the end-to-end comparison stays
    expect(r.out.trimEnd().split('\n').at(-1)).toBe('summary   changed: L0.mlp0.act.wgsl; failing kernels: L0.mlp0.act.wgsl');
  });

  it("an edit of a mixer's first kernel fails it alone: the kernel reading its scratch gets the trusted kernel's values", { timeout: 300_000 }, async () => {
    const dir = copyGolden();
    // chunk_h writes the chunk states h (scratch, no graph node) that chunk_o reads.
    edit(dir, 'L1.fw.chunk_h.wgsl', 'b_s += b_k * vec4', 'b_s += 1.5 * b_k * vec4');
    const r = await loom('check', dir, ...spec);
    expect(r.code).toBe(1);
    expect(failedLines(kernelSection(r.out))).toEqual([expect.stringMatching(/^ {2}FAILED {2}L1\.fw\.chunk_h\.wgsl \(changed\): kernel L1\.fw\.chunk_h of the forward program: /)]);
    expect(r.out.trimEnd().split('\n').at(-1)).toBe('summary   changed: L1.fw.chunk_h.wgsl; failing kernels: L1.fw.chunk_h.wgsl');
  });

  it('WGSL that does not compile is LOOM5007 at file(line,col) with the offending line only', { timeout: 300_000 }, async () => {
    const dir = copyGolden();
    const file = join(dir, 'L0.mlp0.act.wgsl');
    const lines = readFileSync(file, 'utf8').split('\n');
    const at = lines.indexOf('  return silu(x0) * x1;');
    edit(dir, 'L0.mlp0.act.wgsl', 'return silu(x0) * x1;', 'return silu(x0) * x1');
    const r = await loom('check', dir, ...spec);
    expect(r.code).toBe(1);
    // Dawn reports the missing ';' where the next token starts: the '}' on the line after.
    const line = at + 2;
    expect(r.err).toContain(`${file}(${line},1): error LOOM5007: kernel 'L0.mlp0.act' does not compile: `);
    expect(r.err).toContain(`${String(line).padStart(4)} | }\n     | ^\n`);
    expect(r.err).not.toContain('@compute'); // not the whole source
    expect(failedLines(kernelSection(r.out))).toEqual(['  FAILED  L0.mlp0.act.wgsl (changed): kernel L0.mlp0.act of the forward program does not compile (LOOM5007 above)']);
    expect(r.out).toContain('end-to-end not run: kernel L0.mlp0.act does not compile');
  });
});

describe('kernelIo: where each kernel\'s inputs come from and what its outputs are compared with', () => {
  const k = (name: string, access: ('read' | 'read_write')[]): Kernel => ({
    name, wgsl: '', entryPoint: 'main', workgroupSize: [1, 1, 1], dispatch: [1, 1, 1], dispatchFormula: '',
    bindings: access.map((a, i) => ({ name: `b${i}`, access: a, elem: 'f32', elements: 4 })),
  });
  const b = (name: string, role: BufferDecl['role'], alias?: string): BufferDecl => ({ name, elem: 'f32', elements: 4, role, ...(alias ? { alias } : {}) });
  const spec: ProgramSpec = {
    buffers: [b('w', 'weight'), b('s0', 'state_in'), b('scratch', 'activation'), b('o', 'activation'), b('kc0', 'state_in'), b('kc', 'state_out', 'kc0'), b('out', 'output')],
    steps: [
      { kernel: k('A', ['read', 'read', 'read_write']), args: ['w', 's0', 'scratch'] },
      { kernel: k('B', ['read', 'read_write']), args: ['scratch', 'o'] },
      { kernel: k('C', ['read', 'read_write']), args: ['scratch', 'o'] }, // finishes what B started
      { kernel: k('append', ['read', 'read_write']), args: ['o', 'kc'] }, // in place: kc aliases kc0
      { kernel: k('D', ['read', 'read_write']), args: ['kc0', 'out'] },
    ],
  };
  const nodeOf = new Map([['w', 0], ['s0', 1], ['o', 2], ['kc0', 3], ['kc', 4], ['out', 5]]);
  const io = kernelIo(spec, nodeOf);
  const ref = (node: number) => ({ from: 'reference', node });
  const run = (after: number) => ({ from: 'run', after });
  const poison = { from: 'poison' };

  it('reference values for final buffers, the trusted run for scratch and unfinished ones, poison for outputs', () => {
    expect(io.map((x) => [Object.fromEntries(x.inputs), Object.fromEntries(x.outputs)])).toEqual([
      [{ w: ref(0), s0: ref(1), scratch: poison }, { scratch: run(0) }],
      [{ scratch: run(0), o: poison }, { o: run(1) }],
      [{ scratch: run(0), o: run(1) }, { o: ref(2) }],
      [{ o: ref(2), kc0: ref(3) }, { kc0: ref(4) }],
      [{ kc0: ref(4), out: poison }, { out: ref(5) }],
    ]);
  });

  it('kernelError: relative rms, NaN in the expected value (left unwritten) skipped, non-finite output Infinity', () => {
    expect(kernelError([1, 2, 7], [1, 2, Number.NaN])).toBe(0);
    expect(kernelError([1, 3], [1, 2])).toBeCloseTo(1 / Math.sqrt(5), 12);
    expect(kernelError([1, Number.NaN], [1, 2])).toBe(Infinity);
    expect(kernelError([1, -Infinity], [1, -Infinity])).toBe(0);
    expect(kernelError([0.5, 0], [0, 0])).toBe(0.5);
  });
});
