import { invert, multiply, spacingFromAffine } from '../affine';
import type { Mat4 } from '../volume';
import { identity4, mat4 } from '../volume';
import type { ImageLevel } from './levels';
import { GAIN, OFFSET, PARAM_COUNT, accumulate, newAccumulated } from './normal-equations';
import type { FixedPoints } from './points';
import { gatherFixedPoints } from './points';
import { solveDamped } from './solve';

/** The fixed image (the template) prepared once: points per level, coarsest first. */
export interface FixedPyramid {
  readonly levels: readonly { readonly level: ImageLevel; readonly points: FixedPoints }[];
}

/**
 * Gathers the fixed points of each level (inside its mask, if given) around one shared
 * centre, so a transform's parameters mean the same thing at every level.
 */
export function prepareFixed(levels: readonly ImageLevel[], masks?: readonly (ArrayLike<number> | undefined)[]): FixedPyramid {
  const first = gatherFixedPoints(levels[0], masks?.[0]);
  return {
    levels: levels.map((level, n) => ({
      level,
      points: n === 0 ? first : gatherFixedPoints(level, masks?.[n], first.centre),
    })),
  };
}

export interface LevelSchedule {
  /** Most Levenberg–Marquardt iterations (each one pass over the points). */
  readonly maxIterations: number;
}

export interface RegistrationOptions {
  /** Fixed world mm → moving world mm to start from (default: identity). */
  readonly initial?: Mat4;
  /** Further starting transforms tried at the coarsest level; the best NCC goes on. */
  readonly candidates?: readonly Mat4[];
  /**
   * How much higher a candidate's NCC at the coarsest level must be than the initial start's
   * for it to go on instead (default 0: the best wins). A margin keeps the initial start where
   * the candidates only match it, within the noise of the coarse fit.
   */
  readonly candidateMargin?: number;
  /** Iteration budget per level, coarsest first (default 30 per level). */
  readonly schedule?: readonly LevelSchedule[];
  /**
   * Stop a level when a step moves the points by less than this fraction of the level's
   * voxel size (RMS): 0.01 is 0.08 mm at 8 mm, 0.02 mm at 2 mm.
   */
  readonly tolerance?: number;
}

export interface LevelReport {
  readonly levelMm: number;
  readonly iterations: number;
  readonly ncc: number;
  readonly ms: number;
}

export interface RegistrationResult {
  /** Fixed world RAS mm → moving world RAS mm (row-major 4×4). */
  readonly transform: Mat4;
  /** Normalised cross-correlation at the finest level, in [−1, 1]. */
  readonly ncc: number;
  /** Fraction of the finest level's fixed points that landed inside the moving image. */
  readonly inside: number;
  readonly levels: readonly LevelReport[];
}

const DEFAULT_ITERATIONS = 30;
const DEFAULT_TOLERANCE = 0.01;
/** Levenberg–Marquardt damping: start, and the factors for a rejected / accepted step. */
const LAMBDA_START = 1e-3;
const LAMBDA_UP = 8;
const LAMBDA_DOWN = 4;
const LAMBDA_MAX = 1e6;
/** About this many points estimate JᵀJ at each level (see `accumulate`). */
const HESSIAN_POINTS = 40_000;

/** World map T and the level's geometry → θ's 12 map entries: P = V⁻¹ · T · shift(centre). */
function toTheta(transform: Mat4, movingAffine: Mat4, centre: readonly number[], theta: Float64Array): void {
  const shift = mat4([1, 0, 0, centre[0], 0, 1, 0, centre[1], 0, 0, 1, centre[2], 0, 0, 0, 1]);
  const p = multiply(multiply(invert(movingAffine), transform), shift);
  for (let n = 0; n < 12; n++) theta[n] = p[n];
}

function fromTheta(theta: Float64Array, movingAffine: Mat4, centre: readonly number[]): Mat4 {
  const p = mat4([...theta.subarray(0, 12), 0, 0, 0, 1]);
  const unshift = mat4([1, 0, 0, -centre[0], 0, 1, 0, -centre[1], 0, 0, 1, -centre[2], 0, 0, 0, 1]);
  return multiply(multiply(movingAffine, p), unshift);
}

/** RMS displacement (in moving voxels) that the map step δ causes over the points. */
function stepRms(delta: Float64Array, moments: Float64Array): number {
  let s = 0;
  for (let r = 0; r < 3; r++) {
    for (let u = 0; u < 4; u++) for (let w = 0; w < 4; w++) s += delta[4 * r + u] * moments[4 * u + w] * delta[4 * r + w];
  }
  return Math.sqrt(Math.max(0, s));
}

interface LevelOutcome {
  transform: Mat4;
  ncc: number;
  inside: number;
  iterations: number;
}

/** Levenberg–Marquardt on one level, starting from `transform`. */
function optimiseLevel(
  points: FixedPoints,
  moving: ImageLevel,
  transform: Mat4,
  maxIterations: number,
  tolerance: number,
): LevelOutcome {
  const theta = new Float64Array(PARAM_COUNT);
  const trial = new Float64Array(PARAM_COUNT);
  const delta = new Float64Array(PARAM_COUNT);
  toTheta(transform, moving.affine, points.centre, theta);
  theta[GAIN] = 1;
  let acc = accumulate(points, moving, theta, false, newAccumulated());
  // Start from the best gain and offset for the initial map, then refine all 14 together.
  theta[GAIN] = acc.fitGain;
  theta[OFFSET] = acc.fitOffset;
  const stride = Math.max(1, Math.floor(points.count / HESSIAN_POINTS));
  acc = accumulate(points, moving, theta, true, acc, stride);
  let spare = newAccumulated();
  const sp = spacingFromAffine(moving.affine);
  const voxelMm = (sp[0] + sp[1] + sp[2]) / 3;
  let lambda = LAMBDA_START;
  let iterations = 0;
  while (iterations < maxIterations && lambda < LAMBDA_MAX) {
    iterations++;
    if (!solveDamped(acc.jtj, acc.jtr, lambda, PARAM_COUNT, delta)) {
      lambda *= LAMBDA_UP;
      continue;
    }
    for (let n = 0; n < PARAM_COUNT; n++) trial[n] = theta[n] + delta[n];
    const next = accumulate(points, moving, trial, true, spare, stride);
    if (next.sse < acc.sse) {
      theta.set(trial);
      spare = acc;
      acc = next;
      lambda = Math.max(lambda / LAMBDA_DOWN, 1e-9);
      if (stepRms(delta, points.moments) * voxelMm < tolerance * moving.levelMm) break;
    } else {
      lambda *= LAMBDA_UP;
    }
  }
  return { transform: fromTheta(theta, moving.affine, points.centre), ncc: acc.ncc, inside: acc.inside, iterations };
}

/**
 * Affine (12 degrees of freedom) registration, coarse to fine: finds T, fixed world →
 * moving world, maximising the NCC of fixed(x) and moving(T·x) over the fixed points.
 * `moving` must have one level per fixed level, coarsest first (see `buildPyramid`).
 */
export function registerAffine(
  fixed: FixedPyramid,
  moving: readonly ImageLevel[],
  options: RegistrationOptions = {},
): RegistrationResult {
  if (moving.length !== fixed.levels.length) {
    throw new Error(`moving pyramid has ${moving.length} levels, fixed has ${fixed.levels.length}`);
  }
  const tolerance = options.tolerance ?? DEFAULT_TOLERANCE;
  const iterationsAt = (n: number) => options.schedule?.[n]?.maxIterations ?? DEFAULT_ITERATIONS;
  const margin = options.candidateMargin ?? 0;
  const reports: LevelReport[] = [];
  let best: LevelOutcome | undefined;
  for (let n = 0; n < fixed.levels.length; n++) {
    const t0 = performance.now();
    const { points } = fixed.levels[n];
    const optimise = (start: Mat4) => optimiseLevel(points, moving[n], start, iterationsAt(n), tolerance);
    if (n === 0) {
      best = optimise(options.initial ?? identity4());
      let candidate: LevelOutcome | undefined;
      for (const start of options.candidates ?? []) {
        const outcome = optimise(start);
        if (!candidate || score(outcome) > score(candidate)) candidate = outcome;
      }
      if (candidate && score(candidate) > score(best) + margin) best = candidate;
    } else {
      best = optimise(best!.transform);
    }
    reports.push({ levelMm: fixed.levels[n].level.levelMm, iterations: best.iterations, ncc: best.ncc, ms: performance.now() - t0 });
  }
  return { transform: best!.transform, ncc: best!.ncc, inside: best!.inside, levels: reports };
}

/** A level's NCC to rank starts by; none (a start that left no overlap) ranks last. */
function score(outcome: LevelOutcome): number {
  return Number.isFinite(outcome.ncc) ? outcome.ncc : -Infinity;
}

/**
 * NCC of fixed and moving over any set of fixed points (e.g. the brain's interior) for a
 * given transform (fixed world → moving world), at one moving level.
 */
export function similarity(points: FixedPoints, moving: ImageLevel, transform: Mat4): number {
  const theta = new Float64Array(PARAM_COUNT);
  toTheta(transform, moving.affine, points.centre, theta);
  theta[GAIN] = 1;
  return accumulate(points, moving, theta, false, newAccumulated()).ncc;
}
