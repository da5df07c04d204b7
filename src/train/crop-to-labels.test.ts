import { describe, expect, it } from 'vitest';
import { mat4, type LabelVolume, type Volume } from '../core/volume';
import { cropToLabels } from './crop-to-labels';

const DIMS = [10, 8, 6] as const;
const AFFINE = mat4([-1, 0, 0, 90, 0, 2, 0, -100, 0, 0, 1.5, -50, 0, 0, 0, 1]);
const at = (i: number, j: number, k: number) => i + DIMS[0] * (j + DIMS[1] * k);

function pair(): { image: Volume<Float32Array>; labels: LabelVolume } {
  const n = DIMS[0] * DIMS[1] * DIMS[2];
  const image = Float32Array.from({ length: n }, (_, p) => p);
  const labels = new Uint8Array(n);
  labels[at(4, 3, 2)] = 1;
  labels[at(6, 5, 3)] = 2;
  return { image: { dims: DIMS, spacing: [1, 2, 1.5], affine: AFFINE, data: image }, labels: { dims: DIMS, spacing: [1, 2, 1.5], affine: AFFINE, data: labels } };
}

describe('crop to labels', () => {
  it('keeps the labels box plus the margin, clipped to the grid, in the same world positions', () => {
    const c = cropToLabels(pair(), 2, 'case');
    // i: 4..6 ± 2 → 2..8; j: 3..5 ± 2 → 1..7; k: 2..3 ± 2 → 0..5 (clipped).
    expect(c.image.dims).toEqual([7, 7, 6]);
    expect(c.labels.dims).toEqual([7, 7, 6]);
    const [ci, cj] = c.image.dims;
    // Voxel (0,0,0) of the crop is voxel (2,1,0) of the scan: same value, same world point.
    expect(c.image.data[0]).toBe(at(2, 1, 0));
    expect(c.labels.data[(4 - 2) + ci * ((3 - 1) + cj * 2)]).toBe(1);
    expect(c.labels.data[(6 - 2) + ci * ((5 - 1) + cj * 3)]).toBe(2);
    expect(c.image.affine[3]).toBe(90 - 2);
    expect(c.image.affine[7]).toBe(-100 + 2 * 1);
    expect(c.image.affine[11]).toBe(-50);
    expect(c.labels.data).toBeInstanceOf(Uint8Array);
    expect(c.image.data).toBeInstanceOf(Float32Array);
  });

  it('refuses a scan without labels or with labels on another grid', () => {
    const p = pair();
    expect(() => cropToLabels({ ...p, labels: { ...p.labels, data: new Uint8Array(p.labels.data.length) } }, 2, 'empty')).toThrow(/empty: no labelled voxel/);
    expect(() => cropToLabels({ ...p, image: { ...p.image, dims: [10, 8, 5] } }, 2, 'c')).toThrow(/not on the scan's grid/);
  });
});
