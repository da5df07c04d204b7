/**
 * A 3-D box from boxes dragged on slices of two or three different planes, as the prompt tool
 * takes it: a drag on a coronal slice says where the structure lies left–right and up–down, one
 * on a sagittal or axial slice adds front–back, a third on the last view tightens both. Each
 * voxel axis takes the union of the ranges of the drags that lie across it (in their plane). A
 * drag is the structure's rectangle on one slice, narrower than its whole extent, so an axis
 * only one drag sets is widened by `SINGLE_DRAG_PAD` of its length on each side.
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
 * The 3-D box of two or three drags, each on a different plane, with `label`, widened by `pad`
 * and kept inside a grid of `dims`. With three, every axis lies across two drags and none is
 * widened. Refused, with the reason, when two drags are on one plane, or when the slice of one
 * lies outside another's range along that slice's axis: then the rectangles do not meet, and
 * no box holds them all.
 */
export function boxOfDrags(label: number, drags: readonly SliceDrag[], dims: Dims3, pad = SINGLE_DRAG_PAD): VoxelBoxPrompt {
  if (drags.length < 2 || drags.length > 3) throw new Error(`a 3-D box takes two or three drags, one per view; got ${drags.length}`);
  for (let i = 0; i < drags.length; i++) {
    for (let j = i + 1; j < drags.length; j++) {
      if (drags[i].sliceAxis === drags[j].sliceAxis) throw new Error(`two boxes are on ${drags[i].plane} slices: drag each on another plane (the crosshair's other views)`);
    }
  }
  const across = (axis: VoxelAxis) => drags.filter((d) => d.sliceAxis !== axis);
  const range = (axis: VoxelAxis): readonly [number, number] => {
    const ds = across(axis);
    return [Math.min(...ds.map((d) => Math.min(d.a[axis], d.b[axis]))), Math.max(...ds.map((d) => Math.max(d.a[axis], d.b[axis])))];
  };
  for (const d of drags) {
    const s = d.a[d.sliceAxis];
    for (const other of across(d.sliceAxis)) {
      const [lo, hi] = [Math.min(other.a[d.sliceAxis], other.b[d.sliceAxis]), Math.max(other.a[d.sliceAxis], other.b[d.sliceAxis])];
      if (s < lo || s > hi) {
        throw new Error(`the boxes do not meet: the ${d.plane} box is on slice ${s}, outside the ${other.plane} box's range ${lo}–${hi} there; drag each on a slice through the structure`);
      }
    }
  }
  const ranges = [range(0), range(1), range(2)];
  const widen = (axis: VoxelAxis) => (across(axis).length === 1 ? Math.round(pad * (ranges[axis][1] - ranges[axis][0] + 1)) : 0);
  const w: Voxel = [widen(0), widen(1), widen(2)];
  return {
    label,
    lo: [Math.max(ranges[0][0] - w[0], 0), Math.max(ranges[1][0] - w[1], 0), Math.max(ranges[2][0] - w[2], 0)],
    hi: [Math.min(ranges[0][1] + w[0], dims[0] - 1), Math.min(ranges[1][1] + w[1], dims[1] - 1), Math.min(ranges[2][1] + w[2], dims[2] - 1)],
  };
}
