import { describe, expect, it } from 'vitest';
import { distanceToSites } from './edt';
import { dice, hausdorff, maskOf, quantile, surface } from './metrics';
import type { Dims3, SpacingMm } from './volume';

function fromPredicate(dims: Dims3, f: (i: number, j: number, k: number) => boolean): Uint8Array {
  const out = new Uint8Array(dims[0] * dims[1] * dims[2]);
  for (let k = 0; k < dims[2]; k++)
    for (let j = 0; j < dims[1]; j++) for (let i = 0; i < dims[0]; i++) out[i + dims[0] * (j + dims[1] * k)] = f(i, j, k) ? 1 : 0;
  return out;
}

describe('distanceToSites (exact EDT)', () => {
  it('equals brute force on an anisotropic grid', () => {
    const dims: Dims3 = [9, 7, 5];
    const spacing: SpacingMm = [0.8, 1.3, 2.1];
    const sites = fromPredicate(dims, (i, j, k) => (i * 5 + j * 3 + k * 7) % 17 === 0);
    const d = distanceToSites(sites, dims, spacing);
    const pts: [number, number, number][] = [];
    for (let k = 0; k < 5; k++) for (let j = 0; j < 7; j++) for (let i = 0; i < 9; i++) if (sites[i + 9 * (j + 7 * k)]) pts.push([i, j, k]);
    for (let k = 0; k < 5; k++)
      for (let j = 0; j < 7; j++)
        for (let i = 0; i < 9; i++) {
          const brute = Math.min(...pts.map(([a, b, c]) => Math.hypot((a - i) * spacing[0], (b - j) * spacing[1], (c - k) * spacing[2])));
          expect(d[i + 9 * (j + 7 * k)]).toBeCloseTo(brute, 12);
        }
    expect(distanceToSites(new Uint8Array(8), [2, 2, 2], [1, 1, 1]).every((v) => v === Infinity)).toBe(true);
  });
});

describe('surface and quantile', () => {
  it('a solid 3³ cube has 26 surface voxels; grid borders count as outside', () => {
    const cube = fromPredicate([5, 5, 5], (i, j, k) => i >= 1 && i <= 3 && j >= 1 && j <= 3 && k >= 1 && k <= 3);
    expect(surface(cube, [5, 5, 5]).reduce((a, b) => a + b, 0)).toBe(26);
    expect(surface(new Uint8Array(27).fill(1), [3, 3, 3]).reduce((a, b) => a + b, 0)).toBe(26);
  });
  it('quantile interpolates linearly like torch.quantile', () => {
    expect(quantile(Float64Array.of(4, 1, 3, 2), 0.95)).toBeCloseTo(3.85, 12);
    expect(quantile(Float64Array.of(7), 0.95)).toBe(7);
  });
});

describe('Dice and HD95 agree with MONAI 1.5 (compute_hausdorff_distance, percentile 95)', () => {
  const dims: Dims3 = [20, 24, 18];
  const blobsPred = fromPredicate(dims, (i, j, k) => (i - 10) ** 2 * 4 + (j - 12) ** 2 + (k - 9) ** 2 * 9 <= 200 || (i - 2) ** 2 + (j - 21) ** 2 + (k - 2) ** 2 <= 2);
  const blobsTruth = fromPredicate(dims, (i, j, k) => (i - 11) ** 2 * 4 + (j - 13) ** 2 + (k - 8) ** 2 * 9 <= 230);
  const borderPred = fromPredicate(dims, (i, j) => i + j >= 30);
  const borderTruth = fromPredicate(dims, (i, j, k) => i + j >= 28 && k < 15);
  // MONAI values (float32 results) for the same masks; HD = percentile 100.
  const cases: [string, Uint8Array, Uint8Array, SpacingMm, number, number][] = [
    ['blobs, 1 mm', blobsPred, blobsTruth, [1, 1, 1], 2.0, 6.480740547180176],
    ['blobs, 0.8 × 1.2 × 2 mm', blobsPred, blobsTruth, [0.8, 1.2, 2.0], 2.5612497329711914, 8.294576644897461],
    ['touching the grid border, 1 mm', borderPred, borderTruth, [1, 1, 1], 3.0, 3.0],
    ['touching the grid border, 0.8 × 1.2 × 2 mm', borderPred, borderTruth, [0.8, 1.2, 2.0], 6.0, 6.0],
  ];
  for (const [name, pred, truth, spacing, hd95, hd] of cases) {
    it(name, () => {
      // MONAI returns float32: agreement to float32 rounding.
      expect(hausdorff(pred, truth, dims, spacing)).toBeCloseTo(hd95, 5);
      expect(hausdorff(pred, truth, dims, spacing, 100)).toBeCloseTo(hd, 5);
    });
  }
  it('Dice', () => {
    expect(dice(blobsPred, blobsTruth)).toBeCloseTo(0.8125148139369519, 14);
    expect(dice(borderPred, borderTruth)).toBeCloseTo(0.794066317626527, 14);
  });
  it('empty masks: Dice NaN without ground truth, HD95 infinite with one side empty, NaN with both', () => {
    const empty = new Uint8Array(blobsPred.length);
    expect(dice(blobsPred, empty)).toBeNaN();
    expect(dice(empty, blobsTruth)).toBe(0);
    expect(hausdorff(empty, blobsTruth, dims, [1, 1, 1])).toBe(Infinity);
    expect(hausdorff(empty, empty, dims, [1, 1, 1])).toBeNaN();
  });
  it('maskOf selects one label or the whole foreground', () => {
    expect(Array.from(maskOf(Uint8Array.of(0, 1, 2, 1), 1))).toEqual([0, 1, 0, 1]);
    expect(Array.from(maskOf(Uint8Array.of(0, 1, 2, 1), 'foreground'))).toEqual([0, 1, 1, 1]);
  });

  it('maskOf reads label maps of any integer type: aseg codes above 255 are not wrapped to bytes', () => {
    const aseg = Int16Array.of(0, 17, 53, 17 + 256, 2035, 17);
    expect(Array.from(maskOf(aseg, 17))).toEqual([0, 1, 0, 0, 0, 1]);
    expect(Array.from(maskOf(aseg, 2035))).toEqual([0, 0, 0, 0, 1, 0]);
    expect(Array.from(maskOf(Int32Array.of(-1, 0, 3), 'foreground'))).toEqual([0, 0, 1]);
  });
});
