/**
 * The segmentation pipeline, one function from a scan to labels on the scan's own grid:
 * validate → reorient to RAS (exact permutation) → resample to the model's voxel size
 * (only if it differs) → normalise → sliding-window inference → argmax (resampled back
 * to the RAS grid when step 3 resampled) → largest connected component per label →
 * undo the reorientation → volumes in mm³.
 *
 * Runtime-agnostic: the model is any InferenceBackend (onnxruntime-web in the studio's
 * worker, onnxruntime-node in the CLI).
 */
import { argmax } from '../core/argmax';
import { keepLargestComponentPerLabel } from '../core/components';
import { validateVolume } from '../core/io/validate';
import type { LabelVolumeMeasure } from '../core/labels';
import { measureLabels } from '../core/measure';
import { normalise } from '../core/normalise';
import { reorientToRAS, undoReorientation, type Reorientation } from '../core/orientation';
import { gridWithSpacing, resampleArgmax, resampleLinear } from '../core/resample';
import { DEFAULT_OVERLAP, slidingWindowInference } from '../core/sliding-window';
import type { Dims3, LabelVolume, Volume } from '../core/volume';
import type { InferenceBackend } from './backend';
import type { ModelManifest } from './manifest';
import type { Progress } from './progress';

export interface LoadedModel {
  readonly manifest: ModelManifest;
  readonly backend: InferenceBackend;
}

export interface SegmentOptions {
  readonly onProgress?: (p: Progress) => void;
  /** Checked between windows and between stages; aborting rejects with the signal's reason. */
  readonly signal?: AbortSignal;
  /** Sliding-window overlap, default 0.5. */
  readonly overlap?: number;
  /** Keep only the largest 26-connected component of each label (default true). */
  readonly largestComponent?: boolean;
}

export interface SegmentResult {
  /** Labels on the input's grid: same dims and the same affine object. */
  readonly labels: LabelVolume;
  /** mm³ per non-background label of the manifest. */
  readonly volumes: LabelVolumeMeasure[];
  /** Wall time per stage: preprocess, inference, postprocess, total. */
  readonly timingsMs: Record<string, number>;
}

/** What `segmentVolume` adds for a crop: how coherent the model's raw mask was. */
export interface VolumeSegmentResult extends SegmentResult {
  /**
   * Share of the model's foreground voxels that the largest-component step kept (1 when it is
   * off): near 1 when the model saw one hippocampus, lower when its mask is scattered.
   */
  readonly connectedFraction: number;
}

/**
 * Voxel sizes within 1 % of the model's are used as they are: the model cannot tell
 * the difference, and resampling would blur the image for nothing.
 */
const SPACING_TOLERANCE = 0.01;

export function needsResampling(spacing: readonly number[], target: readonly number[]): boolean {
  return spacing.some((s, a) => Math.abs(s - target[a]) > SPACING_TOLERANCE * target[a]);
}

export async function segmentVolume(image: Volume, model: LoadedModel, opts: SegmentOptions = {}): Promise<VolumeSegmentResult> {
  const { manifest, backend } = model;
  const progress = opts.onProgress ?? (() => {});
  const timingsMs: Record<string, number> = {};
  const start = performance.now();
  let mark = start;
  const lap = (stage: string) => {
    const now = performance.now();
    timingsMs[stage] = now - mark;
    mark = now;
  };

  opts.signal?.throwIfAborted();
  progress({ stage: 'preprocess' });
  validateVolume(image, 'The scan');
  let reorientation: Reorientation | null = null;
  let grid: Volume = image;
  if (manifest.orientation === 'RAS') {
    ({ volume: grid, reorientation } = reorientToRAS(image));
  } else if (manifest.orientation !== 'as-is') {
    throw new Error(`model ${manifest.id} asks for orientation "${manifest.orientation}"; Seahorse supports RAS and as-is`);
  }
  const resample = needsResampling(grid.spacing, manifest.spacingMm);
  const modelGrid = resample ? gridWithSpacing(grid, manifest.spacingMm) : grid;
  const resampled = resample ? resampleLinear(grid, modelGrid.dims, modelGrid.affine) : grid;
  const input = normalise(resampled, manifest.normalisation);
  lap('preprocess');

  const roi = [...manifest.inputSize] as unknown as Dims3;
  const logits = await slidingWindowInference(input, roi, (window, dims) => backend.run(window, dims), {
    overlap: opts.overlap ?? DEFAULT_OVERLAP,
    blend: 'gaussian',
    signal: opts.signal,
    onWindow: (index, total) => progress({ stage: 'window', index, total }),
  });
  const maxLabel = Math.max(...manifest.labels.map((l) => l.value));
  if (logits.channels <= maxLabel) {
    throw new Error(`model ${manifest.id} outputs ${logits.channels} classes, but its manifest has label ${maxLabel}`);
  }
  lap('inference');

  opts.signal?.throwIfAborted();
  progress({ stage: 'postprocess' });
  let labels = resample ? resampleArgmax(logits, grid) : argmax(logits);
  let connectedFraction = 1;
  if (opts.largestComponent ?? true) {
    const before = countForeground(labels);
    labels = keepLargestComponentPerLabel(labels, grid.dims);
    if (before > 0) connectedFraction = countForeground(labels) / before;
  }
  const onGrid: LabelVolume = { dims: grid.dims, spacing: grid.spacing, affine: grid.affine, data: labels };
  const restored = reorientation ? undoReorientation(onGrid, reorientation) : onGrid;
  const result: LabelVolume = { dims: image.dims, spacing: image.spacing, affine: image.affine, data: restored.data };
  const volumes = measureLabels(result, manifest.labels.filter((l) => l.value !== 0));
  lap('postprocess');
  timingsMs.total = performance.now() - start;
  progress({ stage: 'done' });
  return { labels: result, volumes, timingsMs, connectedFraction };
}

function countForeground(labels: ArrayLike<number>): number {
  let n = 0;
  for (let p = 0; p < labels.length; p++) if (labels[p] !== 0) n++;
  return n;
}
