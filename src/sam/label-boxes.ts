/** Box prompts from reference labels: a structure's voxel bounding box plus a margin, clamped to the grid. */
import type { Dims3, VoxelArray } from '../core/volume';
import type { VoxelBoxPrompt } from './prompt-volume';

/** The inclusive voxel bounding box of `value` in a label volume, grown by `margin` voxels; null when absent. */
export function labelBox(labels: ArrayLike<number> | VoxelArray, dims: Dims3, value: number, margin = 0): VoxelBoxPrompt | null {
  const lo = [Infinity, Infinity, Infinity];
  const hi = [-1, -1, -1];
  const [nx, ny] = dims;
  for (let p = 0; p < labels.length; p++) {
    if (labels[p] !== value) continue;
    const v = [p % nx, Math.floor(p / nx) % ny, Math.floor(p / (nx * ny))];
    for (let a = 0; a < 3; a++) {
      if (v[a] < lo[a]) lo[a] = v[a];
      if (v[a] > hi[a]) hi[a] = v[a];
    }
  }
  if (hi[0] < 0) return null;
  const grow = (c: number, a: number, d: number) => Math.min(Math.max(c + d, 0), dims[a] - 1);
  return {
    label: value,
    lo: [grow(lo[0], 0, -margin), grow(lo[1], 1, -margin), grow(lo[2], 2, -margin)],
    hi: [grow(hi[0], 0, margin), grow(hi[1], 1, margin), grow(hi[2], 2, margin)],
  };
}
