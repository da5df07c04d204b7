/** Box prompts from reference labels: a structure's voxel bounding box plus a margin, clamped to the grid. */
import type { Dims3, VoxelArray } from '../core/volume';
import { boxOnSlice, type VoxelBoxPrompt } from './prompt-volume';
import type { SlicePlane } from './slice-geometry';

/** The inclusive voxel bounding boxes of `values` in a label volume (one pass), each grown by `margin` voxels; absent values are left out. */
export function labelBoxes(labels: ArrayLike<number> | VoxelArray, dims: Dims3, values: readonly number[], margin = 0): Map<number, VoxelBoxPrompt> {
  const at = new Map(values.map((v, i) => [v, i]));
  const lo = values.map(() => [Infinity, Infinity, Infinity]);
  const hi = values.map(() => [-1, -1, -1]);
  const [nx, ny] = dims;
  for (let p = 0; p < labels.length; p++) {
    const i = at.get(labels[p]);
    if (i === undefined) continue;
    const v = [p % nx, Math.floor(p / nx) % ny, Math.floor(p / (nx * ny))];
    for (let a = 0; a < 3; a++) {
      if (v[a] < lo[i][a]) lo[i][a] = v[a];
      if (v[a] > hi[i][a]) hi[i][a] = v[a];
    }
  }
  const grow = (c: number, a: number, d: number) => Math.min(Math.max(c + d, 0), dims[a] - 1);
  const out = new Map<number, VoxelBoxPrompt>();
  values.forEach((label, i) => {
    if (hi[i][0] < 0) return;
    out.set(label, {
      label,
      lo: [grow(lo[i][0], 0, -margin), grow(lo[i][1], 1, -margin), grow(lo[i][2], 2, -margin)],
      hi: [grow(hi[i][0], 0, margin), grow(hi[i][1], 1, margin), grow(hi[i][2], 2, margin)],
    });
  });
  return out;
}

/** The inclusive voxel bounding box of `value` in a label volume, grown by `margin` voxels; null when absent. */
export function labelBox(labels: ArrayLike<number> | VoxelArray, dims: Dims3, value: number, margin = 0): VoxelBoxPrompt | null {
  return labelBoxes(labels, dims, [value], margin).get(value) ?? null;
}

/**
 * A structure's 3-D bounding box seen along a plane: its rectangle on the slice grid (inclusive
 * pixels; the union of its outlines on every slice) and the slices it spans (s0…s1). The
 * rectangle is what a 3-D box prompt (`seahorse prompt --box`) gives on each slice of its range.
 */
export interface PlaneExtent {
  readonly x0: number;
  readonly y0: number;
  readonly x1: number;
  readonly y1: number;
  readonly s0: number;
  readonly s1: number;
}

/** Each present structure's tight 3-D bounding box along `plane` (no margin). */
export function planeExtents(plane: SlicePlane, labels: ArrayLike<number> | VoxelArray, dims: Dims3, structures: readonly number[]): Map<number, PlaneExtent> {
  return new Map([...labelBoxes(labels, dims, structures)].map(([label, box]) => [label, boxOnSlice(plane, box)]));
}
