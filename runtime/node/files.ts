/** The runtime's `Files` on Node: the disk through `node:fs`, paths through `node:path`. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ByteSource, Files } from '../host.ts';

function writeAll(fd: number, bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.length) done += fs.writeSync(fd, bytes, done, bytes.length - done);
}

/** Positioned reads on a file handle (never the whole file), at most 1 GiB per call. */
function fileSource(fd: number): ByteSource {
  const stat = fs.fstatSync(fd);
  return {
    size: stat.size,
    isFile: stat.isFile(),
    read(offset, length) {
      const out = new Uint8Array(length);
      let done = 0;
      for (let n = 1; done < length && n > 0; done += n) n = fs.readSync(fd, out, done, Math.min(length - done, 1 << 30), offset + done);
      return done < length ? out.subarray(0, done) : out;
    },
    close: () => fs.closeSync(fd),
  };
}

export const nodeFiles: Files = {
  readText: (p) => fs.readFileSync(p, 'utf8'),
  stat: (p) => {
    const st = fs.statSync(p);
    return { size: st.size, isFile: st.isFile(), isDirectory: st.isDirectory() };
  },
  list: (dir) => fs.readdirSync(dir),
  open(p) {
    const fd = fs.openSync(p, 'r');
    try {
      return fileSource(fd);
    } catch (e) {
      fs.closeSync(fd);
      throw e;
    }
  },
  /** Written to `path.tmp-<pid>`, synced and renamed over `path`: an interrupted write leaves the old file. */
  write(p, chunks) {
    const tmp = `${p}.tmp-${process.pid}`;
    const fd = fs.openSync(tmp, 'w');
    try {
      for (const c of chunks) writeAll(fd, c);
      fs.fsyncSync(fd);
      fs.closeSync(fd);
      fs.renameSync(tmp, p);
    } catch (e) {
      try {
        fs.closeSync(fd);
      } catch {
        // already closed
      }
      fs.rmSync(tmp, { force: true });
      throw e;
    }
  },
  mkdir: (p) => void fs.mkdirSync(p, { recursive: true }),
  join: path.join,
  dirname: path.dirname,
  basename: (p) => path.basename(p),
  resolve: path.resolve,
  isAbsolute: path.isAbsolute,
  fromUrl: (u) => fileURLToPath(u),
};
