/**
 * The full-head path, one function from a whole-head T1 to left and right hippocampus
 * masks on the scan's own grid: localise both hippocampi by registration to the MNI
 * template (src/core/fullhead) → cut a crop around each, oriented and framed like the MSD
 * crops the model was trained on (left in RAS, right mirrored, turned with a head tilted
 * beyond the training's range; MSD's size, the hippocampus where MSD puts it: msd-frame.ts)
 * → segment each with the crop model, cutting the crop again around the mask when the first
 * guess was off → keep the largest component of each side → paste both back onto the scan
 * grid → volumes in mm³ and as a fraction of the intracranial-volume estimate (the
 * registration's, or the localiser's coarse brain volume after a failed registration).
 *
 * Runtime-agnostic like `segmentVolume`: the worker passes its onnxruntime-web backend,
 * the CLI onnxruntime-node. Localisation problems stop the run with a LocalisationError
 * (one sentence per problem); a poor registration is segmented with a warning.
 */
import type { Vec3 } from '../core/affine';
import { applyToPoint, invert, multiply, spacingFromAffine } from '../core/affine';
import { keepLargestComponentPerLabel } from '../core/components';
import { assertLocalised, betterLocalisation, boxToConformed, extractBox, LEFT, localise, pasteBoxMasks, RESCUE_START_PITCHES_DEG, RESCUE_START_TURNS_DEG, RIGHT, type BrainPrior } from '../core/fullhead';
import type { HippocampusBox, IcvSource, Localisation, LocaliseOptions, PreparedTemplate } from '../core/fullhead';
import { checkMasks, CONFIDENCE_WARN, MaskRefusedError, type QcReport, type SideEvidence } from '../core/fullhead/qc';
import { validateVolume } from '../core/io/validate';
import type { LabelInfo, LabelVolumeMeasure } from '../core/labels';
import { voxelVolumeMm3 } from '../core/measure';
import { gridWithSpacing, type Grid } from '../core/resample';
import { posedGrid, type TrainingPose } from '../core/fullhead/head-pose';
import { DEFAULT_OVERLAP, windowPositions } from '../core/sliding-window';
import type { Dims3, LabelVolume, Volume } from '../core/volume';
import type { ModelManifest } from './manifest';
import { segmentFramedSide } from './framed-side';
import { EDGE_FRACTION_WARNING, expectedCentre, msdFrame } from './msd-frame';
import { needsResampling, segmentVolume, type LoadedModel, type SegmentOptions, type SegmentResult } from './pipeline';
import { crossCheckWithSecondLook, type CrossCheckLook, type JudgedCrossCheck, type LookAgain } from './second-look';

/** Output labels of the full-head path: one per side (values are core/fullhead's LEFT and RIGHT). */
export const SIDE_LABELS: readonly LabelInfo[] = [
  { value: 0, name: 'background', rgb: [0, 0, 0] },
  { value: LEFT, name: 'left hippocampus', rgb: [230, 159, 0] },
  { value: RIGHT, name: 'right hippocampus', rgb: [86, 180, 233] },
];

/** With `sublabels`: head and body + tail of each side (the crop model's own split, per side). */
export const SUBLABELS = { leftHead: 1, leftBody: 2, rightHead: 3, rightBody: 4 } as const;

export const SUBLABEL_INFO: readonly LabelInfo[] = [
  { value: 0, name: 'background', rgb: [0, 0, 0] },
  { value: SUBLABELS.leftHead, name: 'left hippocampus head', rgb: [230, 159, 0] },
  { value: SUBLABELS.leftBody, name: 'left hippocampus body + tail', rgb: [213, 94, 0] },
  { value: SUBLABELS.rightHead, name: 'right hippocampus head', rgb: [86, 180, 233] },
  { value: SUBLABELS.rightBody, name: 'right hippocampus body + tail', rgb: [0, 114, 178] },
];

/** The crop model's head label (MSD Task04: 1 head, 2 body + tail). */
const MODEL_HEAD = 1;
const MODEL_BODY = 2;

/** One hippocampus as the learned localiser (src/infer/localiser.ts) found it. */
export interface LocalisedHippocampus {
  /** Centroid, scan world mm (RAS+). */
  readonly centroidMm: Vec3;
  /** Coarse volume at the localiser's 4 mm, mm³. */
  readonly volumeMm3: number;
  /** 0–1: how sure the localiser is that this is the hippocampus. */
  readonly confidence: number;
}

/** What the learned localiser found in a scan (the shape of src/infer/localiser.ts's result once found). */
export interface LocaliserFindings {
  readonly left: LocalisedHippocampus;
  readonly right: LocalisedHippocampus;
  /** Brain (intracranial) mask, non-zero inside, on the localiser's 4 mm grid in scan world space. */
  readonly brainMask: Volume;
  readonly brainVolumeMm3: number;
  readonly brainCentroidMm: Vec3;
}

/** A cross-check localiser's findings: each side checks the registration; the brain restarts a registration that went wrong. */
export type CrossCheckFindings = LocaliserFindings;

export interface FullHeadOptions extends SegmentOptions {
  /** Head and body + tail per side (labels 1–4, `SUBLABELS`) instead of one label per side. */
  readonly sublabels?: boolean;
  /**
   * The learned localiser's findings on this scan. With them the registration starts from
   * the brain and matches it only (to the skull-stripped template), the crops are placed on
   * the localiser's hippocampi, and localiser and registration check each other.
   */
  readonly localiser?: LocaliserFindings;
  /**
   * A cross-check localiser's findings (one whose manifest says `localiserRole: cross-check`:
   * less accurate than the registration). It changes nothing in the registration or the crops;
   * each side's centroid is compared with the registration's (qc.ts, CROSSCHECK_WARN_MM).
   * Only the checks at the end need it, so it may still be arriving (a promise: the localiser
   * then runs beside the registration and segmentation); null when it found nothing to check with.
   * Two exceptions, both for a registration that went wrong: one that is not good is tried
   * again from the brain it found (`registerWithRescue`) and the better of the two is kept; one
   * that still failed leaves the crops to a localiser sure of both sides (`placedBy: 'localiser'`,
   * with a warning in words), instead of no masks.
   */
  readonly crossCheck?: CrossCheckFindings | PromiseLike<CrossCheckFindings | null>;
  /**
   * The cross-check localiser run again on another grid: given, a cross-check that disagrees
   * with the registration, or stood behind nothing, looks again in the registration's frame
   * (second-look.ts) and the checks judge that answer.
   */
  readonly crossCheckAgain?: LookAgain;
  /** Called as each stage of `timingsMs` ends (a benchmark reads its CPU clock there). */
  readonly onStageEnd?: (stage: string) => void;
  /** False keeps the crops on the scan's RAS grid however the head is tilted (core/fullhead's `LocaliseOptions.turnCrops`); for comparison only. */
  readonly turnCrops?: boolean;
}

/** One hippocampus as measured on the output grid. */
export interface SideMeasure {
  readonly side: 'left' | 'right';
  readonly voxels: number;
  readonly mm3: number;
  /** mm³ ÷ the intracranial-volume estimate. */
  readonly icvFraction: number;
  /** Centre of mass of the side's mask, scan world mm (RAS+); null when the mask is empty. */
  readonly centroidMm: Vec3 | null;
}

/** A crop the model segmented, whether it was cut again around a first mask, and whether it is the wider crop. */
export interface ModelFrame extends HippocampusBox {
  readonly recentred: boolean;
  readonly widened: boolean;
}

/** A label's volume with its share of the intracranial-volume estimate. */
export type LabelMeasureWithIcv = LabelVolumeMeasure & { readonly icvFraction: number };

export interface FullHeadResult extends SegmentResult {
  /** The label table of `labels` (`SIDE_LABELS` or `SUBLABEL_INFO`). */
  readonly labelInfo: readonly LabelInfo[];
  readonly volumes: LabelMeasureWithIcv[];
  /** Left, then right: whole hippocampus (head + body) each. */
  readonly hippocampi: readonly [SideMeasure, SideMeasure];
  /** Registration, quality, ICV, the registration's boxes. */
  readonly localisation: Localisation;
  /**
   * The intracranial-volume estimate the ICV fractions use, mm³, and where it came from: the
   * registration's, or the localiser's coarse brain volume when the localiser placed the crops
   * after the registration failed.
   */
  readonly icvMm3: number;
  readonly icvFrom: IcvSource;
  /** The crops the model segmented (MSD-framed, inside or around the boxes), left then right. */
  readonly frames: readonly [ModelFrame, ModelFrame];
  /** Sentences the user should see beside the masks (a poor registration, an empty side). */
  readonly warnings: readonly string[];
  /** The masks' quality control (core/fullhead/qc.ts); refusals never reach a result for a model of known protocol. */
  readonly qc: QcReport;
  /** Where the crops were placed from: the learned localiser, or the registration (no localiser, or an unsure one). */
  readonly placedBy: 'localiser' | 'registration';
  /** The localiser's findings, when it ran. */
  readonly localiser?: LocaliserFindings;
  /** The cross-check localiser's per-side findings, when it ran and found both sides. */
  readonly crossCheck?: CrossCheckFindings;
  /** Where `crossCheck` was seen: the scan's own grid, or a second look in the registration's frame. */
  readonly crossCheckLook?: CrossCheckLook;
}

/** A box of a 1 mm grid (the conformed one, or it turned with the head) around `centreMm` (MSD orientation: the right one mirrored), for crops placed by the localiser. */
export function boxAround(side: 'left' | 'right', centreMm: Vec3, grid: Grid): HippocampusBox {
  const dims: Vec3 = [48, 64, 56];
  const c = applyToPoint(invert(grid.affine), centreMm);
  const first = c.map((v, a) => Math.round(v - (dims[a] - 1) / 2)) as unknown as Vec3;
  return {
    side,
    label: side === 'left' ? LEFT : RIGHT,
    grid: { dims, affine: multiply(grid.affine, boxToConformed(first, dims, side)) },
    inView: 1,
    centreMm,
  };
}

/** The boxes a localiser places, on the grid the registration's boxes live on (the conformed grid, turned to the crop model's training pose). */
function localiserBoxes(found: LocaliserFindings, localisation: Localisation): readonly [HippocampusBox, HippocampusBox] {
  const grid = posedGrid(localisation.conformed, localisation.cropRotation);
  return [boxAround('left', found.left.centroidMm, grid), boxAround('right', found.right.centroidMm, grid)];
}

/** Where the registration's anatomy prior puts a hippocampus centroid (AAL, corrected to the traced outline), world mm. */
export function registrationCentre(box: HippocampusBox): Vec3 {
  return applyToPoint(box.grid.affine, expectedCentre(box));
}

/** Model labels that `sublabels` needs: 1 head, 2 body (+ tail), as the MSD-trained models have. */
export function checkSublabelModel(manifest: ModelManifest): void {
  const name = (value: number) => manifest.labels.find((l) => l.value === value)?.name ?? '';
  if (!/head/i.test(name(MODEL_HEAD)) || !/body/i.test(name(MODEL_BODY))) {
    const labels = manifest.labels.filter((l) => l.value !== 0).map((l) => `${l.value} "${l.name}"`).join(', ');
    throw new Error(
      `head/body sub-labels need a model whose label ${MODEL_HEAD} is the hippocampus head and label ${MODEL_BODY} the body; ` +
        `model ${manifest.id} has ${labels}`,
    );
  }
}

/**
 * How many windows the crop pipeline will run on a box (for one progress bar over both
 * sides): the box's grid, or the model-spacing grid `segmentVolume` resamples it to.
 */
function windowCount(box: HippocampusBox, manifest: ModelManifest, overlap: number): number {
  const dims = needsResampling(spacingFromAffine(box.grid.affine), manifest.spacingMm) ? gridWithSpacing(box.grid, manifest.spacingMm).dims : box.grid.dims;
  return windowPositions(dims, manifest.inputSize as unknown as Dims3, overlap).length;
}

/** Where the full-head path puts both hippocampi before the model sees them. */
export interface CropPlacement {
  /** The registration (run again from the localiser's brain when the first was not good). */
  readonly localisation: Localisation;
  /** The registration's boxes, or a sure localiser's when the registration failed. */
  readonly placedBy: 'localiser' | 'registration';
  /** The localiser's findings that placed the crops, or that the registration was started from (`FullHeadOptions.localiser`). */
  readonly found?: LocaliserFindings;
  /** Left, then right: the grid each side's crops are cut on (the conformed grid, turned to the crop model's training pose). */
  readonly boxes: readonly [HippocampusBox, HippocampusBox];
  /** Each side's expected centre, in its box's voxels: the first crop is framed around it. */
  readonly centres: readonly [Vec3, Vec3];
}

/** How the crops turn: with the head (unless `turnCrops` is false) to the crop model's training pose (its manifest's `trainingPose`). */
type LocalisePose = Pick<LocaliseOptions, 'turnCrops' | 'trainingPose'>;

/**
 * Localises both hippocampi as the full-head path does: the registration, started again from
 * the brain a cross-check localiser found when the first is not good; when it still failed, a
 * localiser sure of both sides places the crops (with a warning in words) instead of no masks.
 * Throws a LocalisationError when neither can. Fine-tuning on a full head places its crops
 * with this too (src/train/training-crops.ts).
 */
export async function placeCrops(
  scan: Volume,
  template: PreparedTemplate,
  opts: Pick<FullHeadOptions, 'localiser' | 'crossCheck' | 'turnCrops'> & { readonly trainingPose?: TrainingPose } = {},
): Promise<CropPlacement> {
  const pose: LocalisePose = { turnCrops: opts.turnCrops ?? true, trainingPose: opts.trainingPose };
  const localisation = opts.localiser
    ? localise(scan, template, { brain: { centreMm: opts.localiser.brainCentroidMm, mask: opts.localiser.brainMask, leftRightMm: leftToRight(opts.localiser) }, ...pose })
    : await registerWithRescue(scan, template, opts.crossCheck, pose);
  // A cross-check localiser stands in for a registration that failed.
  const found = opts.localiser ?? (localisation.quality === 'failed' ? await settled(opts.crossCheck) : undefined);
  // A sure localiser places the crops itself; the registration is then the cross-check, the
  // outline and the ICV. Without one (or when it is unsure) the registration must succeed.
  const placedBy = found && isSure(found) ? 'localiser' : 'registration';
  if (placedBy === 'registration' || localisation.quality !== 'failed') assertLocalised(localisation);
  const boxes = placedBy === 'localiser' ? localiserBoxes(found!, localisation) : localisation.hippocampi;
  const centres = boxes.map((b) => (placedBy === 'localiser' ? applyToPoint(invert(b.grid.affine), b.centreMm) : expectedCentre(b))) as [Vec3, Vec3];
  return { localisation, placedBy, ...(found ? { found } : {}), boxes, centres };
}

/** The registration's similarity in words ("similarity 0.58 overall, 0.21 inside the brain") when it failed and the localiser placed the crops; null otherwise. */
export function failedRegistration(placement: CropPlacement): string | null {
  const { localisation } = placement;
  if (placement.placedBy !== 'localiser' || localisation.quality !== 'failed') return null;
  return `similarity ${localisation.ncc.toFixed(2)} overall, ${localisation.brainNcc.toFixed(2)} inside the brain`;
}

/**
 * The crops the model is given first, left then right: MSD-framed around each side's expected
 * centre (where MSD crops keep the hippocampus). Fine-tuning on a full head trains on these
 * same crops (src/train/training-crops.ts).
 */
export function firstModelFrames(placement: Pick<CropPlacement, 'boxes' | 'centres'>): [HippocampusBox, HippocampusBox] {
  const [left, right] = placement.boxes;
  return [msdFrame(left, placement.centres[0]), msdFrame(right, placement.centres[1])];
}

/**
 * Segments a full-head scan. `template` is prepared once per session (`prepareTemplate`)
 * and reused. Throws a LocalisationError when the hippocampi cannot be found.
 */
export async function segmentFullHead(
  scan: Volume,
  model: LoadedModel,
  template: PreparedTemplate,
  opts: FullHeadOptions = {},
): Promise<FullHeadResult> {
  const { manifest } = model;
  const progress = opts.onProgress ?? (() => {});
  const overlap = opts.overlap ?? DEFAULT_OVERLAP;
  const timingsMs: Record<string, number> = {};
  const start = performance.now();
  let mark = start;
  // A stage lapped twice adds up: every moment from start to total is in exactly one stage.
  const lap = (stage: string) => {
    const now = performance.now();
    timingsMs[stage] = (timingsMs[stage] ?? 0) + now - mark;
    mark = now;
    opts.onStageEnd?.(stage);
  };

  opts.signal?.throwIfAborted();
  if (opts.sublabels) checkSublabelModel(manifest);
  progress({ stage: 'preprocess' });
  validateVolume(scan, 'The scan');
  progress({ stage: 'localise' });
  const placement = await placeCrops(scan, template, { ...opts, trainingPose: manifest.trainingPose });
  const { localisation, placedBy, found, boxes, centres } = placement;
  const warnings: string[] = [];
  const failed = failedRegistration(placement);
  if (failed) {
    warnings.push(
      `The template registration failed (${failed}), as it does on a contrast other than a T1's (T2, FLAIR, PD): check that this is a T1-weighted scan. ` +
        'The hippocampi were placed by the localiser alone; the template outline is wrong and the intracranial volume is the localiser’s coarse brain volume.',
    );
  }
  const icvFrom: IcvSource = failed ? 'localiser' : 'registration';
  const icvMm3 = icvFrom === 'localiser' ? found!.brainVolumeMm3 : localisation.icvMm3;
  lap('localise');

  // The crops are in the orientation the crop models were trained in (MSD: left in RAS,
  // right mirrored; core/fullhead/roi.ts): the model takes them as they are, whatever its
  // manifest says about whole scans.
  const asTrained: LoadedModel = { ...model, manifest: { ...manifest, orientation: 'as-is' } };
  const firstFrames = firstModelFrames(placement);
  const firstCrops = firstFrames.map((frame) => extractBox(scan, frame));
  lap('crop');

  // One progress bar over both sides: each crop cut again adds its windows.
  let windows = firstFrames.reduce((n, f) => n + windowCount(f, manifest, overlap), 0);
  let done = 0;
  const segment = async (crop: Volume): Promise<Uint8Array> => {
    const result = await segmentVolume(crop, asTrained, {
      signal: opts.signal,
      overlap,
      // The largest component is taken over head and body together, below.
      largestComponent: false,
      onProgress: (p) => {
        if (p.stage === 'window') progress({ stage: 'window', index: done++, total: windows });
      },
    });
    return result.labels.data;
  };
  const largest = opts.largestComponent ?? true;
  const frames: ModelFrame[] = [];
  const boxLabels: Uint8Array[] = [];
  const whole: Uint8Array[] = [];
  const connected: number[] = [];
  if (localisation.warning) warnings.push(localisation.warning);
  for (const [s, box] of boxes.entries()) {
    const run = async (frame: HippocampusBox) => {
      if (frame !== firstFrames[s]) windows += windowCount(frame, manifest, overlap);
      const labels = await segment(frame === firstFrames[s] ? firstCrops[s] : extractBox(scan, frame));
      const raw = new Uint8Array(labels.length);
      for (let n = 0; n < raw.length; n++) raw[n] = labels[n] !== 0 ? 1 : 0;
      const kept = keepLargestComponentPerLabel(raw, frame.grid.dims);
      const rawCount = count(raw);
      return { labels, mask: largest ? kept : raw, connected: rawCount > 0 ? count(kept) / rawCount : 1 };
    };
    const side = await segmentFramedSide(box, centres[s], run, firstFrames[s]);
    const { geometry } = side;
    if (geometry && geometry.edgeFraction > EDGE_FRACTION_WARNING) {
      warnings.push(
        `The ${box.side} hippocampus mask reaches the edge of the region the model saw (${(100 * geometry.edgeFraction).toFixed(1)}% of it ` +
          `on the border${side.widened ? ', in the wider crop too' : ''}): part of it may be cut off.`,
      );
    }
    frames.push({ ...side.frame, recentred: side.recentred, widened: side.widened });
    boxLabels.push(side.answer.labels);
    whole.push(side.answer.mask);
    connected.push(side.answer.connected);
    lap(`segment ${box.side}`);
  }

  opts.signal?.throwIfAborted();
  progress({ stage: 'postprocess' });
  const sides = pasteBoxMasks(scan, frames.map((box, s) => ({ box, mask: whole[s] })));
  // Everything below works in the block the masks occupy (a few thousandths of a head scan).
  const block = nonzeroBlock(sides);
  // Nearest-neighbour paste onto a coarser or oblique grid can cut a thin part off: the
  // output keeps one component per side, on the grid the user sees.
  if (largest && block) keepLargestPerSide(sides, block);
  let labels: LabelVolume = sides;
  if (opts.sublabels) {
    const headOf = (s: number) => {
      const head = new Uint8Array(boxLabels[s].length);
      for (let n = 0; n < head.length; n++) head[n] = whole[s][n] && boxLabels[s][n] === MODEL_HEAD ? 1 : 0;
      return head;
    };
    const heads = pasteBoxMasks(scan, frames.map((box, s) => ({ box, mask: headOf(s) })));
    labels = { ...sides, data: sublabelled(sides, heads.data, block) };
  }
  const labelInfo = opts.sublabels ? SUBLABEL_INFO : SIDE_LABELS;
  const icv = icvMm3;
  const mm3PerVoxel = voxelVolumeMm3(scan.affine);
  const counts = block ? blockStats(labels, block).counts : new Float64Array(256);
  const volumes = labelInfo
    .filter((l) => l.value !== 0)
    .map((l) => ({ value: l.value, name: l.name, voxels: counts[l.value], mm3: counts[l.value] * mm3PerVoxel, icvFraction: (counts[l.value] * mm3PerVoxel) / icv }));
  const hippocampi = measureSides(sides, block, mm3PerVoxel, icv);
  lap('paste');
  const pending = opts.crossCheck;
  const firstLook = (await pending) ?? null;
  // The time the masks waited for a localiser that ran beside them (usually none), and for judging its answer.
  const waited = !!pending && 'then' in pending;
  if (waited) lap('cross-check wait');
  const judged = pending ? await judgeCrossCheck(firstLook, scan, localisation, opts.crossCheckAgain) : undefined;
  if (judged?.lookedAgain) lap('cross-check, second look');
  else if (waited) lap('cross-check wait');
  const crossCheck = judged?.findings ?? undefined;
  timingsMs.total = performance.now() - start;

  const evidence = hippocampi.map(
    (h, s): SideEvidence => ({
      side: h.side,
      mm3: h.mm3,
      connectedFraction: connected[s],
      centroidMm: h.centroidMm,
      localiser: found ? { centroidMm: found[h.side].centroidMm, confidence: found[h.side].confidence } : null,
      crossCheck: crossCheck ? { centroidMm: crossCheck[h.side].centroidMm, lookedAgain: judged!.look === 'registration frame' } : null,
      registration: { centroidMm: registrationCentre(localisation.hippocampi[s]), quality: localisation.quality },
    }),
  ) as [SideEvidence, SideEvidence];
  const qc = checkMasks(evidence, manifest.protocol ?? 'msd');
  if (qc.verdict === 'refused' && manifest.protocol) throw new MaskRefusedError(qc, localisation);
  warnings.push(...qc.findings.map((f) => f.message));
  if (qc.verdict === 'refused') {
    warnings.push(`Seahorse would refuse these masks from one of its own models; model ${manifest.id} follows no protocol Seahorse knows, so they are shown, unchecked.`);
  }
  progress({ stage: 'done' });
  return { labels, labelInfo, volumes, hippocampi, localisation, icvMm3, icvFrom, frames: frames as [ModelFrame, ModelFrame], warnings, timingsMs, qc, placedBy, ...(found ? { localiser: found } : {}), ...(crossCheck ? { crossCheck, crossCheckLook: judged!.look } : {}) };
}

/** The cross-check as the checks judge it: a registration that did not fail, and a disagreement or a first look that found nothing, earn a second look (second-look.ts). */
async function judgeCrossCheck(first: CrossCheckFindings | null, scan: Volume, localisation: Localisation, lookAgain: LookAgain | undefined): Promise<JudgedCrossCheck> {
  if (!lookAgain || localisation.quality === 'failed') return { findings: first, look: 'scan grid', lookedAgain: false };
  const centresMm = [registrationCentre(localisation.hippocampi[0]), registrationCentre(localisation.hippocampi[1])] as const;
  return crossCheckWithSecondLook(first, scan, { transform: localisation.transform, centresMm }, lookAgain);
}

/**
 * The template registration, started from the centre of the bright voxels in the field of view.
 * When that is not good (a neck, a face cut away or a cropped field of view can pull the start
 * far from the brain), it starts again from the brain the cross-check localiser found, with rolls
 * and turns beyond the first run's reach; when that is not good either, or the localiser found no
 * brain, from the field of view's centre with those rolls and turns. The best is kept. The later starts only move where the search
 * begins: the same similarity thresholds judge them, and the localiser's hippocampi still check
 * the boxes.
 */
async function registerWithRescue(
  scan: Volume,
  template: PreparedTemplate,
  crossCheck: FullHeadOptions['crossCheck'],
  pose: LocalisePose,
): Promise<Localisation> {
  const first = localise(scan, template, pose);
  if (first.quality === 'good' || !crossCheck) return first;
  // A localiser that failed leaves the first registration, and its refusal if any, as the answer.
  const found = await settled(crossCheck);
  // The rescue's starts: rolls, turns and pitches beyond the first run's reach, from `brain` or the field of view's centre.
  const rescue = (brain?: BrainPrior) => localise(scan, template, { ...(brain ? { brain } : {}), ...pose, startPitchesDeg: RESCUE_START_PITCHES_DEG, startTurnsDeg: RESCUE_START_TURNS_DEG });
  // The localiser found no brain (a head on its side, beyond its training: rolled 90°, every subject).
  if (!found) return betterLocalisation(first, rescue());
  // Again from the brain it found, with the template's hippocampi along the two it found.
  const fromBrain = betterLocalisation(first, rescue({ centreMm: found.brainCentroidMm, leftRightMm: leftToRight(found) }));
  if (fromBrain.quality === 'good') return fromBrain;
  // The localiser was trained on heads within ±15° of the template's pose: on a head turned much
  // further its brain can be off, and the same starts from the field of view's centre find it
  // (the sample turned 60°: failed from the localiser's brain, good from there).
  return betterLocalisation(fromBrain, rescue());
}

/** From the localiser's left hippocampus to its right one, scan world mm. */
function leftToRight(found: LocaliserFindings): Vec3 {
  const [l, r] = [found.left.centroidMm, found.right.centroidMm];
  return [r[0] - l[0], r[1] - l[1], r[2] - l[2]];
}

/** A cross-check's findings once they arrive; undefined when there are none or the localiser failed (its failure is not the answer's). */
async function settled(crossCheck: FullHeadOptions['crossCheck']): Promise<CrossCheckFindings | undefined> {
  return Promise.resolve(crossCheck).then(
    (found) => found ?? undefined,
    () => undefined,
  );
}

/** A localiser sure enough of both sides to place the crops. */
function isSure(found: LocaliserFindings): boolean {
  return found.left.confidence >= CONFIDENCE_WARN && found.right.confidence >= CONFIDENCE_WARN;
}

const count = (mask: Uint8Array) => mask.reduce((sum, v) => sum + v, 0);

/** The bounding block of a label volume's non-zero voxels, inclusive; null when there are none. */
interface Block {
  readonly lo: Dims3;
  readonly hi: Dims3;
}

function nonzeroBlock(labels: LabelVolume): Block | null {
  const [nx, ny, nz] = labels.dims;
  const lo = [nx, ny, nz];
  const hi = [-1, -1, -1];
  // The first and last non-zero voxels bound the slices to search (a head scan is mostly zeros).
  const [first, last] = nonzeroExtent(labels.data);
  if (first < 0) return null;
  const sxy = nx * ny;
  for (let k = Math.floor(first / sxy), n = k * sxy; k <= Math.floor(last / sxy); k++) {
    for (let j = 0; j < ny; j++) {
      for (let i = 0; i < nx; i++, n++) {
        if (labels.data[n] === 0) continue;
        if (i < lo[0]) lo[0] = i;
        if (i > hi[0]) hi[0] = i;
        if (j < lo[1]) lo[1] = j;
        if (j > hi[1]) hi[1] = j;
        if (k < lo[2]) lo[2] = k;
        if (k > hi[2]) hi[2] = k;
      }
    }
  }
  return hi[0] < 0 ? null : { lo: lo as unknown as Dims3, hi: hi as unknown as Dims3 };
}

/** Indices of the first and last non-zero entries ([-1, -1] when all are zero), read four bytes at a time where aligned. */
function nonzeroExtent(data: Uint8Array): [number, number] {
  const words = data.byteOffset % 4 === 0 ? new Uint32Array(data.buffer, data.byteOffset, data.length >> 2) : new Uint32Array(0);
  const tail = words.length << 2;
  let w = 0;
  while (w < words.length && words[w] === 0) w++;
  let first = w << 2;
  while (first < data.length && data[first] === 0) first++;
  if (first === data.length) return [-1, -1];
  let last = -1;
  for (let n = data.length - 1; n >= tail && last < 0; n--) if (data[n] !== 0) last = n;
  for (let v = words.length - 1; v >= 0 && last < 0; v--) if (words[v] !== 0) last = (v << 2) + 3;
  while (data[last] === 0) last--;
  return [first, last];
}

/** Visits every voxel of a block: its index in the volume and its voxel coordinates. */
function forEachInBlock(dims: Dims3, block: Block, visit: (n: number, i: number, j: number, k: number) => void): void {
  const [nx, ny] = dims;
  for (let k = block.lo[2]; k <= block.hi[2]; k++) {
    for (let j = block.lo[1]; j <= block.hi[1]; j++) {
      for (let i = block.lo[0], n = i + nx * (j + ny * k); i <= block.hi[0]; i++, n++) visit(n, i, j, k);
    }
  }
}

/** Voxel count per label value and the voxel-coordinate sum per value, inside a block. */
function blockStats(labels: LabelVolume, block: Block): { counts: Float64Array; sums: Float64Array } {
  const counts = new Float64Array(256);
  const sums = new Float64Array(256 * 3);
  forEachInBlock(labels.dims, block, (n, i, j, k) => {
    const v = labels.data[n];
    counts[v]++;
    sums[3 * v] += i;
    sums[3 * v + 1] += j;
    sums[3 * v + 2] += k;
  });
  return { counts, sums };
}

/** Side labels (1 left, 2 right) and a head mask on the same grid → the four sub-labels. */
function sublabelled(sides: LabelVolume, heads: Uint8Array, block: Block | null): Uint8Array {
  const out = new Uint8Array(sides.data.length);
  if (!block) return out;
  forEachInBlock(sides.dims, block, (n) => {
    const side = sides.data[n];
    if (side === LEFT) out[n] = heads[n] ? SUBLABELS.leftHead : SUBLABELS.leftBody;
    else if (side === RIGHT) out[n] = heads[n] ? SUBLABELS.rightHead : SUBLABELS.rightBody;
  });
  return out;
}

/** Keeps the largest 26-connected component of each side label, in place, searching only `block`. */
function keepLargestPerSide(sides: LabelVolume, block: Block): void {
  const dims = [0, 1, 2].map((a) => block.hi[a] - block.lo[a] + 1) as unknown as Dims3;
  const copy = new Uint8Array(dims[0] * dims[1] * dims[2]);
  let b = 0;
  forEachInBlock(sides.dims, block, (n) => (copy[b++] = sides.data[n]));
  const kept = keepLargestComponentPerLabel(copy, dims);
  b = 0;
  forEachInBlock(sides.dims, block, (n) => (sides.data[n] = kept[b++]));
}

/** Voxels, mm³, ICV fraction and world centroid of each side. */
function measureSides(sides: LabelVolume, block: Block | null, mm3PerVoxel: number, icvMm3: number): [SideMeasure, SideMeasure] {
  const stats = block ? blockStats(sides, block) : { counts: new Float64Array(256), sums: new Float64Array(768) };
  return ([LEFT, RIGHT] as const).map((v): SideMeasure => {
    const voxels = stats.counts[v];
    const mean = [0, 1, 2].map((a) => stats.sums[3 * v + a] / voxels) as unknown as Vec3;
    return {
      side: v === LEFT ? 'left' : 'right',
      voxels,
      mm3: voxels * mm3PerVoxel,
      icvFraction: (voxels * mm3PerVoxel) / icvMm3,
      centroidMm: voxels > 0 ? applyToPoint(sides.affine, mean) : null,
    };
  }) as [SideMeasure, SideMeasure];
}
