/**
 * The studio's actions: open files, segment, cancel, export. They talk to the inference
 * worker and the viewer, and write what the page shows into the store. Every failure ends
 * as a message in the store; nothing here leaves the studio unusable.
 */
import { readVolume, type writeNifti } from '../core/io';
import { modelCaveat } from '../infer/registry';
import { buildReport, reportPdf, softwareName } from '../report';
import type { ModelManifest } from '../infer/manifest';
import { modelForProtocol, type ProtocolChoice } from '../infer/protocol-choice';
import type { BackendPreference, ScanPathChoice, ScanSummary } from '../workers/protocol';
import { BatchRunner, batchCsv, useBatch } from './batch';
import type { ConvertedSeries } from './dicom';
import { intake, scanStem } from './files';
import type { KeptOutcomeStore } from './kept-outcomes';
import { sha256Hex } from './work-db';
import type { InferenceClient } from './inference-client';
import { WorkerFailure } from './inference-client';
import { waitBreakdown, type WaitStart, type WaitTimeline, type WorkerTrip } from './wait-stages';
import { labelColormap } from './label-colormap';
import { modelSource } from './models';
import { OUTLINE_LABELS } from './outline-colours';
import { progressDisplay } from './progress-display';
import { SAMPLE_SCAN, sampleUrl } from './sample';
import type { StudioState } from './store';
import type { ScanViewer } from './viewer';

const cancelledNotice = 'Segmentation cancelled.';

/** How the wait for the next masks began: a drop, a pick, the sample's click (with the scan's reading and decoding), or Segment. */
type WaitBegun = Pick<WaitTimeline, 'startedAt' | 'readAt' | 'open'> & { readonly start: WaitStart };

/** Marks on the page's performance timeline (a benchmark reads them: bench/studio-drop.ts). */
export const MARK_MASKS_ON_SCREEN = 'seahorse:masks-on-screen';
export const MARK_WARMED = 'seahorse:warmed';

export interface StudioDeps {
  readonly client: Pick<InferenceClient, 'open' | 'segment' | 'cancel' | 'outline' | 'generation'> & Partial<Pick<InferenceClient, 'warm'>>;
  readonly viewer: Pick<
    ScanViewer,
    'showScan' | 'showLabels' | 'setLabelOpacity' | 'clearLabels' | 'showOutline' | 'setOutlineVisible' | 'clearOutline' | 'nextFrame'
  >;
  readonly store: {
    getState(): StudioState;
    setState(patch: Partial<StudioState>): void;
  };
  readonly models: readonly ModelManifest[];
  /** The page was opened with `?model=<id>`: that model is used as it is on Protocol: Auto (as `seahorse segment --model`). */
  readonly modelRequested?: boolean;
  /** The full-head localiser, when one is installed (models/localiser.json). */
  readonly localiser?: ModelManifest;
  /** URL base the app is served under (Vite's BASE_URL). */
  readonly base: string;
  readonly convertDicom: (files: readonly File[]) => Promise<ConvertedSeries>;
  /** The core NIfTI writer (the CLI writes its masks with the same function). */
  readonly writeNifti: typeof writeNifti;
  /** Hands a finished file to the user (a Blob download link in the page). */
  readonly download: (bytes: Uint8Array, fileName: string) => void;
  /** Where batch mode keeps finished results between sessions (kept-outcomes.ts). */
  readonly keptOutcomes?: () => Promise<Pick<KeptOutcomeStore, 'get' | 'put'>>;
}

export class Studio {
  private file: File | undefined;
  /** The worker generation the open scan lives in (a restarted worker has lost it). */
  private openedIn = -1;
  private runId: number | undefined;
  /** Counts registrations: an outline that arrives after a newer run began is dropped. */
  private registrationSeq = 0;
  /** The registration whose outline the viewer has (or is fetching). */
  private outlineOf = -1;
  /** The open scan's drop (or pick, or click), read and decoded, until its first run takes it. */
  private begun: WaitBegun | undefined;
  /** The viewer loading the open scan (beside the worker's run): when it was on screen, page clock ms. */
  private scanShown: Promise<number> | undefined;

  /** Batch mode (several scans dropped): its own table and store, the same worker. */
  readonly batch: BatchRunner;

  /** Whether the user named the model (the header's choice, or `?model=`): then it is used as it is on Protocol: Auto. */
  private modelChosen: boolean;

  constructor(private readonly deps: StudioDeps) {
    this.modelChosen = deps.modelRequested ?? false;
    this.batch = new BatchRunner({
      client: deps.client,
      base: deps.base,
      store: useBatch,
      // Each scan with the model and localiser a single drop of it would get.
      model: (scan) => this.modelFor(scan),
      settings: () => {
        const localiser = this.localiserSource();
        return { backend: this.state.backendPreference, settings: { path: this.state.scanPath, sublabels: this.state.sublabels, ...(localiser ? { localiser } : {}) } };
      },
      ...(deps.keptOutcomes ? { kept: deps.keptOutcomes } : {}),
    });
  }

  private get state(): StudioState {
    return this.deps.store.getState();
  }

  private set(patch: Partial<StudioState>): void {
    this.deps.store.setState(patch);
  }

  /** Where the studio rests when nothing is in flight. */
  private settledPhase(): StudioState['phase'] {
    if (!this.state.scan) return 'empty';
    return this.state.segmentation ? 'done' : 'ready';
  }

  model(): ModelManifest | undefined {
    return [...this.deps.models, ...this.added].find((m) => m.id === this.state.modelId);
  }

  /** Models added while the page runs (adapted models from the Fine-tune panel). */
  private readonly added: ModelManifest[] = [];

  /** Makes a model selectable (replacing one with the same id). */
  addModel(manifest: ModelManifest): void {
    const at = this.added.findIndex((m) => m.id === manifest.id);
    if (at >= 0) this.added[at] = manifest;
    else this.added.push(manifest);
  }

  /** The scan file that is open (the Fine-tune panel pairs it with a corrected mask). */
  openFile(): File | undefined {
    return this.file;
  }

  private readonly fileKeys = new WeakMap<File, Promise<string | undefined>>();

  /**
   * The open scan file's identity, SHA-256 of its bytes (work-db.ts: what the user made on this
   * scan is kept under it), computed once per file; undefined when none is open or it cannot be read.
   */
  openFileKey(): Promise<string | undefined> {
    const file = this.file;
    if (!file) return Promise.resolve(undefined);
    let key = this.fileKeys.get(file);
    if (!key) {
      // Undefined, never a rejection: outside a secure context the page has no crypto.subtle.
      key = file.arrayBuffer().then(sha256Hex).catch(() => undefined);
      this.fileKeys.set(file, key);
    }
    return key;
  }

  /**
   * Opens what the user picked or dropped, then segments it; `about` is said beside it (the
   * sample's source). `started`: when and how the user began (the drop event's time), for the
   * wait line; by default a pick, now.
   */
  async openFiles(files: readonly File[], about?: string, started: { readonly at: number; readonly by: WaitStart } = { at: performance.now(), by: 'pick' }): Promise<void> {
    const routed = intake(files);
    if (routed.kind === 'refused') {
      this.set({ error: routed.message });
      return;
    }
    this.stopRun();
    if (routed.kind === 'batch') {
      // The batch replaces the open scan in the worker: the single-scan view starts empty again.
      this.batch.stop();
      this.file = undefined;
      this.set({ phase: 'empty', scan: null, segmentation: null, registration: null, error: null, notice: null, progress: null });
      await this.batch.run(routed.files, routed.participants);
      return;
    }
    this.batch.close();
    this.set({ phase: 'opening', error: null, notice: null, progress: null });
    let file: File;
    let notice: string | null = about ?? null;
    if (routed.kind === 'dicom') {
      try {
        const converted = await this.deps.convertDicom(routed.files);
        file = converted.file;
        if (converted.seriesCount > 1) notice = `The DICOM files held ${converted.seriesCount} series; showing the largest.`;
      } catch (error) {
        this.set({ phase: this.settledPhase(), error: `Could not convert the DICOM files: ${messageOf(error)}` });
        return;
      }
    } else {
      file = routed.file;
    }
    const opened = await this.openScan(file);
    if (!opened) return;
    this.begun = { startedAt: started.at, start: started.by, ...opened };
    this.set({ notice: notice ?? this.state.notice });
    await this.segment();
  }

  /** "Try a sample scan": the shipped full-head T1, fetched from this origin, opened and segmented. */
  async openSample(): Promise<void> {
    const at = performance.now();
    this.set({ phase: 'opening', error: null, notice: null });
    let file: File;
    try {
      const response = await fetch(sampleUrl(this.deps.base));
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      file = new File([await response.arrayBuffer()], SAMPLE_SCAN.file);
    } catch (error) {
      this.set({ phase: this.settledPhase(), error: `Could not load the sample scan: ${messageOf(error)}` });
      return;
    }
    await this.openFiles([file], `Sample scan: ${SAMPLE_SCAN.description}.`, { at, by: 'click' });
  }

  /**
   * Reads the file, has the worker decode it, and starts the viewer loading it (not awaited:
   * the worker segments meanwhile). Returns when the bytes were read and the worker's trip,
   * or undefined after a failure (said in the store).
   */
  private async openScan(file: File): Promise<{ readAt: number; open: WorkerTrip } | undefined> {
    let bytes: ArrayBuffer;
    try {
      bytes = await file.arrayBuffer();
    } catch (error) {
      this.set({ phase: this.settledPhase(), error: `Could not read “${file.name}”: ${messageOf(error)}` });
      return undefined;
    }
    const readAt = performance.now();
    let opened;
    try {
      // The bytes move to the worker; the viewer gets them back from it, inflated.
      opened = await this.deps.client.open(file.name, bytes);
      this.file = file;
      this.openedIn = this.deps.client.generation;
      this.registrationSeq++;
      this.set({ phase: 'ready', scan: opened.scan, segmentation: null, backend: null, registration: null });
    } catch (error) {
      this.set({ phase: this.settledPhase(), error: `Could not open the scan: ${messageOf(error)}` });
      return undefined;
    }
    this.scanShown = this.deps.viewer.showScan(opened.display.bytes, opened.display.name).then(
      () => performance.now(),
      (error: unknown) => {
        this.set({ notice: `The viewer could not display this scan (${messageOf(error)}); segmentation still works.` });
        return performance.now();
      },
    );
    return { readAt, open: opened.trip };
  }

  /**
   * The model a run uses: the selected one, or its sibling of the protocol the run needs
   * (infer/protocol-choice.ts: FreeSurfer's for full heads when installed, MSD's for crops
   * and head/body sub-labels, or what the Protocol selector says).
   */
  runModel(): ModelManifest | undefined {
    const scan = this.state.scan;
    return scan ? this.modelFor(scan) : this.model();
  }

  /** The model a run on `scan` uses (see `runModel`); batch mode asks it for each scan. */
  private modelFor(scan: ScanSummary): ModelManifest | undefined {
    const selected = this.model();
    if (!selected) return selected;
    const path = this.state.scanPath !== 'auto' ? this.state.scanPath : scan.classification.kind === 'crop' ? 'crop' : 'full-head';
    // As in the CLI (--model): a model the user named is used as it is unless a protocol is chosen.
    if (this.modelChosen && this.state.protocol === 'auto') return selected;
    return modelForProtocol([...this.deps.models, ...this.added], selected, { choice: this.state.protocol, path, sublabels: this.state.sublabels });
  }

  /**
   * Called when the page is idle, before any drop: the worker starts the session of the model a
   * full head would use and prepares the template, so a drop waits for neither. A failure here
   * is not shown: the first run loads again and says what went wrong.
   */
  async warmUp(): Promise<void> {
    const selected = this.model();
    // Only shipped, trained models are worth a session before anyone asks (test fixtures and
    // user models load on the first run, where their loading is shown and can fail visibly).
    if (!selected || selected.status !== 'trained' || !this.deps.client.warm) return;
    let manifest = selected;
    try {
      if (!(this.modelChosen && this.state.protocol === 'auto')) manifest = modelForProtocol([...this.deps.models, ...this.added], selected, { choice: this.state.protocol, path: 'full-head', sublabels: this.state.sublabels });
    } catch {
      // no model of the protocol: warm the selected one
    }
    const warmed = await this.deps.client.warm(modelSource(manifest, this.deps.base), this.state.backendPreference, this.localiserSource()).catch(() => undefined);
    if (warmed) performance.mark(MARK_WARMED, { detail: warmed });
  }

  private localiserSource() {
    return this.deps.localiser ? modelSource(this.deps.localiser, this.deps.base) : undefined;
  }

  /** Selects the labelling protocol (and re-segments an open scan). */
  async selectProtocol(protocol: ProtocolChoice): Promise<void> {
    this.set({ protocol });
    if (this.state.scan) await this.segment();
  }

  /** Segments the open scan with the selected model and backend. */
  async segment(): Promise<void> {
    let manifest: ModelManifest | undefined;
    try {
      manifest = this.runModel();
    } catch (error) {
      this.set({ error: messageOf(error) });
      return;
    }
    if (!this.state.scan || !this.file || !manifest) return;
    const begun: WaitBegun = this.begun ?? { startedAt: performance.now(), start: 'segment' };
    this.begun = undefined;
    this.stopRun();
    if (this.deps.client.generation !== this.openedIn && !(await this.openScan(this.file))) return;
    this.deps.viewer.clearLabels();
    this.deps.viewer.clearOutline();
    this.registrationSeq++;
    this.set({
      phase: 'running',
      segmentation: null,
      registration: null,
      error: null,
      notice: this.state.notice === cancelledNotice ? null : this.state.notice,
      progress: { fraction: 0, label: 'Starting' },
    });
    const localiser = this.localiserSource();
    const settings = { path: this.state.scanPath, sublabels: this.state.sublabels, ...(localiser ? { localiser } : {}) };
    const { id, outcome } = this.deps.client.segment(modelSource(manifest, this.deps.base), this.state.backendPreference, settings, {
      onLoadingModel: (name) => this.set({ phase: 'loading-model', progress: { fraction: 0, label: `Loading ${name}` } }),
      onBackend: (backend) => this.set({ phase: 'running', backend }),
      onProgress: (progress) => this.set({ progress: progressDisplay(progress) }),
    });
    this.runId = id;
    // The registration's outline is fetched after the run has ended (a second request).
    let outline = false;
    try {
      const result = await outcome;
      if (this.runId !== id) return; // superseded by a newer run or file
      if (result.kind === 'cancelled') {
        this.set({ phase: 'ready', progress: null, notice: cancelledNotice });
        return;
      }
      const { labels, labelInfo, volumes, timingsMs, path, warnings, hippocampi } = result;
      const segmentation = { modelId: manifest.id, labels, labelInfo, volumes, timingsMs, path, warnings, hippocampi };
      this.set({
        phase: 'done',
        progress: null,
        backend: result.backend,
        segmentation,
        registration: result.registration ?? null,
      });
      // Uncompressed: NiiVue reads it straight away; only the export is gzipped.
      const nifti = this.deps.writeNifti(labels, { gzip: false });
      // The masks go over the scan: wait for the viewer to have it (it loaded beside the run).
      const scanShownAt = await this.scanShown;
      if (this.runId !== id) return;
      // A whole head's middle slices miss the hippocampi: go to one, in the same drawing.
      const centre = hippocampi?.find((h) => h.centroidMm)?.centroidMm ?? undefined;
      await this.deps.viewer
        .showLabels(nifti, labelColormap(labelInfo), this.state.overlayOpacity, centre)
        .catch((error: unknown) => this.set({ notice: `The viewer could not show the masks (${messageOf(error)}).` }));
      await this.deps.viewer.nextFrame();
      if (this.runId !== id) return;
      const breakdown = waitBreakdown({
        ...begun,
        // Only a scan opened for this run was waited for; an earlier one was already on screen.
        ...(begun.open && scanShownAt !== undefined ? { scanShownAt } : {}),
        segment: result.trip,
        masksDrawnAt: performance.now(),
      });
      performance.mark(MARK_MASKS_ON_SCREEN, { detail: { ...breakdown, start: begun.start } });
      if (this.state.segmentation === segmentation) this.set({ segmentation: { ...segmentation, wait: { breakdown, start: begun.start } } });
      outline = result.registration !== undefined;
    } catch (error) {
      if (this.runId !== id) return;
      const registration = error instanceof WorkerFailure ? (error.registration ?? null) : null;
      this.set({ phase: 'ready', progress: null, error: failureMessage(error), registration });
      // A failed registration is drawn too: the outline shows where it went wrong.
      outline = registration !== null;
    } finally {
      if (this.runId === id) this.runId = undefined;
    }
    if (outline && this.state.showOutline) await this.drawOutline();
  }

  /** Saves the batch table as CSV (the columns of the CLI's hippocampus_volumes.tsv). */
  exportBatchCsv(): void {
    this.deps.download(new TextEncoder().encode(batchCsv(useBatch.getState())), 'hippocampus_volumes.csv');
  }

  /** The user's Cancel: stops the run in flight and says so. */
  cancel(): void {
    if (this.stopRun()) this.set({ phase: this.settledPhase(), progress: null, notice: cancelledNotice });
  }

  /** Stops the run in flight, if any; its late replies are ignored. */
  private stopRun(): boolean {
    if (this.runId === undefined) return false;
    this.deps.client.cancel(this.runId);
    this.runId = undefined;
    return true;
  }

  /** Selects a model (and re-segments an open scan with it). */
  async selectModel(modelId: string): Promise<void> {
    this.modelChosen = true;
    this.set({ modelId });
    if (this.state.scan) await this.segment();
  }

  async selectBackend(backendPreference: BackendPreference): Promise<void> {
    this.set({ backendPreference });
    if (this.state.scan) await this.segment();
  }

  /** Forces the full-head or the crop path, or lets the field of view decide (re-segments an open scan). */
  async selectScanPath(scanPath: ScanPathChoice): Promise<void> {
    this.set({ scanPath });
    if (this.state.scan) await this.segment();
  }

  /** Head and body + tail per side on the full-head path (re-segments an open full head). */
  async setSublabels(sublabels: boolean): Promise<void> {
    this.set({ sublabels });
    if (this.state.scan && this.state.segmentation?.path !== 'crop') await this.segment();
  }

  /** Shows or hides the template outline; the first time it is shown, the worker draws it. */
  async setShowOutline(showOutline: boolean): Promise<void> {
    this.set({ showOutline });
    this.deps.viewer.setOutlineVisible(showOutline);
    if (showOutline && this.state.registration && this.outlineOf !== this.registrationSeq) await this.drawOutline();
  }

  /** Fetches the current registration's outline from the worker and puts it in the viewer. */
  private async drawOutline(): Promise<void> {
    const seq = this.registrationSeq;
    this.outlineOf = seq;
    try {
      const outline = await this.deps.client.outline();
      if (seq !== this.registrationSeq) return; // a newer run began meanwhile
      const nifti = this.deps.writeNifti(outline, { gzip: false });
      await this.deps.viewer.showOutline(nifti, labelColormap(OUTLINE_LABELS), this.state.showOutline);
    } catch (error) {
      if (seq !== this.registrationSeq) return;
      this.outlineOf = -1;
      this.set({ notice: `The template outline could not be drawn (${messageOf(error)}).` });
    }
  }

  setOverlayOpacity(opacity: number): void {
    this.set({ overlayOpacity: opacity });
    this.deps.viewer.setLabelOpacity(opacity);
  }

  /** Downloads the mask as NIfTI on the input scan's grid. */
  exportMask(): void {
    const { segmentation, scan } = this.state;
    if (!segmentation || !scan) return;
    const maxLabel = Math.max(...segmentation.labelInfo.map((l) => l.value));
    // The header the CLI writes: which model and path made it, and a display range over the labels.
    const nifti = this.deps.writeNifti(segmentation.labels, {
      description: `seahorse ${segmentation.modelId} ${segmentation.path}`,
      displayRange: [0, maxLabel],
    });
    this.deps.download(nifti, `${scanStem(scan.name)}_${segmentation.modelId}_mask.nii.gz`);
  }

  /**
   * Downloads the report of the segmentation on screen as a PDF: the scan is read again here
   * (the worker holds its copy) for the pictures, everything else is what the panel shows.
   */
  async exportReport(): Promise<void> {
    const { segmentation, scan, registration, backend } = this.state;
    const model = segmentation && [...this.deps.models, ...this.added].find((m) => m.id === segmentation.modelId);
    if (!segmentation || !scan || !this.file || !model) return;
    try {
      const image = readVolume(new Uint8Array(await this.file.arrayBuffer()), this.file.name);
      const report = buildReport({
        scanName: scan.name,
        scan: image,
        labels: segmentation.labels,
        labelInfo: segmentation.labelInfo,
        volumes: segmentation.volumes,
        hippocampi: segmentation.hippocampi,
        path: segmentation.path,
        fieldOfView: scan.classification,
        model,
        caveat: modelCaveat(model),
        backend,
        registration,
        warnings: segmentation.warnings,
        software: softwareName('studio'),
        createdAt: new Date(),
      });
      this.deps.download(await reportPdf(report), `${scanStem(scan.name)}_${segmentation.modelId}_report.pdf`);
    } catch (error) {
      this.set({ error: `Could not make the report: ${messageOf(error)}` });
    }
  }

  deviceLost(message: string): void {
    this.set({ notice: `${message}. The next run chooses its backend again.` });
  }
}

function failureMessage(error: unknown): string {
  if (error instanceof WorkerFailure && error.stage === 'segment') return `Segmentation failed: ${error.message}`;
  if (error instanceof WorkerFailure && error.stage === 'localise') return `Could not find the hippocampi: ${error.message}`;
  if (error instanceof WorkerFailure && error.stage === 'checks') return `Masks refused by the quality checks. ${error.message}`;
  return messageOf(error);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
