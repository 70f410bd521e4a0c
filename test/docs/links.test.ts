/**
 * The product's docs stand alone: every link in README.md and docs/*.md that is not a web address
 * points at a file inside the repository (and, with a #fragment into a markdown file, at one of its
 * headings), and no text names a path outside it (`../`).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const FILES = ['README.md', ...readdirSync('docs').filter((f) => f.endsWith('.md')).map((f) => join('docs', f))];
const root = resolve('.');

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens. */
function anchors(markdown: string): Set<string> {
  const out = new Set<string>();
  for (const m of markdown.matchAll(/^#{1,6} +(.+)$/gm)) out.add(m[1].trim().toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, '').replace(/ /g, '-'));
  return out;
}

describe.each(FILES)('%s', (file) => {
  const text = readFileSync(file, 'utf8');
  const links = [...text.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]).filter((l) => !/^[a-z]+:/.test(l));

  it('links only to files inside the repository, and to headings that exist', () => {
    for (const link of links) {
      const [path, fragment] = link.split('#');
      const target = path === '' ? resolve(file) : resolve(dirname(file), path);
      expect(relative(root, target).startsWith('..'), `${link} leaves the repository`).toBe(false);
      expect(existsSync(target), `${link} does not exist`).toBe(true);
      if (fragment && target.endsWith('.md')) expect([...anchors(readFileSync(target, 'utf8'))], `${link}: no such heading`).toContain(fragment);
    }
  });

  it('names no path outside the repository', () => {
    expect(text).not.toMatch(/\.\.\/|shared\/design/);
  });
});

it('the docs link the mixer mathematics and the architecture from the README and the language reference', () => {
  for (const file of ['README.md', 'docs/language.md']) {
    const text = readFileSync(file, 'utf8');
    expect(text).toMatch(/\]\((docs\/)?mixers\.md/);
    expect(text).toMatch(/\]\((docs\/)?architecture\.md/);
  }
});
