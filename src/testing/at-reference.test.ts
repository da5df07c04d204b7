import { describe, expect, it } from 'vitest';
import { mat4, type LabelVolume, type Volume } from '../core/volume';
import { MSD_CENTROID_OFFSET, MSD_CROP_DIMS } from '../infer/msd-frame';
import { msdCropAtReference } from './at-reference';
import { maskOf } from '../core/metrics';

/** A 1 mm RAS scan whose intensity is the world x coordinate, with a box of `code` per side. */
function head(): { scan: Volume<Float32Array>; reference: LabelVolume; blobs: Record<number, number> } {
  const dims = [80, 90, 70] as const;
  const affine = mat4([1, 0, 0, -40, 0, 1, 0, -45, 0, 0, 1, -35, 0, 0, 0, 1]);
  const n = dims[0] * dims[1] * dims[2];
  const image = new Float32Array(n);
  const labels = new Uint8Array(n);
  const blobs: Record<number, number> = { 17: 0, 53: 0 };
  for (let k = 0; k < dims[2]; k++) {
    for (let j = 0; j < dims[1]; j++) {
      for (let i = 0; i < dims[0]; i++) {
        const v = i + dims[0] * (j + dims[1] * k);
        image[v] = i - 40;
        const inBox = j >= 40 && j < 52 && k >= 30 && k < 36;
        // left hippocampus (aseg 17) at x < 0, right (53) at x > 0, of different sizes
        const code = inBox && i >= 20 && i < 26 ? 17 : inBox && i >= 55 && i < 62 ? 53 : 0;
        labels[v] = code;
        if (code) blobs[code]++;
      }
    }
  }
  const spacing = [1, 1, 1] as const;
  return { scan: { dims, spacing, affine, data: image }, reference: { dims, spacing, affine, data: labels }, blobs };
}

describe('msdCropAtReference', () => {
  it('cuts each side in the MSD frame at the reference centroid, image and labels on the same crop, the right mirrored', () => {
    const { scan, reference, blobs } = head();
    for (const [side, code] of [['left', 17], ['right', 53]] as const) {
      const mask: LabelVolume = { ...reference, data: maskOf(reference.data, code) };
      const crop = msdCropAtReference(scan, reference, code, side, mask);
      expect(crop.image.dims).toEqual(MSD_CROP_DIMS);
      expect(crop.labels.dims).toEqual(MSD_CROP_DIMS);
      const [nx, ny] = MSD_CROP_DIMS;
      const sum = [0, 0, 0];
      let count = 0;
      crop.labels.data.forEach((v, n) => {
        if (!v) return;
        sum[0] += n % nx;
        sum[1] += Math.floor(n / nx) % ny;
        sum[2] += Math.floor(n / (nx * ny));
        count++;
      });
      // The whole structure is inside, its centroid where MSD crops keep it (within the rounding to whole voxels).
      expect(count).toBe(blobs[code]);
      MSD_CROP_DIMS.forEach((d, a) => expect(Math.abs(sum[a] / count - ((d - 1) / 2 + MSD_CENTROID_OFFSET[a]))).toBeLessThanOrEqual(0.5));
      // i runs lateral → medial: towards +x on the left, towards −x on the mirrored right.
      const step = crop.image.data[1] - crop.image.data[0];
      expect(step).toBeCloseTo(side === 'left' ? 1 : -1, 5);
    }
  });

  it('refuses labels that are not on the scan grid', () => {
    const { scan, reference } = head();
    const small: LabelVolume = { ...reference, dims: [10, 10, 10], data: new Uint8Array(1000) };
    expect(() => msdCropAtReference(scan, reference, 17, 'left', small)).toThrow(/scan grid/);
  });
});
