import { applyToPoint, det3, invert, multiply, spacingFromAffine, type Vec3 } from '../affine';
import { labelCentroidMm } from '../measure';
import type { ImageLevel } from '../registration/levels';
import { blockAverage, blockFactors, buildPyramid, foregroundCentre } from '../registration/levels';
import type { FixedPoints } from '../registration/points';
import { gatherFixedPoints } from '../registration/points';
import type { FixedPyramid, LevelReport } from '../registration/register';
import { prepareFixed, registerAffine, similarity } from '../registration/register';
import { resampleLinear, type Grid } from '../resample';
import type { Mat4, Volume } from '../volume';
import { conformedGrid } from './conform';
import { composeRotations, cropRotation, IDENTITY_ROTATION, pitchRotation, posedGrid, rigidAbout, rollRotation, rotationAngleDeg, rotationTaking, yawRotation, type HeadRotation, type TrainingPose } from './head-pose';
import { dilate6 } from './mask';
import { type HippocampusBox, hippocampusBoxes } from './roi';
import type { Template } from './template';
import { templateBrainMm3 } from './template';
import { FRACTION_SCALE, LEFT, RIGHT } from './template-build';

/** Pyramid levels, coarsest first: 8 mm finds the head, 2 mm (the template's own) refines. */
export const LEVELS_MM = [8, 4, 2] as const;
/**
 * Iteration budgets per level. Coarse iterations are cheap and do the large moves (from
 * ±15°, ±15 mm: 10–20 at 8 mm); at 2 mm a few polish steps of < 0.3 mm are enough.
 */
export const LEVEL_ITERATIONS = [20, 10, 6] as const;
/**
 * Pitches (degrees about the left–right axis, nose up positive) the coarsest level also starts
 * from, beside the orientation the header gives: a head can lie nodded 30–45° in the coil, and
 * from the header's orientation alone the registration stops half-way. Measured (2 × AMD EPYC):
 * Colin27 pitched 45° stopped at 23° with similarity 0.64 / 0.41 — "good" by the thresholds
 * below, its intracranial volume 20 % low — and the sample pitched 45° failed (0.53 / 0.19);
 * from these starts both reach the true pose (45°, 49°). Each start is one optimisation at
 * 8 mm (20–40 ms); the best similarity there goes on to the finer levels when it beats the
 * header's start by `START_MARGIN_NCC`.
 */
export const START_PITCHES_DEG = [-40, -20, 20, 40] as const;
/**
 * Rolls (about the anterior–posterior axis) and turns (about the superior–inferior axis) the
 * coarsest level also starts from when the registration is run again because it was not good
 * (`infer/fullhead.ts`): from the header's orientation and the pitches it reaches a head rolled or
 * turned 30° but not 45° (the sample rolled 45° and Colin27 turned 45° failed, similarity
 * 0.59 / 0.18 and 0.53 / 0.18; bench/RESULTS.md). Each start reaches about ±15° around it, so
 * these cover 25° to 195° each way: a head turned or rolled 90° (a header a quarter turn off) or
 * 180° (LPS voxels under an RAS header) was refused or placed 34–60 mm off by the localiser with
 * starts at ±40° alone (bench/RESULTS.md, "Poses beyond 45°"). Only then: the extra 8 mm starts
 * would cost every scan 0.3–0.7 s for a head or header that seldom is so.
 */
export const RESCUE_START_TURNS_DEG = [-135, -90, -65, -40, 40, 65, 90, 135, 180] as const;
/**
 * Pitches the rescue starts from: the first run's, and upside down (a header whose superior and
 * anterior axes are both reversed shows a head pitched 180°, which no roll or turn start reaches).
 */
export const RESCUE_START_PITCHES_DEG = [...START_PITCHES_DEG, 180] as const;
/**
 * A localiser's left-to-right hippocampus direction tells the registration how the head lies
 * about two of its three axes (roll and turn, together in any mix); the pitch starts cover the
 * third. Turned less than this from the header's orientation, the header's own start already
 * reaches it (the coarse level moves ±15° from a start: `LEVEL_ITERATIONS`), so it adds no start.
 */
export const ALIGNED_START_MIN_DEG = 15;
/**
 * How much better a pitched start must fit at 8 mm (NCC) than the header's to go on instead. Starts
 * that end in the same place differ by up to 0.007 (the sample under heavy noise: 0.852 pitched 20°
 * against 0.845, which then ended worse at 2 mm, 0.562 against 0.571); a head truly pitched beyond
 * the header start's reach gains 0.14–0.18 (Colin27 and the sample pitched 45°).
 */
export const START_MARGIN_NCC = 0.02;
/**
 * Registration samples the template where its brain is, plus this rim (mm): skull and
 * CSF edges carry the scale, while face, neck and shoulders — which vary most between
 * scans and are often cut off or defaced — are left out.
 */
export const MASK_RIM_MM = 8;

/**
 * When to distrust the registration. `ncc` (finest level, brain + rim) says how well the
 * head's outline and tissue line up; `brainNcc` (brain interior only) says whether the
 * scan shows brain anatomy where the template has it — a bright blob can match the
 * outline (ncc 0.55) but not the inside (0.13). Measured on the sample and ICBM152
 * (ncc 0.74–0.78, brainNcc ≈ 0.5; ch2 with itself 1.0) against failures — noise, a
 * sphere, a 90° header error, everything above the hippocampi blanked, inverted contrast:
 * ncc ≤ 0.55 and brainNcc ≤ 0.14 (localise.test.ts keeps both sides of this).
 */
export const NCC_FAILED = 0.5;
export const BRAIN_NCC_FAILED = 0.3;
/** Below these the masks are still made, with a warning to check the outline. */
export const NCC_POOR = 0.6;
export const BRAIN_NCC_POOR = 0.4;
/** Least fraction of the template brain that must lie inside the scan's field of view. */
export const MIN_BRAIN_COVERAGE = 0.9;
/** Least fraction of each AAL hippocampus that must lie inside the field of view. */
export const MIN_HIPPOCAMPUS_IN_VIEW = 0.99;

/** The template made ready once (per worker or CLI run) and reused for every scan. */
export interface PreparedTemplate {
  readonly template: Template;
  readonly fixed: FixedPyramid;
  /** The brain's interior (fraction ≥ ½) at the finest level: where `brainNcc` is measured. */
  readonly interior: FixedPoints;
  /**
   * The skull-stripped template (Colin27 × its brain fraction: what brain-extraction tools
   * leave), on the same points: skull-stripped scans and scans masked by the localiser's
   * brain are registered to it.
   */
  readonly fixedStripped: FixedPyramid;
  readonly interiorStripped: FixedPoints;
  /** Centre of mass of the bright voxels of the coarsest level, world mm. */
  readonly headCentre: Vec3;
  /** Centre of mass of the template brain, world mm (where a localiser's brain centroid starts the registration). */
  readonly brainCentre: Vec3;
  /** From the left to the right hippocampus's centroid (AAL's outlines), template world mm. */
  readonly hippocampusAxisMm: Vec3;
  readonly brainMm3: number;
}

export function prepareTemplate(template: Template): PreparedTemplate {
  const levels = buildPyramid(template.t1, LEVELS_MM);
  const masks = levels.map((level) => brainMaskAt(template, level, MASK_RIM_MM));
  const finest = levels[levels.length - 1];
  const stripped = buildPyramid({ ...template.t1, data: strippedT1(template) }, LEVELS_MM);
  const interiorMask = brainMaskAt(template, finest, 0, FRACTION_SCALE / 2);
  return {
    template,
    fixed: prepareFixed(levels, masks),
    interior: gatherFixedPoints(finest, interiorMask),
    fixedStripped: prepareFixed(stripped, masks),
    interiorStripped: gatherFixedPoints(stripped[stripped.length - 1], interiorMask),
    headCentre: foregroundCentre(levels[0]),
    brainCentre: brainCentreOf(template),
    hippocampusAxisMm: hippocampusAxisOf(template),
    brainMm3: templateBrainMm3(template),
  };
}

/** The template T1 × its brain fraction (plain loops here and below: V8's TypedArray.from with a callback is ~12× slower). */
function strippedT1(template: Template): Float32Array {
  const t1 = template.t1.data;
  const fraction = template.brain.data;
  const out = new Float32Array(t1.length);
  for (let n = 0; n < out.length; n++) out[n] = (t1[n] * fraction[n]) / FRACTION_SCALE;
  return out;
}

/** Fraction-weighted centre of the template brain, world mm. */
function brainCentreOf(template: Template): Vec3 {
  const { dims, data, affine } = template.brain;
  const s = [0, 0, 0];
  let w = 0;
  for (let k = 0, n = 0; k < dims[2]; k++) {
    for (let j = 0; j < dims[1]; j++) {
      for (let i = 0; i < dims[0]; i++, n++) {
        const v = data[n];
        s[0] += v * i;
        s[1] += v * j;
        s[2] += v * k;
        w += v;
      }
    }
  }
  return applyToPoint(affine, [s[0] / w, s[1] / w, s[2] / w]);
}

/** From the left hippocampus's centroid to the right's in the template's outlines, world mm. */
function hippocampusAxisOf(template: Template): Vec3 {
  const [l, r] = [LEFT, RIGHT].map((side) => labelCentroidMm(template.hippocampus, side)!);
  return [r[0] - l[0], r[1] - l[1], r[2] - l[2]];
}

/** What a learned localiser tells the registration (issue 13: start from the brain, match the brain). */
export interface BrainPrior {
  /** Centroid of the brain, scan world mm: the registration starts with the template brain's centre there. */
  readonly centreMm: Vec3;
  /** Brain mask (non-zero inside) on any grid in scan world space: the scan is matched inside it only, to the skull-stripped template. */
  readonly mask?: Volume;
  /**
   * From the left hippocampus it found to the right one, scan world mm: the registration also
   * starts with the template's hippocampi along this direction, at each start pitch.
   */
  readonly leftRightMm?: Vec3;
}

export interface LocaliseOptions {
  readonly brain?: BrainPrior;
  /**
   * Whether the boxes turn to the crop model's training pose (head-pose.ts);
   * default true. False keeps them on the conformed grid whatever the pose: the comparison in
   * `npm run bench -- perturb --no-turn`.
   */
  readonly turnCrops?: boolean;
  /** Where the crop model's training held the hippocampi (head-pose.ts); `DEFAULT_TRAINING_POSE` when absent. */
  readonly trainingPose?: TrainingPose;
  /** Pitches the registration also starts from (default `START_PITCHES_DEG`); none: the header's orientation alone. */
  readonly startPitchesDeg?: readonly number[];
  /** Rolls and turns (each angle both ways round its axis) the registration also starts from; default none. */
  readonly startTurnsDeg?: readonly number[];
}

/** A pyramid level multiplied by a brain mask (linear on the level's grid: soft edges at the mask's resolution). */
function maskLevel(level: ImageLevel, mask: Volume): ImageLevel {
  const inside = new Float32Array(mask.data.length);
  for (let n = 0; n < inside.length; n++) inside[n] = mask.data[n] !== 0 ? 1 : 0;
  const weight = resampleLinear({ ...mask, data: inside }, level.dims, level.affine).data;
  const data = new Float32Array(level.data.length);
  for (let n = 0; n < data.length; n++) data[n] = level.data[n] * weight[n];
  return { ...level, data };
}

/**
 * Whether the scan looks skull-stripped: both templates are matched at the coarsest level
 * from the same start and the better one wins (a stripped scan has nothing where the
 * template's skull and scalp are; a whole head has them). From the header's orientation only:
 * the pitched starts cost 30–40 ms each at 8 mm, and the choice does not need the exact pose.
 */
function matchesStripped(prepared: PreparedTemplate, coarse: ImageLevel, initial: Mat4): boolean {
  const schedule = [{ maxIterations: LEVEL_ITERATIONS[0] }];
  const head = registerAffine({ levels: [prepared.fixed.levels[0]] }, [coarse], { initial, schedule });
  const brain = registerAffine({ levels: [prepared.fixedStripped.levels[0]] }, [coarse], { initial, schedule });
  return brain.ncc > head.ncc;
}

/** The template brain (fraction above `min`, of 255) on a pyramid level's grid, dilated by `rimMm`. */
function brainMaskAt(template: Template, level: ImageLevel, rimMm: number, min = 0): Uint8Array {
  const factors = blockFactors(spacingFromAffine(template.brain.affine), level.levelMm);
  const brain = blockAverage(template.brain, factors, level.levelMm);
  const mask = new Uint8Array(brain.data.length);
  for (let n = 0; n < mask.length; n++) mask[n] = brain.data[n] > min ? 1 : 0;
  return dilate6(mask, brain.dims, Math.round(rimMm / level.levelMm));
}

export type RegistrationStart = 'field of view' | 'localiser brain';

/** Where a full head's intracranial-volume estimate comes from: the registration, or the learned localiser's coarse brain volume (when it placed the crops after the registration failed). */
export type IcvSource = 'registration' | 'localiser';

export type LocalisationProblemKind = 'registration-failed' | 'partial-coverage' | 'hippocampus-out-of-view';

export interface LocalisationProblem {
  readonly kind: LocalisationProblemKind;
  readonly message: string;
}

export interface Localisation {
  /** Template (MNI) world mm → scan world mm. */
  readonly transform: Mat4;
  /** Similarity of scan and template after registration (NCC, finest level). */
  readonly ncc: number;
  /** The same inside the template brain only (no rim): does the scan show brain anatomy there? */
  readonly brainNcc: number;
  /** `good`, `poor` (shown with a warning), or `failed` (no masks). */
  readonly quality: 'good' | 'poor' | 'failed';
  /** Fraction of the template brain inside the scan's field of view. */
  readonly brainCoverage: number;
  /** Intracranial-volume estimate: template brain volume × |det| of the transform, mm³. */
  readonly icvMm3: number;
  /** Which template the scan was matched to: the whole head, or the skull-stripped brain (stripped scans, or a localiser's brain mask). */
  readonly template: 'head' | 'brain';
  /** Where the registration started: the centre of the bright voxels in the field of view, or the brain a learned localiser found. */
  readonly startedFrom: RegistrationStart;
  /** The scan's conformed grid (RAS, 1 mm). */
  readonly conformed: Grid;
  /**
   * The axes of the 1 mm grid the boxes live on: the conformed grid turned by the part of the
   * head's rotation (as the registration found it), taken from the crop model's training pose,
   * beyond what its training covered; the identity when that is none, or when the registration
   * failed (head-pose.ts).
   */
  readonly cropRotation: HeadRotation;
  /** Left (label 1) then right (label 2). */
  readonly hippocampi: readonly [HippocampusBox, HippocampusBox];
  /** Empty when both hippocampi can be segmented. */
  readonly problems: readonly LocalisationProblem[];
  /** For `poor` quality: a sentence asking the user to check the outline. */
  readonly warning?: string;
  readonly levels: readonly LevelReport[];
  readonly timingsMs: Readonly<Record<string, number>>;
}

/**
 * The problems that stop segmentation, as one sentence each, with the localisation they
 * came from (the studio draws its template outline, so a person sees what went wrong).
 */
export class LocalisationError extends Error {
  readonly problems: readonly LocalisationProblem[];
  readonly localisation: Localisation | undefined;
  constructor(problems: readonly LocalisationProblem[], localisation?: Localisation) {
    super(problems.map((p) => p.message).join(' '));
    this.name = 'LocalisationError';
    this.problems = problems;
    this.localisation = localisation;
  }
}

/**
 * Registers a full-head scan to the template (12-parameter affine, NCC, 8→4→2 mm) and
 * derives what the segmentation needs: a box around each hippocampus on the scan's
 * conformed grid, an intracranial-volume estimate, and whether any of it can be trusted.
 */
export function localise(scan: Volume, prepared: PreparedTemplate, opts: LocaliseOptions = {}): Localisation {
  const times: Record<string, number> = {};
  let t = performance.now();
  const lap = (name: string) => {
    const now = performance.now();
    times[name] = now - t;
    t = now;
  };
  const pyramid = buildPyramid(scan, LEVELS_MM);
  const brain = opts.brain;
  const moving = brain?.mask ? pyramid.map((level) => maskLevel(level, brain.mask!)) : pyramid;
  lap('pyramid');
  // Start with the brain centres aligned when a localiser found the brain, else the centres of
  // the bright voxels (the whole field of view: neck included); orientation from the header,
  // and turned about the centre by each of the start pitches (and rolls and turns, when asked).
  const c = brain ? brain.centreMm : foregroundCentre(moving[0]);
  const h = brain ? prepared.brainCentre : prepared.headCentre;
  const initial = rigidAbout(IDENTITY_ROTATION, h, c);
  const pitches = opts.startPitchesDeg ?? START_PITCHES_DEG;
  const aligned = brain?.leftRightMm ? rotationTaking(prepared.hippocampusAxisMm, brain.leftRightMm) : null;
  const alignedStarts = aligned && rotationAngleDeg(aligned) >= ALIGNED_START_MIN_DEG ? [aligned, ...pitches.map((deg) => composeRotations(aligned, pitchRotation(deg)))] : [];
  const rotations = [...pitches.map(pitchRotation), ...(opts.startTurnsDeg ?? []).flatMap((deg) => [rollRotation(deg), yawRotation(deg)]), ...alignedStarts];
  const candidates = rotations.map((rotation) => rigidAbout(rotation, h, c));
  const stripped = brain?.mask ? true : matchesStripped(prepared, moving[0], initial);
  lap('template choice');
  const fixed = stripped ? prepared.fixedStripped : prepared.fixed;
  const result = registerAffine(fixed, moving, { initial, candidates, candidateMargin: START_MARGIN_NCC, schedule: LEVEL_ITERATIONS.map((maxIterations) => ({ maxIterations })) });
  lap('registration');

  const transform = result.transform;
  const brainNcc = similarity(stripped ? prepared.interiorStripped : prepared.interior, moving[moving.length - 1], transform);
  const brainCoverage = coverage(prepared.template.brain, transform, scan);
  const quality =
    result.ncc < NCC_FAILED || brainNcc < BRAIN_NCC_FAILED ? 'failed' : result.ncc < NCC_POOR || brainNcc < BRAIN_NCC_POOR ? 'poor' : 'good';
  const conformed = conformedGrid(scan);
  const rotation = opts.turnCrops === false ? IDENTITY_ROTATION : cropRotation(transform, quality === 'failed', opts.trainingPose);
  const hippocampi = hippocampusBoxes(prepared.template.hippocampus, transform, scan, posedGrid(conformed, rotation));
  lap('checks and boxes');

  const problems: LocalisationProblem[] = [];
  if (quality === 'failed') {
    problems.push({
      kind: 'registration-failed',
      message:
        `The scan could not be matched to the brain template (similarity ${result.ncc.toFixed(2)} overall, ` +
        `${brainNcc.toFixed(2)} inside the brain; at least ${NCC_FAILED} and ${BRAIN_NCC_FAILED} needed): it may not be ` +
        `a T1-weighted brain MRI, the brain may be cut off, or the orientation in its header may be wrong.`,
    });
  }
  if (brainCoverage < MIN_BRAIN_COVERAGE) {
    problems.push({
      kind: 'partial-coverage',
      message: `Only ${(100 * brainCoverage).toFixed(0)}% of the brain is inside the scan's field of view (at least ${100 * MIN_BRAIN_COVERAGE}% needed).`,
    });
  }
  for (const box of hippocampi) {
    if (box.inView < MIN_HIPPOCAMPUS_IN_VIEW) {
      problems.push({
        kind: 'hippocampus-out-of-view',
        message: `The ${box.side} hippocampus is ${box.inView === 0 ? 'not' : 'only partly'} in the field of view (${(100 * box.inView).toFixed(0)}% of it).`,
      });
    }
  }
  const warning =
    quality === 'poor'
      ? `The scan matches the brain template only weakly (similarity ${result.ncc.toFixed(2)} overall, ${brainNcc.toFixed(2)} inside the brain): ` +
        'check that the template outline follows the brain before trusting the masks.'
      : undefined;
  return {
    transform,
    ncc: result.ncc,
    brainNcc,
    warning,
    quality,
    brainCoverage,
    template: stripped ? 'brain' : 'head',
    startedFrom: brain ? 'localiser brain' : 'field of view',
    icvMm3: prepared.brainMm3 * Math.abs(det3(transform)),
    conformed,
    cropRotation: rotation,
    hippocampi,
    problems,
    levels: result.levels,
    timingsMs: times,
  };
}

const QUALITY_RANK = { failed: 0, poor: 1, good: 2 } as const;

/** The better of two registrations of one scan: the better quality, then the higher similarity inside the brain. */
export function betterLocalisation(a: Localisation, b: Localisation): Localisation {
  const byQuality = QUALITY_RANK[b.quality] - QUALITY_RANK[a.quality];
  return byQuality > 0 || (byQuality === 0 && b.brainNcc > a.brainNcc) ? b : a;
}

/** Throws a LocalisationError when the localisation has problems; returns it otherwise. */
export function assertLocalised(loc: Localisation): Localisation {
  if (loc.problems.length > 0) throw new LocalisationError(loc.problems, loc);
  return loc;
}

/**
 * Fraction of the template brain (fraction-weighted) whose voxel centres land inside the
 * scan's field of view (within its outer voxel edges).
 */
export function coverage(brain: Volume<Uint8Array>, transform: Mat4, scan: Pick<Volume, 'dims' | 'affine'>): number {
  const m = multiply(multiply(invert(scan.affine), transform), brain.affine);
  const [nx, ny, nz] = brain.dims;
  const [sx, sy, sz] = scan.dims;
  let total = 0;
  let inside = 0;
  for (let k = 0, n = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      for (let i = 0; i < nx; i++, n++) {
        const w = brain.data[n];
        if (w === 0) continue;
        total += w;
        const x = m[0] * i + m[1] * j + m[2] * k + m[3];
        const y = m[4] * i + m[5] * j + m[6] * k + m[7];
        const z = m[8] * i + m[9] * j + m[10] * k + m[11];
        if (x >= -0.5 && y >= -0.5 && z >= -0.5 && x <= sx - 0.5 && y <= sy - 0.5 && z <= sz - 0.5) inside += w;
      }
    }
  }
  return total > 0 ? inside / total : 0;
}
