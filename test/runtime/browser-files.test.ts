/**
 * The browser's files against Node's: a safetensors file read from disk (runtime/node/files.ts)
 * and read from a Blob (runtime/memory-files.ts, ranges prefetched as a browser reads a File) give
 * the same bytes for any range and the same tensors; a checkpoint directory chosen as Files reads
 * as the same directory on disk; the in-memory paths follow node:path's POSIX rules; the SHA-256
 * of runtime/sha256.ts is node:crypto's (the hashes in state files and tune-cache names).
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as nodePath from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { LoomError } from '../../grammar/diagnostics.ts';
import { blobSource, filesFromBlobs, memoryFiles } from '../../runtime/memory-files.ts';
import { readCheckpointDir } from '../../runtime/checkpoint-dir.ts';
import { openCheckpoint } from '../../runtime/fla-weights.ts';
import { nodeFiles } from '../../runtime/node/files.ts';
import { openSafetensors, safetensorsReader, writeSafetensors } from '../../runtime/safetensors.ts';
import { sha256Hex } from '../../runtime/sha256.ts';
import { CONFIGS, synthesize, writeCheckpoint, writeSharded } from '../helpers/fla-checkpoint.ts';
import { compileInMemory } from '../../runtime/open.ts';
import { DEFAULT_PROFILE } from '../../compiler/plan/device.ts';

const root = fs.mkdtempSync(nodePath.join(os.tmpdir(), 'loom-browser-files-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

const values = (n: number, start: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(start + i));
const file = nodePath.join(root, 'mixed.safetensors');
writeSafetensors(file, {
  a: { dtype: 'F32', shape: [3, 5], data: values(15, 1) },
  b: { dtype: 'F16', shape: [7], data: Uint16Array.from({ length: 7 }, (_, i) => 0x3c00 + i * 17) },
  c: { dtype: 'BF16', shape: [2, 4], data: Uint16Array.from({ length: 8 }, (_, i) => 0x3f80 + i * 5) },
  d: { dtype: 'I32', shape: [6], data: Int32Array.from([1, -2, 3, -4, 5, -6]) },
  e: { dtype: 'F32', shape: [0], data: new Float32Array(0) },
});
const bytes = new Uint8Array(fs.readFileSync(file));
/** Node's File (a Blob with a name), as an <input type=file> gives in a browser. */
const chosen = (name: string, data: Uint8Array | string) => new File([data], name);

describe('a Blob read as a browser reads a File', () => {
  it('gives the bytes the disk gives, for any range (past the end: fewer)', async () => {
    const disk = nodeFiles.open(file);
    const blob = blobSource(new Blob([bytes]), 'mixed.safetensors');
    try {
      await fc.assert(
        fc.asyncProperty(fc.nat(bytes.length + 16), fc.nat(bytes.length + 16), async (offset, length) => {
          const want = bytes.slice(offset, offset + length);
          expect(disk.read(offset, length)).toEqual(want);
          await blob.prefetch!(offset, length);
          expect(blob.read(offset, length)).toEqual(want);
        }),
        { numRuns: 200 },
      );
    } finally {
      disk.close();
    }
  });

  it('is a safetensors file whose tensors are those on disk, each read after its prefetch', async () => {
    const { files, dir } = await filesFromBlobs([chosen('mixed.safetensors', bytes)]);
    const path = `${dir}/mixed.safetensors`;
    const fromBlob = safetensorsReader(files.open(path), path); // the header was read ahead
    const fromDisk = openSafetensors(file);
    expect([...fromBlob.entries]).toEqual([...fromDisk.entries]);
    // No FileReaderSync here (it exists in a browser's workers only): unread data is an error.
    expect(() => fromBlob.readFloat('a', 'f32')).toThrow(LoomError);
    for (const name of fromDisk.entries.keys()) {
      await fromBlob.prefetch(name);
      expect(fromBlob.read(name)).toEqual(fromDisk.read(name));
      if (name === 'd') continue;
      for (const as of ['f32', 'f16'] as const) {
        await fromBlob.prefetch(name);
        expect(fromBlob.readFloat(name, as)).toEqual(fromDisk.readFloat(name, as));
      }
    }
    fromDisk.close();
  });
});

describe('a checkpoint directory chosen as Files', () => {
  const config = { ...CONFIGS.gla };
  const ck = synthesize('gla', 5, true, config);
  /** The directory on disk and the same files as Node Files; `sharded`: two shards and an index. */
  async function both(name: string, sharded: boolean) {
    const dir = nodePath.join(root, name);
    fs.mkdirSync(dir);
    fs.writeFileSync(nodePath.join(dir, 'config.json'), JSON.stringify(config));
    if (sharded) writeSharded(dir, ck);
    else writeCheckpoint(nodePath.join(dir, 'model.safetensors'), ck, 'BF16');
    const list = fs.readdirSync(dir).map((f) => Object.assign(chosen(f, fs.readFileSync(nodePath.join(dir, f))), { webkitRelativePath: `${name}/${f}` }));
    return { disk: readCheckpointDir(dir), ...(await filesFromBlobs(list)) };
  }

  for (const sharded of [false, true]) {
    it(`reads as it does on disk: config imported, weights the same tensors (${sharded ? 'sharded' : 'one file'})`, async () => {
      const { disk, files, dir } = await both(sharded ? 'sharded' : 'single', sharded);
      const cp = readCheckpointDir(dir, files);
      expect(dir).toBe(nodePath.basename(disk.dir));
      expect({ ...cp, dir: '', configPath: '', weights: nodePath.basename(cp.weights) }).toEqual({ ...disk, dir: '', configPath: '', weights: nodePath.basename(disk.weights) });
      const { pair } = compileInMemory(cp.specText, cp.configPath, { batch: 1, seq: 4, device: DEFAULT_PROFILE });
      const fromDisk = openCheckpoint(pair.forward.spec, pair.forward.graph.weights, disk.weights);
      const fromFiles = openCheckpoint(pair.forward.spec, pair.forward.graph.weights, cp.weights, 'auto', files);
      expect(fromFiles.names).toEqual(fromDisk.names);
      for (const n of fromDisk.names) {
        await fromFiles.prefetch!(n);
        expect(fromFiles.read(n, 'f16')).toEqual(fromDisk.read(n, 'f16'));
      }
      fromDisk.close();
      fromFiles.close();
    });
  }
});

describe('memoryFiles paths', () => {
  const files = memoryFiles();
  const segment = fc.constantFrom('a', 'bb', 'c.json', '.', '..', '');
  // Paths as the runtime makes them: no trailing '/' (which node:path keeps and memoryFiles drops).
  const path = fc.tuple(fc.boolean(), fc.array(segment, { maxLength: 5 })).map(([abs, s]) => (abs ? '/' : '') + s.join('/')).filter((p) => !p.endsWith('/'));
  it("join, dirname, basename, resolve and isAbsolute are node:path's POSIX ones", () => {
    fc.assert(
      fc.property(path, path, (p, q) => {
        expect(files.join(p, q)).toBe(nodePath.posix.join(p, q));
        expect(files.isAbsolute(p)).toBe(nodePath.posix.isAbsolute(p));
        const n = nodePath.posix.normalize(p).replace(/(.)\/$/, '$1'); // dirname and basename of a normalised path
        expect(files.dirname(n)).toBe(nodePath.posix.dirname(n));
        expect(files.basename(n)).toBe(nodePath.posix.basename(n));
        expect(files.resolve('/r', p, q)).toBe(nodePath.posix.resolve('/r', p, q));
      }),
      { numRuns: 500 },
    );
  });
});

describe('sha256Hex', () => {
  it("is node:crypto's SHA-256 of the UTF-8 text", () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (t) => sha256Hex(t) === createHash('sha256').update(t).digest('hex')), { numRuns: 300 });
    for (const n of [55, 56, 63, 64, 119, 120]) expect(sha256Hex('x'.repeat(n))).toBe(createHash('sha256').update('x'.repeat(n)).digest('hex'));
  });
});
