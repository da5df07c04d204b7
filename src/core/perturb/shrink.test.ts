import { describe, expect, it } from 'vitest';
import { fromLinear } from '../affine';
import type { Volume } from '../volume';
import { shrinkAround } from '.';

/** 40³ voxels of 1 mm: a ball of radius 8 (value 1) at the centre (world 0, 0, 0). */
const ball: Volume<Uint8Array> = {
  dims: [40, 40, 40],
  spacing: [1, 1, 1],
  affine: fromLinear([1, 0, 0, 0, 1, 0, 0, 0, 1], [-20, -20, -20]),
  data: Uint8Array.from({ length: 40 ** 3 }, (_, n) => (Math.hypot((n % 40) - 20, (Math.floor(n / 40) % 40) - 20, Math.floor(n / 1600) - 20) <= 8 ? 1 : 0)),
};
const count = (v: Volume) => Array.from(v.data).reduce((a, b) => a + b, 0);

describe('shrinkAround', () => {
  it('shrinks a structure around its centre, grows it with a negative strength, and leaves it with none', () => {
    const before = count(ball);
    const shrunk = count(shrinkAround(ball, [[0, 0, 0]], 0.3, 10, 'nearest'));
    const grown = count(shrinkAround(ball, [[0, 0, 0]], -0.2, 10, 'nearest'));
    expect(count(shrinkAround(ball, [[0, 0, 0]], 0, 10, 'nearest'))).toBe(before);
    // Near the centre the field scales by 1 / (1 + strength), weaker towards the ball's edge (8 mm of a 10 mm field).
    expect(shrunk / before).toBeGreaterThan(0.4);
    expect(shrunk / before).toBeLessThan(0.6);
    expect(grown / before).toBeGreaterThan(1.4);
  });

  it('moves nothing beyond four widths of the field', () => {
    const far = shrinkAround(ball, [[100, 100, 100]], 0.3, 10, 'nearest');
    expect(Array.from(far.data)).toEqual(Array.from(ball.data));
  });
});
