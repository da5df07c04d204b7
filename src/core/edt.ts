/**
 * Exact Euclidean distance transform on an anisotropic voxel grid (Felzenszwalb &
 * Huttenlocher, "Distance transforms of sampled functions", 2012): the squared
 * distance is separable, so one 1-D lower-envelope pass per axis, each weighted by
 * that axis's voxel size, gives the exact result in O(n).
 */
import type { Dims3, SpacingMm } from './volume';

/**
 * 1-D squared distance transform in place on `f` (sampled at `n` points `stride`
 * apart from `offset`), with sample spacing `h` mm. Scratch arrays are passed in.
 */
function transform1d(
  f: Float64Array,
  offset: number,
  stride: number,
  n: number,
  h: number,
  v: Int32Array,
  z: Float64Array,
  g: Float64Array,
): void {
  const h2 = h * h;
  for (let q = 0; q < n; q++) g[q] = f[offset + q * stride];
  let k = -1;
  for (let q = 0; q < n; q++) {
    if (g[q] === Infinity) continue;
    // Intersection of the parabola at q with the last one in the envelope.
    let s = -Infinity;
    while (k >= 0) {
      const p = v[k];
      s = (g[q] + h2 * q * q - (g[p] + h2 * p * p)) / (2 * h2 * (q - p));
      if (s > z[k]) break;
      k--;
    }
    k++;
    v[k] = q;
    z[k] = k === 0 ? -Infinity : s;
    z[k + 1] = Infinity;
  }
  if (k < 0) return; // no finite samples on this line: leave it infinite
  let e = 0;
  for (let q = 0; q < n; q++) {
    while (z[e + 1] < q) e++;
    const d = q - v[e];
    f[offset + q * stride] = h2 * d * d + g[v[e]];
  }
}

/**
 * Distance in mm from every voxel to the nearest voxel where `isSite` is true
 * (0 on sites; Infinity everywhere when there are no sites).
 */
export function distanceToSites(isSite: Uint8Array, dims: Dims3, spacing: SpacingMm): Float64Array {
  const [nx, ny, nz] = dims;
  const f = new Float64Array(nx * ny * nz);
  for (let p = 0; p < f.length; p++) f[p] = isSite[p] ? 0 : Infinity;
  const longest = Math.max(nx, ny, nz);
  const v = new Int32Array(longest);
  const z = new Float64Array(longest + 1);
  const g = new Float64Array(longest);
  for (let k = 0; k < nz; k++) for (let j = 0; j < ny; j++) transform1d(f, nx * (j + ny * k), 1, nx, spacing[0], v, z, g);
  for (let k = 0; k < nz; k++) for (let i = 0; i < nx; i++) transform1d(f, i + nx * ny * k, nx, ny, spacing[1], v, z, g);
  for (let j = 0; j < ny; j++) for (let i = 0; i < nx; i++) transform1d(f, i + nx * j, nx * ny, nz, spacing[2], v, z, g);
  for (let p = 0; p < f.length; p++) f[p] = Math.sqrt(f[p]);
  return f;
}
