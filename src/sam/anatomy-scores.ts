/**
 * What a 3-D box around a known structure adds to SAM's logits (`seahorse prompt --prior auto`):
 * the structure's shape prior in the box (box-prior.ts), then an intensity model fitted in the
 * box (box-intensity.ts). SAM's mean logit is the image evidence the other two start from.
 */
import type { Volume } from '../core/volume';
import { withIntensityModel, boxIntensities } from './box-intensity';
import { boxPriorLogOdds, type BoxPrior } from './box-prior';
import type { VoxelBoxPrompt } from './prompt-volume';

/** `segmentVoxelPrompts`'s `scoreBox` for a scan: null (SAM's mean alone) for a box whose label the prior does not know. */
export function anatomyScorer(prior: BoxPrior, volume: Volume): (box: VoxelBoxPrompt, meanLogit: Float32Array) => Float32Array | null {
  return (box, meanLogit) => {
    const odds = boxPriorLogOdds(prior, box, volume.affine);
    if (!odds) return null;
    const base = meanLogit.map((m, q) => m + odds[q]);
    return withIntensityModel(base, boxIntensities(volume.data, volume.dims, box));
  };
}
