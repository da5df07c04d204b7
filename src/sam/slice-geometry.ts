/**
 * Which 2-D image SAM sees for a slice of a volume, and the exact map between its pixels and
 * the volume's voxels.
 *
 * A plane is named by the world axis it holds fixed (sagittal: x, coronal: y, axial: z, in
 * RAS+). The slice axis is the voxel axis that runs along that world axis (nibabel's
 * `io_orientation`, as NiiVue), so slicing never resamples: pixel (x, y) of slice s is exactly
 * one voxel, and a mask on the slice grid goes back to the input grid voxel for voxel.
 *
 * The image is laid out as a viewer shows it, so that SAM (trained on upright photographs)
 * sees the head upright: columns run toward R (coronal, axial) or A (sagittal), rows run
 * toward I (coronal, sagittal) or P (axial): row 0 is the top of the head or the nose.
 */
import { axisOrientation, type WorldAxis } from '../core/orientation';
import type { Dims3, Mat4, SpacingMm } from '../core/volume';

export type PlaneName = 'sagittal' | 'coronal' | 'axial';
export const PLANES: readonly PlaneName[] = ['sagittal', 'coronal', 'axial'];
/** The CLI's `--axis` word for all three planes (`seahorse prompt`, `seahorse finetune --model sam`). */
export const ALL_PLANES = 'all';
/** What a fine-tuning run trains on: the slices of one plane, or of all three. */
export type TrainingAxis = PlaneName | typeof ALL_PLANES;

export type VoxelAxis = 0 | 1 | 2;

/** World axes of each plane: fixed, along the columns, down the rows. */
const PLANE_WORLD: Record<PlaneName, { readonly fixed: WorldAxis; readonly col: WorldAxis; readonly row: WorldAxis }> = {
  sagittal: { fixed: 0, col: 1, row: 2 },
  coronal: { fixed: 1, col: 0, row: 2 },
  axial: { fixed: 2, col: 0, row: 1 },
};

/** How one plane of one grid maps to 2-D images. */
export interface SlicePlane {
  readonly plane: PlaneName;
  /** The voxel axis held fixed on a slice; slice index s is its voxel index. */
  readonly sliceAxis: VoxelAxis;
  readonly sliceCount: number;
  /** The voxel axis along the image columns (x), reversed when `colFlip`. */
  readonly colAxis: VoxelAxis;
  readonly colFlip: boolean;
  /** The voxel axis down the image rows (y), reversed when `rowFlip`. */
  readonly rowAxis: VoxelAxis;
  readonly rowFlip: boolean;
  /** Image width and height in pixels. */
  readonly width: number;
  readonly height: number;
  /** Millimetres per pixel along x and y (voxels need not be square). */
  readonly pixelMm: readonly [number, number];
}

export function slicePlane(dims: Dims3, affine: Mat4, spacing: SpacingMm, plane: PlaneName): SlicePlane {
  const o = axisOrientation(affine);
  const voxelAxisOf = (w: WorldAxis) => o.worldAxis.indexOf(w) as VoxelAxis;
  const world = PLANE_WORLD[plane];
  const sliceAxis = voxelAxisOf(world.fixed);
  const colAxis = voxelAxisOf(world.col);
  const rowAxis = voxelAxisOf(world.row);
  return {
    plane,
    sliceAxis,
    sliceCount: dims[sliceAxis],
    colAxis,
    // Columns run toward the positive world end (R or A): reverse a voxel axis that points to L or P.
    colFlip: o.negative[colAxis],
    rowAxis,
    // Rows run toward the negative world end (I or P): reverse a voxel axis that points to S or A.
    rowFlip: !o.negative[rowAxis],
    width: dims[colAxis],
    height: dims[rowAxis],
    pixelMm: [spacing[colAxis], spacing[rowAxis]],
  };
}

/** Voxel (i, j, k) of pixel (x, y) on slice s. */
export function voxelOfPixel(p: SlicePlane, s: number, x: number, y: number): [number, number, number] {
  const v: [number, number, number] = [0, 0, 0];
  v[p.sliceAxis] = s;
  v[p.colAxis] = p.colFlip ? p.width - 1 - x : x;
  v[p.rowAxis] = p.rowFlip ? p.height - 1 - y : y;
  return v;
}

/** Slice s and pixel (x, y) of voxel (i, j, k). */
export function pixelOfVoxel(p: SlicePlane, v: readonly [number, number, number]): { s: number; x: number; y: number } {
  const c = v[p.colAxis];
  const r = v[p.rowAxis];
  return { s: v[p.sliceAxis], x: p.colFlip ? p.width - 1 - c : c, y: p.rowFlip ? p.height - 1 - r : r };
}

/** Linear voxel index of each pixel of a slice, row-major (pixel x + width · y). */
export function sliceVoxelIndices(p: SlicePlane, dims: Dims3, s: number): Uint32Array {
  if (!Number.isInteger(s) || s < 0 || s >= p.sliceCount) throw new RangeError(`slice ${s} is outside the ${p.plane} range 0–${p.sliceCount - 1}`);
  const stride = [1, dims[0], dims[0] * dims[1]];
  const out = new Uint32Array(p.width * p.height);
  const base = s * stride[p.sliceAxis];
  const colStride = stride[p.colAxis];
  const rowStride = stride[p.rowAxis];
  for (let y = 0; y < p.height; y++) {
    const r = p.rowFlip ? p.height - 1 - y : y;
    for (let x = 0; x < p.width; x++) {
      const c = p.colFlip ? p.width - 1 - x : x;
      out[x + p.width * y] = base + c * colStride + r * rowStride;
    }
  }
  return out;
}

/** The slice's voxel values as a row-major float image. */
export function extractSlice(p: SlicePlane, dims: Dims3, data: ArrayLike<number>, s: number): Float32Array {
  const idx = sliceVoxelIndices(p, dims, s);
  const out = new Float32Array(idx.length);
  for (let q = 0; q < idx.length; q++) out[q] = data[idx[q]];
  return out;
}
