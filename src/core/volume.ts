/**
 * A scalar 3-D image on a voxel grid, the unit every stage of Seahorse passes around.
 *
 * Memory order is NIfTI's: voxel (i, j, k) lives at `i + nx * (j + ny * k)` (i fastest).
 * `affine` maps voxel indices to world coordinates in RAS+ millimetres (NIfTI's
 * sform/qform convention, what nibabel calls `affine` and NiiVue calls `matRAS`).
 */

/** A 4×4 matrix, row-major: `m[4 * row + col]`. */
export type Mat4 = Float64Array & { readonly length: 16 };

/** Voxel counts along i, j, k. */
export type Dims3 = readonly [number, number, number];

/** Millimetres along i, j, k. */
export type SpacingMm = readonly [number, number, number];

/** Typed arrays a scan can arrive in (NIfTI datatypes we read). */
export type VoxelArray =
  | Uint8Array
  | Int8Array
  | Uint16Array
  | Int16Array
  | Uint32Array
  | Int32Array
  | Float32Array
  | Float64Array;

export interface Volume<T extends VoxelArray = VoxelArray> {
  /** Voxel counts (nx, ny, nz). */
  readonly dims: Dims3;
  /** Voxel size in mm, derived from the affine's column norms. */
  readonly spacing: SpacingMm;
  /** Voxel (i, j, k, 1) → world RAS+ mm. */
  readonly affine: Mat4;
  /** Voxel values, i fastest; `data.length === nx * ny * nz`. */
  readonly data: T;
}

/** A label volume: same grid as the image it was computed from. */
export type LabelVolume = Volume<Uint8Array>;

export function voxelCount(dims: Dims3): number {
  return dims[0] * dims[1] * dims[2];
}

export function mat4(values: ArrayLike<number>): Mat4 {
  if (values.length !== 16) throw new Error(`a 4×4 matrix needs 16 values, got ${values.length}`);
  return Float64Array.from(values) as Mat4;
}

export function identity4(): Mat4 {
  return mat4([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]);
}
