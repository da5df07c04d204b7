/**
 * A QC mosaic of one scan: coronal slices through the hippocampi with the labels drawn over
 * the T1 — what a reviewer scans for a mask in the wrong place. Neurological convention
 * (the subject's left on the image's left), superior up. Pure: volumes in, RGB out.
 */
import type { LabelInfo } from '../core/labels';
import { reorientToRAS } from '../core/orientation';
import type { Volume } from '../core/volume';
import type { RgbImage } from './png';

/** Slices per mosaic, and the margin around the labels' bounding box (mm). */
export const MOSAIC_SLICES = 5;
export const MOSAIC_MARGIN_MM = 12;
/** Panels are scaled up by an integer factor to at least this height (pixels). */
export const MOSAIC_MIN_PANEL_PX = 140;
/** Label fill opacity. */
export const OVERLAY_ALPHA = 0.45;

export function renderMosaic(t1: Volume, labels: Volume<Uint8Array> | null, labelInfo: readonly LabelInfo[]): RgbImage {
  const { volume: img } = reorientToRAS(t1);
  const lab = labels ? reorientToRAS(labels).volume : null;
  const [nx, ny, nz] = img.dims;
  if (lab && (lab.dims[0] !== nx || lab.dims[1] !== ny || lab.dims[2] !== nz)) throw new Error('labels and scan grids differ');
  const at = (i: number, j: number, k: number) => i + nx * (j + ny * k);

  // The labels' bounding box (RAS voxels), or the middle of the volume when there are none.
  let lo = [nx, ny, nz];
  let hi = [-1, -1, -1];
  if (lab) {
    for (let k = 0; k < nz; k++)
      for (let j = 0; j < ny; j++)
        for (let i = 0; i < nx; i++)
          if (lab.data[at(i, j, k)] > 0) {
            lo = [Math.min(lo[0], i), Math.min(lo[1], j), Math.min(lo[2], k)];
            hi = [Math.max(hi[0], i), Math.max(hi[1], j), Math.max(hi[2], k)];
          }
  }
  const dims = [nx, ny, nz];
  // Slices spread over the labels' own front-to-back extent (the margin is only in-plane context).
  const [yLo, yHi] = hi[1] < 0 ? [Math.floor(ny * 0.3), Math.ceil(ny * 0.7)] : [lo[1] - 1, hi[1] + 1];
  if (hi[0] < 0) {
    lo = dims.map((n) => Math.floor(n * 0.2));
    hi = dims.map((n) => Math.ceil(n * 0.8) - 1);
  } else {
    const pad = img.spacing.map((s) => Math.round(MOSAIC_MARGIN_MM / s));
    lo = lo.map((v, a) => Math.max(0, v - pad[a]));
    hi = hi.map((v, a) => Math.min(dims[a] - 1, v + pad[a]));
  }
  const w = hi[0] - lo[0] + 1;
  const h = hi[2] - lo[2] + 1;
  const slices = Array.from({ length: MOSAIC_SLICES }, (_, s) => Math.round(yLo + ((s + 1) * (yHi - yLo)) / (MOSAIC_SLICES + 1)));

  // Intensity window: 1st–99th percentile inside the box (a sample of voxels).
  const sample: number[] = [];
  const stride = Math.max(1, Math.floor((w * h * (hi[1] - lo[1] + 1)) / 50_000));
  let n = 0;
  for (let k = lo[2]; k <= hi[2]; k++)
    for (let j = lo[1]; j <= hi[1]; j++)
      for (let i = lo[0]; i <= hi[0]; i++) if (n++ % stride === 0) sample.push(img.data[at(i, j, k)]);
  sample.sort((a, b) => a - b);
  const vlo = sample[Math.floor(0.01 * (sample.length - 1))] ?? 0;
  const vhi = sample[Math.floor(0.99 * (sample.length - 1))] ?? 1;
  const range = vhi > vlo ? vhi - vlo : 1;

  const colour = new Map(labelInfo.map((l) => [l.value, l.rgb]));
  const scale = Math.max(1, Math.ceil(MOSAIC_MIN_PANEL_PX / h));
  const gap = 2;
  const W = MOSAIC_SLICES * w * scale + (MOSAIC_SLICES - 1) * gap;
  const H = h * scale;
  const rgb = new Uint8Array(W * H * 3);
  slices.forEach((j, s) => {
    const x0 = s * (w * scale + gap);
    for (let row = 0; row < H; row++) {
      const k = hi[2] - Math.floor(row / scale);
      for (let col = 0; col < w * scale; col++) {
        const i = lo[0] + Math.floor(col / scale);
        const idx = at(i, j, k);
        const g = Math.max(0, Math.min(255, (255 * (img.data[idx] - vlo)) / range));
        let px = [g, g, g];
        const l = lab?.data[idx] ?? 0;
        if (l > 0) {
          const c = colour.get(l) ?? [255, 255, 0];
          px = px.map((v, ch) => (1 - OVERLAY_ALPHA) * v + OVERLAY_ALPHA * c[ch]);
        }
        rgb.set(px.map(Math.round), 3 * (row * W + x0 + col));
      }
    }
  });
  return { width: W, height: H, rgb };
}
