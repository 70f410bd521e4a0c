/**
 * "Did you mean" suggestions, with the thresholds of TypeScript's spelling suggestions: no
 * suggestion is better than a wrong one.
 *
 * - a candidate's length may differ from the name's by at most max(2, floor(0.34 * length));
 * - its edit distance must be below floor(0.4 * length) + 1, and the best distance wins
 *   (the first candidate on ties);
 * - the distance weighs an insertion or deletion 1, a substitution 2, and a change of case
 *   only 0.1, so a candidate that differs only by case is preferred;
 * - names shorter than 3 characters are matched only when they differ by case alone.
 */

export function suggest(name: string, candidates: Iterable<string>): string | undefined {
  const maxLengthDifference = Math.max(2, Math.floor(name.length * 0.34));
  let bestDistance = Math.floor(name.length * 0.4) + 1;
  let best: string | undefined;
  for (const candidate of candidates) {
    if (candidate === name || Math.abs(candidate.length - name.length) > maxLengthDifference) continue;
    if (candidate.length < 3 && candidate.toLowerCase() !== name.toLowerCase()) continue;
    const distance = editDistance(name, candidate, bestDistance);
    if (distance < bestDistance) {
      bestDistance = distance;
      best = candidate;
    }
  }
  return best;
}

/**
 * Weighted Levenshtein distance between `a` and `b` (see above), or `Infinity` once every
 * alignment costs at least `limit` (the search gives up early).
 */
export function editDistance(a: string, b: string, limit = Infinity): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const x = a[i - 1];
      const y = b[j - 1];
      const substitution = x === y ? 0 : x.toLowerCase() === y.toLowerCase() ? 0.1 : 2;
      const cost = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + substitution);
      current.push(cost);
      rowMin = Math.min(rowMin, cost);
    }
    if (rowMin >= limit) return Infinity;
    previous = current;
  }
  return previous[b.length];
}
