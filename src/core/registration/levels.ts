import { applyToPoint, multiply, spacingFromAffine } from '../affine';
import { percentiles } from '../normalise';
import type { Dims3, Mat4, Volume } from '../volume';
import { mat4 } from '../volume';

/**
 * One resolution level of an image for registration: float voxels (i fastest, like
 * `Volume`), scaled so the bright tissue is near 1, with its voxel → world RAS mm affine.
 * The grid keeps the input's orientation: registration works world to world, so a level
 * never needs reorienting or an isotropic grid.
 */
export interface ImageLevel {
  readonly dims: Dims3;
  /** Voxel (i, j, k, 1) → world RAS mm. */
  readonly affine: Mat4;
  readonly data: Float32Array;
  /** Nominal voxel size of this level, mm (the target it was built for). */
  readonly levelMm: number;
}

/** Block factors that take a voxel size to about `targetMm` per axis (never below 1). */
export function blockFactors(spacing: readonly number[], targetMm: number): [number, number, number] {
  const f = (s: number) => Math.max(1, Math.round(targetMm / s));
  return [f(spacing[0]), f(spacing[1]), f(spacing[2])];
}

/**
 * Averages f0×f1×f2 blocks of voxels: a box filter then decimation, the cheapest
 * anti-aliased downsampling. Partial blocks at the far edges average the voxels they
 * have. The new voxel centre is the mean of the block's centres, so the affine gains a
 * scale f and an offset (f − 1) / 2 in voxel units. Non-finite input voxels count as 0.
 */
export function blockAverage(
  src: { readonly dims: Dims3; readonly affine: Mat4; readonly data: ArrayLike<number> },
  factors: readonly [number, number, number],
  levelMm: number,
): ImageLevel {
  const [nx, ny, nz] = src.dims;
  const [fx, fy, fz] = factors;
  const mx = Math.ceil(nx / fx);
  const my = Math.ceil(ny / fy);
  const mz = Math.ceil(nz / fz);
  const scaleShift = mat4([fx, 0, 0, (fx - 1) / 2, 0, fy, 0, (fy - 1) / 2, 0, 0, fz, (fz - 1) / 2, 0, 0, 0, 1]);
  const affine = multiply(src.affine, scaleShift);
  const data = src.data;
  if (fx === 1 && fy === 1 && fz === 1) {
    // One voxel per block (a level at the input's own size): the voxel itself, 0 + v as the sum gives it (−0 becomes 0).
    const copy = new Float32Array(data.length);
    for (let n = 0; n < copy.length; n++) {
      const v = data[n];
      copy[n] = v - v === 0 ? 0 + v : 0;
    }
    return { dims: [nx, ny, nz], affine, data: copy, levelMm };
  }
  const sum = new Float64Array(mx * my * mz);
  // Walk the source once in memory order; each block's voxels are added to its sum one by
  // one in that order (so the sums round as a voxel-by-voxel walk does).
  for (let k = 0; k < nz; k++) {
    const dk = ((k / fz) | 0) * mx * my;
    for (let j = 0; j < ny; j++) {
      const dj = dk + ((j / fy) | 0) * mx;
      const row = (k * ny + j) * nx;
      for (let i0 = 0, d = dj; i0 < nx; i0 += fx, d++) {
        const end = Math.min(i0 + fx, nx);
        let s = sum[d];
        for (let i = i0; i < end; i++) {
          const v = data[row + i];
          // v − v is 0 for finite numbers, NaN otherwise.
          if (v - v === 0) s += v;
        }
        sum[d] = s;
      }
    }
  }
  // Every voxel counts (non-finite ones as 0), so a block's count is its size: full blocks
  // f0·f1·f2, partial ones at the far edges what is left of each axis.
  const size = (n: number, f: number, b: number) => Math.min(f, n - b * f);
  const out = new Float32Array(mx * my * mz);
  for (let c = 0, d = 0; c < mz; c++) {
    for (let b = 0; b < my; b++) {
      const count = size(nz, fz, c) * size(ny, fy, b);
      for (let a = 0; a < mx; a++, d++) out[d] = sum[d] / (count * size(nx, fx, a));
    }
  }
  return { dims: [mx, my, mz], affine, data: out, levelMm };
}

/** The intensity percentile mapped to 1 (bright tissue: white matter or scalp fat in a T1 head). */
export const INTENSITY_PERCENTILE = 99;

/**
 * A coarse-to-fine pyramid, coarsest first. Each level is built from the finest source
 * that is still finer than it (the input for the first, then the previous level), so the
 * input is read once. Intensities are divided by the finest level's 99th percentile so
 * that the optimiser sees values near 1 whatever the scanner's units.
 */
export function buildPyramid(vol: Volume, levelsMm: readonly number[]): ImageLevel[] {
  const fineToCoarse = [...levelsMm].sort((a, b) => a - b);
  const levels: ImageLevel[] = [];
  let source: { dims: Dims3; affine: Mat4; data: ArrayLike<number> } = vol;
  for (const mm of fineToCoarse) {
    const level = blockAverage(source, blockFactors(spacingFromAffine(source.affine), mm), mm);
    levels.push(level);
    source = level;
  }
  const [high] = percentiles(levels[0].data, [INTENSITY_PERCENTILE]);
  const inv = high > 0 ? 1 / high : 1;
  for (const level of levels) {
    const d = level.data;
    for (let n = 0; n < d.length; n++) d[n] *= inv;
  }
  return levels.reverse();
}

/**
 * World position (RAS mm) of the centre of mass of the voxels brighter than the level's
 * mean: the head, roughly, whatever the background. Used to start registration with the
 * centres aligned.
 */
export function foregroundCentre(level: ImageLevel): [number, number, number] {
  const [nx, ny, nz] = level.dims;
  const d = level.data;
  let mean = 0;
  for (let n = 0; n < d.length; n++) mean += d[n];
  mean /= d.length;
  let si = 0, sj = 0, sk = 0, count = 0;
  for (let k = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      for (let i = 0; i < nx; i++) {
        if (d[i + nx * (j + ny * k)] <= mean) continue;
        si += i;
        sj += j;
        sk += k;
        count++;
      }
    }
  }
  if (count === 0) return applyToPoint(level.affine, [(nx - 1) / 2, (ny - 1) / 2, (nz - 1) / 2]);
  return applyToPoint(level.affine, [si / count, sj / count, sk / count]);
}
