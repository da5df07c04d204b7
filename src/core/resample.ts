/**
 * Resampling between voxel grids that share world (RAS mm) space. A target voxel is
 * mapped to world by the target affine and back into the source grid by the inverse
 * source affine. Target voxels outside the source's field of view (its outer voxel
 * edges) get `fill` (0 by default); nearest-neighbour uses the same rule.
 */
import { applyToPoint, invert, multiply, spacingFromAffine } from './affine';
import { voxelCount, type Dims3, type Mat4, type Volume, type VoxelArray } from './volume';

/** A voxel grid in world space. */
export interface Grid {
  readonly dims: Dims3;
  readonly affine: Mat4;
}

/** The world position of the centre of a grid's voxels, mm. */
export function gridCentre(grid: Grid): [number, number, number] {
  return applyToPoint(grid.affine, [(grid.dims[0] - 1) / 2, (grid.dims[1] - 1) / 2, (grid.dims[2] - 1) / 2]);
}

/** Target voxel → source voxel, as one affine (source⁻¹ · target). */
function targetToSource(source: Grid, target: Grid): Mat4 {
  return multiply(invert(source.affine), target.affine);
}

/**
 * Visits every target voxel in memory order with its continuous source coordinates.
 * The affine is applied incrementally (one add per voxel per axis).
 */
function forEachSourcePoint(m: Mat4, dims: Dims3, visit: (n: number, x: number, y: number, z: number) => void): void {
  let n = 0;
  for (let k = 0; k < dims[2]; k++) {
    for (let j = 0; j < dims[1]; j++) {
      let x = m[1] * j + m[2] * k + m[3];
      let y = m[5] * j + m[6] * k + m[7];
      let z = m[9] * j + m[10] * k + m[11];
      for (let i = 0; i < dims[0]; i++) {
        visit(n++, x, y, z);
        x += m[0];
        y += m[4];
        z += m[8];
      }
    }
  }
}

/** Slack for float rounding when a point sits exactly on the field-of-view edge. */
const EDGE_EPS = 1e-6;

/** Interpolation cell along one axis: lower index and fraction, for a coordinate clamped onto the voxel centres. */
function cell(coord: number, n: number): [number, number] {
  if (n === 1) return [0, 0];
  const c = Math.min(Math.max(coord, 0), n - 1);
  const i0 = Math.min(Math.floor(c), n - 2);
  return [i0, c - i0];
}

/**
 * Trilinear weights of a continuous source point, or null when it lies outside the
 * source's field of view (beyond the outer voxel edges at −½ and n − ½). Between the
 * outermost voxel centre and the edge the edge value is used (no extrapolation).
 */
function trilinear(
  dims: Dims3,
  x: number,
  y: number,
  z: number,
): { base: number; fx: number; fy: number; fz: number; sx: number; sy: number; sz: number } | null {
  const [nx, ny, nz] = dims;
  const lo = -0.5 - EDGE_EPS;
  if (x < lo || y < lo || z < lo) return null;
  if (x > nx - 0.5 + EDGE_EPS || y > ny - 0.5 + EDGE_EPS || z > nz - 0.5 + EDGE_EPS) return null;
  const [i0, fx] = cell(x, nx);
  const [j0, fy] = cell(y, ny);
  const [k0, fz] = cell(z, nz);
  return {
    base: i0 + nx * (j0 + ny * k0),
    fx,
    fy,
    fz,
    sx: nx > 1 ? 1 : 0,
    sy: ny > 1 ? nx : 0,
    sz: nz > 1 ? nx * ny : 0,
  };
}

function interpolate(data: ArrayLike<number>, offset: number, w: NonNullable<ReturnType<typeof trilinear>>): number {
  const p = offset + w.base;
  const { fx, fy, fz, sx, sy, sz } = w;
  const c00 = data[p] * (1 - fx) + data[p + sx] * fx;
  const c10 = data[p + sy] * (1 - fx) + data[p + sy + sx] * fx;
  const c01 = data[p + sz] * (1 - fx) + data[p + sz + sx] * fx;
  const c11 = data[p + sz + sy] * (1 - fx) + data[p + sz + sy + sx] * fx;
  const c0 = c00 * (1 - fy) + c10 * fy;
  const c1 = c01 * (1 - fy) + c11 * fy;
  return c0 * (1 - fz) + c1 * fz;
}

/** The image at a continuous voxel position: trilinear, or the nearest voxel; `fill` outside the field of view. */
export function sampleAt(vol: Volume, x: number, y: number, z: number, interp: 'linear' | 'nearest', fill = 0): number {
  if (interp === 'nearest') {
    const [i, j, k] = [Math.round(x), Math.round(y), Math.round(z)];
    const [nx, ny, nz] = vol.dims;
    if (i < 0 || j < 0 || k < 0 || i >= nx || j >= ny || k >= nz) return fill;
    return vol.data[i + nx * (j + ny * k)];
  }
  const w = trilinear(vol.dims, x, y, z);
  return w ? interpolate(vol.data, 0, w) : fill;
}

/**
 * Trilinear resampling of an image onto `target` (float32 output). The arithmetic of
 * `trilinear` and `interpolate`, written out in one loop with no allocation per voxel: it is
 * on the full-head path's critical path (the localiser's input is eight resamplings of the
 * whole scan), and the test holds it to the per-voxel functions bit for bit.
 */
export function resampleLinear(vol: Volume, targetDims: Dims3, targetAffine: Mat4, fill = 0): Volume<Float32Array> {
  const out = new Float32Array(voxelCount(targetDims));
  const m = targetToSource(vol, { dims: targetDims, affine: targetAffine });
  const data = vol.data;
  const [nx, ny, nz] = vol.dims;
  const lo = -0.5 - EDGE_EPS;
  const hiX = nx - 0.5 + EDGE_EPS, hiY = ny - 0.5 + EDGE_EPS, hiZ = nz - 0.5 + EDGE_EPS;
  const sx = nx > 1 ? 1 : 0, sy = ny > 1 ? nx : 0, sz = nz > 1 ? nx * ny : 0;
  let n = 0;
  for (let k = 0; k < targetDims[2]; k++) {
    for (let j = 0; j < targetDims[1]; j++) {
      let x = m[1] * j + m[2] * k + m[3];
      let y = m[5] * j + m[6] * k + m[7];
      let z = m[9] * j + m[10] * k + m[11];
      for (let i = 0; i < targetDims[0]; i++, n++, x += m[0], y += m[4], z += m[8]) {
        if (x < lo || y < lo || z < lo || x > hiX || y > hiY || z > hiZ) {
          out[n] = fill;
          continue;
        }
        // cell(): the coordinate clamped onto the voxel centres, its lower index and fraction.
        let i0 = 0, fx = 0, j0 = 0, fy = 0, k0 = 0, fz = 0;
        if (nx > 1) {
          const c = Math.min(Math.max(x, 0), nx - 1);
          i0 = Math.min(Math.floor(c), nx - 2);
          fx = c - i0;
        }
        if (ny > 1) {
          const c = Math.min(Math.max(y, 0), ny - 1);
          j0 = Math.min(Math.floor(c), ny - 2);
          fy = c - j0;
        }
        if (nz > 1) {
          const c = Math.min(Math.max(z, 0), nz - 1);
          k0 = Math.min(Math.floor(c), nz - 2);
          fz = c - k0;
        }
        const p = i0 + nx * (j0 + ny * k0);
        const c00 = data[p] * (1 - fx) + data[p + sx] * fx;
        const c10 = data[p + sy] * (1 - fx) + data[p + sy + sx] * fx;
        const c01 = data[p + sz] * (1 - fx) + data[p + sz + sx] * fx;
        const c11 = data[p + sz + sy] * (1 - fx) + data[p + sz + sy + sx] * fx;
        const c0 = c00 * (1 - fy) + c10 * fy;
        const c1 = c01 * (1 - fy) + c11 * fy;
        out[n] = c0 * (1 - fz) + c1 * fz;
      }
    }
  }
  return { dims: targetDims, affine: targetAffine, spacing: spacingFromAffine(targetAffine), data: out };
}

/**
 * Nearest-neighbour resampling (for label volumes: values are copied, never mixed).
 * Ties at exactly half a voxel round up, like `Math.round`.
 */
export function resampleNearest<T extends VoxelArray>(vol: Volume<T>, targetDims: Dims3, targetAffine: Mat4, fill = 0): Volume<T> {
  const out = new (vol.data.constructor as new (n: number) => T)(voxelCount(targetDims));
  const [nx, ny, nz] = vol.dims;
  forEachSourcePoint(targetToSource(vol, { dims: targetDims, affine: targetAffine }), targetDims, (n, x, y, z) => {
    const i = Math.round(x);
    const j = Math.round(y);
    const k = Math.round(z);
    out[n] = i >= 0 && j >= 0 && k >= 0 && i < nx && j < ny && k < nz ? vol.data[i + nx * (j + ny * k)] : fill;
  });
  return { dims: targetDims, affine: targetAffine, spacing: spacingFromAffine(targetAffine), data: out };
}

/**
 * Per-class scores on one grid (channel-major; each channel in volume memory order,
 * i fastest). What the sliding window produces: logits on the model's grid.
 */
export interface ChannelVolume extends Grid {
  readonly channels: number;
  readonly data: Float32Array;
}

/**
 * Argmax of `scores` resampled trilinearly onto `target`: equal to resampling every
 * channel and then taking the argmax, without holding C target-sized channels. Target
 * voxels outside the score grid get label 0 (background). Ties go to the lower class.
 */
export function resampleArgmax(scores: ChannelVolume, target: Grid): Uint8Array {
  if (scores.channels > 256) throw new Error(`${scores.channels} classes do not fit a uint8 label volume`);
  const out = new Uint8Array(voxelCount(target.dims));
  const plane = voxelCount(scores.dims);
  forEachSourcePoint(targetToSource(scores, target), target.dims, (n, x, y, z) => {
    const w = trilinear(scores.dims, x, y, z);
    if (!w) return;
    let best = 0;
    let bestValue = interpolate(scores.data, 0, w);
    for (let c = 1; c < scores.channels; c++) {
      const v = interpolate(scores.data, c * plane, w);
      if (v > bestValue) {
        bestValue = v;
        best = c;
      }
    }
    out[n] = best;
  });
  return out;
}

/**
 * A grid covering the same field of view with voxels of `spacingMm`: each axis keeps
 * its direction, gets round(n · old / new) voxels (at least 1), and the outer voxel
 * edge (voxel −½) stays where it was.
 */
export function gridWithSpacing(grid: Grid, spacingMm: readonly [number, number, number]): Grid {
  const old = spacingFromAffine(grid.affine);
  const affine = Float64Array.from(grid.affine) as Mat4;
  const dims: [number, number, number] = [0, 0, 0];
  for (let a = 0; a < 3; a++) {
    const scale = spacingMm[a] / old[a];
    dims[a] = Math.max(1, Math.round((grid.dims[a] * old[a]) / spacingMm[a]));
    for (let row = 0; row < 3; row++) {
      const col = grid.affine[4 * row + a];
      affine[4 * row + a] = col * scale;
      // origin_new − ½·col_new = origin_old − ½·col_old
      affine[4 * row + 3] += 0.5 * (col * scale - col);
    }
  }
  return { dims, affine };
}
