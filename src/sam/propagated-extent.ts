/**
 * A check on the prompt tool's propagated mask: when the structure picked is one of the shape
 * prior's twelve, the mask's bounding box + 2 voxels (the acceptance protocol's margin, as the
 * prior's boxes were drawn) must be of a size the prior has seen (`priorMismatch`). Propagation
 * prompts each slice with the previous mask's box; on MRI it often runs on past the structure's
 * end, or stops short, and the mask then spans a box no such structure fills. Measured by
 * `npm run bench -- sam-propagate` (bench/RESULTS.md, "The prompt tool's propagation").
 */
import type { Dims3, Mat4 } from '../core/volume';
import { BOX_SIZE_TOLERANCE, boxSizeMm, priorMismatch, type BoxPrior } from './box-prior';
import type { VoxelBoxPrompt } from './prompt-volume';
import { voxelOfPixel, type SlicePlane } from './slice-geometry';

/** Voxels added around the propagated mask's bounding box: the acceptance protocol's box margin. */
export const PROPAGATED_BOX_MARGIN = 2;

/** One propagated slice: its index along the plane and SAM's mask on the slice grid. */
export interface PropagatedSlice {
  readonly slice: number;
  readonly mask: Uint8Array;
}

/** The 3-D bounding box of the slices' masks + `margin` voxels (inside the volume), labelled `label`; null when the masks are empty. */
export function propagatedBox(plane: SlicePlane, dims: Dims3, slices: readonly PropagatedSlice[], label: number, margin = PROPAGATED_BOX_MARGIN): VoxelBoxPrompt | null {
  const lo = [Infinity, Infinity, Infinity];
  const hi = [-Infinity, -Infinity, -Infinity];
  for (const s of slices) {
    for (let p = 0; p < s.mask.length; p++) {
      if (!s.mask[p]) continue;
      const ijk = voxelOfPixel(plane, s.slice, p % plane.width, Math.floor(p / plane.width));
      for (let a = 0; a < 3; a++) {
        lo[a] = Math.min(lo[a], ijk[a]);
        hi[a] = Math.max(hi[a], ijk[a]);
      }
    }
  }
  if (lo[0] === Infinity) return null;
  const below = (a: number) => Math.max(lo[a] - margin, 0);
  const above = (a: number) => Math.min(hi[a] + margin, dims[a] - 1);
  return { label, lo: [below(0), below(1), below(2)], hi: [above(0), above(1), above(2)] };
}

/**
 * Why the propagated mask of `label` is implausible, in words for the user, or null when its box
 * is of a size the prior has seen, or the prior does not know the label (nothing to check).
 */
export function propagationWarning(prior: BoxPrior, dims: Dims3, affine: Mat4, plane: SlicePlane, slices: readonly PropagatedSlice[], label: number): string | null {
  if (!prior.structures.has(label)) return null;
  const box = propagatedBox(plane, dims, slices, label);
  if (!box) return null;
  if (priorMismatch(prior, box, affine) === null) return null;
  const range = prior.sizes.get(label)!;
  const mm = (v: readonly number[]) => v.map((x) => Math.round(x)).join(' × ');
  return `its box is ${mm(boxSizeMm(box, affine))} mm (R × A × S) over ${slices.length} ${plane.plane} slices, unlike any box of label ${label} in the shape prior's label maps (${mm(range.minMm)} to ${mm(range.maxMm)} mm, by more than × ${BOX_SIZE_TOLERANCE}): propagation has probably run past the structure or stopped short. Check its first and last slices before accepting it`;
}
