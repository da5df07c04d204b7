import { describe, expect, it } from 'vitest';
import { fromLinear } from './affine';
import { measureLabels, voxelVolumeMm3 } from './measure';

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
