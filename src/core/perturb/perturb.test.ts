import { describe, expect, it } from 'vitest';
import { applyToPoint, fromLinear } from '../affine';
import type { Volume } from '../volume';
import { mp2rageBackground, thickSlices } from '.';

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

describe('thickSlices', () => {
  /** 6 × 4 × 9 voxels of 1 mm, LIA-like (voxel axis 1 runs inferior, 2 anterior), value = the k index. */
  const lia: Volume<Float32Array> = {
    dims: [6, 4, 9],
    spacing: [1, 1, 1],
    affine: fromLinear([-1, 0, 0, 0, 0, 1, 0, -1, 0], [10, 20, 30]),
    data: Float32Array.from({ length: 6 * 4 * 9 }, (_, n) => Math.floor(n / 24)),
  };

  it('averages each slab of voxels along the axis closest to the world axis asked for, keeping world space', () => {
    const coronal = thickSlices(lia, 1, 3); // world axis 1 (A–P) is voxel axis 2 here
    expect(coronal.dims).toEqual([6, 4, 3]);
    expect(coronal.spacing).toEqual([1, 1, 3]);
    expect(Array.from(new Set(coronal.data))).toEqual([1, 4, 7]); // the mean of k = 0–2, 3–5, 6–8
    // A slab's centre lies where its middle voxel was.
    for (const n of [0, 1, 2]) expect(applyToPoint(coronal.affine, [2, 1, n])).toEqual(applyToPoint(lia.affine, [2, 1, 3 * n + 1]));
  });

  it('takes the middle voxel for labels, drops the remainder, and refuses a factor that is not a whole number', () => {
    const axial = thickSlices(lia, 2, 2, 'nearest'); // world S–I is voxel axis 1
    expect(axial.dims).toEqual([6, 2, 9]);
    expect(axial.spacing).toEqual([1, 2, 1]);
    expect(thickSlices(lia, 1, 4, 'nearest').dims).toEqual([6, 4, 2]);
    expect(Array.from(new Set(thickSlices(lia, 1, 4, 'nearest').data))).toEqual([2, 6]);
    expect(() => thickSlices(lia, 1, 1.5)).toThrow(/whole number/);
  });
});
