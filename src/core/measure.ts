/** Label volumes in mm³, measured on the label volume's own grid. */
import { applyToPoint, det3, type Vec3 } from './affine';
import type { LabelInfo, LabelVolumeMeasure } from './labels';
import type { LabelVolume, Mat4, Volume } from './volume';

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

/**
 * World centroid (mm, in the volume's world space) of the voxels equal to `value`; null when
 * there are none. The mean voxel index goes through the affine once: the same point as the
 * mean of the voxels' world positions, since the affine is linear.
 */
export function labelCentroidMm(labels: Pick<Volume, 'dims' | 'affine' | 'data'>, value: number): Vec3 | null {
  const [nx, ny, nz] = labels.dims;
  const data = labels.data;
  let si = 0, sj = 0, sk = 0, count = 0;
  for (let k = 0, n = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      for (let i = 0; i < nx; i++, n++) {
        if (data[n] !== value) continue;
        si += i;
        sj += j;
        sk += k;
        count++;
      }
    }
  }
  return count > 0 ? applyToPoint(labels.affine, [si / count, sj / count, sk / count]) : null;
}
