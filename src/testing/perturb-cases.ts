/**
 * The perturbation suite's subjects and cases (issue 13, item 5), shared by the test
 * (src/infer/perturbation.test.ts: a representative subset) and the benchmark
 * (`npm run bench -- perturb`: the full grid, before/after tables in bench/RESULTS.md).
 *
 * Subjects, each with the truth the outcome is judged against (labels 1 left, 2 right):
 * - bert: FreeSurfer's sample subject, norm.mgz (skull-stripped, normalised) + aseg 17/53;
 * - vxm: voxelmorph's skull-stripped T1 in [0, 1] + its aseg-style 17/53;
 * - ch2: Colin27 full head + AAL 37/38 (a coarse, generous outline: the centroid is AAL's);
 *   its brain (ch2bet) gives the skull-stripped case;
 * - sample: brainchop's full-head sample (no labels): the truth is the pipeline's own masks on
 *   the unperturbed scan, so its cases measure consistency, and say so.
 * Geometric perturbations keep world space, so the truth's world centroid stays the truth and
 * its voxels follow the scan's grid by nearest neighbour.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { applyToPoint, multiply, type Vec3 } from '../core/affine';
import { readVolume } from '../core/io';
import { labelCentroidMm } from '../core/measure';
import { dice, maskOf } from '../core/metrics';
import { zscore } from '../core/normalise';
import {
  biasField,
  cropWorld,
  deface,
  mp2rageBackground,
  labelsOnGrid,
  oblique,
  reorient,
  rescaleIntensity,
  resampleSpacing,
  ricianNoise,
  rotationAbout,
  skullStrip,
  thickSlices,
  turnHead,
} from '../core/perturb';
import type { LabelVolume, Mat4, Volume } from '../core/volume';
import { dataDir } from './shared';

export type SubjectName = 'bert' | 'vxm' | 'ch2' | 'sample';

export interface Subject {
  readonly name: SubjectName;
  readonly scan: Volume;
  /** 1 left, 2 right hippocampus on the scan's grid. */
  readonly truth: LabelVolume;
  /** What the truth is: FreeSurfer-style labels, AAL's atlas outline, or our own unperturbed masks. */
  readonly truthKind: 'aseg' | 'aal' | 'self';
  /** Brain mask on the scan grid, where one exists (skull-stripping case). */
  readonly brain?: Volume;
  readonly skullStripped: boolean;
}

const read = (path: string) => readVolume(new Uint8Array(readFileSync(path)), path);

/** A label map with `left`/`right` codes relabelled 1/2, everything else 0. */
export function sidesOf(labels: Volume, left: number, right: number): LabelVolume {
  const codes = labels.data as ArrayLike<number>;
  const data = new Uint8Array(codes.length);
  for (let p = 0; p < codes.length; p++) data[p] = codes[p] === left ? 1 : codes[p] === right ? 2 : 0;
  return { ...labels, data };
}

/** Loads a labelled subject from ../shared/data. The sample's truth comes from `selfTruth` (the unperturbed run). */
export async function loadSubject(name: SubjectName, selfTruth?: (scan: Volume) => Promise<LabelVolume>): Promise<Subject> {
  switch (name) {
    case 'bert': {
      const dir = join(dataDir, 'fullhead_labelled', 'bert');
      return { name, scan: read(join(dir, 'norm.mgz')), truth: sidesOf(read(join(dir, 'aseg.mgz')), 17, 53), truthKind: 'aseg', skullStripped: true };
    }
    case 'vxm': {
      const dir = join(dataDir, 'fullhead_labelled', 'vxm_subject');
      return { name, scan: read(join(dir, 't1.nii.gz')), truth: sidesOf(read(join(dir, 'aseg.nii.gz')), 17, 53), truthKind: 'aseg', skullStripped: true };
    }
    case 'ch2': {
      const dir = join(dataDir, 'templates');
      const scan = read(join(dir, 'ch2.nii.gz'));
      return { name, scan, truth: sidesOf(read(join(dir, 'aal.nii.gz')), 37, 38), truthKind: 'aal', brain: read(join(dir, 'ch2bet.nii.gz')), skullStripped: false };
    }
    case 'sample': {
      if (!selfTruth) throw new Error('the sample has no labels: pass selfTruth (the pipeline on the unperturbed scan)');
      const scan = read(join(dataDir, 'samples', 'brainchop_t1_crop.nii.gz'));
      return { name, scan, truth: await selfTruth(scan), truthKind: 'self', skullStripped: false };
    }
  }
}

/** The true hippocampus centroids, left then right, world mm. */
export function truthCentroids(subject: Subject): [Vec3, Vec3] {
  const left = labelCentroidMm(subject.truth, 1);
  const right = labelCentroidMm(subject.truth, 2);
  if (!left || !right) throw new Error(`${subject.name}: the truth lacks a side`);
  return [left, right];
}

export interface PerturbedCase {
  readonly scan: Volume;
  readonly truth: LabelVolume;
  /** How the head moved in world space (`turnHead`); the truth centroids move with it. None for the others. */
  readonly headMotion?: Mat4;
}

export interface PerturbationCase {
  readonly name: string;
  /** What a real scan of this kind looks like, in words. */
  readonly description: string;
  /**
   * `mask`: the scan is one the software must segment (a refusal fails the case);
   * `mask-or-refusal`: a clear refusal is as good as a correct mask.
   */
  readonly expect: 'mask' | 'mask-or-refusal';
  readonly applies: (s: Subject) => boolean;
  readonly apply: (s: Subject) => PerturbedCase;
}

/** Both perturbed the same way (geometric): the truth by nearest neighbour. */
const geometric = (s: Subject, f: (v: Volume, interp: 'linear' | 'nearest') => Volume): PerturbedCase => ({
  scan: f(s.scan, 'linear'),
  truth: f(s.truth, 'nearest') as LabelVolume,
});
const turned = (s: Subject, turn: Mat4): PerturbedCase => ({ scan: turnHead(s.scan, turn), truth: turnHead(s.truth, turn), headMotion: turn });
const intensity = (s: Subject, f: (v: Volume) => Volume): PerturbedCase => ({ scan: f(s.scan), truth: s.truth });
const always = () => true;
const mid = (s: Subject): Vec3 => {
  const [l, r] = truthCentroids(s);
  return [(l[0] + r[0]) / 2, (l[1] + r[1]) / 2, (l[2] + r[2]) / 2];
};
const SEED = 13;

/** The head turned in world space by `degrees` about one axis (0 left–right: pitch, 1 anterior–posterior: roll, 2 superior–inferior: turn) through its hippocampi's midpoint; the scan must give masks. */
const headPose = (name: string, axis: 0 | 1 | 2, degrees: number, description: string): PerturbationCase => ({
  name,
  description,
  expect: 'mask',
  applies: always,
  apply: (s) => turned(s, rotationAbout(axis, degrees, mid(s))),
});

export const PERTURBATIONS: readonly PerturbationCase[] = [
  { name: 'none', description: 'as supplied', expect: 'mask', applies: always, apply: (s) => ({ scan: s.scan, truth: s.truth }) },
  { name: 'header LPS', description: 'the same voxels written LPS (DICOM order)', expect: 'mask', applies: always, apply: (s) => geometric(s, (v) => reorient(v, 'LPS')) },
  { name: 'header ASL', description: 'sagittal acquisition order (A, S, L)', expect: 'mask', applies: always, apply: (s) => geometric(s, (v) => reorient(v, 'ASL')) },
  { name: 'oblique 12°', description: 'grid turned 12° about the left–right axis (oblique acquisition)', expect: 'mask', applies: always, apply: (s) => geometric(s, (v, i) => oblique(v, 0, 12, i)) },
  {
    name: 'oblique 25°',
    description: "grid turned 25° about the anterior–posterior axis, beyond the localiser's ±15° training (its first look misplaced the sample's right hippocampus by 36 mm)",
    expect: 'mask',
    applies: always,
    apply: (s) => geometric(s, (v, i) => oblique(v, 1, 25, i)),
  },
  headPose('head pitched 25°', 0, 25, "the head tilted 25° nose-up in the scanner (about the left–right axis through the hippocampi), beyond the crop models' ±12° training"),
  headPose('head pitched −30°', 0, -30, 'the head tilted 30° nose-down in the scanner'),
  headPose('head pitched 45°', 0, 45, 'the head tilted 45° nose-up in the scanner'),
  headPose('head rolled 30°', 1, 30, 'the head tilted 30° towards one shoulder (about the anterior–posterior axis)'),
  headPose('head turned 30°', 2, 30, 'the head turned 30° to one side (about the superior–inferior axis)'),
  headPose('head pitched 60°', 0, 60, 'the head tilted 60° nose-up, beyond the pitch starts (±40°): reached from the nearest'),
  headPose('head rolled 45°', 1, 45, "the head tilted 45° towards one shoulder, beyond the first registration's starts (header and pitches): found by the rescue's roll starts"),
  headPose('head turned 45°', 2, 45, "the head turned 45° to one side, beyond the first registration's starts (header and pitches): found by the rescue's turn starts"),
  headPose('head turned 60°', 2, 60, "the head turned 60° to one side: between the rescue's turn starts (40° and 65°)"),
  headPose('head turned 90°', 2, 90, "the head turned 90° to one side, as a header whose axes are off by a quarter turn shows it: found by the rescue's 90° starts"),
  headPose('head turned 180°', 2, 180, 'left–right and front–back both reversed, as LPS voxels written under an RAS header show it (or the head turned 180°)'),
  headPose('head pitched 180°', 0, 180, 'upside down: superior–inferior and front–back both reversed in the header'),
  headPose('head rolled 90°', 1, 90, "the head on its side (rolled 90°), or a header a quarter turn off: the localiser finds no brain, and the rescue's 90° starts from the field of view's centre find the head"),
  {
    name: 'head rolled and pitched 30°',
    description: 'the head tilted 30° towards one shoulder and 30° nose-up: no start of the registration has both',
    expect: 'mask',
    applies: always,
    apply: (s) => turned(s, multiply(rotationAbout(0, 30, mid(s)), rotationAbout(1, 30, mid(s)))),
  },
  {
    name: 'head turned and pitched 30°',
    description: 'the head turned 30° to one side and tilted 30° nose-up: no start of the registration has both',
    expect: 'mask',
    applies: always,
    apply: (s) => turned(s, multiply(rotationAbout(0, 30, mid(s)), rotationAbout(2, 30, mid(s)))),
  },
  { name: '1×1×1.2 mm', description: 'anisotropic voxels, 1.2 mm along the third voxel axis', expect: 'mask', applies: always, apply: (s) => geometric(s, (v, i) => resampleSpacing(v, [1, 1, 1.2], i)) },
  { name: '0.7 mm', description: 'fine isotropic 0.7 mm voxels (high-resolution protocols)', expect: 'mask', applies: always, apply: (s) => geometric(s, (v, i) => resampleSpacing(v, [0.7, 0.7, 0.7], i)) },
  { name: 'axial slices 4 mm', description: 'a 2-D acquisition: axial slices 4 mm thick (each the mean of its slab), 1 mm in plane', expect: 'mask', applies: always, apply: (s) => geometric(s, (v, i) => thickSlices(v, 2, 4, i)) },
  { name: 'coronal slices 3 mm', description: 'coronal slices 3 mm thick (each the mean of its slab), 1 mm in plane', expect: 'mask', applies: always, apply: (s) => geometric(s, (v, i) => thickSlices(v, 1, 3, i)) },
  { name: '1.5 mm', description: 'coarse isotropic 1.5 mm voxels', expect: 'mask', applies: always, apply: (s) => geometric(s, (v, i) => resampleSpacing(v, [1.5, 1.5, 1.5], i)) },
  {
    name: 'neck cut',
    description: 'field of view cut 55 mm below the hippocampi (cerebellum kept)',
    expect: 'mask',
    applies: always,
    apply: (s) => geometric(s, (v) => cropWorld(v, 2, mid(s)[2] - 55, Infinity)),
  },
  {
    name: 'FOV 160 mm S–I',
    description: 'a 160 mm superior–inferior field of view, 65 mm of it below the hippocampi',
    expect: 'mask',
    applies: always,
    apply: (s) => geometric(s, (v) => cropWorld(v, 2, mid(s)[2] - 65, mid(s)[2] + 95)),
  },
  {
    name: 'tight FOV',
    description: 'field of view ending 15 mm above the hippocampi (the brain cut off)',
    expect: 'mask-or-refusal',
    applies: always,
    apply: (s) => geometric(s, (v) => cropWorld(v, 2, -Infinity, mid(s)[2] + 15)),
  },
  {
    name: 'defaced',
    description: 'face and eyes removed (oblique cut in front of and below the frontal lobe)',
    expect: 'mask',
    applies: (s) => !s.skullStripped,
    apply: (s) => intensity(s, (v) => deface(v, mid(s)[1] + 45, mid(s)[2] - 15, 0.8)),
  },
  { name: 'skull-stripped', description: 'brain-extracted (ch2bet mask)', expect: 'mask', applies: (s) => s.brain !== undefined, apply: (s) => intensity(s, (v) => skullStrip(v, s.brain!)) },
  { name: 'bias ×1.6', description: 'smooth bias field spanning 1/1.6–1.6×', expect: 'mask', applies: always, apply: (s) => intensity(s, (v) => biasField(v, 1.6, SEED)) },
  { name: 'noise 4%', description: 'Rician noise, σ = 4% of the 99th percentile', expect: 'mask', applies: always, apply: (s) => intensity(s, (v) => ricianNoise(v, 0.04, SEED)) },
  {
    name: 'MP2RAGE background',
    description: "an MP2RAGE UNI image's background: the air (outside a skull-stripped brain, everything) as noise over the whole intensity range",
    expect: 'mask',
    applies: always,
    apply: (s) => intensity(s, (v) => mp2rageBackground(v, 0.05, SEED)),
  },
  {
    name: 'low contrast γ0.5',
    description: 'grey/white contrast as a spoiled gradient echo (SPGR/FLASH) without inversion gives it: intensities to the power 0.5 (white/grey 1.38 → 1.17)',
    expect: 'mask',
    applies: always,
    apply: (s) => intensity(s, (v) => rescaleIntensity(v, { gamma: 0.5 })),
  },
  {
    name: 'rescaled uint8 γ0.8',
    description: 'intensities ×1000 + 50, gamma 0.8, then quantised to 8 bits',
    expect: 'mask',
    applies: always,
    apply: (s) => intensity(s, (v) => rescaleIntensity(v, { scale: 1000, offset: 50, gamma: 0.8, uint8: true })),
  },
  {
    name: 'signed z-scored',
    description: 'intensities z-scored over the whole volume (mean 0, sd 1), as some preprocessing pipelines write them: the air below zero',
    expect: 'mask',
    applies: always,
    apply: (s) => intensity(s, (v) => ({ ...v, data: zscore(v.data, 'all') })),
  },
  { name: 'noise: not a brain', description: 'pure noise on the scan grid', expect: 'mask-or-refusal', applies: (s) => s.name === 'bert', apply: (s) => noiseScan(s) },
];

/** Noise of the scan's own grid and intensity range: must never come back as confident masks. */
function noiseScan(s: Subject): PerturbedCase {
  const blank: Volume = { ...s.scan, data: new Float32Array(s.scan.data.length).fill(50) };
  return { scan: ricianNoise(blank, 0.5, SEED), truth: { ...s.truth, data: new Uint8Array(s.truth.data.length) } };
}

/** What a pipeline run gave: masks (1 left, 2 right on the scan grid) with its warnings, or a refusal. */
export type RunOutcome =
  | { readonly kind: 'mask'; readonly labels: LabelVolume; readonly warnings: readonly string[] }
  | { readonly kind: 'refused'; readonly message: string };

/** Pass criteria, stated. */
export interface Criteria {
  /** Greatest distance of each side's mask centroid from the true centroid, mm. */
  readonly maxDistanceMm: number;
  /** Least Dice of each side against the truth. */
  readonly minDice: number;
}

/** Issue 13, item 5: within 5 mm of the true hippocampus centroid. */
export const MAX_DISTANCE_MM = 5;

export interface Judged {
  readonly outcome: 'mask' | 'refused';
  /** Left, right: mask centroid to true centroid, mm (NaN for an empty side or a refusal). */
  readonly distanceMm: readonly [number, number];
  readonly dice: readonly [number, number];
  readonly warnings: readonly string[];
  readonly message?: string;
  readonly pass: boolean;
  /** Why it failed, in words (empty when it passed). */
  readonly why: string;
}

/** Judges one run of one case: a mask must meet the criteria on both sides; a refusal passes only where allowed. */
export function judge(c: PerturbationCase, perturbed: PerturbedCase, run: RunOutcome, criteria: Criteria, truthCentres: readonly [Vec3, Vec3] | null): Judged {
  if (run.kind === 'refused') {
    const clear = run.message.trim().length > 20;
    const ok = c.expect === 'mask-or-refusal' && clear;
    return {
      outcome: 'refused',
      distanceMm: [NaN, NaN],
      dice: [NaN, NaN],
      warnings: [],
      message: run.message,
      pass: ok,
      why: ok ? '' : c.expect === 'mask' ? `refused a scan that must be segmented: ${run.message}` : 'refused without a clear message',
    };
  }
  const truth = labelsOnGrid(perturbed.truth, run.labels);
  const distanceMm: [number, number] = [NaN, NaN];
  const dices: [number, number] = [NaN, NaN];
  const problems: string[] = [];
  for (const [s, side] of (['left', 'right'] as const).entries()) {
    const value = s + 1;
    const c0 = labelCentroidMm(run.labels, value);
    const t = truthCentres ? (perturbed.headMotion ? applyToPoint(perturbed.headMotion, truthCentres[s]) : truthCentres[s]) : null;
    if (c0 && t) distanceMm[s] = Math.hypot(c0[0] - t[0], c0[1] - t[1], c0[2] - t[2]);
    dices[s] = dice(maskOf(run.labels.data, value), maskOf(truth.data, value));
    if (!t) problems.push(`masks on a scan with no ${side} hippocampus`);
    else if (!c0) problems.push(`no ${side} mask`);
    else if (!(distanceMm[s] <= criteria.maxDistanceMm)) problems.push(`${side} ${distanceMm[s].toFixed(1)} mm from the true centroid`);
    if (t && !(dices[s] >= criteria.minDice)) problems.push(`${side} Dice ${dices[s].toFixed(3)} < ${criteria.minDice}`);
  }
  return { outcome: 'mask', distanceMm, dice: dices, warnings: run.warnings, pass: problems.length === 0, why: problems.join('; ') };
}
