import { applyToPoint, multiply } from '../affine';
import { rasAffine, rasReorientation } from '../orientation';
import type { Grid } from '../resample';
import { resampleLinear } from '../resample';
import type { Volume } from '../volume';

/**
 * The conformed space of a scan: RAS+ axes, 1 mm voxels, covering the scan's field of
 * view. Everything the full-head path decides (hippocampus boxes, crops fed to the model)
 * lives on this grid; it relates to the input grid only through the two affines, so a
 * mask on any sub-box maps back to the input voxels exactly (nearest neighbour on the
 * affine composition), and crops are read from the input directly, never from a
 * resampled copy.
 */
export const CONFORMED_MM = 1;

/** Rounding slack when deciding that an affine is already a 1 mm axis-aligned grid. */
const AXIS_ALIGNED_TOLERANCE = 1e-4;

/**
 * The conformed grid of a scan. When the scan is already axis-aligned with 1 mm voxels
 * (the common case for research T1s and for the sample), it is the exact RAS
 * reorientation of the input's own grid: the same voxel centres, so reading it needs no
 * interpolation. Otherwise it is a RAS 1 mm grid whose voxels tile the bounding box of
 * the input's field of view (outer voxel edges), centred on it.
 */
export function conformedGrid(vol: Pick<Volume, 'dims' | 'affine'>): Grid {
  const r = rasReorientation(vol.dims, vol.affine);
  const a = multiply(vol.affine, r.outputToInputVoxel);
  const aligned = [0, 1, 2].every(
    (row) => [0, 1, 2].every((col) => Math.abs(a[4 * row + col] - (row === col ? CONFORMED_MM : 0)) < AXIS_ALIGNED_TOLERANCE),
  );
  if (aligned) return { dims: r.outputDims, affine: a };
  const lo = [Infinity, Infinity, Infinity];
  const hi = [-Infinity, -Infinity, -Infinity];
  for (const i of [-0.5, vol.dims[0] - 0.5]) {
    for (const j of [-0.5, vol.dims[1] - 0.5]) {
      for (const k of [-0.5, vol.dims[2] - 0.5]) {
        const p = applyToPoint(vol.affine, [i, j, k]);
        for (let c = 0; c < 3; c++) {
          lo[c] = Math.min(lo[c], p[c]);
          hi[c] = Math.max(hi[c], p[c]);
        }
      }
    }
  }
  const dims = [0, 1, 2].map((c) => Math.max(1, Math.ceil((hi[c] - lo[c]) / CONFORMED_MM))) as [number, number, number];
  // Centre the voxel lattice on the field of view.
  const origin = [0, 1, 2].map((c) => (lo[c] + hi[c]) / 2 - ((dims[c] - 1) * CONFORMED_MM) / 2) as [number, number, number];
  return { dims, affine: rasAffine([CONFORMED_MM, CONFORMED_MM, CONFORMED_MM], origin) };
}

/**
 * The scan resampled onto its conformed grid, or onto another RAS grid such as NiiVue's
 * 256³ one (trilinear; exact voxel copies when the grid is the scan's reorientation).
 */
export function conform(vol: Volume, grid: Grid = conformedGrid(vol)): Volume<Float32Array> {
  return resampleLinear(vol, grid.dims, grid.affine);
}

