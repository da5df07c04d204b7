import { describe, expect, it } from 'vitest';
import { identity4, type Volume } from '../core/volume';
import { backgroundWarning } from './on-background';

/** 20³: a head of 100 (a 10³ block) in air of 0–2. */
function head(): Volume<Float32Array> {
  const data = new Float32Array(20 * 20 * 20);
  for (let k = 0, n = 0; k < 20; k++) for (let j = 0; j < 20; j++) for (let i = 0; i < 20; i++, n++) data[n] = [i, j, k].every((c) => c >= 5 && c < 15) ? 100 : n % 3;
  return { dims: [20, 20, 20], spacing: [1, 1, 1], affine: identity4(), data };
}
const at = (i: number, j: number, k: number) => i + 20 * (j + 20 * k);

describe('backgroundWarning', () => {
  it('calls out a mask that lies mostly in air, with its share, and leaves one on tissue alone', () => {
    const v = head();
    const inAir = [at(0, 0, 0), at(1, 0, 0), at(2, 0, 0), at(6, 6, 6)];
    expect(backgroundWarning(v, inAir)).toBe('75 % of it lies where the scan is as dark as the air around the head, so it is not a structure');
    expect(backgroundWarning(v, [at(6, 6, 6), at(7, 7, 7), at(1, 0, 0)])).toBeNull();
    expect(backgroundWarning(v, [])).toBeNull();
  });

  it('finds the air of a scan in signed intensities (air at −1000) and still leaves tissue alone', () => {
    const v = head();
    const signed = { ...v, data: Float32Array.from(v.data, (x) => x - 1000) };
    expect(backgroundWarning(signed, [at(0, 0, 0), at(1, 0, 0), at(2, 0, 0), at(6, 6, 6)])).toMatch(/^75 % of it lies/);
    expect(backgroundWarning(signed, [at(6, 6, 6), at(7, 7, 7), at(1, 0, 0)])).toBeNull();
  });
});
