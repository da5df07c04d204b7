import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { applyToPoint, invert, multiply } from '../core/affine';
import { boxToConformed, type HippocampusBox } from '../core/fullhead';
import { readVolume } from '../core/io';
import { mat4 } from '../core/volume';
import { hasShared, msdDir, sharedMissing } from '../testing/shared';
import { MSD_CENTROID_OFFSET, MSD_CROP_DIMS, expectedCentre, AAL_TO_HIPPOCAMPUS, frameToBox, maskGeometry, msdFrame } from './msd-frame';

/** A right (mirrored) box on an LIA conformed-like grid, as core/fullhead/roi.ts builds them. */
function rightBox(): HippocampusBox {
  const conformed = mat4([1, 0, 0, -100, 0, 1, 0, -120, 0, 0, 1, -80, 0, 0, 0, 1]);
  const dims = [47, 60, 51] as const;
  const grid = { dims, affine: multiply(conformed, boxToConformed([110, 80, 55], dims, 'right')) };
  return { side: 'right', label: 2, grid, inView: 1, centreMm: applyToPoint(grid.affine, [23.4, 30.2, 24.6]) };
}

describe('msdFrame', () => {
  it('cuts an MSD-sized crop on the box’s lattice and orientation, with the hippocampus where MSD crops have it', () => {
    const box = rightBox();
    const centre = [20.2, 31.7, 19.4] as const;
    const frame = msdFrame(box, centre);
    expect(frame.grid.dims).toEqual(MSD_CROP_DIMS);
    expect(frame.side).toBe('right');
    // Same axes as the box (still mirrored in x), shifted by whole voxels.
    const shift = multiply(invert(box.grid.affine), frame.grid.affine);
    expect(Array.from(shift.subarray(0, 3))).toEqual([1, 0, 0]);
    expect(frame.grid.affine[0]).toBe(-1);
    for (const a of [0, 1, 2]) expect(Number.isInteger(shift[4 * a + 3])).toBe(true);
    // The centre, seen from the frame, sits at the frame centre plus MSD's offset (within rounding).
    const inFrame = applyToPoint(invert(shift), centre);
    MSD_CROP_DIMS.forEach((d, a) => expect(Math.abs(inFrame[a] - ((d - 1) / 2 + MSD_CENTROID_OFFSET[a]))).toBeLessThanOrEqual(0.5));
    expect(frameToBox(frame, box, inFrame).map((v) => +v.toFixed(9))).toEqual([...centre]);
  });

  it('starts from AAL’s registered centre moved by the measured correction', () => {
    const box = rightBox();
    expect(expectedCentre(box).map((v) => +v.toFixed(9))).toEqual([23.4 + AAL_TO_HIPPOCAMPUS[0], 30.2 + AAL_TO_HIPPOCAMPUS[1], 24.6 + AAL_TO_HIPPOCAMPUS[2]].map((v) => +v.toFixed(9)));
  });

  it('maskGeometry: centroid and the share of the mask on the faces', () => {
    const dims = [4, 5, 6] as const;
    const mask = new Uint8Array(4 * 5 * 6);
    const set = (i: number, j: number, k: number) => (mask[i + 4 * (j + 5 * k)] = 1);
    set(1, 1, 1);
    set(2, 3, 4);
    set(3, 2, 2); // on the i = 3 face
    set(1, 2, 3);
    expect(maskGeometry(mask, dims)).toEqual({ centroid: [7 / 4, 8 / 4, 10 / 4], edgeFraction: 1 / 4 });
    expect(maskGeometry(new Uint8Array(120), dims)).toBeNull();
  });
});

describe.skipIf(!hasShared)(`MSD framing constants, re-measured on base_train ${hasShared ? '' : sharedMissing}`, () => {
  it('median crop size and the hippocampus centroid’s mean offset from the crop centre', () => {
    const split = JSON.parse(readFileSync(join(msdDir, 'split.json'), 'utf8')) as { base_train: string[] };
    const dims: number[][] = [[], [], []];
    const offset = [0, 0, 0];
    for (const name of split.base_train) {
      const labels = readVolume(new Uint8Array(readFileSync(join(msdDir, 'labels', name))), name);
      const [nx, ny, nz] = labels.dims;
      const sum = [0, 0, 0];
      let count = 0;
      for (let k = 0, n = 0; k < nz; k++) {
        for (let j = 0; j < ny; j++) {
          for (let i = 0; i < nx; i++, n++) {
            if (labels.data[n] === 0) continue;
            count++;
            sum[0] += i;
            sum[1] += j;
            sum[2] += k;
          }
        }
      }
      labels.dims.forEach((d, a) => {
        dims[a].push(d);
        offset[a] += (sum[a] / count - (d - 1) / 2) / split.base_train.length;
      });
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    expect(dims.map(median)).toEqual([...MSD_CROP_DIMS]);
    // The constants are the means rounded to 0.1 voxel.
    offset.forEach((o, a) => expect(Math.abs(o - MSD_CENTROID_OFFSET[a])).toBeLessThanOrEqual(0.05));
  }, 120_000);
});
