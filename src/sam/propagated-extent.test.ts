import { describe, expect, it } from 'vitest';
import { mat4, type Dims3 } from '../core/volume';
import { buildBoxPrior } from './box-prior';
import { propagatedBox, propagationWarning, type PropagatedSlice } from './propagated-extent';
import { extractSlice, sliceVoxelIndices, slicePlane } from './slice-geometry';

const n = 40;
const dims: Dims3 = [n, n, n];
const affine = mat4([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]);
const plane = slicePlane(dims, affine, [1, 1, 1], 'coronal');

/** A block of label 17 over x 12–27, y 8–31, z 10–29 in a 40³ volume. */
const labels = new Uint8Array(n ** 3);
for (let z = 10; z < 30; z++) for (let y = 8; y < 32; y++) for (let x = 12; x < 28; x++) labels[x + n * (y + n * z)] = 17;
const prior = buildBoxPrior([{ dims, affine, data: labels }], [17], [2], 16);

/** The structure's own masks on coronal slices `from`–`to`, optionally widened by `grow` pixels in x. */
function masks(from: number, to: number, grow = 0): PropagatedSlice[] {
  const out: PropagatedSlice[] = [];
  for (let s = from; s <= to; s++) {
    const truth = extractSlice(plane, dims, labels, s);
    const mask = new Uint8Array(truth.length);
    truth.forEach((v, p) => {
      if (v !== 17) return;
      for (let dx = -grow; dx <= grow; dx++) {
        const x = (p % plane.width) + dx;
        if (x >= 0 && x < plane.width) mask[x + plane.width * Math.floor(p / plane.width)] = 1;
      }
    });
    out.push({ slice: s, mask });
  }
  return out;
}

describe("the prompt tool's check on a propagated mask", () => {
  it('propagatedBox: the masks’ voxel bounding box + 2, inside the volume; null for empty masks', () => {
    const slices = masks(8, 31);
    // Where the mask voxels lie, from the slices' own voxel indices.
    const lo = [n, n, n], hi = [-1, -1, -1];
    for (const s of slices) {
      const idx = sliceVoxelIndices(plane, dims, s.slice);
      s.mask.forEach((m, p) => {
        if (!m) return;
        const v = [idx[p] % n, Math.floor(idx[p] / n) % n, Math.floor(idx[p] / (n * n))];
        for (let a = 0; a < 3; a++) [lo[a], hi[a]] = [Math.min(lo[a], v[a]), Math.max(hi[a], v[a])];
      });
    }
    expect([lo, hi]).toEqual([[12, 8, 10], [27, 31, 29]]);
    expect(propagatedBox(plane, dims, slices, 17)).toEqual({ label: 17, lo: [10, 6, 8], hi: [29, 33, 31] });
    expect(propagatedBox(plane, dims, masks(8, 31, 12), 17)).toMatchObject({ lo: [0, 6, 8], hi: [39, 33, 31] });
    expect(propagatedBox(plane, dims, [{ slice: 3, mask: new Uint8Array(n * n) }], 17)).toBeNull();
  });

  it('says nothing for a mask the size of the structure, or a label the prior lacks; warns, in words, for one stopped short or run on', () => {
    expect(propagationWarning(prior, dims, affine, plane, masks(8, 31), 17)).toBeNull();
    expect(propagationWarning(prior, dims, affine, plane, masks(18, 20), 5)).toBeNull();
    // Three slices of a structure 24 slices long: far shorter along A than any box the prior has seen.
    const short = propagationWarning(prior, dims, affine, plane, masks(18, 20), 17);
    expect(short).toMatch(/^its box is 20 × 7 × 24 mm \(R × A × S\) over 3 coronal slices, unlike any box of label 17 in the shape prior's label maps \(20 × 28 × 24 to 20 × 28 × 24 mm, by more than × 1\.5\): propagation has probably run past the structure or stopped short/);
    // Widened by 12 pixels each way in x: 40 mm wide against 20.
    expect(propagationWarning(prior, dims, affine, plane, masks(8, 31, 12), 17)).toMatch(/^its box is 40 × 28 × 24 mm/);
  });
});
