import { describe, expect, it } from 'vitest';
import { median, rotation, summarise } from './stats.js';

describe('gateway bench statistics', () => {
  it('takes the middle value, or the mean of the two middle values, whatever the order', () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([7])).toBe(7);
    expect(() => median([])).toThrow(RangeError);
  });

  it('rotates the order of the paths one place per round, so each path runs in every position', () => {
    const paths = ['direct', 'portkey', 'fleece'];
    expect([0, 1, 2, 3].map((round) => rotation(paths, round))).toEqual([
      ['direct', 'portkey', 'fleece'],
      ['portkey', 'fleece', 'direct'],
      ['fleece', 'direct', 'portkey'],
      ['direct', 'portkey', 'fleece'],
    ]);
    expect(paths).toEqual(['direct', 'portkey', 'fleece']);
  });

  it('reports the median of round medians, and added latency as path − baseline within each round', () => {
    // Round 2 is slow for everyone (a busy neighbour): its difference is what counts, not its level.
    const figures = summarise(
      [
        { direct: [1, 2, 9], gateway: [4, 5, 30] },
        { direct: [20, 21, 22], gateway: [27, 28, 26] },
        { direct: [2, 3, 1], gateway: [6, 3, 7] },
      ],
      'direct',
    );
    // Round medians: direct 2, 21, 2; gateway 5, 27, 6; differences 3, 6, 4.
    expect(figures).toEqual({
      direct: { latency: 2, added: 0 },
      gateway: { latency: 6, added: 4 },
    });
  });

  it('refuses to summarise no rounds', () => {
    expect(() => summarise([], 'direct')).toThrow(RangeError);
  });
});
