import { describe, expect, it } from 'vitest';
import { applyToPoint, fromLinear } from './affine';
import { labelCentroidMm, measureLabels, voxelVolumeMm3 } from './measure';

describe('measureLabels', () => {
  it('counts voxels per listed label and scales by the voxel volume (|det|, so oblique and flipped grids work)', () => {
    const c = Math.cos(0.4);
    const s = Math.sin(0.4);
    // 0.5 × 1 × 2 mm voxels, rotated, one axis flipped: 1 mm³ per voxel.
    const affine = fromLinear([0.5 * c, -s, 0, 0.5 * s, c, 0, 0, 0, -2], [5, 6, 7]);
    expect(voxelVolumeMm3(affine)).toBeCloseTo(1, 14);
    const labels = { dims: [4, 1, 1] as const, spacing: [0.5, 1, 2] as const, affine, data: Uint8Array.of(0, 1, 2, 2) };
    const infos = [
      { value: 1, name: 'head', rgb: [1, 2, 3] as const },
      { value: 2, name: 'tail', rgb: [4, 5, 6] as const },
      { value: 3, name: 'absent', rgb: [7, 8, 9] as const },
    ];
    const m = measureLabels(labels, infos);
    expect(m.map((x) => [x.name, x.voxels])).toEqual([
      ['head', 1],
      ['tail', 2],
      ['absent', 0],
    ]);
    expect(m[1].mm3).toBeCloseTo(2, 12);
  });
});

describe('labelCentroidMm', () => {
  it('is the mean world position of the label\'s voxels on an oblique, flipped grid, and null for an absent label', () => {
    const c = Math.cos(0.3);
    const s = Math.sin(0.3);
    const affine = fromLinear([0.9 * c, -1.1 * s, 0, 0.9 * s, 1.1 * c, 0, 0, 0, -1.3], [-20, 14, 33]);
    const dims = [5, 4, 3] as const;
    const data = new Uint8Array(5 * 4 * 3);
    // Label 7 at three voxels placed unevenly along every axis, label 2 at one.
    const sevens: [number, number, number][] = [[0, 0, 0], [4, 1, 2], [3, 3, 1]];
    for (const [i, j, k] of sevens) data[i + 5 * (j + 4 * k)] = 7;
    data[2 + 5 * (1 + 4 * 2)] = 2;
    const world = sevens.map((v) => applyToPoint(affine, v));
    const expected = [0, 1, 2].map((a) => (world[0][a] + world[1][a] + world[2][a]) / 3);
    const got = labelCentroidMm({ dims, affine, data }, 7)!;
    for (let a = 0; a < 3; a++) expect(got[a]).toBeCloseTo(expected[a], 12);
    expect(labelCentroidMm({ dims, affine, data }, 2)).toEqual(applyToPoint(affine, [2, 1, 2]));
    expect(labelCentroidMm({ dims, affine, data }, 5)).toBeNull();
  });
});
