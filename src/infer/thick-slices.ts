/**
 * Thick slices: a scan whose voxels are long along one axis (a 2-D acquisition's 3–5 mm slices,
 * common in clinical protocols) blurs the hippocampus's outline across each slab, and the masks
 * and volumes carry that blur. The models run on 1 mm crops resampled from the scan, so they
 * answer, but less precisely: measured on the two FreeSurfer-labelled heads here, block-averaged
 * into slices of 2–5 mm along each axis in turn (bench/RESULTS.md, "Thick slices"), Dice against
 * their labels fell 1.0–3.2 points at 2 mm, 1.5–4.9 at 3 mm, 3.1–7.9 at 4 mm and 4.4–12.9 at 5 mm
 * (from 0.843–0.860 at 1 mm), and the volumes moved by up to 3 %, 6 %, 8 % and 12 % from the 1 mm
 * scan's.
 */
import type { SpacingMm } from '../core/volume';

/** Voxels longer than this along any axis carry the warning (2 mm slices cost at most 3 Dice points and 3 % of volume above). */
export const THICK_SLICE_WARN_MM = 2;

const mm = (v: number) => v.toLocaleString('en', { maximumFractionDigits: 2 });

/** The warning for a scan of these voxel sizes (mm), or null when no voxel side exceeds THICK_SLICE_WARN_MM. */
export function thickSliceWarning(spacing: SpacingMm): string | null {
  const longest = Math.max(...spacing);
  if (!(longest > THICK_SLICE_WARN_MM)) return null;
  return (
    `The scan's voxels are ${spacing.map(mm).join(' × ')} mm: slices thicker than ${THICK_SLICE_WARN_MM} mm blur the hippocampus's outline. ` +
    `On two labelled heads resliced to 3–5 mm, Dice against their labels fell by 1.5–13 points and the volumes moved by up to 12 %: read these masks and volumes with that margin.`
  );
}
