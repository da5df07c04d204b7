/**
 * Checks that a scan is something Seahorse can segment, with messages for the person
 * who dropped it. Used on file headers (before the voxels are even decoded) and on
 * volumes that arrive by other routes (NiiVue's parsers in the studio).
 */
import { det3 } from '../affine';
import { voxelCount, type Dims3, type Volume } from '../volume';
import { formatCount, VolumeReadError } from './errors';

/**
 * Volumes with this many voxels or more are refused: 512³ = 134,217,728 voxels is
 * 0.5 GiB as float32 before any working copy, more than a browser tab can be expected
 * to hold alongside the model. Clinical T1 scans are ≤ 320 × 320 × 256 (26 M voxels).
 */
export const VOXEL_LIMIT = 512 ** 3;

const times = (dims: readonly number[]) => dims.join(' × ');

/** The 3-D spatial dims of a header's axis list, or a VolumeReadError saying why not. */
export function spatialDims(dims: readonly number[], fileName: string): Dims3 {
  const spatial = [dims[0] ?? 1, dims[1] ?? 1, dims[2] ?? 1];
  if (spatial.some((d) => !Number.isInteger(d) || d <= 0)) {
    throw new VolumeReadError('empty-dimension', `${fileName} declares an empty or invalid image size (${times(spatial)} voxels).`);
  }
  const extra = dims.slice(3);
  if (extra.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new VolumeReadError('corrupt', `${fileName} has a damaged header (image size ${times(dims)}).`);
  }
  const volumes = extra.reduce((a, b) => a * Math.max(b, 1), 1);
  if (volumes > 1) {
    throw new VolumeReadError(
      'multi-volume',
      `${fileName} holds ${formatCount(volumes)} volumes (a 4-D series such as fMRI or diffusion; size ${times(dims)}). Seahorse segments a single 3-D T1-weighted volume: extract the one you want first (e.g. fslroi in.nii.gz out.nii.gz 0 1).`,
    );
  }
  if (spatial.filter((d) => d > 1).length < 3) {
    throw new VolumeReadError(
      'not-3d',
      `${fileName} is a 2-D image (${times(spatial)} voxels); Seahorse needs a 3-D T1-weighted volume. If this is one slice of a DICOM series, load the whole series.`,
    );
  }
  const n = voxelCount(spatial as unknown as Dims3);
  if (n >= VOXEL_LIMIT) {
    throw new VolumeReadError(
      'too-large',
      `${fileName} is too large: ${times(spatial)} = ${formatCount(n)} voxels, and Seahorse accepts fewer than ${formatCount(VOXEL_LIMIT)} (512³). Resample it to about 1 mm first (e.g. mri_convert --voxsize 1 1 1).`,
    );
  }
  return spatial as unknown as Dims3;
}

/** Throws when any voxel is NaN or ±Infinity, saying how many. */
export function checkFinite(data: ArrayLike<number>, fileName: string): void {
  if (data instanceof Uint8Array || data instanceof Int8Array || data instanceof Uint16Array || data instanceof Int16Array || data instanceof Uint32Array || data instanceof Int32Array) return;
  let bad = 0;
  for (let p = 0; p < data.length; p++) if (!Number.isFinite(data[p])) bad++;
  if (bad > 0) {
    throw new VolumeReadError(
      'non-finite',
      `${fileName} has ${formatCount(bad)} ${bad === 1 ? 'voxel that is' : 'voxels that are'} NaN or infinite (of ${formatCount(data.length)}). Seahorse needs a finite intensity in every voxel: replace them with 0 (e.g. fslmaths in.nii.gz -nan out.nii.gz) and try again.`,
    );
  }
}

/** Throws when every voxel holds the same value: an empty or blanked image has nothing to segment. */
export function checkNotConstant(data: ArrayLike<number>, fileName: string): void {
  const first = data[0];
  for (let p = 1; p < data.length; p++) if (data[p] !== first) return;
  throw new VolumeReadError('constant', `${fileName} holds the same value (${first}) in every voxel: there is no image to segment. Is it an empty or blanked export?`);
}

/** Everything a segmentation needs of a volume: 3-D, a sane size, a usable affine, finite, not constant voxels. */
export function validateVolume(vol: Volume, name: string): void {
  spatialDims(vol.dims, name);
  if (vol.data.length !== voxelCount(vol.dims)) {
    throw new VolumeReadError('corrupt', `${name}: ${formatCount(vol.data.length)} voxel values for a ${times(vol.dims)} grid.`);
  }
  if (vol.affine.length !== 16 || !vol.affine.every(Number.isFinite) || det3(vol.affine) === 0) {
    throw new VolumeReadError('bad-geometry', `${name} has an unusable voxel-to-scanner transform (singular or not finite).`);
  }
  checkFinite(vol.data, name);
  checkNotConstant(vol.data, name);
}
