/**
 * A QC mosaic of one scan for the group report: the single-scan report's pictures
 * (src/report/slices.ts: axial, coronal and sagittal slices through each hippocampus's
 * centre, label outlines over the grey scan, neurological view) tiled in one row, left
 * hippocampus first. The same pixels as `seahorse segment --report` shows for that scan.
 */
import type { LabelInfo } from '../core/labels';
import type { LabelVolume, Volume } from '../core/volume';
import { greyWindow, hippocampusStructures, orthogonalViews, type RgbaImage } from '../report/slices';

/** Pixels across each view's 80 mm field of view: half the single-scan report's, as a report holds many scans. */
export const MOSAIC_VIEW_PIXELS = 120;
/** Black pixels between views. */
export const MOSAIC_GAP_PX = 2;

/** The mosaic, or null when the mask holds no hippocampus voxel (nothing to centre the views on). */
export function renderMosaic(scan: Volume, labels: LabelVolume, labelInfo: readonly LabelInfo[], path: 'crop' | 'full-head'): RgbaImage | null {
  const window = greyWindow(scan);
  const images = hippocampusStructures(labelInfo, path).flatMap((s) => (orthogonalViews(scan, labels, s, window, { pixels: MOSAIC_VIEW_PIXELS }) ?? []).map((v) => v.image));
  return images.length ? tileRow(images, MOSAIC_GAP_PX) : null;
}

/** Images side by side, top-aligned, on black; pixelMm of the first (the views share it when their fields of view do). */
export function tileRow(images: readonly RgbaImage[], gap: number): RgbaImage {
  const width = images.reduce((w, im) => w + im.width, 0) + gap * (images.length - 1);
  const height = Math.max(...images.map((im) => im.height));
  const data = new Uint8ClampedArray(width * height * 4);
  for (let p = 3; p < data.length; p += 4) data[p] = 255;
  let x0 = 0;
  for (const im of images) {
    for (let y = 0; y < im.height; y++) data.set(im.data.subarray(4 * y * im.width, 4 * (y + 1) * im.width), 4 * (y * width + x0));
    x0 += im.width + gap;
  }
  return { width, height, data, pixelMm: images[0].pixelMm };
}
