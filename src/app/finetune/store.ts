/**
 * The Fine-tune panel's store (a slice beside the studio's): the labelled files, the settings,
 * the run on screen, the stored adapters and the comparison. Actions live in finetune.ts.
 */
import { create } from 'zustand';
import type { ModelManifest } from '../../infer/manifest';
import type { MethodName } from '../../peft/methods';
import type { AdapterSummary, RunStatus, ValidationPoint } from '../../train/adapter-store';
import type { RunEstimate } from '../../train/estimate';
import type { CompareSide, PairCheck } from '../../workers/training-protocol';
import { defaultSamDockSettings, defaultSettings, NOTHING_BY_HAND, type FinetuneTarget, type HandPicked, type SamDockSettings } from './defaults';
import type { FileRole } from './pairing';

export interface TrainingFile {
  readonly file: File;
  /** Path inside a dropped folder, when known. */
  readonly path?: string;
  readonly role: FileRole;
  /** Set when the labels come from a mask corrected in the viewer. */
  readonly corrected?: boolean;
}

/** What the user sets; the defaults (defaults.ts) follow the base model and measured runs. */
export interface FinetuneSettings {
  readonly method: MethodName;
  /** LoRA-PT: rank of each tensor; HyPS/LoRA/PiSSA: the rank. Empty: the method's default. */
  readonly rank: number | null;
  readonly lr: number;
  /** `steps`: total optimiser steps; `epochs`: passes over the training pairs. */
  readonly length: { readonly unit: 'steps' | 'epochs'; readonly value: number };
  readonly batch: number;
  readonly augment: boolean;
  /** Adapter methods: the decoder trains with the adapters, or stays frozen (the CLI's --no-decoder); it starts by the number of training scans (src/train/finetune-defaults.ts). */
  readonly trainDecoder: boolean;
  readonly checkpointEvery: number;
}

export interface RunView {
  readonly runId: string;
  readonly name: string;
  readonly status: RunStatus | 'preparing';
  readonly step: number;
  readonly totalSteps: number;
  readonly losses: readonly number[];
  readonly validation: readonly ValidationPoint[];
  /** Recent step durations, ms (for the step rate and time left). */
  readonly stepMs: readonly number[];
  readonly peakBytes: number | null;
  readonly lastCheckpoint: number | null;
  readonly message: string | null;
  /** A Segment Anything run: it cannot pause or resume (its encoded slices are not kept). */
  readonly sam?: boolean;
}

export interface Comparison {
  readonly runId: string;
  readonly scan: string;
  readonly image: { readonly dims: readonly number[]; readonly data: Float32Array };
  readonly base: CompareSide;
  readonly adapted: CompareSide;
}

export interface FinetuneState {
  readonly open: boolean;
  readonly files: readonly TrainingFile[];
  /** Keys of the pairs that validate, or automatic hold-out. */
  readonly validation: ReadonlySet<string> | 'auto';
  readonly labelMap: string;
  readonly checks: Readonly<Record<string, PairCheck>>;
  /** How the label map was applied to the checked pairs (e.g. “FreeSurfer aseg: 17 → left hippocampus, …”). */
  readonly mapping: string | null;
  readonly settings: FinetuneSettings;
  /** What the dock adapts: the studio's selected model, or Segment Anything's decoder. */
  readonly target: FinetuneTarget;
  /** The settings only a SAM run has. */
  readonly sam: SamDockSettings;
  /** The settings the user changed by hand: they stay when the base or the scans change (defaults.ts `followFindings`). */
  readonly byHand: HandPicked;
  readonly estimate: RunEstimate | null;
  readonly estimateError: string | null;
  readonly run: RunView | null;
  readonly adapters: readonly AdapterSummary[];
  /** Adapted models registered for inference this session. */
  readonly adaptedModels: readonly ModelManifest[];
  readonly comparing: boolean;
  readonly comparison: Comparison | null;
  readonly error: string | null;
  readonly notice: string | null;
  /** The viewer is in drawing mode on the current mask. */
  readonly correcting: boolean;
  /** A pen correction of the open scan's mask kept in this browser (kept-corrections.ts): when it was saved. */
  readonly keptCorrection: { readonly savedAt: number } | null;
}

export const initialFinetuneState = (): FinetuneState => ({
  open: false,
  files: [],
  validation: 'auto',
  labelMap: 'msd',
  checks: {},
  mapping: null,
  settings: defaultSettings(),
  target: 'studio',
  sam: defaultSamDockSettings(),
  byHand: NOTHING_BY_HAND,
  estimate: null,
  estimateError: null,
  run: null,
  adapters: [],
  adaptedModels: [],
  comparing: false,
  comparison: null,
  error: null,
  notice: null,
  correcting: false,
  keptCorrection: null,
});

export const useFinetune = create<FinetuneState>()(() => initialFinetuneState());
