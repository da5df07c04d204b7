/**
 * Scores and classifies one full-head pipeline outcome against the scan's own labels, for the
 * synthetic held-out cohort (`npm run bench -- synth-cohort`, issue 13's "never a confident
 * wrong mask"): each side's Dice, the distance of its mask's centroid from the labels'
 * centroid, and volumes; then one class per head.
 */
import { dice, maskOf } from '../core/metrics';
import { labelCentroidMm, voxelVolumeMm3 } from '../core/measure';
import { labelsOnGrid } from '../core/perturb';
import type { LabelVolume } from '../core/volume';
import { MAX_DISTANCE_MM } from './perturb-cases';

/** A good mask reaches this Dice on each side (the brief's bar; the FS model's real-scan pipeline Dice is 0.853). */
export const GOOD_DICE = 0.8;
/** Below this Dice on a side, an unwarned mask is a confident wrong answer. */
export const WRONG_DICE = 0.5;
/** A refusal's message must say something (as perturb-cases' judge asks). */
const CLEAR_MESSAGE_CHARS = 20;

export interface SideScore {
  readonly dice: number;
  /** Mask centroid to the labels' centroid, world mm; NaN when either is empty. */
  readonly distanceMm: number;
  readonly mm3: number;
  readonly referenceMm3: number;
}

export type CohortRun =
  | { readonly kind: 'mask'; readonly sides: readonly [SideScore, SideScore]; readonly warnings: readonly string[] }
  | { readonly kind: 'refused'; readonly message: string };

export type OutcomeClass = 'good' | 'warned' | 'refused' | 'fair, unwarned' | 'CONFIDENT WRONG' | 'unclear refusal';

/**
 * Each side of `predicted` (1 left, 2 right) against `truth` (1 left, 2 right, any grid: put on
 * the prediction's grid by nearest neighbour). Centroids are world mm, so they need no resampling.
 */
export function scoreSides(predicted: LabelVolume, truth: LabelVolume): [SideScore, SideScore] {
  const onGrid = labelsOnGrid(truth, predicted);
  const mm3 = voxelVolumeMm3(predicted.affine);
  const side = (value: number): SideScore => {
    const p = maskOf(predicted.data, value);
    const t = maskOf(onGrid.data as ArrayLike<number>, value);
    const cp = labelCentroidMm(predicted, value);
    const ct = labelCentroidMm(truth, value);
    return {
      dice: dice(p, t),
      distanceMm: cp && ct ? Math.hypot(cp[0] - ct[0], cp[1] - ct[1], cp[2] - ct[2]) : NaN,
      mm3: p.reduce((a, v) => a + v, 0) * mm3,
      referenceMm3: t.reduce((a, v) => a + v, 0) * mm3,
    };
  };
  return [side(1), side(2)];
}

/** How good a mask is, whatever it was told: `good` (each side Dice ≥ GOOD_DICE within MAX_DISTANCE_MM), `wrong` (a side below WRONG_DICE, further than MAX_DISTANCE_MM or missing), else `fair`. */
export function maskQuality(sides: readonly [SideScore, SideScore]): 'good' | 'fair' | 'wrong' {
  // A missing side has Dice 0 and distance NaN: the negated comparisons catch both.
  if (sides.some((s) => !(s.dice >= WRONG_DICE) || !(s.distanceMm <= MAX_DISTANCE_MM))) return 'wrong';
  return sides.every((s) => s.dice >= GOOD_DICE) ? 'good' : 'fair';
}

/**
 * A refusal is `refused` when it says why, else `unclear refusal`. Masks with any warning are
 * `warned` (whatever their quality: the user was told). Unwarned masks are `good`,
 * `CONFIDENT WRONG` or `fair, unwarned` by their `maskQuality`.
 */
export function classifyOutcome(run: CohortRun): OutcomeClass {
  if (run.kind === 'refused') return run.message.trim().length > CLEAR_MESSAGE_CHARS ? 'refused' : 'unclear refusal';
  if (run.warnings.length > 0) return 'warned';
  const quality = maskQuality(run.sides);
  return quality === 'good' ? 'good' : quality === 'wrong' ? 'CONFIDENT WRONG' : 'fair, unwarned';
}
