import { applyToPoint, invert, multiply, type Vec3 } from '../affine';
import type { Grid } from '../resample';
import { resampleLinear, resampleNearest } from '../resample';
import type { LabelVolume, Mat4, Volume } from '../volume';
import { mat4 } from '../volume';
import { LEFT, RIGHT } from './template-build';

/**
 * Room around the registered AAL hippocampus, mm on each side: registration error
 * (≈1–2 mm), AAL's coarse outline, and the anatomy between subjects that a 12-parameter
 * affine does not capture. MSD crops leave a similar 5–15 mm around the hippocampus.
 */
export const ROI_MARGIN_MM = 8;

/**
 * How the MSD hippocampus crops (the training data) are oriented, found by registering
 * crops to Colin27 in all 48 axis orders and signs, at both AAL hippocampi
 * (msd-orientation.test.ts keeps checking it): voxel j runs anterior, k superior, and i
 * runs from the lateral to the medial side — RAS for a left hippocampus, LAS (mirrored
 * in x) for a right one. So the right box is mirrored, and the model sees both
 * hippocampi the way it was trained; the mirror lives in the box's affine, so masks map
 * back to the scan without any special case.
 */
export const MSD_ORIENTATION = { left: 'RAS', right: 'LAS' } as const;

export interface HippocampusBox {
  readonly side: 'left' | 'right';
  /** Label of this side in every Seahorse mask. */
  readonly label: typeof LEFT | typeof RIGHT;
  /**
   * The crop: a box of the 1 mm grid the boxes live on (the conformed grid, or it turned with
   * the head: head-pose.ts), voxel → scan world mm, with axes as `MSD_ORIENTATION` (the right
   * box mirrored in x).
   */
  readonly grid: Grid;
  /** Fraction of the template hippocampus that maps inside the scan's field of view. */
  readonly inView: number;
  /** Centre of the registered template hippocampus, scan world mm. */
  readonly centreMm: Vec3;
}

/**
 * Maps the template's hippocampi into the scan with `transform` (template world → scan
 * world) and boxes each on `grid` (1 mm: the conformed grid, or it turned with the head) with
 * `ROI_MARGIN_MM` around it.
 */
export function hippocampusBoxes(
  hippocampus: LabelVolume,
  transform: Mat4,
  scan: Pick<Volume, 'dims' | 'affine'>,
  grid: Grid,
): [HippocampusBox, HippocampusBox] {
  return [boxFor(LEFT, hippocampus, transform, scan, grid), boxFor(RIGHT, hippocampus, transform, scan, grid)];
}

function boxFor(label: typeof LEFT | typeof RIGHT, hippocampus: LabelVolume, transform: Mat4, scan: Pick<Volume, 'dims' | 'affine'>, grid: Grid): HippocampusBox {
  const toWorld = multiply(transform, hippocampus.affine);
  const toGrid = multiply(invert(grid.affine), toWorld);
  const toScanVoxel = multiply(invert(scan.affine), toWorld);
  const lo = [Infinity, Infinity, Infinity];
  const hi = [-Infinity, -Infinity, -Infinity];
  const sum = [0, 0, 0];
  let count = 0;
  let inside = 0;
  const [nx, ny, nz] = hippocampus.dims;
  for (let k = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      for (let i = 0; i < nx; i++) {
        if (hippocampus.data[i + nx * (j + ny * k)] !== label) continue;
        const c = applyToPoint(toGrid, [i, j, k]);
        const w = applyToPoint(toWorld, [i, j, k]);
        for (let a = 0; a < 3; a++) {
          lo[a] = Math.min(lo[a], c[a]);
          hi[a] = Math.max(hi[a], c[a]);
          sum[a] += w[a];
        }
        const v = applyToPoint(toScanVoxel, [i, j, k]);
        if (v.every((x, a) => x >= -0.5 && x <= scan.dims[a] - 0.5)) inside++;
        count++;
      }
    }
  }
  if (count === 0) throw new Error(`the template has no hippocampus voxels with label ${label}`);
  // The grid's voxels are 1 mm, so the margin in voxels is the margin in mm.
  const first = lo.map((v) => Math.floor(v - ROI_MARGIN_MM)) as [number, number, number];
  const last = hi.map((v) => Math.ceil(v + ROI_MARGIN_MM));
  const dims = [0, 1, 2].map((a) => last[a] - first[a] + 1) as [number, number, number];
  const side = label === LEFT ? 'left' : 'right';
  return {
    side,
    label,
    grid: { dims, affine: multiply(grid.affine, boxToConformed(first, dims, side)) },
    inView: inside / count,
    centreMm: [sum[0] / count, sum[1] / count, sum[2] / count],
  };
}

/**
 * Box voxel → conformed voxel for a box starting at `first`: a shift, plus the mirror
 * in i for a right hippocampus (`MSD_ORIENTATION`).
 */
export function boxToConformed(first: Vec3, dims: Vec3, side: 'left' | 'right'): Mat4 {
  const mirror = MSD_ORIENTATION[side][0] === 'L';
  const x0 = mirror ? first[0] + dims[0] - 1 : first[0];
  return mat4([mirror ? -1 : 1, 0, 0, x0, 0, 1, 0, first[1], 0, 0, 1, first[2], 0, 0, 0, 1]);
}

/** The scan's voxels on a box (trilinear from the input grid; 0 outside its field of view). */
export function extractBox(scan: Volume, box: HippocampusBox): Volume<Float32Array> {
  return resampleLinear(scan, box.grid.dims, box.grid.affine);
}

/** A label volume on a box, nearest neighbour (codes stay codes; 0 outside its field of view): the labels of `extractBox`'s crop. */
export function extractBoxLabels(labels: LabelVolume, box: HippocampusBox): LabelVolume {
  return resampleNearest(labels, box.grid.dims, box.grid.affine);
}
