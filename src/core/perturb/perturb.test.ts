import { describe, expect, it } from 'vitest';
import { fromLinear } from '../affine';
import type { Volume } from '../volume';
import { mp2rageBackground } from '.';

/** 20³ voxels: a 10³ block of 100 ("the head") in air of 0–2. */
function headInAir(): Volume<Float32Array> {
  const dims = [20, 20, 20] as const;
  const data = new Float32Array(20 * 20 * 20);
  for (let k = 0, n = 0; k < 20; k++) for (let j = 0; j < 20; j++) for (let i = 0; i < 20; i++, n++) {
    const inside = [i, j, k].every((c) => c >= 5 && c < 15);
    data[n] = inside ? 100 : n % 3;
  }
  return { dims, spacing: [1, 1, 1], affine: fromLinear([1, 0, 0, 0, 1, 0, 0, 0, 1], [0, 0, 0]), data };
}

describe('mp2rageBackground', () => {
  it('turns the air into noise over the whole range and leaves the head as it was', () => {
    const scan = headInAir();
    const out = mp2rageBackground(scan, 0.05, 7);
    let air = 0;
    let high = 0;
    let sum = 0;
    for (let n = 0; n < scan.data.length; n++) {
      if (scan.data[n] === 100) {
        expect(out.data[n]).toBe(100);
        continue;
      }
      air++;
      expect(out.data[n]).toBeGreaterThanOrEqual(0);
      expect(out.data[n]).toBeLessThanOrEqual(100);
      if (out.data[n] > 50) high++;
      sum += out.data[n];
    }
    // Uniform on [0, p99 = 100]: half the air above 50, mean 50 (7,000 voxels: a few % either way).
    expect(high / air).toBeGreaterThan(0.45);
    expect(high / air).toBeLessThan(0.55);
    expect(sum / air).toBeGreaterThan(47);
    expect(sum / air).toBeLessThan(53);
  });

  it('is reproducible from its seed', () => {
    const a = mp2rageBackground(headInAir(), 0.05, 7).data;
    expect(mp2rageBackground(headInAir(), 0.05, 7).data).toEqual(a);
    expect(mp2rageBackground(headInAir(), 0.05, 8).data).not.toEqual(a);
  });
});
