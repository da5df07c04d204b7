import { applyToVector } from '../affine';
import type { Volume } from '../volume';

/**
 * Full head or hippocampus crop? Decided by the field of view alone, before any
 * registration, because it is what tells the two apart without fail: an adult brain
 * spans about 140 (L–R) × 170 (A–P) × 120 (S–I) mm, a hippocampus about 10 × 45 × 20 mm,
 * and the crops a model is trained on (MSD: 31–43 × 40–59 × 24–47 mm) stay far below the
 * brain's size on every axis.
 *
 * - `crop`: every world extent ≤ 100 mm. Room for a generous crop around one
 *   hippocampus, yet smaller than the brain on every axis.
 * - `full-head`: every world extent ≥ 120 mm — the smallest extent of a whole adult brain
 *   (S–I) and below any head-coil field of view.
 * - `partial`: anything else (a slab, e.g. a thin oblique-coronal hippocampal acquisition):
 *   neither path can take it with confidence, and the user is told why.
 *
 * Registration then checks coverage in earnest (`localise`: the template brain and both
 * hippocampi must fall inside the field of view), so a scan that passes here on size but
 * does not show the brain still gets a clear message.
 */
export type ScanKind = 'full-head' | 'crop' | 'partial';

export const CROP_MAX_EXTENT_MM = 100;
export const FULL_HEAD_MIN_EXTENT_MM = 120;

export interface ScanClassification {
  readonly kind: ScanKind;
  /** Field of view along world x (L–R), y (P–A), z (I–S), mm. */
  readonly extentMm: readonly [number, number, number];
  /** One sentence for the UI and the CLI. */
  readonly reason: string;
}

/** World extent of the field of view along x, y, z: the voxel-edge box's projection. */
export function fieldOfViewMm(vol: Pick<Volume, 'dims' | 'affine'>): [number, number, number] {
  const ext = [0, 0, 0];
  for (let axis = 0; axis < 3; axis++) {
    const step = [0, 0, 0];
    step[axis] = vol.dims[axis];
    const v = applyToVector(vol.affine, step as [number, number, number]);
    for (let c = 0; c < 3; c++) ext[c] += Math.abs(v[c]);
  }
  return ext as [number, number, number];
}

export function classifyScan(vol: Pick<Volume, 'dims' | 'affine'>): ScanClassification {
  const extentMm = fieldOfViewMm(vol);
  const size = extentMm.map((e) => e.toFixed(0)).join(' × ');
  const min = Math.min(...extentMm);
  const max = Math.max(...extentMm);
  if (max <= CROP_MAX_EXTENT_MM) {
    return { kind: 'crop', extentMm, reason: `field of view ${size} mm: a crop around one hippocampus` };
  }
  if (min >= FULL_HEAD_MIN_EXTENT_MM) {
    return { kind: 'full-head', extentMm, reason: `field of view ${size} mm: a whole head` };
  }
  return {
    kind: 'partial',
    extentMm,
    reason:
      `field of view ${size} mm covers only part of the head (a whole head needs at least ` +
      `${FULL_HEAD_MIN_EXTENT_MM} mm on every axis; a hippocampus crop at most ${CROP_MAX_EXTENT_MM} mm)`,
  };
}

/** Which path a scan takes: a flag (`--full-head` / `--crop` in the CLI, a toggle in the studio) can force either. */
export type ScanPath = 'full-head' | 'crop';

export class ScanKindError extends Error {
  override readonly name = 'ScanKindError';
}

/**
 * The path for a scan: the classification, unless forced. A partial field of view has no
 * path of its own: it is refused with the reason, and the user may force one.
 */
export function choosePath(vol: Pick<Volume, 'dims' | 'affine'>, force?: ScanPath): { path: ScanPath; classification: ScanClassification } {
  const classification = classifyScan(vol);
  if (force) return { path: force, classification };
  if (classification.kind === 'partial') {
    throw new ScanKindError(`This scan's ${classification.reason}. Force the full-head or the crop path if you know which it is.`);
  }
  return { path: classification.kind, classification };
}
