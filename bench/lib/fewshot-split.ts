/**
 * The few-shot benchmark's held-out scans: subsets of MSD `val` drawn with fixed seeds, so that
 * every bench reproducing a grid cell (fewshot.ts, factor-motion.ts) scores the same scans.
 */
import { drawTrainingSet } from '../../src/train/compare';

/** The held-out test subset of `val` is drawn with this seed. */
export const TEST_SUBSET_SEED = 8;
/** The validation scans (`--holdout validation`) are drawn from the rest of `val` with this seed. */
export const VALIDATION_SUBSET_SEED = 9;

/** The first `n` of `xs` shuffled with `seed` (all of them when n exceeds their number); the training sets' shuffle. */
export function drawSubset<T>(xs: readonly T[], n: number, seed: number): T[] {
  return n < 1 ? [] : drawTrainingSet(xs, Math.min(n, xs.length), seed);
}
