import { invert, multiply, spacingFromAffine } from '../affine';
import type { Grid } from '../resample';
import type { LabelVolume } from '../volume';
import type { HippocampusBox } from './roi';

/** A mask computed on a hippocampus box's grid (non-zero = hippocampus), with its box. */
export interface BoxMask {
  readonly box: HippocampusBox;
  /** On `box.grid`, i fastest; any non-zero value counts as hippocampus. */
  readonly mask: Uint8Array;
}

/** Slack so that a scan voxel centre exactly between two box voxels always picks the same one. */
const ROUND_EPS = 1e-9;

/**
 * Pastes box masks back onto the scan's own grid: each scan voxel takes the box voxel
 * nearest to its centre (through the exact affine composition scan voxel → world → box
 * voxel) and gets the box's label (1 left, 2 right). Only scan voxels inside each box's
 * bounding region are visited. Where boxes overlap, the first mask that claims a voxel
 * keeps it. The result has the scan's grid and affine, always.
 */
export function pasteBoxMasks(scan: Grid, masks: readonly BoxMask[]): LabelVolume {
  const [nx, ny, nz] = scan.dims;
  const out = new Uint8Array(nx * ny * nz);
  for (const { box, mask } of masks) {
    const [bx, by, bz] = box.grid.dims;
    if (mask.length !== bx * by * bz) throw new Error(`the ${box.side} mask has ${mask.length} voxels, its box ${bx * by * bz}`);
    const toBox = multiply(invert(box.grid.affine), scan.affine);
    const lo = [Infinity, Infinity, Infinity];
    const hi = [-Infinity, -Infinity, -Infinity];
    // The scan-voxel region covering the box: its corners (outer voxel edges) mapped into the scan.
    const toScan = multiply(invert(scan.affine), box.grid.affine);
    for (const i of [-0.5, bx - 0.5]) for (const j of [-0.5, by - 0.5]) for (const k of [-0.5, bz - 0.5]) {
      const p = [0, 1, 2].map((r) => toScan[4 * r] * i + toScan[4 * r + 1] * j + toScan[4 * r + 2] * k + toScan[4 * r + 3]);
      for (let a = 0; a < 3; a++) {
        lo[a] = Math.min(lo[a], p[a]);
        hi[a] = Math.max(hi[a], p[a]);
      }
    }
    const from = lo.map((v) => Math.max(0, Math.floor(v)));
    const to = hi.map((v, a) => Math.min(scan.dims[a] - 1, Math.ceil(v)));
    const m = toBox;
    for (let k = from[2]; k <= to[2]; k++) {
      for (let j = from[1]; j <= to[1]; j++) {
        for (let i = from[0]; i <= to[0]; i++) {
          const n = i + nx * (j + ny * k);
          if (out[n] !== 0) continue;
          const x = Math.round(m[0] * i + m[1] * j + m[2] * k + m[3] + ROUND_EPS);
          const y = Math.round(m[4] * i + m[5] * j + m[6] * k + m[7] + ROUND_EPS);
          const z = Math.round(m[8] * i + m[9] * j + m[10] * k + m[11] + ROUND_EPS);
          if (x < 0 || y < 0 || z < 0 || x >= bx || y >= by || z >= bz) continue;
          if (mask[x + bx * (y + by * z)] !== 0) out[n] = box.label;
        }
      }
    }
  }
  return { dims: scan.dims, affine: scan.affine, spacing: spacingFromAffine(scan.affine), data: out };
}
