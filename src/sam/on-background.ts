/**
 * A prompt answered on background: SAM's decoder draws a mask wherever a box is drawn, air
 * included, and nothing downstream asks what lies under it. A mask most of whose voxels are as dark
 * as the air around the head is not a structure; the prompt tool says so in words.
 */
import { percentiles, signedAirLevel } from '../core/normalise';
import type { Volume } from '../core/volume';

/**
 * Darker than this fraction of the way from the scan's air (0, or its level below zero in signed
 * intensities: `signedAirLevel`) to its 99th-percentile intensity counts as air (the perturbation
 * suite's air: src/core/perturb).
 */
export const AIR_FRACTION = 0.05;
/** A mask with more than this share of its voxels in air is called out. */
export const MAX_AIR_SHARE = 0.5;
/** The 99th percentile from every 16th voxel: a 256³ scan's million samples sort in ~0.1 s, its 16 million in seconds. */
const SAMPLE_STRIDE = 16;

const airLevels = new WeakMap<Volume, number>();

/** The intensity below which a voxel of `volume` counts as air (computed once per volume). */
export function airLevel(volume: Volume): number {
  let level = airLevels.get(volume);
  if (level === undefined) {
    const sample = new Float32Array(Math.ceil(volume.data.length / SAMPLE_STRIDE));
    for (let n = 0, i = 0; n < volume.data.length; n += SAMPLE_STRIDE, i++) sample[i] = volume.data[n];
    const air = signedAirLevel(volume);
    level = air + AIR_FRACTION * (percentiles(sample, [99])[0] - air);
    airLevels.set(volume, level);
  }
  return level;
}

/** Why the mask (linear voxel indices of `volume`) is not a structure, in words; null when it is not mostly air. */
export function backgroundWarning(volume: Volume, voxels: ArrayLike<number>): string | null {
  if (voxels.length === 0) return null;
  const air = airLevel(volume);
  let dark = 0;
  for (let n = 0; n < voxels.length; n++) if (volume.data[voxels[n]] < air) dark++;
  const share = dark / voxels.length;
  return share > MAX_AIR_SHARE ? `${Math.round(100 * share)} % of it lies where the scan is as dark as the air around the head, so it is not a structure` : null;
}
