/**
 * What a labelled scan trains on: the crops inference would give the model, with the labels
 * cut identically. A crop-sized scan (MSD-like) is used as it is, prepared as the model's
 * manifest says. A full head goes through the inference path's localisation (registration
 * to the template, both hippocampus boxes, `firstModelFrames`: the crops `segmentFullHead`
 * feeds the model first, already in the orientation the model was trained in), and the
 * labels are cut on the same frames by nearest neighbour: two samples, left and right.
 * With the learned localiser (`locate`) that localisation is the one `seahorse segment` makes
 * (`placeCrops`): a registration that is not good starts again from the brain it found, and one
 * that still fails leaves the crops to it, said in a note.
 *
 * The field of view decides the path, as for inference (`choosePath`, core/fullhead/detect.ts).
 */
import { choosePath, extractBox, extractBoxLabels, type PreparedTemplate } from '../core/fullhead';
import type { TrainingPose } from '../core/fullhead/head-pose';
import type { LabelVolume, Volume } from '../core/volume';
import { failedRegistration, firstModelFrames, placeCrops, type CrossCheckFindings } from '../infer/fullhead';
import { assertSameGrid, SampleError } from './samples';

export interface TrainingCrop {
  /** The pair's name, with the side for a full head (“case (left)”). */
  readonly id: string;
  readonly image: Volume;
  readonly labels: LabelVolume;
  /**
   * `manifest`: prepared as the model's manifest says (orientation, voxel size), as
   * `segmentVolume` prepares a crop; `as-is`: a full-head crop, already on the 1 mm frame and in
   * the orientation the model was trained in (as `segmentFullHead` hands it over).
   */
  readonly orientation: 'manifest' | 'as-is';
  /** Which hippocampus a full-head crop holds. */
  readonly side?: 'left' | 'right';
}

export interface PairCrops {
  readonly path: 'crop' | 'full-head';
  readonly crops: readonly TrainingCrop[];
  /** Sentences for the user: a crop left out, labels outside the crops, a poor registration. */
  readonly notes: readonly string[];
}

/**
 * Share of a scan's labelled voxels that must fall inside the two crops before a note says
 * the rest is not trained on (labels beyond the hippocampi, or a crop that cuts one off).
 */
export const LABELS_IN_CROPS_NOTE = 0.95;

/** The learned localiser run on a full head: its findings, or null when it could not stand behind them. */
export type LocateHippocampi = (image: Volume) => Promise<CrossCheckFindings | null>;

/**
 * The training crops of a scan and its labels (already mapped to the model's targets; same
 * grid). `template` is asked for only when the scan is a full head, `locate` only when its
 * registration alone is not good; `trainingPose` is the model's (its manifest's), as inference
 * turns its crops.
 */
export async function trainingCrops(
  id: string,
  image: Volume,
  labels: LabelVolume,
  template: () => PreparedTemplate | Promise<PreparedTemplate>,
  opts: { readonly locate?: LocateHippocampi; readonly trainingPose?: TrainingPose } = {},
): Promise<PairCrops> {
  const { locate, trainingPose } = opts;
  assertSameGrid(id, image, labels);
  const { path } = choosePath(image);
  if (path === 'crop') return { path, crops: [{ id, image, labels, orientation: 'manifest' }], notes: [] };
  const placement = await placeCrops(image, await template(), { trainingPose, ...(locate ? { crossCheck: onDemand(() => locate(image)) } : {}) });
  const failed = failedRegistration(placement);
  const notes: string[] = failed ? [`the template registration failed (${failed}): the crops were cut around the hippocampi the localiser found, as segmentation cuts them`] : [];
  if (placement.localisation.warning) notes.push(placement.localisation.warning);
  const crops: TrainingCrop[] = [];
  let inCrops = 0;
  for (const frame of firstModelFrames(placement)) {
    const cut = extractBoxLabels(labels, frame);
    const labelled = countNonZero(cut.data);
    if (labelled === 0) {
      notes.push(`the ${frame.side} hippocampus crop holds no labelled voxel, so it is left out`);
      continue;
    }
    inCrops += labelled;
    crops.push({ id: `${id} (${frame.side})`, image: extractBox(image, frame), labels: cut, orientation: 'as-is', side: frame.side });
  }
  if (crops.length === 0) throw new SampleError(`${id}: a full head whose labels lie outside both hippocampus crops the model sees; are these hippocampus labels of this scan?`);
  const total = countNonZero(labels.data);
  if (inCrops < LABELS_IN_CROPS_NOTE * total) {
    notes.push(`${(100 * (1 - inCrops / total)).toFixed(0)}% of the labelled voxels lie outside the hippocampus crops and are not trained on`);
  }
  return { path, crops, notes };
}

/** Starts `work` when first awaited: the localiser runs only for a registration that was not good (most are). */
function onDemand<T>(work: () => Promise<T>): PromiseLike<T> {
  let started: Promise<T> | undefined;
  return {
    then(onFulfilled, onRejected) {
      started ??= work();
      return started.then(onFulfilled, onRejected);
    },
  };
}

function countNonZero(data: ArrayLike<number>): number {
  let n = 0;
  for (let p = 0; p < data.length; p++) if (data[p] !== 0) n++;
  return n;
}
