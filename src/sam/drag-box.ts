/**
 * A 3-D box from two boxes dragged on slices of two different planes, as the prompt tool takes
 * it: a drag on a coronal slice says where the structure lies left–right and up–down, one on a
 * sagittal or axial slice adds front–back. Each voxel axis takes its range from the drags
 * that lie across it (in their plane); the axis both lie across takes the union of their
 * ranges. A drag is the structure's rectangle on one slice, narrower than its whole extent, so
 * an axis only one drag sets is widened by `SINGLE_DRAG_PAD` of its length on each side.
 */
import type { Dims3 } from '../core/volume';
import type { VoxelBoxPrompt, Voxel } from './prompt-volume';
import type { PlaneName, VoxelAxis } from './slice-geometry';

/** A box dragged on one slice, its corners in voxel indices of the scan. */
export interface SliceDrag {
  readonly plane: PlaneName;
  /** The voxel axis the slice holds fixed (its plane's `sliceAxis`): both corners share it. */
  readonly sliceAxis: VoxelAxis;
  readonly a: Voxel;
  readonly b: Voxel;
}

/**
 * How far an axis set by one drag alone is widened, as a fraction of its length, each side.
 * Measured on the synthetic training heads' label maps (8 heads, the twelve aseg structures;
 * each drag the structure's rectangle + 2 px on the slice where it is largest): without it the
 * box held 94.5 % of a structure's voxels and 0.65 of the volume of its bounding box + 2 voxels
 * (the boxes the shape prior was learned from); at 0.1, 98.0 % and 0.94; at 0.15, 98.7 % and
 * 1.10 (bench/RESULTS.md, "The prompt tool's 3-D box"). 0.1 is the nearer to the prior's boxes.
 */
export const SINGLE_DRAG_PAD = 0.1;

/**
 * The 3-D box of two drags on different planes, with `label`, widened by `pad` and kept inside
 * a grid of `dims`. Refused, with the reason, when both are on one plane, or when the slice of
 * one lies outside the other's range along that slice's axis: then the two rectangles do not
 * meet, and no box holds both.
 */
export function boxOfDrags(label: number, first: SliceDrag, second: SliceDrag, dims: Dims3, pad = SINGLE_DRAG_PAD): VoxelBoxPrompt {
  if (first.sliceAxis === second.sliceAxis) throw new Error(`both boxes are on ${first.plane} slices: drag the second on another plane (the crosshair's other views)`);
  const range = (axis: VoxelAxis): readonly [number, number] => {
    const across = [first, second].filter((d) => d.sliceAxis !== axis);
    return [Math.min(...across.map((d) => Math.min(d.a[axis], d.b[axis]))), Math.max(...across.map((d) => Math.max(d.a[axis], d.b[axis])))];
  };
  const ranges = [range(0), range(1), range(2)];
  const lo: Voxel = [ranges[0][0], ranges[1][0], ranges[2][0]];
  const hi: Voxel = [ranges[0][1], ranges[1][1], ranges[2][1]];
  for (const [d, other] of [[first, second], [second, first]] as const) {
    const s = d.a[d.sliceAxis];
    if (s < lo[d.sliceAxis] || s > hi[d.sliceAxis]) {
      throw new Error(`the two boxes do not meet: the ${d.plane} box is on slice ${s}, outside the ${other.plane} box's range ${lo[d.sliceAxis]}–${hi[d.sliceAxis]} there; drag each on a slice through the structure`);
    }
  }
  const widen = (axis: VoxelAxis) => (first.sliceAxis === axis || second.sliceAxis === axis ? Math.round(pad * (hi[axis] - lo[axis] + 1)) : 0);
  const w: Voxel = [widen(0), widen(1), widen(2)];
  return {
    label,
    lo: [Math.max(lo[0] - w[0], 0), Math.max(lo[1] - w[1], 0), Math.max(lo[2] - w[2], 0)],
    hi: [Math.min(hi[0] + w[0], dims[0] - 1), Math.min(hi[1] + w[1], dims[1] - 1), Math.min(hi[2] + w[2], dims[2] - 1)],
  };
}
