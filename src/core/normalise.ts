/**
 * Intensity normalisation, as a model's manifest asks for it (see `Normalisation` in
 * src/infer/manifest.ts). MRI intensities are arbitrary (MSD crops reach 1.7e6, some
 * are uint8), so every scan is normalised on its own statistics before the model.
 *
 * - `zscore`/`all`: (x − mean) / std over every voxel, population std (ddof 0), as
 *   MONAI's `NormalizeIntensity()`.
 * - `zscore`/`nonzero`: statistics over voxels ≠ 0 only, which are normalised; zero
 *   voxels stay 0, as MONAI's `NormalizeIntensity(nonzero=True)`.
 * - `percentile`: clip to the [lo, hi] percentiles of all voxels (linear interpolation
 *   between order statistics, numpy's default) and scale to [0, 1].
 * - `positive-percentile`: divide by the q-th percentile of the voxels > 0 (same
 *   interpolation), clip to [0, clipMax]; the full-head localiser's input.
 * A constant image (std 0, or hi = lo) is mapped to zeros rather than divided by zero.
 */
import type { Normalisation } from '../infer/manifest';
import type { Volume } from './volume';

/** Mean and population standard deviation, accumulated in float64. */
function meanStd(data: ArrayLike<number>, include: (v: number) => boolean): { mean: number; std: number; n: number } {
  let n = 0;
  let sum = 0;
  for (let p = 0; p < data.length; p++) {
    const v = data[p];
    if (include(v)) {
      n++;
      sum += v;
    }
  }
  if (n === 0) return { mean: 0, std: 0, n };
  const mean = sum / n;
  let ss = 0;
  for (let p = 0; p < data.length; p++) {
    const v = data[p];
    if (include(v)) ss += (v - mean) * (v - mean);
  }
  return { mean, std: Math.sqrt(ss / n), n };
}

const everyVoxel = () => true;
const nonzeroVoxel = (v: number) => v !== 0;

/** z-score over all voxels or over nonzero voxels (zeros stay 0). */
export function zscore(data: ArrayLike<number>, over: 'all' | 'nonzero'): Float32Array {
  const include = over === 'all' ? everyVoxel : nonzeroVoxel;
  const { mean, std } = meanStd(data, include);
  const out = new Float32Array(data.length);
  if (std === 0) return out;
  for (let p = 0; p < data.length; p++) {
    const v = data[p];
    out[p] = include(v) ? (v - mean) / std : 0;
  }
  return out;
}

/**
 * The k-th smallest value (0-based) of `a`, which is reordered in place
 * (Hoare's quickselect with median-of-three pivots; O(n) on average).
 */
function select(a: Float64Array, k: number): number {
  let lo = 0;
  let hi = a.length - 1;
  while (hi > lo) {
    const mid = (lo + hi) >> 1;
    const pivot = [a[lo], a[mid], a[hi]].sort((x, y) => x - y)[1];
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i] < pivot) i++;
      while (a[j] > pivot) j--;
      if (i <= j) {
        const t = a[i];
        a[i] = a[j];
        a[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return a[k];
  }
  return a[k];
}

/** Percentiles (0–100) with linear interpolation between order statistics (numpy's default). */
export function percentiles(data: ArrayLike<number>, qs: readonly number[]): number[] {
  if (data.length === 0) throw new Error('percentile of an empty array');
  const work = Float64Array.from(data);
  return qs.map((q) => {
    if (!(q >= 0 && q <= 100)) throw new Error(`percentile ${q} is outside 0–100`);
    const pos = ((work.length - 1) * q) / 100;
    const below = Math.floor(pos);
    const frac = pos - below;
    const a = select(work, below);
    if (frac === 0) return a;
    return a + (select(work, below + 1) - a) * frac;
  });
}

/** Clips to the [lo, hi] percentiles and scales that range to [0, 1]. */
export function percentileScale(data: ArrayLike<number>, lo: number, hi: number): Float32Array {
  const [vLo, vHi] = percentiles(data, [lo, hi]);
  const out = new Float32Array(data.length);
  const range = vHi - vLo;
  if (!(range > 0)) return out;
  for (let p = 0; p < data.length; p++) out[p] = (Math.min(Math.max(data[p], vLo), vHi) - vLo) / range;
  return out;
}

/**
 * The intensity of a scan's outermost voxels: the median over the six faces of its grid. In a
 * head scan that is the air around the head (most of each face, even where the field of view
 * cuts through the head).
 */
export function faceMedian(vol: Volume): number {
  const [nx, ny, nz] = vol.dims;
  const faces = new Float64Array(2 * (ny * nz + nx * nz + nx * ny));
  let n = 0;
  const at = (i: number, j: number, k: number) => vol.data[i + nx * (j + ny * k)];
  for (let k = 0; k < nz; k++) for (let j = 0; j < ny; j++) (faces[n++] = at(0, j, k)), (faces[n++] = at(nx - 1, j, k));
  for (let k = 0; k < nz; k++) for (let i = 0; i < nx; i++) (faces[n++] = at(i, 0, k)), (faces[n++] = at(i, ny - 1, k));
  for (let j = 0; j < ny; j++) for (let i = 0; i < nx; i++) (faces[n++] = at(i, j, 0)), (faces[n++] = at(i, j, nz - 1));
  return percentiles(faces, [50])[0];
}

/**
 * The level of a scan's air where it lies below zero (`faceMedian`), else 0. A T1 magnitude
 * image has no negative air; a scan written with signed intensities (z-scored, or with an
 * offset) has, and its air is what the steps that take air as zero must subtract.
 */
export function signedAirLevel(vol: Volume): number {
  return Math.min(0, faceMedian(vol));
}

/**
 * Divides by the q-th percentile of the voxels > 0 and clips to [0, clipMax]; voxels ≤ 0
 * (and every voxel when none is > 0) become 0.
 */
export function positivePercentileScale(data: ArrayLike<number>, q: number, clipMax: number): Float32Array {
  const out = new Float32Array(data.length);
  let n = 0;
  for (let p = 0; p < data.length; p++) if (data[p] > 0) n++;
  if (n === 0) return out;
  const positive = new Float64Array(n);
  n = 0;
  for (let p = 0; p < data.length; p++) if (data[p] > 0) positive[n++] = data[p];
  const [scale] = percentiles(positive, [q]);
  for (let p = 0; p < data.length; p++) out[p] = data[p] > 0 ? Math.min(data[p] / scale, clipMax) : 0;
  return out;
}

/** Normalises a volume's intensities as the manifest says; same grid, float32 voxels. */
export function normalise(vol: Volume, how: Normalisation): Volume<Float32Array> {
  const data =
    how.kind === 'zscore'
      ? zscore(vol.data, how.over)
      : how.kind === 'percentile'
        ? percentileScale(vol.data, how.lo, how.hi)
        : positivePercentileScale(vol.data, how.percentile, how.clipMax);
  return { dims: vol.dims, spacing: vol.spacing, affine: vol.affine, data };
}
