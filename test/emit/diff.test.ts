/** diffArtifacts: one readable unified diff per changed, added or removed file. */
import { describe, expect, it } from 'vitest';
import { diffArtifacts } from '../../compiler/emit/diff.ts';

describe('diffArtifacts', () => {
  it('reports changed, added and removed files, sorted, and nothing for equal ones', () => {
    const disk = new Map([
      ['b.wgsl', 'const N: u32 = 4u;\nfn main() {}\n'],
      ['same.wgsl', 'x\n'],
      ['gone.wgsl', 'old\n'],
    ]);
    const fresh = new Map([
      ['b.wgsl', 'const N: u32 = 8u;\nfn main() {}\n'],
      ['same.wgsl', 'x\n'],
      ['step/new.wgsl', 'new\n'],
    ]);
    const d = diffArtifacts(disk, fresh);
    expect(d.map((x) => [x.file, x.kind])).toEqual([
      ['b.wgsl', 'changed'],
      ['gone.wgsl', 'removed'],
      ['step/new.wgsl', 'added'],
    ]);
    expect(d[0].patch).toContain('--- a/b.wgsl');
    expect(d[0].patch).toContain('+++ b/b.wgsl');
    expect(d[0].patch).toContain('-const N: u32 = 4u;\n+const N: u32 = 8u;');
    expect(d[1].patch).toContain('+++ /dev/null');
    expect(d[2].patch).toContain('+new');
    expect(diffArtifacts(fresh, fresh)).toEqual([]);
  });
});
