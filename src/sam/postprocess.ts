/**
 * SAM's low-resolution mask logits [256 × 256] back to the slice grid.
 *
 * SAM (`Sam.postprocess_masks`, `SamOnnxModel.mask_postprocessing`) upsamples bilinearly to
 * 1024 × 1024, crops the resized image (the rest is padding) and resizes the crop to the
 * original size, both with align_corners=False. We sample the low-resolution logits once, at
 * the point each slice pixel's centre maps to; that composition differs from SAM's two steps
 * only between 1024-grid samples (postprocess.test.ts compares it with the ONNX `masks`
 * output). Doing it ourselves lets non-square pixels keep their aspect, which the ONNX
 * postprocessing cannot.
 */
import { bilinear, SAM_IMAGE_SIZE, type ResizeGeometry } from './preprocess';

/** Side of SAM's low-resolution masks (the mask decoder's output, 4 × the 64² embedding). */
export const SAM_LOW_RES = 256;

/** Logits on the slice grid (row-major, width × height); a pixel is inside where logit > 0. */
export function lowResToSlice(lowRes: Float32Array, g: ResizeGeometry): Float32Array {
  if (lowRes.length !== SAM_LOW_RES * SAM_LOW_RES) throw new Error(`low-res mask has ${lowRes.length} values, expected ${SAM_LOW_RES}²`);
  const toLow = SAM_LOW_RES / SAM_IMAGE_SIZE;
  const out = new Float32Array(g.width * g.height);
  for (let y = 0; y < g.height; y++) {
    const yr = (y + 0.5) * g.scaleY - 0.5; // in the resized 1024 image
    const yl = (yr + 0.5) * toLow - 0.5;
    for (let x = 0; x < g.width; x++) {
      const xr = (x + 0.5) * g.scaleX - 0.5;
      out[x + g.width * y] = bilinear(lowRes, SAM_LOW_RES, SAM_LOW_RES, (xr + 0.5) * toLow - 0.5, yl);
    }
  }
  return out;
}

/** 1 where the logit is positive (SAM's mask_threshold 0). */
export function binarise(logits: Float32Array): Uint8Array {
  const out = new Uint8Array(logits.length);
  for (let p = 0; p < logits.length; p++) out[p] = logits[p] > 0 ? 1 : 0;
  return out;
}
