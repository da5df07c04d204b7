/**
 * The cross-check's second look (issue 13: never a confident wrong answer, and no false alarm on
 * a right one). The shipped localiser was trained on heads turned up to ±15° in its grid, and its
 * grid follows the scan's voxel axes: on an oblique acquisition turned further it can put a
 * hippocampus far from where a good registration put it (the sample turned 25° about the y axis:
 * the right one 36 mm off, bench/RESULTS.md), and the cross-check then warns on a correct mask.
 * So when the two disagree, the localiser looks again on a grid in the registration's frame (the
 * head turned back as the template holds it) and agreement is judged on that answer. A
 * registration that put a hippocampus in the wrong place keeps the warning: turning the grid
 * does not move the anatomy the localiser finds, only how it is turned in front of it.
 * When they agree at once, nothing runs again. A first look that stands behind nothing (a head
 * pitched 45° in the coil: one hippocampus found at a sixth of its size) earns the same second look.
 */
import type { Vec3 } from '../core/affine';
import { localiserGridInFrame } from '../core/fullhead/localiser-grid';
import { crossCheckDisagrees } from '../core/fullhead/qc';
import type { Grid } from '../core/resample';
import type { Mat4 } from '../core/volume';
import type { CrossCheckFindings } from './fullhead';

/** Runs the cross-check localiser again on `grid` (a 72³ × 4 mm grid over the scan's world); null when it finds nothing to stand behind. */
export type LookAgain = (grid: Grid) => Promise<CrossCheckFindings | null>;

/** Where the cross-check's answer was seen: the scan's own grid, or (after a disagreement) the registration's frame. */
export type CrossCheckLook = 'scan grid' | 'registration frame';

export interface JudgedCrossCheck {
  /** Null when the localiser stood behind nothing it found, on either look. */
  readonly findings: CrossCheckFindings | null;
  readonly look: CrossCheckLook;
  /** The localiser ran a second time (its answer is `findings` unless it found nothing). */
  readonly lookedAgain: boolean;
}

/** What the second look needs of the registration. */
export interface RegistrationAnswer {
  /** Template (MNI) world mm → scan world mm. */
  readonly transform: Mat4;
  /** Where it puts each hippocampus centroid, left then right, scan world mm. */
  readonly centresMm: readonly [Vec3, Vec3];
}

/**
 * The cross-check findings to judge the registration by: the first look's when it agrees on
 * both sides (or when there is no frame to look in), else the second look's, in the
 * registration's frame. A second look that finds nothing leaves the first, and its warning.
 * A first look that found nothing it could stand behind (null) is looked at again the same way.
 */
export async function crossCheckWithSecondLook(first: CrossCheckFindings | null, scan: Grid, registration: RegistrationAnswer, lookAgain: LookAgain): Promise<JudgedCrossCheck> {
  const kept: JudgedCrossCheck = { findings: first, look: 'scan grid', lookedAgain: false };
  const [left, right] = registration.centresMm;
  if (first && !crossCheckDisagrees(first.left.centroidMm, left) && !crossCheckDisagrees(first.right.centroidMm, right)) return kept;
  const grid = localiserGridInFrame(scan, registration.transform);
  if (!grid) return kept;
  const second = await lookAgain(grid);
  return second ? { findings: second, look: 'registration frame', lookedAgain: true } : { ...kept, lookedAgain: true };
}
