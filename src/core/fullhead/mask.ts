import type { Dims3 } from '../volume';

/**
 * Binary dilation by `steps` passes of the 6-neighbourhood: the result is every voxel
 * within city-block distance `steps` of the mask (a diamond, a cheap stand-in for a ball
 * when all we need is "the brain plus a rim").
 */
export function dilate6(mask: Uint8Array, dims: Dims3, steps: number): Uint8Array {
  const [nx, ny, nz] = dims;
  const sxy = nx * ny;
  let cur = mask.slice();
  for (let s = 0; s < steps; s++) {
    const next = cur.slice();
    for (let k = 0; k < nz; k++) {
      for (let j = 0; j < ny; j++) {
        for (let i = 0; i < nx; i++) {
          const n = i + nx * j + sxy * k;
          if (cur[n]) continue;
          if (
            (i > 0 && cur[n - 1]) || (i < nx - 1 && cur[n + 1]) ||
            (j > 0 && cur[n - nx]) || (j < ny - 1 && cur[n + nx]) ||
            (k > 0 && cur[n - sxy]) || (k < nz - 1 && cur[n + sxy])
          ) next[n] = 1;
        }
      }
    }
    cur = next;
  }
  return cur;
}

/** Voxels of a mask (any non-zero) that touch a zero voxel or the grid's edge (6-neighbourhood). */
export function outline6(mask: ArrayLike<number>, dims: Dims3): Uint8Array {
  const [nx, ny, nz] = dims;
  const sxy = nx * ny;
  const out = new Uint8Array(nx * ny * nz);
  for (let k = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      for (let i = 0; i < nx; i++) {
        const n = i + nx * j + sxy * k;
        if (!mask[n]) continue;
        const edge =
          i === 0 || i === nx - 1 || j === 0 || j === ny - 1 || k === 0 || k === nz - 1 ||
          !mask[n - 1] || !mask[n + 1] || !mask[n - nx] || !mask[n + nx] || !mask[n - sxy] || !mask[n + sxy];
        if (edge) out[n] = 1;
      }
    }
  }
  return out;
}
