/**
 * Sliding-window inference with MONAI's `sliding_window_inference` semantics
 * (MONAI 1.5): images smaller than the window are zero-padded (half before, the rest
 * after); windows start every int(roi · (1 − overlap)) voxels, the last one shifted back
 * to end at the edge; window outputs are blended with an importance map (a Gaussian
 * with σ = 0.125 · roi per axis, clamped below at max(min, 1e-3), or constant) and
 * divided by the summed weights; the padding is cropped away.
 *
 * Model tensors are [1, C, D, H, W] in C order with D, H, W = voxel axes i, j, k, so a
 * window's tensor index is ((i·nj) + j)·nk + k while volumes are i-fastest: the
 * transposes happen here, fused into window extraction and accumulation.
 */
import type { ChannelVolume } from './resample';
import { voxelCount, type Dims3, type Volume } from './volume';

/** Runs the model on one window: input [1, 1, D, H, W], returns logits [1, C, D, H, W]. */
export type WindowPredictor = (window: Float32Array, roi: Dims3) => Promise<Float32Array>;

export type BlendMode = 'gaussian' | 'constant';

export interface SlidingWindowOptions {
  /** Fraction of a window shared with its neighbour, in [0, 1). Default 0.5. */
  readonly overlap?: number;
  /** Default `gaussian`. */
  readonly blend?: BlendMode;
  /** Gaussian σ as a fraction of the window size. Default 0.125 (MONAI's). */
  readonly sigmaScale?: number;
  /** Called after each window with its 0-based index and the window count. */
  readonly onWindow?: (index: number, total: number) => void;
  /** Checked before every window; aborting rejects with the signal's reason. */
  readonly signal?: AbortSignal;
}

export const DEFAULT_OVERLAP = 0.5;
export const DEFAULT_SIGMA_SCALE = 0.125;
/** MONAI's floor for importance weights, so that the count map is never 0. */
const MIN_IMPORTANCE = 1e-3;

/** Window step per axis: int(roi · (1 − overlap)), at least 1; a window as large as the image steps by itself. */
export function scanInterval(imageSize: Dims3, roi: Dims3, overlap: number): Dims3 {
  if (!(overlap >= 0 && overlap < 1)) throw new Error(`overlap must be in [0, 1), got ${overlap}`);
  return roi.map((r, a) => (r === imageSize[a] ? r : Math.max(1, Math.floor(r * (1 - overlap))))) as unknown as Dims3;
}

/** Start indices of the windows along one axis (MONAI's `dense_patch_slices`). */
export function windowStarts(size: number, roi: number, interval: number): number[] {
  const count = Math.ceil(size / interval);
  let last = 0;
  for (let d = 0; d < count; d++) {
    last = d;
    if (d * interval + roi >= size) break;
  }
  const starts: number[] = [];
  for (let d = 0; d <= last; d++) {
    const s = d * interval;
    starts.push(s - Math.max(s + roi - size, 0));
  }
  return starts;
}

/** Importance map over a window, tensor order (k fastest). */
export function importanceMap(roi: Dims3, blend: BlendMode, sigmaScale = DEFAULT_SIGMA_SCALE): Float32Array {
  const n = voxelCount(roi);
  const map = new Float32Array(n);
  if (blend === 'constant') return map.fill(1);
  const axis = roi.map((r) => {
    const sigma = r * sigmaScale;
    return Float64Array.from({ length: r }, (_, t) => {
      const x = t - (r - 1) / 2;
      return Math.exp((x * x) / (-2 * sigma * sigma));
    });
  });
  let min = Infinity;
  let p = 0;
  for (let i = 0; i < roi[0]; i++)
    for (let j = 0; j < roi[1]; j++)
      for (let k = 0; k < roi[2]; k++) {
        const w = Math.fround(axis[0][i] * axis[1][j] * axis[2][k]);
        map[p++] = w;
        if (w < min) min = w;
      }
  const floor = Math.max(min, MIN_IMPORTANCE);
  for (let q = 0; q < n; q++) if (map[q] < floor) map[q] = floor;
  return map;
}

/** Symmetric zero padding that brings each axis up to the window size (before, after). */
export function paddingFor(dims: Dims3, roi: Dims3): [number, number][] {
  return dims.map((d, a) => {
    const diff = Math.max(roi[a] - d, 0);
    return [Math.floor(diff / 2), diff - Math.floor(diff / 2)] as [number, number];
  });
}

/** The window positions for an image (after padding), in MONAI's order (last axis fastest). */
export function windowPositions(dims: Dims3, roi: Dims3, overlap: number): Dims3[] {
  const padded = dims.map((d, a) => Math.max(d, roi[a])) as unknown as Dims3;
  const interval = scanInterval(padded, roi, overlap);
  const [si, sj, sk] = padded.map((d, a) => windowStarts(d, roi[a], interval[a]));
  const out: Dims3[] = [];
  for (const i of si) for (const j of sj) for (const k of sk) out.push([i, j, k]);
  return out;
}

/**
 * Runs `predict` over overlapping windows of a (normalised) image and blends the
 * logits. The result is on the image's own grid: channel-major, each channel i-fastest.
 */
export async function slidingWindowInference(
  image: Volume<Float32Array>,
  roi: Dims3,
  predict: WindowPredictor,
  opts: SlidingWindowOptions = {},
): Promise<ChannelVolume> {
  const overlap = opts.overlap ?? DEFAULT_OVERLAP;
  const weights = importanceMap(roi, opts.blend ?? 'gaussian', opts.sigmaScale ?? DEFAULT_SIGMA_SCALE);
  const [nx, ny, nz] = image.dims;
  const pad = paddingFor(image.dims, roi);
  const positions = windowPositions(image.dims, roi, overlap);
  const plane = voxelCount(image.dims);
  const windowSize = voxelCount(roi);
  const [ri, rj, rk] = roi;
  const window = new Float32Array(windowSize);
  const count = new Float32Array(plane);
  let sum: Float32Array | null = null;
  let channels = 0;

  for (let w = 0; w < positions.length; w++) {
    opts.signal?.throwIfAborted();
    // Window origin in image voxels (negative where it starts in the padding).
    const oi = positions[w][0] - pad[0][0];
    const oj = positions[w][1] - pad[1][0];
    const ok = positions[w][2] - pad[2][0];
    let t = 0;
    for (let i = 0; i < ri; i++) {
      const x = oi + i;
      for (let j = 0; j < rj; j++) {
        const y = oj + j;
        for (let k = 0; k < rk; k++, t++) {
          const z = ok + k;
          window[t] = x >= 0 && y >= 0 && z >= 0 && x < nx && y < ny && z < nz ? image.data[x + nx * (y + ny * z)] : 0;
        }
      }
    }
    const logits = await predict(window, roi);
    if (logits.length === 0 || logits.length % windowSize !== 0) {
      throw new Error(`the model returned ${logits.length} values for a ${roi.join('×')} window; expected C × ${windowSize}`);
    }
    if (sum === null) {
      channels = logits.length / windowSize;
      sum = new Float32Array(channels * plane);
    } else if (logits.length !== channels * windowSize) {
      throw new Error('the model returned a different number of channels for another window');
    }
    t = 0;
    for (let i = 0; i < ri; i++) {
      const x = oi + i;
      for (let j = 0; j < rj; j++) {
        const y = oj + j;
        for (let k = 0; k < rk; k++, t++) {
          const z = ok + k;
          if (x < 0 || y < 0 || z < 0 || x >= nx || y >= ny || z >= nz) continue;
          const v = x + nx * (y + ny * z);
          const wt = weights[t];
          count[v] += wt;
          for (let c = 0; c < channels; c++) sum[c * plane + v] += logits[c * windowSize + t] * wt;
        }
      }
    }
    opts.onWindow?.(w, positions.length);
  }
  if (sum === null) throw new Error('no windows to run');
  for (let c = 0; c < channels; c++) for (let v = 0; v < plane; v++) sum[c * plane + v] /= count[v];
  return { dims: image.dims, affine: image.affine, channels, data: sum };
}
