/**
 * Messages between the studio and the training service. The service lives in the inference
 * worker (one worker, one GPUDevice for ORT and the engine), so these travel beside the
 * inference messages; every training message type starts with `train-`, and no reply carries
 * the inference protocol's numeric `id`.
 */
import type { LabelVolume } from '../core/volume';
import type { RunEstimate } from '../train/estimate';
import type { AdapterSummary, RunBase, RunSettings, RunStatus, ValidationPoint } from '../train/adapter-store';
import type { BackendPreference } from './protocol';

/** The model URL of an adapted model: the worker merges stored adapter `<run id>` into its base. */
export const ADAPTED_MODEL_PREFIX = 'adapted:';

export interface PairFiles {
  readonly name: string;
  readonly role: 'train' | 'val';
  readonly image: { readonly name: string; readonly bytes: ArrayBuffer };
  readonly label: { readonly name: string; readonly bytes: ArrayBuffer };
}

/** A pair the worker read: its grid and label codes, or why it cannot train. */
export type PairCheck =
  | {
      readonly name: string;
      readonly ok: true;
      /** The scan's grid. */
      readonly dims: readonly number[];
      /** Voxels per training target over the pair's samples (0 bg, 1 head, 2 body; or 0 bg, 1 whole). */
      readonly labelCounts: Readonly<Record<number, number>>;
      /** `full-head`: localised as inference localises, giving one sample per hippocampus. */
      readonly path: 'crop' | 'full-head';
      /** The samples the pair gives (ids, e.g. “case (left)”, “case (right)”). */
      readonly samples: readonly string[];
      /** `whole`: whole-hippocampus labels, trained on head + body as one. */
      readonly space: 'classes' | 'whole';
      /** What the user should know (a poor registration, a crop left out). */
      readonly notes: readonly string[];
    }
  | { readonly name: string; readonly ok: false; readonly message: string };

export type TrainingRequest =
  /**
   * Read and check pairs as the run would (geometry, labels after the map, finite values); for a
   * SAM base, which of `structures` each pair labels.
   */
  | { readonly type: 'train-check'; readonly request: number; readonly base: RunBase; readonly pairs: readonly PairFiles[]; readonly labelMap: string; readonly structures?: readonly number[] }
  /** Trainable parameters and a memory estimate for these settings. */
  | { readonly type: 'train-estimate'; readonly request: number; readonly base: RunBase; readonly settings: RunSettings }
  /** Store the pairs and start a new run. */
  | {
      readonly type: 'train-start';
      readonly runId: string;
      readonly name: string;
      readonly base: RunBase;
      readonly settings: RunSettings;
      readonly pairs: readonly PairFiles[];
      readonly labelMap: string;
      /** Where SAM's image encoder runs (the studio's compute setting). */
      readonly backend?: BackendPreference;
    }
  /** Continue a stored run from its last checkpoint (after pause, reload or device loss). */
  /** `backend`: where a Segment Anything run encodes its slices again (default auto). */
  | { readonly type: 'train-resume'; readonly runId: string; readonly backend?: 'auto' | 'wasm' | 'webgpu' }
  | { readonly type: 'train-pause'; readonly runId: string }
  | { readonly type: 'train-cancel'; readonly runId: string }
  /** Base and adapted masks on a validation scan, with their Dice against its labels. */
  | { readonly type: 'train-compare'; readonly request: number; readonly runId: string; readonly backend: 'auto' | 'wasm' | 'webgpu' };

export interface CompareSide {
  readonly labels: LabelVolume;
  /** Dice per foreground class (name → score) and their mean. */
  readonly dice: readonly { readonly name: string; readonly dice: number }[];
  readonly meanDice: number;
}

export type TrainingReply =
  /** `mapping`: how the label map turns codes into targets (label-map.ts `describeLabelMap`); absent when the map is invalid. */
  | { readonly type: 'train-checked'; readonly request: number; readonly checks: readonly PairCheck[]; readonly mapping?: string }
  | { readonly type: 'train-estimated'; readonly request: number; readonly estimate?: RunEstimate; readonly message?: string }
  | {
      readonly type: 'train-compared';
      readonly request: number;
      readonly result?: { readonly scan: string; readonly image: { readonly dims: readonly number[]; readonly data: Float32Array }; readonly base: CompareSide; readonly adapted: CompareSide };
      readonly message?: string;
    }
  /** A run's state changed (also carries the stored summary, for the adapter list). */
  | { readonly type: 'train-state'; readonly runId: string; readonly status: RunStatus | 'preparing'; readonly step: number; readonly totalSteps: number; readonly message?: string; readonly summary?: AdapterSummary }
  | { readonly type: 'train-step'; readonly runId: string; readonly step: number; readonly totalSteps: number; readonly loss: number; readonly ms: number; readonly peakBytes: number }
  | { readonly type: 'train-validation'; readonly runId: string; readonly point: ValidationPoint }
  | { readonly type: 'train-checkpoint'; readonly runId: string; readonly step: number };

export function isTrainingRequest(m: { readonly type: string }): m is TrainingRequest {
  return m.type.startsWith('train-');
}

export function isTrainingReply(m: { readonly type: string }): m is TrainingReply {
  return m.type.startsWith('train-');
}
