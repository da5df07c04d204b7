/**
 * The boxes a user draws around a structure in the prompt tool, from its labels: on the slice of
 * a plane where the structure is largest, its bounding rectangle + a margin. Shared by the
 * benchmarks of the prompt tool's paths (sam-propagate, sam-box3d).
 */
import type { Volume } from '../../src/core/volume';
import type { BoxPrompt } from '../../src/sam/prompts';
import { extractSlice, type SlicePlane } from '../../src/sam/slice-geometry';

/** The acceptance's twelve aseg structures (issue 17), by code. */
export const TWELVE_STRUCTURES: Readonly<Record<number, string>> = {
  10: 'L thalamus', 11: 'L caudate', 12: 'L putamen', 13: 'L pallidum', 17: 'L hippocampus', 18: 'L amygdala',
  49: 'R thalamus', 50: 'R caudate', 51: 'R putamen', 52: 'R pallidum', 53: 'R hippocampus', 54: 'R amygdala',
};

/** The acceptance protocol's margin, in pixels of the slice: the box a user drags around the structure. */
export const USER_BOX_MARGIN = 2;

/** The slice of `plane` where label `code` covers most pixels, and its bounding rectangle there + `margin`, kept on the slice. */
export function largestSliceRect(plane: SlicePlane, labels: Volume, code: number, margin = USER_BOX_MARGIN): { slice: number; box: BoxPrompt } {
  let slice = -1, bestArea = 0;
  for (let s = 0; s < plane.sliceCount; s++) {
    const sl = extractSlice(plane, labels.dims, labels.data, s);
    let area = 0;
    for (let p = 0; p < sl.length; p++) area += +(sl[p] === code);
    if (area > bestArea) [slice, bestArea] = [s, area];
  }
  if (slice < 0) throw new Error(`no voxel of label ${code}`);
  const sl = extractSlice(plane, labels.dims, labels.data, slice);
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
  for (let p = 0; p < sl.length; p++) {
    if (sl[p] !== code) continue;
    const x = p % plane.width, y = Math.floor(p / plane.width);
    [x0, y0, x1, y1] = [Math.min(x0, x), Math.min(y0, y), Math.max(x1, x), Math.max(y1, y)];
  }
  return { slice, box: { x0: Math.max(x0 - margin, 0), y0: Math.max(y0 - margin, 0), x1: Math.min(x1 + margin, plane.width - 1), y1: Math.min(y1 + margin, plane.height - 1) } };
}

/** Dice of a mask given as voxel indices against label `code` of `labels`. */
export function diceOfVoxels(voxels: ArrayLike<number>, labels: ArrayLike<number>, code: number): number {
  let truth = 0;
  for (let v = 0; v < labels.length; v++) truth += +(labels[v] === code);
  let inter = 0;
  for (let q = 0; q < voxels.length; q++) inter += +(labels[voxels[q]] === code);
  return voxels.length + truth ? (2 * inter) / (voxels.length + truth) : NaN;
}
