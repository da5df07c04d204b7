/**
 * Is a crop's mask a hippocampus? A crop goes straight to the model, with no registration to
 * say whether it shows a hippocampus at all, and the model always answers something: a noise
 * volume of an MSD crop's size gets 500–3,000 mm³ of "hippocampus". Two checks need nothing but
 * the model's output:
 * - size: every one of the 208 labelled MSD crops holds a whole hippocampus of 2,382–4,401 mm³
 *   (head + body + tail; measured on ../shared/data/msd_hippocampus/labels);
 * - coherence: on a hippocampus the model's mask is one structure per label. Measured on 12
 *   `val` crops with both shipped models: the largest-component step kept ≥ 99.1 % of the
 *   foreground; on 6 noise volumes (uniform and Gaussian, 3 seeds) per model it kept 42–87 %.
 */
import type { LabelVolumeMeasure } from '../core/labels';

/** The smallest and largest whole hippocampus (label > 0) in the 208 labelled MSD crops, mm³. */
export const MSD_WHOLE_MM3 = { min: 2382, max: 4401 } as const;
/**
 * Below half the smallest labelled hippocampus a mask is not a hippocampus that the crop
 * holds whole: a crop of something else, or one that cuts the hippocampus off.
 */
export const IMPLAUSIBLY_SMALL_MM3 = MSD_WHOLE_MM3.min / 2;
/** Above twice the largest, the mask has spread beyond one hippocampus. */
export const IMPLAUSIBLY_LARGE_MM3 = MSD_WHOLE_MM3.max * 2;

const mm3 = (v: number) => v.toLocaleString('en', { maximumFractionDigits: 0 });

/** Below this share of the raw mask in one component per label, the model did not see one hippocampus. */
export const MIN_CONNECTED_FRACTION = 0.95;

/**
 * Sentences for the user about a crop's mask; none when it is one structure of a hippocampus's
 * size. `connectedFraction` is the pipeline's (SegmentResult).
 */
export function cropMaskWarnings(volumes: readonly LabelVolumeMeasure[], connectedFraction: number): string[] {
  const whole = volumes.reduce((sum, v) => sum + v.mm3, 0);
  const range = `the 208 labelled MSD crops hold ${mm3(MSD_WHOLE_MM3.min)}–${mm3(MSD_WHOLE_MM3.max)} mm³`;
  if (whole === 0) return ['The model found no hippocampus in this crop. Is it a hippocampus crop of a T1-weighted scan? A full head needs Scan: Full head.'];
  if (whole < IMPLAUSIBLY_SMALL_MM3) {
    return [
      `The mask is too small to be a whole hippocampus (${mm3(whole)} mm³; ${range}): this crop may not show a hippocampus, or may cut it off. Do not use these volumes.`,
    ];
  }
  if (connectedFraction < MIN_CONNECTED_FRACTION) {
    return [
      `The model's mask is scattered (only ${(100 * connectedFraction).toFixed(0)}% of it forms one structure per label, against ≥ 99% on real hippocampus crops): this crop may not show a hippocampus of a T1-weighted scan. Do not use these volumes.`,
    ];
  }
  if (whole > IMPLAUSIBLY_LARGE_MM3) {
    return [`The mask is larger than any hippocampus (${mm3(whole)} mm³; ${range}): it has spread beyond the hippocampus. Do not use these volumes.`];
  }
  return [];
}
