import { describe, expect, it } from 'vitest';
import { applyToPoint } from '../core/affine';
import { mat4, type Dims3, type Mat4 } from '../core/volume';
import { extractSlice, pixelOfVoxel, PLANES, slicePlane, sliceVoxelIndices, voxelOfPixel } from './slice-geometry';

/** FreeSurfer's conformed LIA grid (bert's norm.mgz): i → L, j → I, k → A. */
const LIA = mat4([-1, 0, 0, 128, 0, 0, 1, -128, 0, -1, 0, 128, 0, 0, 0, 1]);
const RAS = mat4([1, 0, 0, -10, 0, 1, 0, -20, 0, 0, 1, -30, 0, 0, 0, 1]);
/** A permuted, flipped, anisotropic grid: i → S (3 mm), j → L (1 mm), k → P (2 mm). */
const ODD = mat4([0, -1, 0, 5, 0, 0, -2, 7, 3, 0, 0, -9, 0, 0, 0, 1]);

const cases: [string, Mat4, Dims3][] = [
  ['LIA', LIA, [7, 5, 6]],
  ['RAS', RAS, [4, 6, 5]],
  ['SLP', ODD, [5, 4, 6]],
];

describe('slice planes', () => {
  it('bert-like LIA: coronal slices are k, columns run to R (i reversed), rows run down to I (j as it is)', () => {
    const p = slicePlane([256, 256, 256], LIA, [1, 1, 1], 'coronal');
    expect(p).toMatchObject({ sliceAxis: 2, colAxis: 0, colFlip: true, rowAxis: 1, rowFlip: false, width: 256, height: 256 });
  });

  for (const [name, affine, dims] of cases) {
    for (const plane of PLANES) {
      it(`${name} ${plane}: the slice holds its world axis fixed, columns go to R/A, rows go to I/P; pixel ↔ voxel round-trips`, () => {
        const spacing = [0, 1, 2].map((c) => Math.hypot(affine[c], affine[4 + c], affine[8 + c])) as unknown as Dims3;
        const p = slicePlane(dims, affine, spacing, plane);
        const fixed = { sagittal: 0, coronal: 1, axial: 2 }[plane];
        const colWorld = { sagittal: 1, coronal: 0, axial: 0 }[plane];
        const rowWorld = { sagittal: 2, coronal: 2, axial: 1 }[plane];
        const world = (s: number, x: number, y: number) => applyToPoint(affine, voxelOfPixel(p, s, x, y));
        for (let s = 0; s < p.sliceCount; s++) {
          // Every pixel of one slice shares its fixed world coordinate.
          expect(world(s, p.width - 1, p.height - 1)[fixed]).toBeCloseTo(world(s, 0, 0)[fixed], 9);
        }
        expect(world(0, 1, 0)[colWorld]).toBeGreaterThan(world(0, 0, 0)[colWorld]);
        expect(world(0, 0, 1)[rowWorld]).toBeLessThan(world(0, 0, 0)[rowWorld]);
        expect(p.pixelMm).toEqual([spacing[p.colAxis], spacing[p.rowAxis]]);
        for (let s = 0; s < p.sliceCount; s++)
          for (let y = 0; y < p.height; y++)
            for (let x = 0; x < p.width; x++) expect(pixelOfVoxel(p, voxelOfPixel(p, s, x, y))).toEqual({ s, x, y });
      });
    }
  }

  it('extractSlice reads the voxel each pixel maps to; every voxel lies on exactly one slice', () => {
    const dims: Dims3 = [5, 4, 6];
    const data = Float32Array.from({ length: 120 }, (_, p) => p);
    for (const plane of PLANES) {
      const p = slicePlane(dims, ODD, [3, 1, 2], plane);
      const seen = new Uint8Array(120);
      for (let s = 0; s < p.sliceCount; s++) {
        const img = extractSlice(p, dims, data, s);
        for (let y = 0; y < p.height; y++)
          for (let x = 0; x < p.width; x++) {
            const [i, j, k] = voxelOfPixel(p, s, x, y);
            expect(img[x + p.width * y]).toBe(i + dims[0] * (j + dims[1] * k));
          }
        for (const v of sliceVoxelIndices(p, dims, s)) seen[v]++;
      }
      expect(seen.every((n) => n === 1)).toBe(true);
    }
    expect(() => sliceVoxelIndices(slicePlane(dims, ODD, [3, 1, 2], 'axial'), dims, 99)).toThrow(/outside the axial range/);
  });
});
