/**
 * The Dice each perturbation case must reach, by what the truth is and which protocol the
 * model follows. Stated here once for the test and the benchmark; the figures they rest on
 * are in bench/RESULTS.md ("Perturbation suite").
 */
import type { Protocol } from '../infer/manifest';
import { AAL_TO_HIPPOCAMPUS } from '../infer/msd-frame';
import { MAX_DISTANCE_MM, type Criteria, type Subject } from './perturb-cases';

export function criteriaFor(truth: Subject['truthKind'], protocol: Protocol | undefined): Criteria {
  switch (truth) {
    // FreeSurfer aseg: a FreeSurfer-protocol model is held to more than an MSD-protocol one,
    // whose manual (Vanderbilt) outline differs from aseg's by protocol, not by error.
    case 'aseg':
      return { maxDistanceMm: MAX_DISTANCE_MM, minDice: protocol === 'freesurfer' ? 0.75 : 0.65 };
    // AAL's hippocampus is a coarse atlas outline (≈7.5 cm³ a side on ch2): at most ≈0.65 Dice
    // for a traced-size mask (fullhead-plausibility.test.ts), so 0.4 says "the same structure".
    // Its centroid is not a traced hippocampus's: traced masks sit |AAL_TO_HIPPOCAMPUS| ≈ 3.4 mm
    // from it (msd-frame.ts, measured), so the 5 mm allows that offset on top.
    case 'aal':
      return { maxDistanceMm: MAX_DISTANCE_MM + Math.hypot(...AAL_TO_HIPPOCAMPUS), minDice: 0.4 };
    // Our own masks on the unperturbed scan: consistency under the perturbation.
    case 'self':
      return { maxDistanceMm: MAX_DISTANCE_MM, minDice: 0.75 };
  }
}
