/** The benchmark's SVG plots: ticks, escaping, one line and legend entry per series. Pure. */
import { describe, expect, it } from 'vitest';
import { logLogSvg, logTicks } from '../../bench/svg.ts';

describe('log-log plots', () => {
  it('ticks at decades over wide ranges, at 1-2-5 over narrow ones', () => {
    expect(logTicks(10, 100000)).toEqual([10, 100, 1000, 10000, 100000]);
    expect(logTicks(50, 2000)).toEqual([50, 100, 200, 500, 1000, 2000]);
  });
  it('draws every series with a legend entry, escapes text, and skips non-positive points', () => {
    const svg = logLogSvg({
      title: 'a <b> & c',
      xLabel: 'T',
      yLabel: 'ms',
      series: [
        { name: 'recurrent', points: [[64, 1], [256, 4], [1024, 16]] },
        { name: 'auto', dashed: true, points: [[64, 1], [256, 0], [1024, 20]] },
      ],
    });
    expect(svg).toContain('a &lt;b&gt; &amp; c');
    expect(svg.match(/<polyline/g)).toHaveLength(2);
    expect(svg.match(/<circle/g)).toHaveLength(5);
    expect(svg).toContain('>recurrent</text>');
    expect(svg).toContain('stroke-dasharray');
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(logLogSvg({ title: 't', xLabel: 'x', yLabel: 'y', series: [] })).toContain('no data');
  });
});
