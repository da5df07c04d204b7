import type { ImageLevel } from './levels';

/**
 * The fixed image's samples at one level: the voxels inside a mask, as world coordinates
 * centred on their mean (centring keeps the 12 affine parameters well conditioned), with
 * their intensities. Gathered once per level; the optimiser only reads them.
 */
export interface FixedPoints {
  readonly count: number;
  /** World RAS mm minus `centre`, xyz interleaved. */
  readonly xyz: Float64Array;
  readonly value: Float32Array;
  /** World RAS mm subtracted from every point. */
  readonly centre: readonly [number, number, number];
  /** Second moments E[x̃ x̃ᵀ] of (x̃, 1), row-major 4×4: turns a parameter step into an RMS displacement. */
  readonly moments: Float64Array;
}

/**
 * Points of `level` where `mask` (same grid) is non-zero, or every voxel without a mask.
 * `centre` fixes the coordinate origin (pass the same one at every level so parameters
 * carry over); it defaults to the points' mean.
 */
export function gatherFixedPoints(
  level: ImageLevel,
  mask?: ArrayLike<number>,
  centre?: readonly [number, number, number],
): FixedPoints {
  const [nx, ny, nz] = level.dims;
  const m = level.affine;
  let count = 0;
  for (let n = 0; n < level.data.length; n++) if (!mask || mask[n] !== 0) count++;
  const xyz = new Float64Array(3 * count);
  const value = new Float32Array(count);
  let p = 0;
  for (let k = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      for (let i = 0; i < nx; i++) {
        const n = i + nx * (j + ny * k);
        if (mask && mask[n] === 0) continue;
        xyz[3 * p] = m[0] * i + m[1] * j + m[2] * k + m[3];
        xyz[3 * p + 1] = m[4] * i + m[5] * j + m[6] * k + m[7];
        xyz[3 * p + 2] = m[8] * i + m[9] * j + m[10] * k + m[11];
        value[p] = level.data[n];
        p++;
      }
    }
  }
  let c = centre;
  if (!c) {
    const s = [0, 0, 0];
    for (let q = 0; q < count; q++) for (let a = 0; a < 3; a++) s[a] += xyz[3 * q + a];
    c = [s[0] / count, s[1] / count, s[2] / count];
  }
  const moments = new Float64Array(16);
  const h = [0, 0, 0, 1];
  for (let q = 0; q < count; q++) {
    for (let a = 0; a < 3; a++) {
      xyz[3 * q + a] -= c[a];
      h[a] = xyz[3 * q + a];
    }
    for (let r = 0; r < 4; r++) for (let s = 0; s < 4; s++) moments[4 * r + s] += h[r] * h[s];
  }
  for (let r = 0; r < 16; r++) moments[r] /= Math.max(1, count);
  return { count, xyz, value, centre: c, moments };
}
