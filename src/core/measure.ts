/** Label volumes in mm³, measured on the label volume's own grid. */
import { det3 } from './affine';
import type { LabelInfo, LabelVolumeMeasure } from './labels';
import type { LabelVolume, Mat4 } from './volume';

/** Volume of one voxel in mm³: |det| of the affine's linear part (exact for oblique and sheared grids). */
export function voxelVolumeMm3(affine: Mat4): number {
  return Math.abs(det3(affine));
}

/** Voxel count of every value 0–255. */
export function labelHistogram(data: Uint8Array): Float64Array {
  const counts = new Float64Array(256);
  for (let p = 0; p < data.length; p++) counts[data[p]]++;
  return counts;
}

/** Voxels and mm³ for each listed label (background included only if listed). */
export function measureLabels(labels: LabelVolume, infos: readonly LabelInfo[]): LabelVolumeMeasure[] {
  const counts = labelHistogram(labels.data);
  const mm3PerVoxel = voxelVolumeMm3(labels.affine);
  return infos.map((l) => ({ value: l.value, name: l.name, voxels: counts[l.value], mm3: counts[l.value] * mm3PerVoxel }));
}
