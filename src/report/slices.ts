/**
 * The report's pictures: three orthogonal slices (axial, coronal, sagittal) through the centre
 * of one hippocampus, the scan in grey with each label's outline in its colour. Pure functions
 * over the volume data: no DOM, no GPU, the same pixels in the studio and the CLI.
 *
 * Both volumes are first put in the closest RAS+ orientation (an exact voxel permutation), so
 * every view is drawn the same way whatever the scan's storage order: neurological convention
 * (the patient's left on the image's left, as the studio's viewer shows it), anterior up in the
 * axial view, superior up in the others, anterior on the left in the sagittal view.
 */
import type { LabelInfo } from '../core/labels';
import { percentiles } from '../core/normalise';
import { reorientToRAS } from '../core/orientation';
import type { LabelVolume, Volume } from '../core/volume';

/** An RGBA picture, row-major from the top-left, with the size of one pixel in mm. */
export interface RgbaImage {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8ClampedArray;
  readonly pixelMm: number;
}

export type ViewName = 'axial' | 'coronal' | 'sagittal';

export interface SliceView {
  readonly view: ViewName;
  /** The slice's position: RAS+ world mm of the fixed axis (x for sagittal, y coronal, z axial). */
  readonly positionMm: number;
  readonly image: RgbaImage;
}

/** One hippocampus: a name and the label values that make it up (head and body, or one label). */
export interface Structure {
  readonly name: string;
  readonly labels: readonly LabelInfo[];
}

export interface ViewOptions {
  /** Side of the square field of view around the structure's centre, mm (less where the scan ends). */
  readonly fovMm?: number;
  /** Pixels across the field of view. */
  readonly pixels?: number;
  /** Outline thickness, pixels. */
  readonly outlinePx?: number;
}

/** 80 mm shows a hippocampus (≈ 45 mm long) with the temporal lobe around it. */
export const DEFAULT_FOV_MM = 80;
/** 240 px across 80 mm: 1/3 mm a pixel, so a 1 mm voxel is 3 pixels and the outline reads. */
export const DEFAULT_PIXELS = 240;
const DEFAULT_OUTLINE_PX = 2;
/** Grey window: the scan's 1st to 99th percentile (bright fat and vessels do not wash it out). */
const WINDOW_PERCENTILES = [1, 99] as const;

/**
 * The structures to picture, from a label table: on the full-head path one per side (left,
 * right; head and body of a side together), on a crop one for all labels (the side is unknown).
 */
export function hippocampusStructures(labelInfo: readonly LabelInfo[], path: 'crop' | 'full-head'): Structure[] {
  const labels = labelInfo.filter((l) => l.value !== 0);
  if (path === 'crop') return labels.length > 0 ? [{ name: 'hippocampus', labels }] : [];
  return (['left', 'right'] as const)
    .map((side) => ({ name: `${side} hippocampus`, labels: labels.filter((l) => l.name.toLowerCase().startsWith(side)) }))
    .filter((s) => s.labels.length > 0);
}

/** Window for the grey levels of a scan: [lo, hi] of its voxel values. */
export function greyWindow(scan: Volume): [number, number] {
  const [lo, hi] = percentiles(scan.data, WINDOW_PERCENTILES);
  return hi > lo ? [lo, hi] : [lo, lo + 1];
}

/**
 * The three views through the centre of mass of `structure`'s voxels, or null when the mask
 * holds none of them. `scan` and `labels` share one grid (the labels are on the scan's grid).
 */
export function orthogonalViews(
  scan: Volume,
  labels: LabelVolume,
  structure: Structure,
  window: readonly [number, number] = greyWindow(scan),
  opts: ViewOptions = {},
): SliceView[] | null {
  if (scan.dims.some((d, a) => d !== labels.dims[a])) throw new Error(`labels ${labels.dims.join('×')} are not on the scan's grid ${scan.dims.join('×')}`);
  const ras = reorientToRAS(scan).volume;
  const lab = reorientToRAS(labels).volume;
  const values = new Set(structure.labels.map((l) => l.value));
  const centre = centreOfMass(lab, values);
  if (!centre) return null;
  const colour = new Map(structure.labels.map((l) => [l.value, l.rgb] as const));
  const fov = opts.fovMm ?? DEFAULT_FOV_MM;
  const pixels = opts.pixels ?? DEFAULT_PIXELS;
  const outlinePx = opts.outlinePx ?? DEFAULT_OUTLINE_PX;
  const [nx, ny, nz] = ras.dims;
  const [sx, sy, sz] = ras.spacing;
  // For each view: the fixed axis, then the image's horizontal and vertical axes with their
  // direction (+1: the RAS voxel index grows to the right / downwards). RAS+ i grows towards
  // the patient's right, so +1 puts the patient's left on the image's left.
  const specs: { view: ViewName; fixed: 0 | 1 | 2; h: 0 | 1 | 2; hDir: 1 | -1; v: 0 | 1 | 2; vDir: 1 | -1 }[] = [
    { view: 'axial', fixed: 2, h: 0, hDir: 1, v: 1, vDir: -1 },
    { view: 'coronal', fixed: 1, h: 0, hDir: 1, v: 2, vDir: -1 },
    { view: 'sagittal', fixed: 0, h: 1, hDir: -1, v: 2, vDir: -1 },
  ];
  const dims = [nx, ny, nz];
  const spacing = [sx, sy, sz];
  const stride = [1, nx, nx * ny];
  const [lo, hi] = window;
  return specs.map(({ view, fixed, h, hDir, v, vDir }) => {
    const fixedIndex = Math.round(centre[fixed]);
    // The field of view in mm along each image axis, cut to the scan's extent.
    const extentH = Math.min(fov, dims[h] * spacing[h]);
    const extentV = Math.min(fov, dims[v] * spacing[v]);
    const pixelMm = Math.max(extentH, extentV) / pixels;
    const width = Math.max(1, Math.round(extentH / pixelMm));
    const height = Math.max(1, Math.round(extentV / pixelMm));
    // Along each axis, u mm from the scan's edge: voxel i covers [i·s, (i + 1)·s). The window
    // starts at the image's first pixel, centred on the structure, kept inside the scan.
    const startH = clampWindow((centre[h] + 0.5) * spacing[h] - (hDir * extentH) / 2, extentH, dims[h] * spacing[h], hDir);
    const startV = clampWindow((centre[v] + 0.5) * spacing[v] - (vDir * extentV) / 2, extentV, dims[v] * spacing[v], vDir);
    const grey = new Uint8Array(width * height);
    const label = new Uint8Array(width * height);
    for (let y = 0; y < height; y++) {
      const iv = voxelAt(startV + vDir * (y + 0.5) * pixelMm, spacing[v], dims[v]);
      for (let x = 0; x < width; x++) {
        const ih = voxelAt(startH + hDir * (x + 0.5) * pixelMm, spacing[h], dims[h]);
        const p = fixedIndex * stride[fixed] + ih * stride[h] + iv * stride[v];
        const g = (ras.data[p] - lo) / (hi - lo);
        grey[y * width + x] = Math.round(255 * Math.min(1, Math.max(0, g)));
        const l = lab.data[p];
        label[y * width + x] = values.has(l) ? l : 0;
      }
    }
    const image = drawOutlines(grey, label, width, height, colour, outlinePx);
    const at: [number, number, number] = [centre[0], centre[1], centre[2]];
    at[fixed] = fixedIndex;
    const positionMm = worldPosition(ras.affine, at, fixed);
    return { view, positionMm, image: { width, height, data: image, pixelMm } };
  });
}

/**
 * Grey pixels with each label's boundary drawn in its colour: a pixel of label L is on the
 * boundary when a pixel within `thickness` (a square neighbourhood) is not L. Inside and
 * outside stay grey, so the anatomy under the mask is visible.
 */
export function drawOutlines(
  grey: Uint8Array,
  label: Uint8Array,
  width: number,
  height: number,
  colour: ReadonlyMap<number, readonly [number, number, number]>,
  thickness: number,
): Uint8ClampedArray {
  const out = new Uint8ClampedArray(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const p = y * width + x;
      const l = label[p];
      let rgb: readonly [number, number, number] | undefined;
      if (l !== 0 && isBoundary(label, width, height, x, y, thickness)) rgb = colour.get(l);
      out[4 * p] = rgb ? rgb[0] : grey[p];
      out[4 * p + 1] = rgb ? rgb[1] : grey[p];
      out[4 * p + 2] = rgb ? rgb[2] : grey[p];
      out[4 * p + 3] = 255;
    }
  }
  return out;
}

function isBoundary(label: Uint8Array, width: number, height: number, x: number, y: number, t: number): boolean {
  const l = label[y * width + x];
  for (let dy = -t; dy <= t; dy++) {
    for (let dx = -t; dx <= t; dx++) {
      const xx = x + dx;
      const yy = y + dy;
      // The image edge is not a boundary: a mask cut by the field of view is not outlined there.
      if (xx < 0 || yy < 0 || xx >= width || yy >= height) continue;
      if (label[yy * width + xx] !== l) return true;
    }
  }
  return false;
}

/** Centre of mass (voxel coordinates) of the voxels whose label is in `values`. */
export function centreOfMass(labels: LabelVolume, values: ReadonlySet<number>): [number, number, number] | null {
  const [nx, ny, nz] = labels.dims;
  let n = 0;
  let si = 0;
  let sj = 0;
  let sk = 0;
  for (let k = 0, p = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      for (let i = 0; i < nx; i++, p++) {
        if (labels.data[p] === 0 || !values.has(labels.data[p])) continue;
        n++;
        si += i;
        sj += j;
        sk += k;
      }
    }
  }
  return n === 0 ? null : [si / n, sj / n, sk / n];
}

/** The voxel under a position u mm from the scan's edge. */
function voxelAt(u: number, spacing: number, n: number): number {
  return Math.min(n - 1, Math.max(0, Math.floor(u / spacing)));
}

/** The window's first edge (u mm) along an axis, the window kept inside [0, length]. */
function clampWindow(start: number, extent: number, length: number, dir: 1 | -1): number {
  // With dir −1 the window runs from `start` down to `start − extent`.
  const low = dir === 1 ? start : start - extent;
  const clampedLow = Math.min(Math.max(low, 0), Math.max(0, length - extent));
  return dir === 1 ? clampedLow : clampedLow + extent;
}

function worldPosition(affine: Float64Array, ijk: readonly [number, number, number], axis: 0 | 1 | 2): number {
  return affine[axis * 4] * ijk[0] + affine[axis * 4 + 1] * ijk[1] + affine[axis * 4 + 2] * ijk[2] + affine[axis * 4 + 3];
}
