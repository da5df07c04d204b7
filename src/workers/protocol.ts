/**
 * The typed message protocol between the studio (main thread) and the inference worker.
 * Every request carries an `id`; every reply names the request it answers.
 */
import type { IcvSource, RegistrationStart, ScanClassification, ScanPath } from '../core/fullhead';
import type { LabelInfo, LabelVolumeMeasure } from '../core/labels';
import type { Dims3, LabelVolume, SpacingMm } from '../core/volume';
import type { BackendName } from '../infer/backend';
import type { SideMeasure } from '../infer/fullhead';
import type { ModelManifest } from '../infer/manifest';
import type { Progress } from '../infer/progress';

/** `auto`: WebGPU when this machine can run the model on it, else wasm. `wasm`: always wasm. */
/** What the Compute selector asks for (infer/ort-web.ts `OrtWebPreference`). */
export type BackendPreference = 'auto' | 'wasm' | 'webgpu';

/** A model with its files resolved to URLs the worker can fetch (same origin). */
export interface ModelSource {
  readonly manifest: ModelManifest;
  readonly onnxUrl: string;
  /** External-data files: `path` as the ONNX names them, `url` where to fetch them. */
  readonly externalData: readonly { readonly path: string; readonly url: string }[];
}

/** The GPU adapter WebGPU ran on, for the diagnostics panel. */
export interface AdapterSummary {
  readonly vendor: string;
  readonly architecture: string;
  readonly description: string;
  readonly maxBufferSize: number;
  readonly maxStorageBufferBindingSize: number;
}

/** Which runtime ran a model, and why that one. */
export interface BackendInfo {
  readonly name: BackendName;
  readonly reason: string;
  readonly adapter?: AdapterSummary;
}

/** What the worker read from a dropped file (the voxels stay in the worker). */
export interface ScanSummary {
  readonly name: string;
  readonly dims: Dims3;
  readonly spacing: SpacingMm;
  /** Smallest and largest finite voxel value. */
  readonly range: readonly [number, number];
  /** Full head, crop or partial, from the field of view: the path `auto` takes. */
  readonly classification: ScanClassification;
}

/** Full head or crop: the field of view decides (`auto`), or the user forces one path. */
export type ScanPathChoice = 'auto' | ScanPath;

/** How to segment, as the user set it. */
export interface SegmentSettings {
  readonly path: ScanPathChoice;
  /** Full head: head and body + tail per side (labels 1–4) instead of one label per side. */
  readonly sublabels: boolean;
  /** The full-head localiser (models/localiser.*) to run on full heads; absent while none is installed. */
  readonly localiser?: ModelSource;
}

/** What the registration to the brain template found, in the units the UI shows. */
export interface RegistrationSummary {
  /** `poor`: masks made with a warning; `failed`: no masks. */
  readonly quality: 'good' | 'poor' | 'failed';
  /** Similarity (NCC) of scan and template over the brain and an 8 mm rim, and inside the brain only. */
  readonly ncc: number;
  readonly brainNcc: number;
  /** Fraction of the template brain inside the scan's field of view. */
  readonly brainCoverage: number;
  /** Intracranial-volume estimate, mm³: the one the volumes' ICV fractions use. */
  readonly icvMm3: number;
  /** Where `icvMm3` comes from: the registration, or the localiser's coarse brain volume (the localiser placed the crops after the registration failed). */
  readonly icvFrom: IcvSource;
  /** Where the registration started: the field of view's centre, or (when that did worse) the brain the localiser found. */
  readonly startedFrom: RegistrationStart;
  /** Degrees the crops were turned to the model's training pose: the head's pose, taken from that pose, beyond what training covered (core/fullhead/head-pose.ts). */
  readonly cropsTurnedDeg: number;
}

/** A label's volume; on the full-head path also its share of the intracranial volume. */
export type VolumeMeasure = LabelVolumeMeasure & { readonly icvFraction?: number };

export type WorkerRequest =
  /**
   * Parse a scan with the core reader and keep it for the next `segment`. `sentAt`: when the
   * page posted it (`epochMs()`), so the worker can say how long the request waited for it.
   */
  | { readonly type: 'open'; readonly id: number; readonly name: string; readonly bytes: ArrayBuffer; readonly sentAt?: number }
  /** Segment the open scan. */
  | {
      readonly type: 'segment';
      readonly id: number;
      readonly model: ModelSource;
      readonly backend: BackendPreference;
      readonly settings: SegmentSettings;
      readonly sentAt?: number;
    }
  /**
   * The brain template's outline on the open scan's grid, as the last registration of that
   * scan placed it (also after a failed one: the outline shows what went wrong).
   */
  | { readonly type: 'outline'; readonly id: number }
  /**
   * Get ready while the page is idle, before any scan: start the ORT session for this model
   * and preference and prepare the brain template, so a drop pays for neither.
   */
  | { readonly type: 'warm'; readonly id: number; readonly model: ModelSource; readonly backend: BackendPreference; readonly localiser?: ModelSource }
  /** Stop the run with this id (a no-op when it already ended). */
  | { readonly type: 'cancel'; readonly id: number };

/**
 * The page's runtime settings, sent first to every new worker, before any session exists:
 * the thread count of onnxruntime-web's wasm sessions (infer/wasm-threads.ts), and how many
 * slices' embeddings the prompt tool keeps (sam/embedding-cache.ts `cacheSlicesFor`).
 */
export interface ConfigureRequest {
  readonly type: 'configure';
  readonly wasmThreads: number;
  readonly samCacheSlices: number;
}

/**
 * Where a request failed, so the UI can phrase the message. `localise`: the full-head path
 * could not find the hippocampi (not a brain, the brain cut off, a failed registration);
 * `checks`: masks were made but refused by the quality control (core/fullhead/qc.ts).
 */
export type FailureStage = 'open' | 'model' | 'segment' | 'localise' | 'checks' | 'outline';

/**
 * The scan file as the viewer should get it: decompressed once, by the worker's reader (the
 * page neither copies nor inflates it again), and moved back to the page.
 */
export interface DisplayFile {
  readonly bytes: ArrayBuffer;
  /** `scan.nii` or `scan.mgh`: NiiVue picks its parser from the name. */
  readonly name: string;
}

/** Milliseconds since the epoch on a clock the page and the worker share (their time origins differ). */
export function epochMs(): number {
  return performance.timeOrigin + performance.now();
}

export type WorkerReply =
  | {
      readonly type: 'opened';
      readonly id: number;
      readonly scan: ScanSummary;
      readonly display: DisplayFile;
      /** `queued` (the request waited for the busy worker) and `decode` (inflate, parse, summary), ms. */
      readonly stagesMs: Readonly<Record<string, number>>;
      /** When the reply was posted (`epochMs()`). */
      readonly repliedAt: number;
    }
  | { readonly type: 'loading-model'; readonly id: number; readonly modelName: string }
  | { readonly type: 'backend'; readonly id: number; readonly backend: BackendInfo }
  | { readonly type: 'progress'; readonly id: number; readonly progress: Progress }
  | {
      readonly type: 'result';
      readonly id: number;
      readonly labels: LabelVolume;
      /** The label table of `labels`: the model's own on the crop path, left/right on the full-head path. */
      readonly labelInfo: readonly LabelInfo[];
      readonly volumes: readonly VolumeMeasure[];
      readonly timingsMs: Readonly<Record<string, number>>;
      /**
       * The worker's whole time on the request, by stage, ms: `queued`, the waits for the
       * warm-up (`model wait`, `template wait`, `localiser wait`), the pipeline's own stages
       * (`timingsMs` without its total) and `other` (app/wait-stages.ts groups them).
       */
      readonly stagesMs: Readonly<Record<string, number>>;
      /** When the reply was posted (`epochMs()`). */
      readonly repliedAt: number;
      readonly backend: BackendInfo;
      readonly path: ScanPath;
      /** Sentences to show beside the masks (a poor registration, a cut-off or empty side). */
      readonly warnings: readonly string[];
      /** Full-head path only. */
      readonly registration?: RegistrationSummary;
      /** Full-head path only: left then right, whole hippocampus each. */
      readonly hippocampi?: readonly SideMeasure[];
    }
  | { readonly type: 'outline'; readonly id: number; readonly outline: LabelVolume }
  /** The session and the template are ready (`warm`); how long each took, ms. */
  | { readonly type: 'warmed'; readonly id: number; readonly timingsMs: Readonly<Record<string, number>> }
  | { readonly type: 'cancelled'; readonly id: number }
  | {
      readonly type: 'failed';
      readonly id: number;
      readonly stage: FailureStage;
      readonly message: string;
      /** A localisation failure: what the registration found (its outline can be asked for). */
      readonly registration?: RegistrationSummary;
    }
  /** The GPU went away (driver reset, another tab, OOM); the next run picks a backend again. */
  | { readonly type: 'device-lost'; readonly message: string };
