/**
 * The full-head localiser stage: where are the brain and the left and right hippocampus
 * in a scan as it comes (neck, defaced, skull-stripped, cropped, any header orientation)?
 * A small 3-D U-Net trained on synthetic heads (training/train_localiser.py, models/
 * localiser.json) runs on a 72³ × 4 mm grid through the same InferenceBackend as the
 * segmentation models; the answer is in world RAS millimetres.
 *
 *   const localiser = await loadModelNode(LOCALISER_ID);          // Node / CLI
 *   const where = await localiseHippocampi(scan, localiser);
 *   if (!where.found) refuse(where.problems.join(' '));
 *   where.left.centroidMm, where.right.centroidMm, where.brainVolumeMm3, where.brainMask
 */
import {
  decodeLocaliser,
  localiserGrid,
  localiserInput,
  LOCALISER_CLASSES,
  LOCALISER_SIZE,
  LOCALISER_SPACING_MM,
  type LocalisedSide,
  type LocaliserMeasures,
} from '../core/fullhead/localiser-grid';
import type { Grid } from '../core/resample';
import type { Volume } from '../core/volume';
import { taskOf, type ModelManifest } from './manifest';
import type { LoadedModel } from './pipeline';

/** The shipped localiser's manifest id (models/localiser.json). */
export const LOCALISER_ID = 'localiser';

/**
 * Least intracranial volume for "a head is in view", mm³. Adult intracranial volume is
 * about 1.1–1.9 L (e.g. Buckner et al., NeuroImage 2004); a 160 mm field of view still
 * holds most of it, while a hippocampus crop (MSD: ~0.07 L of tissue) holds far less.
 */
export const MIN_BRAIN_MM3 = 600_000;
/**
 * Plausible coarse (4 mm, probability-weighted) hippocampus volume, mm³. A hippocampus
 * holds 2,500–4,500 mm³ (issue #13; the label maps: 1,438–5,267); the coarse sum blurs
 * that, so the range is wide: it rejects specks and blobs, not atrophy. Measured with the
 * shipped model (phase 3): 1,817–15,689 mm³ on 64 held-out synthetic sides (32 heads of
 * maps 19–20), 8,295–15,342 mm³ on the six real scans of bench/localiser.ts (each centroid
 * within 1.7–6.7 mm of the labels' there); the upper limit is 1.5× the largest (the first guess, 12,000,
 * turned ch2, ch2bet and the brainchop sample away).
 */
export const MIN_HIPPOCAMPUS_MM3 = 800;
export const MAX_HIPPOCAMPUS_MM3 = 24_000;
/** Least mean top probability over a hippocampus component to stand behind it. */
export const MIN_CONFIDENCE = 0.5;

export interface LocaliserSideResult extends LocalisedSide {
  /** The side is found: a component of plausible volume and enough confidence. */
  readonly found: boolean;
}

export interface LocaliserResult extends LocaliserMeasures {
  readonly left: LocaliserSideResult;
  readonly right: LocaliserSideResult;
  /** The 72³ × 4 mm grid the model saw (`brainMask` is on it). */
  readonly grid: Grid;
  /** A head and both hippocampi were found; otherwise `problems` says why, in words. */
  readonly found: boolean;
  readonly problems: readonly string[];
  readonly timingsMs: { readonly prepare: number; readonly run: number; readonly decode: number };
}

/** Refuses a manifest that is not a localiser this code can feed. */
export function checkLocaliserManifest(m: ModelManifest): void {
  const n = m.normalisation;
  if (taskOf(m) !== 'localisation') throw new Error(`model ${m.id} is not a localiser (task ${taskOf(m)})`);
  if (m.inputSize.some((d) => d !== LOCALISER_SIZE) || m.spacingMm.some((s) => s !== LOCALISER_SPACING_MM)) {
    throw new Error(`localiser ${m.id}: expected ${LOCALISER_SIZE}³ at ${LOCALISER_SPACING_MM} mm, the manifest says ${m.inputSize.join('×')} at ${m.spacingMm.join('×')} mm`);
  }
  if (n.kind !== 'positive-percentile') throw new Error(`localiser ${m.id}: unsupported normalisation ${n.kind}`);
  if (m.labels.length !== LOCALISER_CLASSES.length) throw new Error(`localiser ${m.id}: expected ${LOCALISER_CLASSES.length} classes, found ${m.labels.length}`);
}

function judgeSide(s: LocalisedSide, name: string, problems: string[]): LocaliserSideResult {
  let found = true;
  if (!s.centroidMm) {
    problems.push(`No ${name} hippocampus was found.`);
    found = false;
  } else if (s.volumeMm3 < MIN_HIPPOCAMPUS_MM3 || s.volumeMm3 > MAX_HIPPOCAMPUS_MM3) {
    problems.push(`The ${name} hippocampus found measures ${Math.round(s.volumeMm3)} mm³ at 4 mm, outside ${MIN_HIPPOCAMPUS_MM3}–${MAX_HIPPOCAMPUS_MM3} mm³.`);
    found = false;
  } else if (s.confidence < MIN_CONFIDENCE) {
    problems.push(`The ${name} hippocampus was found with low confidence (${s.confidence.toFixed(2)} < ${MIN_CONFIDENCE}).`);
    found = false;
  }
  return { ...s, found };
}

/**
 * Runs the localiser on a scan (any orientation); pure apart from the backend call. `grid` is
 * where it looks: the scan's own localiser grid by default, or another 72³ × 4 mm grid over the
 * same world (e.g. `localiserGridInFrame`: the scan turned into a registration's frame).
 */
export async function localiseHippocampi(scan: Volume, localiser: LoadedModel, grid: Grid = localiserGrid(scan)): Promise<LocaliserResult> {
  const { manifest, backend } = localiser;
  checkLocaliserManifest(manifest);
  const n = manifest.normalisation as Extract<ModelManifest['normalisation'], { kind: 'positive-percentile' }>;
  const t0 = performance.now();
  const input = localiserInput(scan, grid, n.percentile, n.clipMax);
  const t1 = performance.now();
  const logits = await backend.run(input, grid.dims);
  const t2 = performance.now();
  const measures = decodeLocaliser(logits, grid);
  const problems: string[] = [];
  if (measures.brainVolumeMm3 < MIN_BRAIN_MM3) {
    problems.push(
      `No head was found in the field of view: the localiser sees ${(measures.brainVolumeMm3 / 1e6).toFixed(2)} L of brain, less than ${MIN_BRAIN_MM3 / 1e6} L.`,
    );
  }
  const left = judgeSide(measures.left, 'left', problems);
  const right = judgeSide(measures.right, 'right', problems);
  const t3 = performance.now();
  return {
    ...measures,
    left,
    right,
    grid,
    found: problems.length === 0,
    problems,
    timingsMs: { prepare: t1 - t0, run: t2 - t1, decode: t3 - t2 },
  };
}
