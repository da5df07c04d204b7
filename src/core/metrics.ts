/**
 * Segmentation metrics with MONAI's definitions (MONAI 1.5 `DiceMetric`,
 * `compute_hausdorff_distance`), so numbers compare with the literature:
 *
 * - Dice = 2|P∩G| / (|P| + |G|); NaN when the ground truth is empty (MONAI's
 *   `ignore_empty=True`), and such cases are left out of means.
 * - HD95 (mm): surface voxels are the mask minus its 6-connected erosion (outside the
 *   grid counts as background); for each prediction surface voxel its Euclidean
 *   distance (with voxel spacing) to the nearest ground-truth surface voxel, and vice
 *   versa; the 95th percentile (linear interpolation) of each direction; the larger of
 *   the two. Infinity when exactly one mask is empty, NaN when both are.
 */
import { distanceToSites } from './edt';
import type { Dims3, SpacingMm } from './volume';

/**
 * A binary mask (1 inside) from a label volume: `value` = that label, or `'foreground'` = label > 0.
 * A plain loop: `Uint8Array.from(labels, fn)` takes ~3 s for a 256³ volume in V8, this ~0.1 s.
 */
export function maskOf(labels: ArrayLike<number>, value: number | 'foreground'): Uint8Array {
  const out = new Uint8Array(labels.length);
  if (value === 'foreground') for (let p = 0; p < labels.length; p++) out[p] = labels[p] > 0 ? 1 : 0;
  else for (let p = 0; p < labels.length; p++) out[p] = labels[p] === value ? 1 : 0;
  return out;
}

/** Dice overlap of two binary masks; NaN when the ground truth is empty. */
export function dice(pred: Uint8Array, truth: Uint8Array): number {
  if (pred.length !== truth.length) throw new Error('dice: masks differ in size');
  let inter = 0;
  let np = 0;
  let nt = 0;
  for (let p = 0; p < pred.length; p++) {
    const a = pred[p] !== 0;
    const b = truth[p] !== 0;
    if (a) np++;
    if (b) nt++;
    if (a && b) inter++;
  }
  if (nt === 0) return NaN;
  return (2 * inter) / (np + nt);
}

/** Bounding box [lo, hi] (inclusive) of the union of two masks, or null when both are empty. */
function unionBox(a: Uint8Array, b: Uint8Array, dims: Dims3): [Dims3, Dims3] | null {
  const [nx, ny] = dims;
  const lo = [Infinity, Infinity, Infinity];
  const hi = [-1, -1, -1];
  for (let p = 0; p < a.length; p++) {
    if (!a[p] && !b[p]) continue;
    const i = p % nx;
    const j = Math.floor(p / nx) % ny;
    const k = Math.floor(p / (nx * ny));
    lo[0] = Math.min(lo[0], i);
    lo[1] = Math.min(lo[1], j);
    lo[2] = Math.min(lo[2], k);
    hi[0] = Math.max(hi[0], i);
    hi[1] = Math.max(hi[1], j);
    hi[2] = Math.max(hi[2], k);
  }
  if (hi[0] < 0) return null;
  return [lo as unknown as Dims3, hi as unknown as Dims3];
}

/**
 * Copies the box [lo, hi] of a mask into a grid one voxel larger on every side (zeros
 * there), so that surface detection and distances see the same background as on the
 * full grid (distances between surface voxels only depend on voxels inside the box).
 */
function cropWithMargin(mask: Uint8Array, dims: Dims3, lo: Dims3, hi: Dims3): { data: Uint8Array; dims: Dims3 } {
  const cd: Dims3 = [hi[0] - lo[0] + 3, hi[1] - lo[1] + 3, hi[2] - lo[2] + 3];
  const out = new Uint8Array(cd[0] * cd[1] * cd[2]);
  for (let k = lo[2]; k <= hi[2]; k++)
    for (let j = lo[1]; j <= hi[1]; j++)
      for (let i = lo[0]; i <= hi[0]; i++) {
        if (mask[i + dims[0] * (j + dims[1] * k)]) out[i - lo[0] + 1 + cd[0] * (j - lo[1] + 1 + cd[1] * (k - lo[2] + 1))] = 1;
      }
  return { data: out, dims: cd };
}

/** Surface voxels: inside the mask with at least one 6-neighbour outside it (or outside the grid). */
export function surface(mask: Uint8Array, dims: Dims3): Uint8Array {
  const [nx, ny, nz] = dims;
  const out = new Uint8Array(mask.length);
  const at = (i: number, j: number, k: number) =>
    i >= 0 && j >= 0 && k >= 0 && i < nx && j < ny && k < nz && mask[i + nx * (j + ny * k)] !== 0;
  for (let k = 0; k < nz; k++)
    for (let j = 0; j < ny; j++)
      for (let i = 0; i < nx; i++) {
        const p = i + nx * (j + ny * k);
        if (!mask[p]) continue;
        const interior =
          at(i - 1, j, k) && at(i + 1, j, k) && at(i, j - 1, k) && at(i, j + 1, k) && at(i, j, k - 1) && at(i, j, k + 1);
        if (!interior) out[p] = 1;
      }
  return out;
}

/** The q-quantile (0–1) of values, linear interpolation (torch.quantile / numpy default). */
export function quantile(values: Float64Array, q: number): number {
  if (values.length === 0) return NaN;
  const sorted = Float64Array.from(values).sort();
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/** Distances (mm) from each `from` site to the nearest `to` site. */
function directedSurfaceDistances(from: Uint8Array, to: Uint8Array, dims: Dims3, spacing: SpacingMm): Float64Array {
  const dist = distanceToSites(to, dims, spacing);
  const out: number[] = [];
  for (let p = 0; p < from.length; p++) if (from[p]) out.push(dist[p]);
  return Float64Array.from(out);
}

/** Percentile Hausdorff distance in mm (95 by default) between two binary masks on one grid. */
export function hausdorff(pred: Uint8Array, truth: Uint8Array, dims: Dims3, spacing: SpacingMm, percentile = 95): number {
  const box = unionBox(pred, truth, dims);
  if (!box) return NaN;
  const a = cropWithMargin(pred, dims, box[0], box[1]);
  const b = cropWithMargin(truth, dims, box[0], box[1]);
  const sa = surface(a.data, a.dims);
  const sb = surface(b.data, b.dims);
  const hasA = sa.some((v) => v !== 0);
  const hasB = sb.some((v) => v !== 0);
  if (!hasA || !hasB) return Infinity;
  const q = percentile / 100;
  return Math.max(
    quantile(directedSurfaceDistances(sa, sb, a.dims, spacing), q),
    quantile(directedSurfaceDistances(sb, sa, a.dims, spacing), q),
  );
}
