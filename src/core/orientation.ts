/**
 * Voxel-axis orientation: which world (RAS) axis each voxel axis runs along, and the
 * exact permute/flip that brings a volume to the closest canonical RAS+ orientation
 * (nibabel's `as_closest_canonical`), with its inverse so that masks computed on the
 * RAS grid map back to the input grid voxel for voxel.
 *
 * NiiVue agrees: its `calculateRAS` picks, voxel axis by voxel axis, the free world
 * axis with the largest |affine| entry in that column and flips axes that point to
 * L, P or I (`permRAS`); `img2RAS()` reorders the voxels so. We do the same on the
 * orthogonal factor of the affine (nibabel's `io_orientation`), which differs only for
 * sheared affines and at exact 45° ties. orientation.test.ts checks `permRAS` and the
 * voxels of `img2RAS()` against ours on the LIA full-head sample.
 */
import { closestOrthogonal, fromLinear, linearPart, multiply } from './affine';
import { mat4, voxelCount, type Dims3, type Mat4, type Volume, type VoxelArray } from './volume';

/** World axis index: 0 = x (R+), 1 = y (A+), 2 = z (S+). */
export type WorldAxis = 0 | 1 | 2;

/**
 * For each voxel axis (i, j, k): the world axis it runs along and whether increasing
 * the index moves toward the negative end (L, P or I).
 */
export interface AxisOrientation {
  readonly worldAxis: readonly [WorldAxis, WorldAxis, WorldAxis];
  readonly negative: readonly [boolean, boolean, boolean];
}

const CODES_POSITIVE = ['R', 'A', 'S'] as const;
const CODES_NEGATIVE = ['L', 'P', 'I'] as const;

/**
 * nibabel's `io_orientation`: take the orthogonal factor R of the direction matrix
 * (polar decomposition, which ignores voxel size and shear), then for each voxel axis
 * in turn pick the world axis with the largest |R| entry not yet taken.
 */
export function axisOrientation(affine: Mat4): AxisOrientation {
  const lin = linearPart(affine);
  for (let col = 0; col < 3; col++) {
    const norm = Math.hypot(lin[col], lin[3 + col], lin[6 + col]);
    if (norm === 0) throw new Error(`voxel axis ${col} has zero length in the affine`);
    for (let row = 0; row < 3; row++) lin[3 * row + col] /= norm;
  }
  const r = closestOrthogonal(lin);
  const taken = [false, false, false];
  const worldAxis: WorldAxis[] = [];
  const negative: boolean[] = [];
  for (let col = 0; col < 3; col++) {
    let best = -1;
    for (let row = 0; row < 3; row++) {
      if (taken[row]) continue;
      if (best < 0 || Math.abs(r[3 * row + col]) > Math.abs(r[3 * best + col])) best = row;
    }
    taken[best] = true;
    worldAxis.push(best as WorldAxis);
    negative.push(r[3 * best + col] < 0);
  }
  return {
    worldAxis: worldAxis as unknown as AxisOrientation['worldAxis'],
    negative: negative as unknown as AxisOrientation['negative'],
  };
}

/** Orientation code such as `RAS` or `LIA` (the direction each voxel axis increases toward). */
export function axisCodes(affine: Mat4): string {
  const o = axisOrientation(affine);
  return o.worldAxis.map((w, a) => (o.negative[a] ? CODES_NEGATIVE[w] : CODES_POSITIVE[w])).join('');
}

/**
 * An exact voxel permutation + flip between an input grid and a reoriented grid.
 * Output axis `outputAxis[a]` carries input axis `a`, reversed when `flip[a]`.
 */
export interface Reorientation {
  readonly inputDims: Dims3;
  /** The input's affine, kept so the inverse restores it bit for bit. */
  readonly inputAffine: Mat4;
  readonly outputAxis: readonly [number, number, number];
  readonly flip: readonly [boolean, boolean, boolean];
  /** Dims of the reoriented grid. */
  readonly outputDims: Dims3;
  /** Reoriented voxel (i, j, k) → input voxel; integer entries. */
  readonly outputToInputVoxel: Mat4;
}

/** The permute/flip that takes a grid with this affine to the closest RAS+ orientation. */
export function rasReorientation(dims: Dims3, affine: Mat4): Reorientation {
  const o = axisOrientation(affine);
  const outputDims = [0, 0, 0];
  const t = new Float64Array(16);
  t[15] = 1;
  for (let a = 0; a < 3; a++) {
    const out = o.worldAxis[a];
    outputDims[out] = dims[a];
    // input index a = flip ? (n_a − 1 − output index) : output index
    t[4 * a + out] = o.negative[a] ? -1 : 1;
    t[4 * a + 3] = o.negative[a] ? dims[a] - 1 : 0;
  }
  return {
    inputDims: dims,
    inputAffine: affine,
    outputAxis: [...o.worldAxis],
    flip: [...o.negative],
    outputDims: outputDims as unknown as Dims3,
    outputToInputVoxel: mat4(t),
  };
}

/** Whether the reorientation changes nothing (already RAS+). */
export function isIdentityReorientation(r: Reorientation): boolean {
  return r.outputAxis.every((out, a) => out === a) && r.flip.every((f) => !f);
}

function newLike<T extends VoxelArray>(data: T, n: number): T {
  return new (data.constructor as new (n: number) => T)(n);
}

/**
 * Copies `src` (on `srcDims`, i fastest) to the grid where source axis a becomes
 * destination axis `axisMap[a]`, reversed when `flip[a]`.
 */
function permuteFlip<T extends VoxelArray>(
  src: T,
  srcDims: Dims3,
  axisMap: readonly number[],
  flip: readonly boolean[],
): { data: T; dims: Dims3 } {
  const srcStride = [1, srcDims[0], srcDims[0] * srcDims[1]];
  const dims = [0, 0, 0];
  const step = [0, 0, 0];
  let start = 0;
  for (let a = 0; a < 3; a++) {
    const d = axisMap[a];
    dims[d] = srcDims[a];
    step[d] = flip[a] ? -srcStride[a] : srcStride[a];
    if (flip[a]) start += (srcDims[a] - 1) * srcStride[a];
  }
  const out = newLike(src, voxelCount(srcDims));
  let n = 0;
  for (let k = 0, pk = start; k < dims[2]; k++, pk += step[2]) {
    for (let j = 0, pj = pk; j < dims[1]; j++, pj += step[1]) {
      for (let i = 0, p = pj; i < dims[0]; i++, p += step[0]) out[n++] = src[p];
    }
  }
  return { data: out, dims: dims as unknown as Dims3 };
}

/** Applies a reorientation: input grid → reoriented grid (voxels copied, affine composed). */
export function applyReorientation<T extends VoxelArray>(vol: Volume<T>, r: Reorientation): Volume<T> {
  const { data, dims } = permuteFlip(vol.data, vol.dims, r.outputAxis, r.flip);
  const affine = multiply(vol.affine, r.outputToInputVoxel);
  const spacing: [number, number, number] = [0, 0, 0];
  for (let a = 0; a < 3; a++) spacing[r.outputAxis[a]] = vol.spacing[a];
  return { dims, spacing, affine, data };
}

/**
 * Inverse of `applyReorientation`: a volume on the reoriented grid back onto the input
 * grid, with the input's own affine (not a recomputed one).
 */
export function undoReorientation<T extends VoxelArray>(vol: Volume<T>, r: Reorientation): Volume<T> {
  if (vol.dims.some((d, a) => d !== r.outputDims[a])) {
    throw new Error(`volume dims ${vol.dims.join('×')} do not match the reoriented grid ${r.outputDims.join('×')}`);
  }
  if (isIdentityReorientation(r)) return { ...vol, affine: r.inputAffine };
  const inverseAxis = [0, 0, 0];
  const inverseFlip = [false, false, false];
  for (let a = 0; a < 3; a++) {
    inverseAxis[r.outputAxis[a]] = a;
    inverseFlip[r.outputAxis[a]] = r.flip[a];
  }
  const { data, dims } = permuteFlip(vol.data, vol.dims, inverseAxis, inverseFlip);
  const spacing: [number, number, number] = [0, 0, 0];
  for (let a = 0; a < 3; a++) spacing[a] = vol.spacing[r.outputAxis[a]];
  return { dims, spacing, affine: r.inputAffine, data };
}

/**
 * The closest canonical (RAS+) orientation of a volume, like nibabel's
 * `as_closest_canonical`: an exact voxel permutation and flip, no interpolation.
 * Returns the reoriented volume (the input itself when it is already RAS+) and the
 * mapping `undoReorientation` needs.
 */
export function reorientToRAS<T extends VoxelArray>(vol: Volume<T>): { volume: Volume<T>; reorientation: Reorientation } {
  const reorientation = rasReorientation(vol.dims, vol.affine);
  // Already RAS: the same volume, no copy (callers never mutate it).
  if (isIdentityReorientation(reorientation)) return { volume: vol, reorientation };
  return { volume: applyReorientation(vol, reorientation), reorientation };
}

/** An axis-aligned RAS affine with the given voxel size and origin (voxel 0 centre), for tests and conformed grids. */
export function rasAffine(spacing: readonly [number, number, number], origin: readonly [number, number, number]): Mat4 {
  return fromLinear([spacing[0], 0, 0, 0, spacing[1], 0, 0, 0, spacing[2]], origin);
}
