/**
 * A log-log line plot as standalone SVG text: axes with decade ticks (and 2x, 5x where a range is
 * narrow), grid, axis labels, title and legend. No dependencies; deterministic output.
 */

export interface Series {
  name: string;
  points: [number, number][];
  /** Dashed line (e.g. a reference or the choice of auto). */
  dashed?: boolean;
}

export interface Plot {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#e377c2'];
const W = 640;
const H = 420;
const M = { left: 70, right: 170, top: 40, bottom: 55 };

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Tick values on a log axis between lo and hi: decades, plus 2 and 5 when there are few decades. */
export function logTicks(lo: number, hi: number): number[] {
  const out: number[] = [];
  const few = Math.log10(hi / lo) < 3;
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
    for (const m of few ? [1, 2, 5] : [1]) {
      const v = m * 10 ** e;
      if (v >= lo * 0.999 && v <= hi * 1.001) out.push(v);
    }
  }
  return out;
}

function label(v: number): string {
  if (v >= 1000) return Number.isInteger(v / 1000) ? `${v / 1000}k` : `${(v / 1000).toFixed(1)}k`;
  if (v >= 1) return String(Math.round(v * 100) / 100);
  return String(Number(v.toPrecision(2)));
}

/** Lower and upper bounds padded out to the nearest 1-2-5 step. */
function bounds(vals: number[]): [number, number] {
  const lo = Math.min(...vals);
  const hi = Math.max(...vals);
  const down = (x: number) => {
    const e = 10 ** Math.floor(Math.log10(x));
    return [5, 2, 1].map((m) => m * e).find((v) => v <= x)!;
  };
  const up = (x: number) => {
    const e = 10 ** Math.floor(Math.log10(x));
    return [1, 2, 5, 10].map((m) => m * e).find((v) => v >= x * 0.999)!;
  };
  const a = down(lo);
  const b = up(hi);
  return a === b ? [a / 2, b * 2] : [a, b];
}

export function logLogSvg(p: Plot): string {
  const pts = p.series.flatMap((s) => s.points).filter(([x, y]) => x > 0 && y > 0);
  if (!pts.length) return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="60"><text x="10" y="30">${esc(p.title)}: no data</text></svg>\n`;
  const [x0, x1] = bounds(pts.map((q) => q[0]));
  const [y0, y1] = bounds(pts.map((q) => q[1]));
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const sx = (x: number) => M.left + (Math.log(x / x0) / Math.log(x1 / x0)) * pw;
  const sy = (y: number) => M.top + ph - (Math.log(y / y0) / Math.log(y1 / y0)) * ph;
  const f = (v: number) => v.toFixed(1);
  const o: string[] = [];
  o.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  o.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  o.push(`<text x="${W / 2 - M.right / 2 + M.left / 2}" y="22" text-anchor="middle" font-size="14">${esc(p.title)}</text>`);
  for (const t of logTicks(x0, x1)) {
    o.push(`<line x1="${f(sx(t))}" y1="${M.top}" x2="${f(sx(t))}" y2="${M.top + ph}" stroke="#e5e5e5"/>`);
    o.push(`<line x1="${f(sx(t))}" y1="${M.top + ph}" x2="${f(sx(t))}" y2="${M.top + ph + 5}" stroke="black"/>`);
    o.push(`<text x="${f(sx(t))}" y="${M.top + ph + 18}" text-anchor="middle">${label(t)}</text>`);
  }
  for (const t of logTicks(y0, y1)) {
    o.push(`<line x1="${M.left}" y1="${f(sy(t))}" x2="${M.left + pw}" y2="${f(sy(t))}" stroke="#e5e5e5"/>`);
    o.push(`<line x1="${M.left - 5}" y1="${f(sy(t))}" x2="${M.left}" y2="${f(sy(t))}" stroke="black"/>`);
    o.push(`<text x="${M.left - 8}" y="${f(sy(t) + 4)}" text-anchor="end">${label(t)}</text>`);
  }
  o.push(`<rect x="${M.left}" y="${M.top}" width="${pw}" height="${ph}" fill="none" stroke="black"/>`);
  o.push(`<text x="${M.left + pw / 2}" y="${H - 12}" text-anchor="middle">${esc(p.xLabel)}</text>`);
  o.push(`<text transform="translate(16 ${M.top + ph / 2}) rotate(-90)" text-anchor="middle">${esc(p.yLabel)}</text>`);
  p.series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length];
    const good = s.points.filter(([x, y]) => x > 0 && y > 0).sort((a, b) => a[0] - b[0]);
    const dash = s.dashed ? ' stroke-dasharray="6 4"' : '';
    if (good.length > 1) o.push(`<polyline fill="none" stroke="${color}" stroke-width="2"${dash} points="${good.map(([x, y]) => `${f(sx(x))},${f(sy(y))}`).join(' ')}"/>`);
    for (const [x, y] of good) o.push(`<circle cx="${f(sx(x))}" cy="${f(sy(y))}" r="3" fill="${color}"/>`);
    const ly = M.top + 10 + i * 20;
    o.push(`<line x1="${W - M.right + 15}" y1="${ly}" x2="${W - M.right + 40}" y2="${ly}" stroke="${color}" stroke-width="2"${dash}/>`);
    o.push(`<text x="${W - M.right + 46}" y="${ly + 4}">${esc(s.name)}</text>`);
  });
  o.push('</svg>');
  return o.join('\n') + '\n';
}
