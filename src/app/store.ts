/**
 * The studio's one store: what is on screen. Actions that talk to the worker or the viewer
 * live in studio.ts and write here with `useStudio.setState`.
 */
import { create } from 'zustand';
import type { ScanPath } from '../core/fullhead';
import type { LabelInfo } from '../core/labels';
import type { LabelVolume } from '../core/volume';
import type { SideMeasure } from '../infer/fullhead';
import type { ProtocolChoice } from '../infer/protocol-choice';
import type { BackendInfo, BackendPreference, RegistrationSummary, ScanPathChoice, ScanSummary, VolumeMeasure } from '../workers/protocol';
import type { WaitBreakdown, WaitStart } from './wait-stages';

/** Where the studio is in its one job: file in, masks out. */
export type Phase = 'empty' | 'opening' | 'ready' | 'loading-model' | 'running' | 'done';

export interface Segmentation {
  readonly modelId: string;
  readonly labels: LabelVolume;
  /** The label table of `labels` (the model's on a crop, left/right on a full head). */
  readonly labelInfo: readonly LabelInfo[];
  readonly volumes: readonly VolumeMeasure[];
  readonly timingsMs: Readonly<Record<string, number>>;
  readonly path: ScanPath;
  readonly warnings: readonly string[];
  /** Full head: left then right, whole hippocampus each. */
  readonly hippocampi?: readonly SideMeasure[];
  /** The user's whole wait for these masks, by stage (set once they are drawn). */
  readonly wait?: { readonly breakdown: WaitBreakdown; readonly start: WaitStart };
}

export interface StudioState {
  readonly phase: Phase;
  readonly scan: ScanSummary | null;
  readonly modelId: string;
  readonly backendPreference: BackendPreference;
  /** The backend of the last run (or the one running). */
  readonly backend: BackendInfo | null;
  /** 0–1 with a short label, while a run is going. */
  readonly progress: { readonly fraction: number; readonly label: string } | null;
  readonly segmentation: Segmentation | null;
  /** A problem to show; the studio keeps working. */
  readonly error: string | null;
  /** Something worth saying that is not an error (e.g. "DICOM converted: 2 series"). */
  readonly notice: string | null;
  readonly overlayOpacity: number;
  /** Full head or crop: decided by the field of view, or forced. */
  readonly scanPath: ScanPathChoice;
  /** Full head: head and body + tail per side. */
  readonly sublabels: boolean;
  /** Labelling protocol: `auto` is FreeSurfer's for full heads (when installed), MSD's for crops and sub-labels. */
  readonly protocol: ProtocolChoice;
  /** The last registration to the brain template (full head; also when it failed). */
  readonly registration: RegistrationSummary | null;
  /** Whether the template outline is drawn over the scan. */
  readonly showOutline: boolean;
}

export const initialState = (modelId: string, backendPreference: BackendPreference): StudioState => ({
  phase: 'empty',
  scan: null,
  modelId,
  backendPreference,
  backend: null,
  progress: null,
  segmentation: null,
  error: null,
  notice: null,
  overlayOpacity: 0.6,
  scanPath: 'auto',
  sublabels: false,
  protocol: 'auto',
  registration: null,
  showOutline: true,
});

export const useStudio = create<StudioState>()(() => initialState('', 'auto'));
