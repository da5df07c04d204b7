/**
 * How the MSD Task04 training crops frame a hippocampus, and the same framing for a
 * hippocampus found in a full head. The crop models learnt that framing, not just the
 * orientation: on the full-head sample the provisional SwinUNETR found 3.3–3.5 cm³ per
 * side (head and body balanced as in MSD) in an MSD-sized crop, but 1.3–1.5 cm³ and almost
 * no head in the registration's 44×59×51 box (8 mm around AAL's coarse hippocampus).
 *
 * Measured on the 158 `base_train` crops (msd-frame.test.ts re-measures): median size
 * 35 × 50 × 36 voxels (1 mm), and the hippocampus centroid lies off the crop centre by
 * (−2.3, +1.3, −2.4) voxels (sd ≈ 1) along (i lateral→medial, j posterior→anterior,
 * k inferior→superior), leaving median margins of 5–7 voxels.
 */
import type { Vec3 } from '../core/affine';
import { applyToPoint, invert, multiply } from '../core/affine';
import type { HippocampusBox } from '../core/fullhead';
import { mat4, type Dims3 } from '../core/volume';

/** Median size of the MSD training crops, voxels of 1 mm (i, j, k in MSD orientation). */
export const MSD_CROP_DIMS: Dims3 = [35, 50, 36];

/** Mean position of the hippocampus centroid relative to the crop centre, voxels. */
export const MSD_CENTROID_OFFSET: Vec3 = [-2.3, 1.3, -2.4];

/**
 * Where the hippocampus centroid (as the MSD labels draw it) lies relative to the centroid
 * of AAL's registered hippocampus, voxels of a box (MSD orientation). AAL's outline reaches
 * further up and medially: the model's converged masks (after re-centring, below) on the
 * full-head sample, Colin27 and ICBM152, both sides, had their centroids at
 * (−1.0 ± 0.8, +0.2 ± 1.0, −3.2 ± 0.8) from AAL's. It places the first crop; re-centring
 * corrects what it misses.
 */
export const AAL_TO_HIPPOCAMPUS: Vec3 = [-1.0, 0.2, -3.2];

/**
 * A first crop whose mask centroid lands further than this (voxels, on any axis) from where
 * MSD crops keep it is cut again around the mask and segmented once more: registration
 * and anatomy put a hippocampus a few millimetres from where the template says, and MSD's
 * margins (3 voxels at least) leave little room.
 */
export const RECENTRE_VOXELS = 2;

/**
 * A hippocampus whose final mask has more than this fraction of its voxels on the crop's
 * faces may have been cut off by the crop: the user is warned.
 */
export const EDGE_FRACTION_WARNING = 0.01;

/**
 * The larger crop a side is segmented in again when its mask reaches the faces of an
 * MSD-sized one (a large hippocampus: vxm_subject's aseg holds 6,100–6,300 mm³). Inside the
 * sizes the crop models were trained on (MSD crops reach 43 × 59 × 47; shared/data README);
 * measured in bench/RESULTS.md ("a mask at the crop's edge").
 */
export const WIDE_CROP_DIMS: Dims3 = [40, 56, 40];

/** Centroid (voxel coordinates) and share of voxels on the grid's faces of a non-empty mask. */
export interface MaskGeometry {
  readonly centroid: Vec3;
  readonly edgeFraction: number;
}

/**
 * An MSD-framed crop inside a registration box: same orientation and lattice as the box
 * (so crops of an axis-aligned 1 mm scan are exact voxel copies), MSD's size (or `dims`), placed so
 * that `centre` (box voxel coordinates of the hippocampus centroid) lies where MSD crops have it.
 */
export function msdFrame(box: HippocampusBox, centre: Vec3, dims: Dims3 = MSD_CROP_DIMS): HippocampusBox {
  const first = dims.map((d, a) => Math.round(centre[a] - MSD_CENTROID_OFFSET[a] - (d - 1) / 2));
  const shift = mat4([1, 0, 0, first[0], 0, 1, 0, first[1], 0, 0, 1, first[2], 0, 0, 0, 1]);
  return { ...box, grid: { dims, affine: multiply(box.grid.affine, shift) } };
}

/** The first guess of the hippocampus centroid in box voxels: AAL's registered centre, corrected. */
export function expectedCentre(box: HippocampusBox): Vec3 {
  const aal = applyToPoint(invert(box.grid.affine), box.centreMm);
  return [aal[0] + AAL_TO_HIPPOCAMPUS[0], aal[1] + AAL_TO_HIPPOCAMPUS[1], aal[2] + AAL_TO_HIPPOCAMPUS[2]];
}

/** A frame's voxel coordinates mapped into its registration box's voxels (a shift). */
export function frameToBox(frame: HippocampusBox, box: HippocampusBox, p: Vec3): Vec3 {
  return applyToPoint(multiply(invert(box.grid.affine), frame.grid.affine), p);
}

/** Centroid of a mask (voxel coordinates, i fastest) and the fraction of it on the grid's faces; null when empty. */
export function maskGeometry(mask: Uint8Array, dims: Dims3): MaskGeometry | null {
  const [nx, ny, nz] = dims;
  let count = 0;
  let edge = 0;
  const sum = [0, 0, 0];
  for (let k = 0, n = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      for (let i = 0; i < nx; i++, n++) {
        if (!mask[n]) continue;
        count++;
        sum[0] += i;
        sum[1] += j;
        sum[2] += k;
        if (i === 0 || j === 0 || k === 0 || i === nx - 1 || j === ny - 1 || k === nz - 1) edge++;
      }
    }
  }
  if (count === 0) return null;
  return { centroid: [sum[0] / count, sum[1] / count, sum[2] / count], edgeFraction: edge / count };
}
