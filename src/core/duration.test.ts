import { describe, expect, it } from 'vitest';
import { formatDuration, secondsLeft } from './duration';

describe('durations for progress lines', () => {
  it('says seconds, then minutes, then hours', () => {
    expect([4.4, 89.4, 90, 299, 5399, 5400, 9000].map(formatDuration)).toEqual(['4 s', '89 s', '2 min', '5 min', '90 min', '1.5 h', '2.5 h']);
  });

  it('extrapolates the mean rate so far', () => {
    expect(secondsLeft(12_000, 3, 100)).toBe(388); // 4 s an item, 97 to go
    expect(secondsLeft(5_000, 10, 10)).toBe(0);
    expect(() => secondsLeft(1_000, 0, 10)).toThrow(/no rate/);
    expect(() => secondsLeft(1_000, 11, 10)).toThrow(/no rate/);
  });
});
