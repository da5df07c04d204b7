import { describe, expect, it } from 'vitest';
import { multiply } from '../affine';
import { resampleNearest } from '../resample';
import type { LabelVolume } from '../volume';
import { mat4 } from '../volume';
import { conformedGrid } from './conform';
import { pasteBoxMasks } from './paste';
import { boxToConformed, type HippocampusBox } from './roi';
import { LEFT, RIGHT } from './template-build';
import { maskOf } from '../metrics';

/** An LIA 1 mm scan grid (like the sample) with two blobs: one left of the midline, one right. */
function scanWithBlobs(): LabelVolume {
  const dims = [64, 60, 70] as const;
  const affine = mat4([-1, 0, 0, 31.6, 0, 0, 1, -35.5, 0, -1, 0, 29.5, 0, 0, 0, 1]);
  const data = new Uint8Array(dims[0] * dims[1] * dims[2]);
  for (let k = 0; k < dims[2]; k++) for (let j = 0; j < dims[1]; j++) for (let i = 0; i < dims[0]; i++) {
    const x = 31.6 - i; // world x (R+)
    if (Math.hypot(x + 15, j - 30, k - 35) < 6) data[i + dims[0] * (j + dims[1] * k)] = LEFT;
    if (Math.hypot(x - 15, j - 28, k - 33) < 5) data[i + dims[0] * (j + dims[1] * k)] = RIGHT;
  }
  return { dims, affine, spacing: [1, 1, 1], data };
}

function box(side: 'left' | 'right', first: [number, number, number], dims: [number, number, number], conformedAffine: ReturnType<typeof mat4>): HippocampusBox {
  return {
    side,
    label: side === 'left' ? LEFT : RIGHT,
    grid: { dims, affine: multiply(conformedAffine, boxToConformed(first, dims, side)) },
    inView: 1,
    centreMm: [0, 0, 0],
  };
}

describe('pasteBoxMasks', () => {
  it('puts masks cut on the (mirrored) boxes back onto an LIA scan grid voxel for voxel', () => {
    const scan = scanWithBlobs();
    const conformed = conformedGrid(scan);
    // Boxes on the conformed (RAS) grid around each blob; the right one is mirrored in i.
    const boxes = [box('left', [10, 15, 18], [22, 30, 34], conformed.affine), box('right', [37, 12, 16], [20, 32, 36], conformed.affine)];
    const masks = boxes.map((b) => {
      // What a model would return: the scan's own labels read on the box grid (nearest).
      const cut = resampleNearest(scan, b.grid.dims, b.grid.affine);
      return { box: b, mask: maskOf(cut.data, b.label) };
    });
    // The right box is mirrored: its voxel i = 0 lies at the medial (left, −x) end.
    expect(boxes[1].grid.affine[0]).toBe(-1);
    const pasted = pasteBoxMasks(scan, masks);
    expect(pasted.dims).toEqual(scan.dims);
    expect(Array.from(pasted.affine)).toEqual(Array.from(scan.affine));
    let differing = 0;
    for (let n = 0; n < scan.data.length; n++) if (pasted.data[n] !== scan.data[n]) differing++;
    expect(differing).toBe(0);
  });

  it('refuses a mask of the wrong size', () => {
    const scan = scanWithBlobs();
    const b = box('left', [0, 0, 0], [4, 4, 4], conformedGrid(scan).affine);
    expect(() => pasteBoxMasks(scan, [{ box: b, mask: new Uint8Array(10) }])).toThrow(/left mask has 10 voxels, its box 64/);
  });
});
