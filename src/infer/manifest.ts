import type { TrainingPose } from '../core/fullhead/head-pose';
import type { LabelInfo } from '../core/labels';

/**
 * A model in the registry (`models/<id>.json`). Everything the pipeline needs to prepare
 * an input and read an output, plus where the weights came from and how well they do.
 */
export interface ModelManifest {
  readonly id: string;
  readonly name: string;
  /**
   * `trained`: weights trained by this project on real labelled data (see provenance).
   * `untrained-test`: random or fixture weights for tests; the UI says so plainly and
   * never presents its output as a segmentation.
   * `user`: a model the user brought (a plain ONNX, or their own manifest); its
   * provenance and quality are unknown to Seahorse, and the UI says that.
   */
  readonly status: 'trained' | 'untrained-test' | 'user';
  readonly architecture: 'UNETR' | 'SwinUNETR' | 'UNet' | 'unknown';
  /** MONAI constructor arguments (hidden size, feature size, …) when known. */
  readonly config?: Readonly<Record<string, unknown>>;
  /**
   * ONNX file, relative to the manifest (or an absolute URL path in the studio).
   * `fixtures:<path>` means `<path>` inside the shared test fixtures (../shared/fixtures,
   * or $SEAHORSE_SHARED/fixtures; served under /fixtures/ by the studio).
   */
  readonly onnx: string;
  /**
   * External-data files the ONNX refers to, resolved like `onnx`. The ONNX names each by
   * its path relative to the ONNX file's folder (its `location`).
   */
  readonly externalData?: readonly string[];
  /** Model input [D, H, W] in voxels; tensor layout is [1, 1, D, H, W]. */
  readonly inputSize: readonly [number, number, number];
  /** Voxel size the model was trained at, mm. */
  readonly spacingMm: readonly [number, number, number];
  /**
   * How the volume's voxel axes map onto the tensor: `ijk` means tensor D, H, W = voxel
   * i, j, k of the (reoriented) volume — nibabel/MONAI's convention.
   */
  readonly axisOrder: 'ijk';
  /** Orientation the model expects its input in, e.g. `RAS`, or `as-is` for MSD crops. */
  readonly orientation: string;
  readonly normalisation: Normalisation;
  readonly labels: readonly LabelInfo[];
  readonly provenance?: Readonly<Record<string, unknown>>;
  readonly metrics?: Readonly<Record<string, unknown>>;
  /** sha256 of the ONNX file, hex. */
  readonly sha256?: string;
  /**
   * The labelling protocol the model reproduces: `msd` (MSD Task04 / Vanderbilt manual
   * labels, head and body + tail), `freesurfer` (FreeSurfer aseg 17/53, whole hippocampus).
   * Absent for models whose protocol Seahorse does not know (user models, test models).
   */
  readonly protocol?: Protocol;
  /**
   * What the model is for: `segmentation` (absent means this: a hippocampus model the
   * user picks) or `localisation` (the full-head localiser, src/infer/localiser.ts; never
   * offered as a segmentation model).
   */
  readonly task?: ModelTask;
  /**
   * A localiser's role in the full-head path: `placement` (it places the crops; the
   * registration is the cross-check) or `cross-check` (absent means this: its centroids only
   * check the registration's, for a localiser measured less accurate than the registration).
   */
  readonly localiserRole?: LocaliserRole;
  /**
   * A crop model's training pose: where its training subjects held their hippocampi relative
   * to the template's, and how far about that training covered. Full-head crops are cut turned
   * to it (core/fullhead/head-pose.ts); absent means the template's pose within ±12°.
   */
  readonly trainingPose?: TrainingPose;
}

export const LOCALISER_ROLES = ['placement', 'cross-check'] as const;
export type LocaliserRole = (typeof LOCALISER_ROLES)[number];

export const MODEL_TASKS = ['segmentation', 'localisation'] as const;
export type ModelTask = (typeof MODEL_TASKS)[number];

/** A manifest's task (`segmentation` when it does not say). */
export function taskOf(m: Pick<ModelManifest, 'task'>): ModelTask {
  return m.task ?? 'segmentation';
}

/** Hippocampus labelling protocols a shipped model can follow. */
export const PROTOCOLS = ['msd', 'freesurfer'] as const;
export type Protocol = (typeof PROTOCOLS)[number];

export type Normalisation =
  /**
   * (x − mean) / std (population) over the chosen voxels; with `nonzero`, statistics
   * over voxels ≠ 0 and zero voxels stay 0 (MONAI's NormalizeIntensity(nonzero=True)).
   */
  | { readonly kind: 'zscore'; readonly over: 'all' | 'nonzero' }
  /** Clip to the [lo, hi] percentiles, then scale to [0, 1]. */
  | { readonly kind: 'percentile'; readonly lo: number; readonly hi: number }
  /**
   * Divide by the `percentile`-th percentile of the voxels > 0, then clip to
   * [0, clipMax]; voxels ≤ 0 become 0 (the full-head localiser).
   */
  | { readonly kind: 'positive-percentile'; readonly percentile: number; readonly clipMax: number };

/** A JSON object (not null, not an array): what a manifest's free-form fields such as `metrics` hold. */
export const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
