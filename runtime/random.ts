/**
 * Deterministic pseudo-random numbers (SplitMix32 state advance + Box-Muller normals), so weights
 * from a seed and test inputs are the same on every machine and in every process.
 */
export class Rng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Derives an independent stream from a seed and a name (a weight's name, a test's id). */
  static forName(seed: number, name: string): Rng {
    let h = (seed ^ 0x9e3779b9) >>> 0;
    for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0;
    return new Rng(h);
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x9e3779b9) >>> 0;
    let z = this.state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    z = (z ^ (z >>> 16)) >>> 0;
    return z / 4294967296;
  }

  /** Standard normal. */
  normal(): number {
    const u = 1 - this.next();
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** Float32Array of n normals times std. */
  normals(n: number, std = 1): Float32Array {
    const a = new Float32Array(n);
    for (let i = 0; i < n; i++) a[i] = this.normal() * std;
    return a;
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
}

/** The token ids `loom run` draws when it is given none: `n` ids below `vocab` from the seed. */
export function randomTokens(seed: number, n: number, vocab: number): Int32Array {
  const rng = Rng.forName(seed, 'tokens');
  return Int32Array.from({ length: n }, () => rng.int(vocab));
}
