/**
 * The full-head localiser's input grid and the reading of its output (pure; the stage that
 * runs the model is src/infer/localiser.ts).
 *
 * Grid: 72³ voxels of 4 mm (288 mm), axes along the scan's own voxel axes after the
 * permute/flip to the closest RAS (no rotation: an oblique scan gives an oblique grid, as
 * the training's random rotations expect), centred on the centre of the scan's voxel grid;
 * or, for the cross-check's second look, along the rotation a registration found (the head as
 * the template holds it, whatever the scan's grid).
 * Each grid voxel is the mean of 8 trilinear samples at ±1 mm along the grid axes: the
 * training synthesised at 2 mm and block-averaged to 4 mm (training/train_localiser.py),
 * and this is the same partial-volume average on a real scan. Zero outside the scan.
 *
 * The training's heads lie in air at 0. A scan written with signed intensities (z-scored, or
 * with an offset, as some pipelines and MP2RAGE conversions write them) has its air below zero,
 * where the input's scaling (voxels ≤ 0 become 0) would leave the localiser no head to see: its
 * air level (`signedAirLevel`) is taken as zero first.
 */
import { applyToPoint, closestOrthogonal, det3, linearPart, multiply } from '../affine';
import { connectedComponents } from '../components';
import { positivePercentileScale, signedAirLevel } from '../normalise';
import { rasReorientation } from '../orientation';
import { gridCentre, resampleLinear, type Grid } from '../resample';
import { mat4, voxelCount, type Dims3, type Mat4, type Volume } from '../volume';

/** Voxels per axis of the localiser grid. */
export const LOCALISER_SIZE = 72;
/** Voxel size of the localiser grid, mm. */
export const LOCALISER_SPACING_MM = 4;
/** Half the supersampling step, mm: 2 mm synthesis averaged 2×2×2 into 4 mm voxels. */
const SUBSAMPLE_OFFSET_MM = 1;
/** Output classes, in the model's channel order. */
export const LOCALISER_CLASSES = ['background', 'brain', 'left hippocampus', 'right hippocampus'] as const;
export const CLASS_BRAIN = 1;
export const CLASS_LEFT = 2;
export const CLASS_RIGHT = 3;

type Vec3 = [number, number, number];

/** The 72³ × 4 mm localiser grid of a scan (voxel → world RAS mm affine). */
export function localiserGrid(scan: Grid): Grid {
  const r = rasReorientation(scan.dims, scan.affine);
  const ras = multiply(scan.affine, r.outputToInputVoxel);
  const axes = linearPart(ras);
  for (let col = 0; col < 3; col++) {
    const norm = Math.hypot(axes[col], axes[3 + col], axes[6 + col]);
    for (let row = 0; row < 3; row++) axes[3 * row + col] /= norm;
  }
  return gridAlong(axes, gridCentre(scan));
}

/**
 * The localiser grid in a registration's frame: centred like `localiserGrid`, its axes along the
 * template's R, A and S as the registration (template world mm → scan world mm) carries them
 * into the scan, rotation only (the closest one to the affine's linear part: no scale or shear,
 * so the voxels stay 4 mm). The head then sits in it as the template does, however the scan's
 * own grid is turned. Null for a registration that mirrors the head (no rotation is its frame).
 */
export function localiserGridInFrame(scan: Grid, templateToScan: Mat4): Grid | null {
  if (det3(templateToScan) <= 0) return null;
  return gridAlong(closestOrthogonal(linearPart(templateToScan)), gridCentre(scan));
}

/** 72³ voxels of 4 mm along the unit `axes` (3×3 row-major, one axis per column), centred on `centreMm`. */
function gridAlong(axes: readonly number[], centreMm: Vec3): Grid {
  const half = (LOCALISER_SIZE - 1) / 2;
  const m = new Float64Array(16);
  m[15] = 1;
  for (let row = 0; row < 3; row++) {
    for (let col = 0; col < 3; col++) m[4 * row + col] = axes[3 * row + col] * LOCALISER_SPACING_MM;
    m[4 * row + 3] = centreMm[row] - half * (m[4 * row] + m[4 * row + 1] + m[4 * row + 2]);
  }
  return { dims: [LOCALISER_SIZE, LOCALISER_SIZE, LOCALISER_SIZE], affine: mat4(m) };
}

/** The grid shifted by (di, dj, dk) voxels. */
function shifted(grid: Grid, d: Vec3): Mat4 {
  const a = Float64Array.from(grid.affine);
  for (let row = 0; row < 3; row++) a[4 * row + 3] += a[4 * row] * d[0] + a[4 * row + 1] * d[1] + a[4 * row + 2] * d[2];
  return a as Mat4;
}

/** The scan on the localiser grid (mean of 8 trilinear samples per voxel; `fill` outside the scan), volume order. */
export function localiserResample(scan: Volume, grid: Grid, fill = 0): Volume<Float32Array> {
  const f = SUBSAMPLE_OFFSET_MM / LOCALISER_SPACING_MM;
  const acc = new Float32Array(voxelCount(grid.dims));
  for (const di of [-f, f])
    for (const dj of [-f, f])
      for (const dk of [-f, f]) {
        const s = resampleLinear(scan, grid.dims, shifted(grid, [di, dj, dk]), fill).data;
        for (let p = 0; p < acc.length; p++) acc[p] += s[p];
      }
  for (let p = 0; p < acc.length; p++) acc[p] /= 8;
  return { dims: grid.dims, affine: grid.affine, spacing: [LOCALISER_SPACING_MM, LOCALISER_SPACING_MM, LOCALISER_SPACING_MM], data: acc };
}

/** Volume order (i fastest) → tensor order [D, H, W] = [i, j, k] (k fastest). */
export function volumeToTensor(data: ArrayLike<number>, dims: Dims3): Float32Array {
  const [nx, ny, nz] = dims;
  const out = new Float32Array(nx * ny * nz);
  let p = 0;
  for (let k = 0; k < nz; k++) for (let j = 0; j < ny; j++) for (let i = 0; i < nx; i++) out[(i * ny + j) * nz + k] = data[p++];
  return out;
}

/**
 * The model input: the scan on the grid, less its air level below zero (`signedAirLevel`),
 * divided by the `percentile`-th percentile of its voxels > 0 and clipped to [0, clipMax];
 * tensor order.
 */
export function localiserInput(scan: Volume, grid: Grid, percentile: number, clipMax: number): Float32Array {
  const air = signedAirLevel(scan);
  const { data } = localiserResample(scan, grid, air);
  if (air !== 0) for (let p = 0; p < data.length; p++) data[p] -= air;
  return volumeToTensor(positivePercentileScale(data, percentile, clipMax), grid.dims);
}

/** One hippocampus as the localiser sees it, in world RAS mm. */
export interface LocalisedSide {
  /** Probability-weighted centroid of the largest component of its class; null if none. */
  readonly centroidMm: Vec3 | null;
  /** Sum of its probability over that component × voxel volume (coarse, 4 mm voxels), mm³. */
  readonly volumeMm3: number;
  /** Mean of the voxels' top softmax probability over that component (0 when none). */
  readonly confidence: number;
  /** Voxels in the largest component, and in all components of the class. */
  readonly voxels: number;
  readonly voxelsAllComponents: number;
}

export interface LocaliserMeasures {
  readonly left: LocalisedSide;
  readonly right: LocalisedSide;
  /** Intracranial mask (brain + hippocampi, largest component) on the localiser grid, 0/1. */
  readonly brainMask: Volume<Uint8Array>;
  /** Its volume (an intracranial-volume proxy at 4 mm), mm³, and centroid. */
  readonly brainVolumeMm3: number;
  readonly brainCentroidMm: Vec3 | null;
}

/** Softmax probabilities, channel-major in volume order, from tensor-order logits. */
export function softmaxVolumes(logits: Float32Array, dims: Dims3, channels: number): Float32Array[] {
  const [nx, ny, nz] = dims;
  const n = nx * ny * nz;
  if (logits.length !== channels * n) throw new Error(`expected ${channels}×${n} logits, got ${logits.length}`);
  const probs = Array.from({ length: channels }, () => new Float32Array(n));
  const e = new Float64Array(channels);
  for (let i = 0; i < nx; i++)
    for (let j = 0; j < ny; j++)
      for (let k = 0; k < nz; k++) {
        const t = (i * ny + j) * nz + k;
        const p = i + nx * (j + ny * k);
        let max = -Infinity;
        for (let c = 0; c < channels; c++) max = Math.max(max, logits[c * n + t]);
        let sum = 0;
        for (let c = 0; c < channels; c++) sum += e[c] = Math.exp(logits[c * n + t] - max);
        for (let c = 0; c < channels; c++) probs[c][p] = e[c] / sum;
      }
  return probs;
}

function argmax(probs: Float32Array[]): Uint8Array {
  const n = probs[0].length;
  const out = new Uint8Array(n);
  for (let p = 0; p < n; p++) {
    let best = 0;
    for (let c = 1; c < probs.length; c++) if (probs[c][p] > probs[best][p]) best = c;
    out[p] = best;
  }
  return out;
}

/** Largest 26-connected component of `mask` (ties: first in memory order); null if empty. */
function largestComponent(mask: Uint8Array, dims: Dims3): { ids: Int32Array; id: number; size: number; total: number } | null {
  const { ids, size } = connectedComponents(mask, dims, 26);
  if (size.length === 0) return null;
  let best = 0;
  for (let c = 1; c < size.length; c++) if (size[c] > size[best]) best = c;
  return { ids, id: best + 1, size: size[best], total: size.reduce((a, b) => a + b, 0) };
}

function voxelVolumeMm3(affine: Mat4): number {
  const a = affine;
  return Math.abs(a[0] * (a[5] * a[10] - a[6] * a[9]) - a[1] * (a[4] * a[10] - a[6] * a[8]) + a[2] * (a[4] * a[9] - a[5] * a[8]));
}

function side(probs: Float32Array[], cls: Uint8Array, c: number, grid: Grid): LocalisedSide {
  const mask = new Uint8Array(cls.length);
  for (let p = 0; p < mask.length; p++) mask[p] = cls[p] === c ? 1 : 0;
  const comp = largestComponent(mask, grid.dims);
  if (!comp) return { centroidMm: null, volumeMm3: 0, confidence: 0, voxels: 0, voxelsAllComponents: 0 };
  const [nx, ny] = grid.dims;
  let w = 0;
  let conf = 0;
  const s: Vec3 = [0, 0, 0];
  for (let p = 0; p < mask.length; p++) {
    if (comp.ids[p] !== comp.id) continue;
    const q = probs[c][p];
    w += q;
    conf += q; // the class is the argmax here, so its probability is the top one
    s[0] += q * (p % nx);
    s[1] += q * (Math.floor(p / nx) % ny);
    s[2] += q * Math.floor(p / (nx * ny));
  }
  return {
    centroidMm: applyToPoint(grid.affine, [s[0] / w, s[1] / w, s[2] / w]),
    volumeMm3: w * voxelVolumeMm3(grid.affine),
    confidence: conf / comp.size,
    voxels: comp.size,
    voxelsAllComponents: comp.total,
  };
}

/** Reads the localiser's logits (tensor order [4, 72, 72, 72]) on its grid. */
export function decodeLocaliser(logits: Float32Array, grid: Grid): LocaliserMeasures {
  const probs = softmaxVolumes(logits, grid.dims, LOCALISER_CLASSES.length);
  const cls = argmax(probs);
  const intracranial = new Uint8Array(cls.length);
  for (let p = 0; p < cls.length; p++) intracranial[p] = cls[p] === CLASS_BRAIN || cls[p] === CLASS_LEFT || cls[p] === CLASS_RIGHT ? 1 : 0;
  const brain = largestComponent(intracranial, grid.dims);
  const brainMask = new Uint8Array(intracranial.length);
  const [nx, ny] = grid.dims;
  const s: Vec3 = [0, 0, 0];
  if (brain) {
    for (let p = 0; p < brainMask.length; p++) {
      if (brain.ids[p] !== brain.id) continue;
      brainMask[p] = 1;
      s[0] += p % nx;
      s[1] += Math.floor(p / nx) % ny;
      s[2] += Math.floor(p / (nx * ny));
    }
  }
  const n = brain?.size ?? 0;
  return {
    left: side(probs, cls, CLASS_LEFT, grid),
    right: side(probs, cls, CLASS_RIGHT, grid),
    brainMask: { dims: grid.dims, affine: grid.affine, spacing: [LOCALISER_SPACING_MM, LOCALISER_SPACING_MM, LOCALISER_SPACING_MM], data: brainMask },
    brainVolumeMm3: n * voxelVolumeMm3(grid.affine),
    brainCentroidMm: n ? applyToPoint(grid.affine, [s[0] / n, s[1] / n, s[2] / n]) : null,
  };
}
