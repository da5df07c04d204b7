/**
 * Prompts on one slice, in slice pixels, and their encoding for SAM's ONNX decoder
 * (segment_anything `SamOnnxModel` interface, as in its `onnx_model_example`):
 * - coordinates are scaled into the resized 1024 image (ResizeLongestSide.apply_coords:
 *   x · new_w / old_w, y · new_h / old_h);
 * - a box is two points, top-left with label 2 and bottom-right with label 3;
 * - points are labelled 1 (positive) or 0 (negative);
 * - without a box, a padding point (0, 0) with label −1 is appended.
 * Coordinates are pixel indices: SAM's prompt encoder adds 0.5 to reach the pixel centre, and
 * its boxes are a mask's inclusive min/max pixel indices (`batched_mask_to_box`).
 */
import type { ResizeGeometry } from './preprocess';

export interface PointPrompt {
  readonly x: number;
  readonly y: number;
  /** true: part of the structure; false: not. */
  readonly positive: boolean;
}

/** Inclusive pixel bounds (x0 ≤ x1, y0 ≤ y1). */
export interface BoxPrompt {
  readonly x0: number;
  readonly y0: number;
  readonly x1: number;
  readonly y1: number;
}

export interface SlicePrompt {
  readonly points?: readonly PointPrompt[];
  readonly box?: BoxPrompt;
  /** Low-resolution logits [256 × 256] from an earlier decode, fed back as SAM's mask input. */
  readonly maskInput?: Float32Array;
}

/** SAM's point labels. */
export const LABEL_NEGATIVE = 0;
export const LABEL_POSITIVE = 1;
export const LABEL_BOX_TOP_LEFT = 2;
export const LABEL_BOX_BOTTOM_RIGHT = 3;
export const LABEL_PADDING = -1;

export interface DecoderPrompt {
  /** [N × 2] (x, y) in the resized 1024 image. */
  readonly coords: Float32Array;
  /** [N] SAM point labels. */
  readonly labels: Float32Array;
  readonly count: number;
}

export function encodePrompt(prompt: SlicePrompt, g: ResizeGeometry): DecoderPrompt {
  const points = prompt.points ?? [];
  if (points.length === 0 && !prompt.box) throw new Error('a prompt needs a box or at least one point');
  const coords: number[] = [];
  const labels: number[] = [];
  for (const p of points) {
    checkInside(p.x, p.y, g, 'point');
    coords.push(p.x * g.scaleX, p.y * g.scaleY);
    labels.push(p.positive ? LABEL_POSITIVE : LABEL_NEGATIVE);
  }
  if (prompt.box) {
    const b = prompt.box;
    if (!(b.x0 <= b.x1 && b.y0 <= b.y1)) throw new Error(`box corners are reversed: (${b.x0}, ${b.y0})–(${b.x1}, ${b.y1})`);
    checkInside(b.x0, b.y0, g, 'box corner');
    checkInside(b.x1, b.y1, g, 'box corner');
    coords.push(b.x0 * g.scaleX, b.y0 * g.scaleY, b.x1 * g.scaleX, b.y1 * g.scaleY);
    labels.push(LABEL_BOX_TOP_LEFT, LABEL_BOX_BOTTOM_RIGHT);
  } else {
    coords.push(0, 0);
    labels.push(LABEL_PADDING);
  }
  return { coords: Float32Array.from(coords), labels: Float32Array.from(labels), count: labels.length };
}

function checkInside(x: number, y: number, g: ResizeGeometry, what: string): void {
  if (!(x >= 0 && x <= g.width - 1 && y >= 0 && y <= g.height - 1)) {
    throw new RangeError(`${what} (${x}, ${y}) is outside the ${g.width} × ${g.height} slice`);
  }
}

/** Inclusive bounding box of a binary mask (row-major, width × height), or null when empty. */
export function maskBox(mask: ArrayLike<number>, width: number, height: number): BoxPrompt | null {
  let x0 = width;
  let y0 = height;
  let x1 = -1;
  let y1 = -1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (!mask[x + width * y]) continue;
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
    }
  }
  return x1 < 0 ? null : { x0, y0, x1, y1 };
}
