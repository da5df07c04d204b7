/**
 * Training samples: an image and its label volume in the model's tensor layout, and the random
 * crops and augmentations that turn them into batches (peft-methods.md §1.2, adapted to crops
 * smaller than the volume: the crop window is drawn uniformly, then flips on each axis with
 * p = 0.5, then the per-slice intensity scale and shift along tensor axis H).
 *
 * Layout: tensor [D, H, W] = voxel axes (i, j, k), C order, so tensor index = ((i·nj) + j)·nk + k
 * (the transpose of NIfTI's i-fastest order).
 */
import { maxAbsDiff } from '../core/affine';
import { normalise } from '../core/normalise';
import { reorientToRAS } from '../core/orientation';
import { gridWithSpacing, resampleLinear, resampleNearest } from '../core/resample';
import type { Dims3, LabelVolume, Volume } from '../core/volume';
import { uniformStream } from '../engine';
import type { Normalisation } from '../infer/manifest';

export class SampleError extends Error {
  override readonly name = 'SampleError';
}

export interface TrainingSample {
  /** A name for messages (file name, case id). */
  readonly id: string;
  /** [D, H, W] */
  readonly dims: Dims3;
  /** Normalised intensities, tensor order. */
  readonly image: Float32Array;
  /** Class per voxel, tensor order. */
  readonly label: Uint8Array;
}

/** NIfTI order (i fastest) → tensor order (k fastest). */
export function toTensorOrder<T extends Float32Array | Uint8Array>(data: ArrayLike<number>, dims: Dims3, make: (n: number) => T): T {
  const [ni, nj, nk] = dims;
  const out = make(ni * nj * nk);
  for (let k = 0; k < nk; k++) for (let j = 0; j < nj; j++) for (let i = 0; i < ni; i++) out[(i * nj + j) * nk + k] = data[i + ni * (j + nj * k)];
  return out;
}

/** A label volume from a read volume of any integer-valued type (labels stored as float or int16 are common). */
export function asLabels(vol: Volume, id: string): LabelVolume {
  if (vol.data instanceof Uint8Array) return vol as LabelVolume;
  const data = new Uint8Array(vol.data.length);
  for (let p = 0; p < data.length; p++) {
    const v = vol.data[p];
    if (!Number.isInteger(v) || v < 0 || v > 255) throw new SampleError(`${id}: the labels are not integers 0–255 (voxel ${p} is ${v})`);
    data[p] = v;
  }
  return { dims: vol.dims, spacing: vol.spacing, affine: vol.affine, data };
}

/** What the inference pipeline does to a scan before the model sees it (from the model's manifest). */
export interface Preprocessing {
  /** `RAS`: reorient (exact permutation/flip); `as-is`: leave the voxel axes alone. */
  readonly orientation: string;
  /** Voxel size the model expects, mm. */
  readonly spacingMm: readonly [number, number, number];
  readonly normalisation: Normalisation;
}

/** Grids equal to well below a voxel. */
const GRID_TOLERANCE_MM = 1e-3;
const SPACING_TOLERANCE = 1e-3;

/** Refuses labels that are not on the image's grid (dims, and the affine to well below a voxel). */
export function assertSameGrid(id: string, image: Pick<Volume, 'dims' | 'affine'>, label: Pick<Volume, 'dims' | 'affine'>): void {
  if (image.dims.some((d, a) => d !== label.dims[a]) || maxAbsDiff(image.affine, label.affine) > GRID_TOLERANCE_MM) {
    throw new SampleError(`${id}: the labels' grid (${label.dims.join('×')}) is not the image's (${image.dims.join('×')}); labels must be on the scan's grid`);
  }
}

/**
 * A sample from an image and its labels on the same grid, prepared exactly as the inference
 * pipeline prepares a scan (orientation, voxel size, normalisation), so the model trains on what
 * it will see. Labels must be integers in 0..classes−1; the image must be finite.
 */
export function makeSample(id: string, image: Volume, label: LabelVolume, classes: number, prep: Preprocessing): TrainingSample {
  assertSameGrid(id, image, label);
  for (let p = 0; p < label.data.length; p++) {
    if (label.data[p] >= classes) throw new SampleError(`${id}: label value ${label.data[p]} is outside 0..${classes - 1} (the model has ${classes} classes)`);
  }
  for (let p = 0; p < image.data.length; p++) {
    if (!Number.isFinite(image.data[p])) throw new SampleError(`${id}: the image holds a non-finite value (${image.data[p]}) at voxel ${p}`);
  }
  let img: Volume = image;
  let lab: LabelVolume = label;
  if (prep.orientation === 'RAS') {
    img = reorientToRAS(image).volume;
    lab = reorientToRAS(label).volume;
  } else if (prep.orientation !== 'as-is') throw new SampleError(`the model asks for orientation "${prep.orientation}"; Seahorse supports RAS and as-is`);
  if (img.spacing.some((sp, a) => Math.abs(sp - prep.spacingMm[a]) > SPACING_TOLERANCE * prep.spacingMm[a])) {
    const grid = gridWithSpacing(img, prep.spacingMm);
    img = resampleLinear(img, grid.dims, grid.affine);
    lab = resampleNearest(lab, grid.dims, grid.affine);
  }
  const norm = normalise(img, prep.normalisation);
  return {
    id,
    dims: img.dims,
    image: toTensorOrder(norm.data, img.dims, (n) => new Float32Array(n)),
    label: toTensorOrder(lab.data, img.dims, (n) => new Uint8Array(n)),
  };
}

export interface AugmentOptions {
  /** Flip each axis with probability 0.5 (default true). */
  flips?: boolean;
  /** Per-slice intensity scale U(1 − s, 1 + s) and shift U(−t, t) along axis H (default 0.1, 0.1). */
  intensityScale?: number;
  intensityShift?: number;
}

/** The random choices of one augmented crop, in the order they are drawn from the stream. */
interface CropDraw {
  readonly origin: readonly number[];
  readonly flip: readonly boolean[];
  /** Per slice along axis H: intensity scale and shift (empty without intensity jitter). */
  readonly scale: readonly number[];
  readonly shift: readonly number[];
}

function drawCrop(dims: readonly number[], size: Dims3, rand: () => number, aug: AugmentOptions): CropDraw {
  const origin = dims.map((n, a) => (n >= size[a] ? Math.floor(rand() * (n - size[a] + 1)) : -Math.floor((size[a] - n) / 2)));
  const flips = aug.flips ?? true;
  const flip = [0, 1, 2].map(() => flips && rand() < 0.5);
  const sc = aug.intensityScale ?? 0.1;
  const sh = aug.intensityShift ?? 0.1;
  const scale: number[] = [];
  const shift: number[] = [];
  if (sc > 0 || sh > 0) {
    for (let h = 0; h < size[1]; h++) {
      scale.push(1 + sc * (2 * rand() - 1));
      shift.push(sh * (2 * rand() - 1));
    }
  }
  return { origin, flip, scale, shift };
}

/**
 * A crop of `size` from the sample at a uniformly drawn origin; axes where the sample is smaller
 * are zero-padded (centred). Then the augmentations.
 */
export function randomCrop(s: TrainingSample, size: Dims3, rand: () => number, aug: AugmentOptions = {}): { image: Float32Array; label: Uint8Array } {
  const draw = drawCrop(s.dims, size, rand, aug);
  const out = cropAt(s, size, draw.origin, draw.flip);
  const [D, H, W] = size;
  for (let h = 0; h < draw.scale.length; h++) {
    const a = draw.scale[h];
    const b = draw.shift[h];
    for (let d = 0; d < D; d++) for (let w = 0; w < W; w++) out.image[(d * H + h) * W + w] = out.image[(d * H + h) * W + w] * a + b;
  }
  return out;
}

/** The centred crop of `size` (zero-padded where the sample is smaller), without augmentation: for evaluation. */
export function centreCrop(s: TrainingSample, size: Dims3): { image: Float32Array; label: Uint8Array } {
  return cropAt(s, size, s.dims.map((n, a) => Math.floor((n - size[a]) / 2)), [false, false, false]);
}

function cropAt(s: TrainingSample, size: Dims3, origin: readonly number[], flip: readonly boolean[]): { image: Float32Array; label: Uint8Array } {
  const [D, H, W] = size;
  const image = new Float32Array(D * H * W);
  const label = new Uint8Array(D * H * W);
  const [sd, sh, sw] = s.dims;
  for (let d = 0; d < D; d++) {
    const i = origin[0] + (flip[0] ? D - 1 - d : d);
    if (i < 0 || i >= sd) continue;
    for (let h = 0; h < H; h++) {
      const j = origin[1] + (flip[1] ? H - 1 - h : h);
      if (j < 0 || j >= sh) continue;
      for (let w = 0; w < W; w++) {
        const k = origin[2] + (flip[2] ? W - 1 - w : w);
        if (k < 0 || k >= sw) continue;
        const src = (i * sh + j) * sw + k;
        const dst = (d * H + h) * W + w;
        image[dst] = s.image[src];
        label[dst] = s.label[src];
      }
    }
  }
  return { image, label };
}

/** One batch of the centred crops of `samples`. */
export function centreBatch(samples: readonly TrainingSample[], crop: Dims3): Batch {
  const voxels = crop[0] * crop[1] * crop[2];
  const image = new Float32Array(samples.length * voxels);
  const label = new Uint8Array(samples.length * voxels);
  samples.forEach((s, b) => {
    const c = centreCrop(s, crop);
    image.set(c.image, b * voxels);
    label.set(c.label, b * voxels);
  });
  return { image, label, size: samples.length, dims: crop };
}

export interface Batch {
  /** [B, 1, D, H, W] values */
  readonly image: Float32Array;
  /** [B, D, H, W] classes */
  readonly label: Uint8Array;
  /** B */
  readonly size: number;
  /** [D, H, W] of one sample */
  readonly dims: Dims3;
}

/**
 * An endless stream of augmented batches, drawn with a seeded generator (reproducible runs).
 * `from`: batches already drawn by an earlier part of the run; the stream continues after them
 * (their random choices are replayed without cutting crops), so a resumed run sees the same
 * batches as one that never stopped.
 */
export function batches(samples: readonly TrainingSample[], batchSize: number, crop: Dims3, seed: number, aug: AugmentOptions = {}, from = 0): () => Batch {
  if (samples.length === 0) throw new SampleError('no training samples: add at least one labelled scan');
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new SampleError(`batch size must be a positive integer, got ${batchSize}`);
  if (!Number.isInteger(from) || from < 0) throw new SampleError(`batches already drawn must be a non-negative integer, got ${from}`);
  const rand = uniformStream(seed);
  const voxels = crop[0] * crop[1] * crop[2];
  let order: number[] = [];
  const pick = () => {
    if (order.length === 0) order = shuffle(samples.length, rand);
    return samples[order.pop()!];
  };
  for (let n = 0; n < from * batchSize; n++) drawCrop(pick().dims, crop, rand, aug);
  return () => {
    const image = new Float32Array(batchSize * voxels);
    const label = new Uint8Array(batchSize * voxels);
    for (let b = 0; b < batchSize; b++) {
      const c = randomCrop(pick(), crop, rand, aug);
      image.set(c.image, b * voxels);
      label.set(c.label, b * voxels);
    }
    return { image, label, size: batchSize, dims: crop };
  };
}

function shuffle(n: number, rand: () => number): number[] {
  const a = [...Array(n).keys()];
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}
