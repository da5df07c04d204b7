/**
 * The labelled scans of `seahorse finetune` as training samples, the way the studio's
 * training worker makes them: each label file goes through a label map (label-map.ts: MSD
 * head/body codes, FreeSurfer aseg 17/53, LPBA40, AAL, a binary mask, or `code:target,…`),
 * and a full-head scan is localised as inference localises it (training-crops.ts), giving one
 * sample per hippocampus.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { PreparedTemplate } from '../core/fullhead';
import type { Volume } from '../core/volume';
import type { ModelManifest } from '../infer/manifest';
import { applyLabelMap, LABEL_MAP_PRESETS, parseLabelMap, suggestLabelMap, targetClasses, type LabelMap } from '../train/label-map';
import { makeSample, type TrainingSample } from '../train/samples';
import { trainingCrops, type LocateHippocampi } from '../train/training-crops';

export interface CaseSamples {
  readonly samples: TrainingSample[];
  /** Sentences for the user (a crop left out, labels outside the crops, a weak registration). */
  readonly notes: readonly string[];
}

/** Distinct values of a label volume (for suggesting a map). */
function codesOf(labels: Volume): Set<number> {
  const codes = new Set<number>();
  for (let p = 0; p < labels.data.length; p++) codes.add(labels.data[p]);
  return codes;
}

/**
 * The label map: the one asked for, or the preset that fits the first case's codes (MSD when
 * every code is 0, 1 or 2; FreeSurfer, AAL or LPBA40 by their hippocampus codes). Refuses,
 * with the codes it saw, when nothing fits.
 */
export function chooseLabelMap(asked: string | undefined, firstLabels: Volume, firstName: string): { map: LabelMap; guessed: boolean } {
  if (asked !== undefined) return { map: parseLabelMap(asked), guessed: false };
  const codes = codesOf(firstLabels);
  const suggestion = suggestLabelMap(codes);
  if (suggestion === null) {
    const shown = [...codes].sort((a, b) => a - b).slice(0, 12).join(', ');
    throw new Error(
      `cannot tell the labelling protocol of ${firstName} (codes ${shown}${codes.size > 12 ? ', …' : ''}); say it with --labels ${Object.keys(LABEL_MAP_PRESETS).join('|')}|<code:target,…>`,
    );
  }
  return { map: parseLabelMap(suggestion), guessed: true };
}

/**
 * Training samples of one case `images/<name>` + `labels/<name>` under `dir`: labels mapped,
 * a full head cut into the crops the model sees (localised as `seahorse segment` localises it,
 * with the learned localiser when `locate` is given), each prepared as the manifest says.
 */
export async function caseSamples(
  dir: string,
  name: string,
  readScan: (path: string) => Volume,
  map: LabelMap,
  manifest: ModelManifest,
  template: () => Promise<PreparedTemplate>,
  locate?: LocateHippocampi,
): Promise<CaseSamples> {
  const labelPath = join(dir, 'labels', name);
  if (!existsSync(labelPath)) throw new Error(`case ${name} has no labels: ${labelPath} not found`);
  const image = readScan(join(dir, 'images', name));
  const labels = applyLabelMap(readScan(labelPath), map, name);
  const { crops, notes } = await trainingCrops(name, image, labels, template, { locate, trainingPose: manifest.trainingPose });
  const classes = targetClasses(map);
  const samples = crops.map((c) => makeSample(c.id, c.image, c.labels, classes, c.orientation === 'as-is' ? { ...manifest, orientation: 'as-is' } : manifest));
  return { samples, notes: notes.map((n) => `${name}: ${n}`) };
}
