/**
 * The Fine-tune panel's actions: collect labelled pairs (dropped files, or the studio's own mask
 * corrected in the viewer), check them in the worker, estimate, train, pause, resume, cancel,
 * keep the adapter list in step with browser storage, import and export adapter files, make an
 * adapted model selectable for inference, and compare it with its base. Every failure ends as a
 * message in the store.
 */
import type { ModelManifest } from '../../infer/manifest';
import { ADAPTER_EXTENSION, decodeAdapter } from '../../peft/adapter-file';
import { METHODS, type MethodName } from '../../peft/methods';
import { SAM_BASE_LABEL } from '../../sam/model-files';
import { parseStructures, SAM_FINETUNE_DEFAULTS } from '../../sam/training-data';
import { AdapterStore, isSamBase, newAdapterId, summarise, type AdapterRecord, type RunBase, type RunSettings } from '../../train/adapter-store';
import { adaptationCautions, type AdaptationCaution } from '../../train/adaptation-caution';
import { withAdaptedProtocol } from '../../train/label-map';
import type { BackendPreference } from '../../workers/protocol';
import { ADAPTED_MODEL_PREFIX, type PairFiles, type TrainingReply } from '../../workers/training-protocol';
import { scanStem } from '../files';
import { defaultSettings, followFindings, methodConfigOf, methodLabel, methodsForTarget, modelKind, NOTHING_BY_HAND, pickedBy, SAM_LORA_DEFAULT_RANK, samSettings, type FinetuneTarget, type SamDockSettings } from './defaults';
import { modelSource } from '../models';
import type { Studio } from '../studio';
import type { ScanViewer } from '../viewer';
import { guessRole, pairFiles, validationKeys, type FileRole, type Pair } from './pairing';
import { protocolBase, type ProtocolBase } from './protocol-base';
import type { FinetuneSettings, FinetuneState, RunView, TrainingFile } from './store';
import type { KeptCorrectionStore } from './kept-corrections';
import type { TrainingClient } from './training-client';

export interface FinetuneDeps {
  readonly client: Pick<TrainingClient, 'check' | 'estimate' | 'compare' | 'start' | 'send'>;
  readonly openStore: () => Promise<AdapterStore>;
  readonly studio: Pick<Studio, 'model' | 'addModel' | 'selectModel' | 'openFile' | 'openFileKey'>;
  readonly viewer: Pick<ScanViewer, 'startCorrection' | 'resumeCorrection' | 'watchCorrection' | 'setPen' | 'undoDrawing' | 'correctedMask' | 'endCorrection'>;
  readonly store: { getState(): FinetuneState; setState(patch: Partial<FinetuneState>): void };
  /** The studio's installed models (bases for fine-tuning and imported adapters). */
  readonly models: readonly ModelManifest[];
  readonly base: string;
  readonly backend: () => BackendPreference;
  readonly download: (bytes: Uint8Array, fileName: string) => void;
  /** The prompt tool, for a Segment Anything adapter ("use in the prompt tool"). */
  readonly promptTool?: () => { useAdapter(adapter: { id: string; name: string } | null): void };
  /** Where a pen correction is kept while it is drawn (kept-corrections.ts); without it, it lasts as long as the page. */
  readonly kept?: () => Promise<Pick<KeptCorrectionStore, 'get' | 'put' | 'delete'>>;
}

/** A correction is kept this long after the last stroke or undo (a stroke takes a few hundred ms to draw). */
const KEEP_CORRECTION_AFTER_MS = 1000;

/** Step durations kept for the step rate: the recent ones (the first steps include shader compilation). */
const RATE_WINDOW = 5;

export class Finetune {
  constructor(private readonly deps: FinetuneDeps) {}

  private get state(): FinetuneState {
    return this.deps.store.getState();
  }

  private set(patch: Partial<FinetuneState>): void {
    this.deps.store.setState(patch);
  }

  private fail(error: unknown): void {
    this.set({ error: messageOf(error) });
  }

  /** On page load: runs left training by a closed page are interrupted; list them with a Resume. */
  async init(): Promise<void> {
    try {
      const store = await this.deps.openStore();
      const stale = await store.markInterrupted('The page was closed or reloaded during training');
      await this.refreshAdapters();
      if (stale.length > 0) {
        const r = await store.require(stale[0].id);
        this.showRecord(r);
        this.set({ open: true, notice: `“${r.name}” was interrupted at step ${r.step} of ${r.settings?.steps ?? r.step}; Resume continues from that checkpoint.` });
      }
    } catch (error) {
      this.set({ open: true, error: `Could not read the stored adapters: ${messageOf(error)}` });
    }
  }

  toggle(open = !this.state.open): void {
    this.set({ open });
  }

  // ── Training pairs ────────────────────────────────────────────────────────────

  addFiles(files: readonly File[]): void {
    const added: TrainingFile[] = files
      .filter((f) => !f.name.startsWith('.'))
      .map((file) => {
        const path = relativePath(file);
        return { file, path, role: guessRole({ name: file.name, path }) };
      });
    this.set({ files: [...this.state.files, ...added], error: null });
    void this.check();
  }

  setRole(file: File, role: FileRole): void {
    this.set({ files: this.state.files.map((f) => (f.file === file ? { ...f, role } : f)) });
    void this.check();
  }

  removeFile(file: File): void {
    this.set({ files: this.state.files.filter((f) => f.file !== file) });
    void this.check();
  }

  setValidation(key: string, validates: boolean): void {
    const current = this.state.validation;
    const keys = new Set(current === 'auto' ? validationKeys(this.pairs().map((p) => p.key), 'auto') : current);
    if (validates) keys.add(key);
    else keys.delete(key);
    this.set({ validation: keys });
    void this.estimate();
  }

  setAutoValidation(): void {
    this.set({ validation: 'auto' });
    void this.estimate();
  }

  setLabelMap(labelMap: string): void {
    this.set({ labelMap });
    void this.check();
  }

  pairs(): Pair<TrainingFile & { name: string }>[] {
    const files = this.state.files.map((f) => ({ ...f, name: f.file.name }));
    const roles = new Map(files.map((f) => [f, f.role] as const));
    return pairFiles(files, roles).pairs;
  }

  unpaired(): { file: File; reason: string }[] {
    const files = this.state.files.map((f) => ({ ...f, name: f.file.name }));
    return pairFiles(files, new Map(files.map((f) => [f, f.role] as const))).unpaired.map((u) => ({ file: u.file.file, reason: u.reason }));
  }

  /** Keys of the validation pairs as they stand (explicit or automatic). */
  validationSet(): Set<string> {
    return validationKeys(
      this.pairs().map((p) => p.key),
      this.state.validation,
    );
  }

  private async pairBytes(): Promise<PairFiles[]> {
    // A SAM run trains on every pair (it has no validation pass).
    const val = this.state.target === 'sam' ? new Set<string>() : this.validationSet();
    return Promise.all(
      this.pairs().map(async (p) => ({
        name: p.key,
        role: val.has(p.key) ? ('val' as const) : ('train' as const),
        image: { name: p.image.file.name, bytes: await p.image.file.arrayBuffer() },
        label: { name: p.label.file.name, bytes: await p.label.file.arrayBuffer() },
      })),
    );
  }

  /** Reads every pair in the worker as training will (geometry, label codes), so problems show before Train. */
  async check(): Promise<void> {
    const base = this.baseSource();
    if (!base || this.pairs().length === 0) {
      this.set({ checks: {}, mapping: null });
      return this.estimate();
    }
    try {
      const structures = isSamBase(base) ? this.samStructures() : undefined;
      if (structures === null) {
        this.set({ checks: {}, mapping: null });
        return this.estimate();
      }
      const { checks, mapping } = await this.deps.client.check(base, await this.pairBytes(), this.state.labelMap, structures);
      this.set({ checks: Object.fromEntries(checks.map((c) => [c.name, c])), mapping: mapping ?? null });
    } catch (error) {
      this.fail(error);
    }
    await this.estimate();
  }

  // ── Settings and estimate ─────────────────────────────────────────────────────

  updateSettings(patch: Partial<FinetuneSettings>): void {
    this.set({ settings: { ...this.state.settings, ...patch }, byHand: pickedBy(this.state.byHand, patch) });
    void this.estimate();
  }

  /** Labelled scans a run trains on: the pairs less the validation ones. */
  trainingScans(): number {
    return Math.max(0, this.pairs().length - this.validationSet().size);
  }

  /** The defaults follow the base, the method and the training scans, except what was set by hand (defaults.ts). */
  private followFindings(): void {
    if (this.state.target === 'sam') return;
    const settings = followFindings(this.state.settings, this.state.byHand, modelKind(this.baseModel()), this.trainingScans());
    if (settings !== this.state.settings) this.set({ settings });
  }

  /** Adapt the studio's model or Segment Anything: the settings become the target's defaults; pairs are checked again. */
  async setTarget(target: FinetuneTarget): Promise<void> {
    if (target === this.state.target) return;
    const settings = target === 'sam' ? samSettings() : defaultSettings(modelKind(this.baseModel()));
    this.set({ target, settings, byHand: NOTHING_BY_HAND, checks: {}, mapping: null, estimate: null, estimateError: null });
    await this.check();
  }

  updateSam(patch: Partial<SamDockSettings>): void {
    this.set({ sam: { ...this.state.sam, ...patch } });
    if (patch.structures !== undefined) void this.check();
    else void this.estimate();
  }

  /** The structure codes typed for a SAM run, or null (with the reason in `samError()`) when they do not parse. */
  samStructures(): number[] | null {
    try {
      return parseStructures(this.state.sam.structures);
    } catch {
      return null;
    }
  }

  samError(): string | null {
    try {
      parseStructures(this.state.sam.structures);
      return null;
    } catch (error) {
      return `Structures: ${messageOf(error)}`;
    }
  }

  /** The studio's model changed: the method and rate follow the new base (`followFindings`, in the estimate). */
  async baseChanged(): Promise<void> {
    if (this.state.target === 'sam') return;
    await this.estimate();
  }

  /** The methods the panel offers: those that apply to the selected base. */
  methodChoices(): MethodName[] {
    return methodsForTarget(this.state.target, modelKind(this.baseModel()));
  }

  methodLabel(method: MethodName): string {
    return methodLabel(method, this.state.target);
  }

  /** The selected studio model, when it can be fine-tuned (a UNETR or SwinUNETR base, not an adapted model). */
  baseModel(): ModelManifest | undefined {
    const m = this.deps.studio.model();
    if (!m || m.onnx.startsWith(ADAPTED_MODEL_PREFIX) || m.architecture === 'unknown') return undefined;
    return m;
  }

  /**
   * What to say about a finished run's adapter beyond its training scans (src/train/adaptation-caution.ts):
   * its validation at the end against the base's at step 0, or that nothing validated it.
   */
  runCautions(): AdaptationCaution[] {
    const run = this.state.run;
    if (!run || run.sam || run.status !== 'done') return [];
    const before = run.validation.find((v) => v.step === 0);
    const after = run.validation.at(-1);
    const validation = before && after && after.step > 0 ? { cases: this.validationSet().size, before, after } : null;
    return adaptationCautions(this.trainingScans(), validation, 'studio');
  }

  /** The model the checked pairs call for when it is not the base (protocol-base.ts): the dock offers to adapt it instead. */
  protocolBase(): ProtocolBase | null {
    const base = this.baseModel();
    if (this.state.target !== 'studio' || !base) return null;
    return protocolBase(this.deps.models, base, this.state.labelMap, Object.values(this.state.checks));
  }

  /** Adapts `modelId` instead: it becomes the studio's model, which the dock's base follows. */
  async adaptInstead(modelId: string): Promise<void> {
    await this.deps.studio.selectModel(modelId);
  }

  private baseSource(): RunBase | undefined {
    if (this.state.target === 'sam') return { kind: 'sam', label: SAM_BASE_LABEL };
    const m = this.baseModel();
    return m && modelSource(m, this.deps.base);
  }

  runSettings(): RunSettings {
    const s = this.state.settings;
    if (this.state.target === 'sam') {
      // SAM runs count steps only; they have no epochs, validation or augmentation.
      const { plane, slicesPerScan, warmup, loraStages, loraLr, startFrom } = this.state.sam;
      const steps = s.length.value;
      const lora = s.method === 'lora';
      return {
        method: lora ? { method: 'lora', rank: s.rank ?? SAM_LORA_DEFAULT_RANK } : { method: 'decoder' },
        steps,
        batch: s.batch,
        lr: s.lr,
        augment: false,
        checkpointEvery: s.checkpointEvery,
        stepsPerEpoch: steps,
        seed: SAM_FINETUNE_DEFAULTS.seed, // the CLI's prompt-sampling seed
        sam: { structures: this.samStructures() ?? [], plane, slicesPerScan, warmup, startFrom, ...(lora ? { loraStages, ...(loraLr !== null ? { loraLr } : {}) } : {}) },
      };
    }
    const trainPairs = Math.max(1, this.pairs().length - this.validationSet().size);
    const stepsPerEpoch = Math.max(1, Math.ceil(trainPairs / s.batch));
    const steps = s.length.unit === 'steps' ? s.length.value : s.length.value * stepsPerEpoch;
    const method = methodConfigOf(s);
    return { method, steps, batch: s.batch, lr: s.lr, augment: s.augment, checkpointEvery: s.checkpointEvery, stepsPerEpoch, seed: 1000 };
  }

  async estimate(): Promise<void> {
    this.followFindings();
    const base = this.baseSource();
    if (!base) {
      this.set({ estimate: null, estimateError: 'Select a UNETR or SwinUNETR base model in the header to fine-tune it, or choose Segment Anything.' });
      return;
    }
    try {
      this.set({ estimate: await this.deps.client.estimate(base, this.runSettings()), estimateError: null });
    } catch (error) {
      this.set({ estimate: null, estimateError: messageOf(error) });
    }
  }

  // ── Runs ──────────────────────────────────────────────────────────────────────

  /** Why Train is disabled, or null when a run can start. */
  blocker(): string | null {
    if (this.state.run && (this.state.run.status === 'training' || this.state.run.status === 'preparing')) return 'A run is training.';
    const sam = this.state.target === 'sam';
    if (!sam && !this.baseModel()) return 'Select a UNETR or SwinUNETR base model.';
    if (sam && this.samError()) return this.samError();
    const pairs = this.pairs();
    if (pairs.length === 0) return 'Add labelled scans (scan + label file pairs).';
    const bad = pairs.map((p) => this.state.checks[p.key]).find((c) => c && !c.ok);
    if (bad && !bad.ok) return `${bad.name}: ${bad.message}`;
    if (!sam && pairs.length - this.validationSet().size < 1) return 'Keep at least one pair for training.';
    if (sam && !pairs.some((p) => this.state.checks[p.key]?.ok)) return 'Waiting for the pairs to be checked.';
    if (this.state.estimateError) return this.state.estimateError;
    return null;
  }

  async start(): Promise<void> {
    const base = this.baseSource();
    if (!base || this.blocker()) return;
    const settings = this.runSettings();
    const runId = newAdapterId();
    const pairs = await this.pairBytes();
    const train = pairs.filter((p) => p.role === 'train').length;
    const what = isSamBase(base) ? `Segment Anything ${settings.method.method === 'lora' ? `LoRA r${settings.method.rank}` : 'decoder'} · ${settings.sam?.structures.join(',')}` : `${METHODS[settings.method.method].label} · ${base.manifest.id}`;
    const name = `${what} · ${train} scan${train === 1 ? '' : 's'} · ${new Date().toLocaleString('en-GB', { dateStyle: 'short', timeStyle: 'short' })}`;
    this.set({ run: { ...emptyRun(runId, name, settings.steps), sam: isSamBase(base) }, error: null, notice: null, comparison: null });
    this.deps.client.start({ runId, name, base, settings, pairs, labelMap: this.state.labelMap, backend: this.deps.backend() });
  }

  pause(): void {
    const run = this.state.run;
    if (run) this.deps.client.send({ type: 'train-pause', runId: run.runId });
  }

  cancel(): void {
    const run = this.state.run;
    if (run) this.deps.client.send({ type: 'train-cancel', runId: run.runId });
  }

  async resume(runId: string): Promise<void> {
    try {
      const store = await this.deps.openStore();
      this.showRecord(await store.require(runId));
      this.set({ notice: null, error: null });
      this.patchRun({ status: 'preparing', message: 'Resuming from the last checkpoint' });
      this.deps.client.send({ type: 'train-resume', runId, backend: this.deps.backend() });
    } catch (error) {
      this.fail(error);
    }
  }

  /** A reply about a run, from the worker. */
  onReply(reply: TrainingReply): void {
    const run = this.state.run;
    if (!('runId' in reply)) return;
    if (reply.type === 'train-state' && reply.summary) {
      const others = this.state.adapters.filter((a) => a.id !== reply.runId);
      this.set({ adapters: [reply.summary, ...others].sort((a, b) => b.created - a.created) });
    }
    if (!run || run.runId !== reply.runId) return;
    switch (reply.type) {
      case 'train-state':
        this.patchRun({ status: reply.status, step: reply.step, totalSteps: reply.totalSteps, message: reply.message ?? null });
        if (reply.status === 'failed' || reply.status === 'interrupted') this.set({ error: `Training stopped: ${reply.message}` });
        return;
      case 'train-step':
        this.patchRun({
          step: reply.step,
          totalSteps: reply.totalSteps,
          losses: withAt(run.losses, reply.step - 1, reply.loss),
          stepMs: [...run.stepMs, reply.ms].slice(-RATE_WINDOW),
          peakBytes: reply.peakBytes,
        });
        return;
      case 'train-validation':
        this.patchRun({ validation: [...run.validation.filter((v) => v.step !== reply.point.step), reply.point] });
        return;
      case 'train-checkpoint':
        this.patchRun({ lastCheckpoint: reply.step });
        return;
    }
  }

  /** The worker died (out of memory, a crash): the run's checkpoint is safe in storage. */
  workerLost(message: string): void {
    const run = this.state.run;
    if (!run || (run.status !== 'training' && run.status !== 'preparing')) return;
    void (async () => {
      try {
        const store = await this.deps.openStore();
        const r = await store.patch(run.runId, { status: 'interrupted', message });
        this.showRecord(r);
      } catch {
        this.patchRun({ status: 'interrupted' });
      }
      this.set({ error: `Training stopped: ${message}. Resume continues from the last checkpoint.` });
    })();
  }

  private patchRun(patch: Partial<RunView>): void {
    const run = this.state.run;
    if (run) this.set({ run: { ...run, ...patch } });
  }

  private showRecord(r: AdapterRecord): void {
    this.set({
      run: {
        ...emptyRun(r.id, r.name, r.settings?.steps ?? r.step),
        status: r.status,
        step: r.step,
        losses: r.losses,
        validation: r.validation,
        lastCheckpoint: r.step,
        message: r.message ?? null,
        sam: isSamBase(r.base),
      },
    });
  }

  // ── Adapters ──────────────────────────────────────────────────────────────────

  async refreshAdapters(): Promise<void> {
    try {
      this.set({ adapters: await (await this.deps.openStore()).list() });
    } catch (error) {
      this.fail(error);
    }
  }

  async rename(id: string, name: string): Promise<void> {
    try {
      await (await this.deps.openStore()).rename(id, name);
      await this.refreshAdapters();
      const manifest = this.state.adaptedModels.find((m) => m.onnx === ADAPTED_MODEL_PREFIX + id);
      if (manifest) await this.useForInference(id, false);
    } catch (error) {
      this.fail(error);
    }
  }

  async remove(id: string): Promise<void> {
    const run = this.state.run;
    if (run?.runId === id && (run.status === 'training' || run.status === 'preparing')) {
      this.set({ error: 'Pause or cancel the run before deleting its adapter.' });
      return;
    }
    try {
      await (await this.deps.openStore()).delete(id);
      if (run?.runId === id) this.set({ run: null });
      await this.refreshAdapters();
    } catch (error) {
      this.fail(error);
    }
  }

  async exportAdapter(id: string): Promise<void> {
    try {
      const r = await (await this.deps.openStore()).require(id);
      this.deps.download(r.adapter, `${safeFileName(r.name)}${ADAPTER_EXTENSION}`);
    } catch (error) {
      this.fail(error);
    }
  }

  /** Imports an adapter file: checked (format, checksum) and tied to an installed base model. */
  async importAdapter(file: File): Promise<void> {
    try {
      const bytes = new Uint8Array(await file.arrayBuffer());
      const adapter = await decodeAdapter(bytes, `“${file.name}”`);
      // A SAM adapter's base is the page's sam.onnx: whether it fits is checked when the prompt tool merges it.
      const sam = adapter.base.kind === 'sam-decoder' || adapter.base.kind === 'sam-lora';
      const base = sam ? undefined : this.deps.models.find((m) => m.id === adapter.base.label);
      if (!sam && !base) throw new Error(`“${file.name}” was trained on “${adapter.base.label ?? adapter.base.kind}”, which is not installed here`);
      const now = Date.now();
      const steps = typeof adapter.training.steps === 'number' ? adapter.training.steps : 0;
      const losses = Array.isArray(adapter.training.losses) ? (adapter.training.losses as unknown[]).filter((x): x is number => typeof x === 'number') : [];
      const record: AdapterRecord = {
        id: newAdapterId(),
        name: file.name.replace(new RegExp(`${ADAPTER_EXTENSION.replace('.', '\\.')}$`), '') || 'imported adapter',
        base: base ? modelSource(base, this.deps.base) : { kind: 'sam', label: adapter.base.label ?? SAM_BASE_LABEL },
        status: 'imported',
        step: steps,
        adapter: bytes,
        losses,
        validation: [],
        created: now,
        updated: now,
      };
      await (await this.deps.openStore()).put(record);
      this.set({ adapters: [summarise(record), ...this.state.adapters], notice: `Imported “${record.name}” (${base ? `${METHODS[adapter.method.method].label}, base ${base.name}` : `Segment Anything ${adapter.base.kind === 'sam-lora' ? 'LoRA (image encoder + decoder)' : 'decoder'}: use it in the prompt tool`}).` });
    } catch (error) {
      this.set({ error: `Could not import the adapter: ${messageOf(error)}` });
    }
  }

  /** Registers the adapted model (merged in the worker) and selects it, which segments the open scan. */
  async useForInference(id: string, select = true): Promise<void> {
    try {
      const r = await (await this.deps.openStore()).require(id);
      if (isSamBase(r.base)) {
        this.useInPromptTool(id, r.name);
        return;
      }
      // It follows the protocol of the labels it was trained on (an MSD base adapted to aseg labels follows FreeSurfer's).
      const base = withAdaptedProtocol(r.base.manifest, (await decodeAdapter(r.adapter)).training.labelMap);
      const manifest: ModelManifest = {
        ...base,
        id: `${base.id}+${id}`,
        name: `${base.name} + ${r.name}`,
        onnx: ADAPTED_MODEL_PREFIX + id,
        externalData: [],
        // Fine-tuned here: its quality is what its validation says, not what the base was measured at.
        status: base.status === 'untrained-test' ? 'untrained-test' : 'user',
        metrics: undefined,
      };
      this.deps.studio.addModel(manifest);
      this.set({ adaptedModels: [...this.state.adaptedModels.filter((m) => m.id !== manifest.id), manifest] });
      if (select) await this.deps.studio.selectModel(manifest.id);
    } catch (error) {
      this.fail(error);
    }
  }

  /** A Segment Anything adapter answers the prompt tool's prompts (merged into sam.onnx in the worker). */
  useInPromptTool(id: string, name: string): void {
    const tool = this.deps.promptTool?.();
    if (!tool) {
      this.set({ error: 'The prompt tool is not available here.' });
      return;
    }
    tool.useAdapter({ id, name });
    this.set({ notice: `The prompt tool (Any structure) now uses “${name}”; open it on a scan.` });
  }

  async compare(id: string): Promise<void> {
    this.set({ comparing: true, comparison: null, error: null });
    try {
      const result = await this.deps.client.compare(id, this.deps.backend());
      this.set({ comparison: { runId: id, ...result } });
    } catch (error) {
      this.set({ error: `Comparison failed: ${messageOf(error)}` });
    } finally {
      this.set({ comparing: false });
    }
  }

  // ── Correcting a mask in the viewer ──────────────────────────────────────────

  startCorrection(): void {
    if (this.deps.viewer.startCorrection()) this.corrected();
    else this.set({ error: 'Segment a scan first: its mask is what you correct.' });
  }

  /** Drawing mode is on: each stroke and undo is kept in the browser shortly after. */
  private corrected(notice: string | null = null): void {
    this.set({ correcting: true, error: null, ...(notice ? { notice } : {}) });
    this.deps.viewer.watchCorrection(() => {
      clearTimeout(this.keepTimer);
      this.keepTimer = setTimeout(() => void this.keepCorrection(), KEEP_CORRECTION_AFTER_MS);
    });
  }

  private keepTimer: ReturnType<typeof setTimeout> | undefined;

  /** Saves the drawing as the open scan's kept correction; a failure is said in words. */
  private async keepCorrection(): Promise<void> {
    clearTimeout(this.keepTimer);
    this.keepTimer = undefined;
    const scan = this.deps.studio.openFile();
    if (!this.deps.kept || !scan || !this.state.correcting) return;
    try {
      const [key, nifti] = await Promise.all([this.deps.studio.openFileKey(), this.deps.viewer.correctedMask()]);
      if (!key || scan !== this.deps.studio.openFile()) return;
      const savedAt = Date.now();
      await (await this.deps.kept()).put({ scanKey: key, nifti, savedAt });
      this.set({ keptCorrection: { savedAt } });
    } catch (error) {
      this.set({ error: `Your correction could not be kept in this browser (${messageOf(error)}): it lasts only as long as this page.` });
    }
  }

  /** Saves a stroke made since the last save now (before the drawing is closed). */
  private async flushCorrection(): Promise<void> {
    if (this.keepTimer !== undefined) await this.keepCorrection();
  }

  /** Another scan is open: what was kept is not its own, and a save still pending belonged to the scan before. */
  scanChanged(): void {
    clearTimeout(this.keepTimer);
    this.keepTimer = undefined;
    this.set({ keptCorrection: null });
  }

  /** Says in the dock whether a correction of the open scan's mask is kept from an earlier session. */
  async lookForKept(): Promise<void> {
    const scan = this.deps.studio.openFile();
    const key = await this.deps.studio.openFileKey();
    if (!key || !this.deps.kept) return;
    try {
      const found = await (await this.deps.kept()).get(key);
      if (found && scan === this.deps.studio.openFile() && !this.state.correcting) this.set({ keptCorrection: { savedAt: found.savedAt } });
    } catch (error) {
      this.set({ error: `The correction kept in this browser could not be read (${messageOf(error)}).` });
    }
  }

  /** Puts the kept correction of the open scan in the drawing layer, to go on correcting it. */
  async resumeKept(): Promise<void> {
    const key = await this.deps.studio.openFileKey();
    try {
      const found = key && this.deps.kept ? await (await this.deps.kept()).get(key) : undefined;
      if (!found) {
        this.set({ keptCorrection: null, error: 'No correction of this scan is kept in this browser any more.' });
        return;
      }
      if (await this.deps.viewer.resumeCorrection(found.nifti)) this.corrected('Your kept correction is back in the viewer: go on with the pen.');
      else this.set({ error: 'The kept correction does not fit the scan on screen.' });
    } catch (error) {
      this.set({ error: `The correction kept in this browser could not be read (${messageOf(error)}).` });
    }
  }

  /** Deletes the open scan's kept correction. */
  async discardKept(): Promise<void> {
    const key = await this.deps.studio.openFileKey();
    this.set({ keptCorrection: null });
    if (!key || !this.deps.kept) return;
    try {
      await (await this.deps.kept()).delete(key);
    } catch (error) {
      this.set({ error: `The correction kept in this browser could not be deleted (${messageOf(error)}).` });
    }
  }

  setPen(value: number, filled: boolean): void {
    this.deps.viewer.setPen(value, filled);
  }

  undo(): void {
    this.deps.viewer.undoDrawing();
  }

  /** The corrected mask becomes the label file of the open scan: a training pair in one click. */
  async useCorrectionAsLabel(): Promise<void> {
    const scan = this.deps.studio.openFile();
    if (!scan) return;
    try {
      await this.flushCorrection();
      const mask = await this.deps.viewer.correctedMask();
      const stem = scanStem(scan.name);
      const label = new File([mask as Uint8Array<ArrayBuffer>], `${stem}_seg.nii`);
      const files = this.state.files.filter((f) => !(f.corrected && scanStem(f.file.name) === `${stem}_seg`));
      const hasScan = files.some((f) => f.file === scan);
      this.set({
        files: [...files, ...(hasScan ? [] : [{ file: scan, role: 'image' as const }]), { file: label, role: 'label' as const, corrected: true }],
        correcting: false,
        open: true,
        notice: `The corrected mask of ${scan.name} was added as a training label.`,
      });
      this.deps.viewer.watchCorrection(null);
      await this.deps.viewer.endCorrection();
      await this.check();
    } catch (error) {
      this.fail(error);
    }
  }

  async endCorrection(): Promise<void> {
    await this.flushCorrection();
    this.deps.viewer.watchCorrection(null);
    await this.deps.viewer.endCorrection();
    this.set({ correcting: false });
  }
}

function emptyRun(runId: string, name: string, totalSteps: number): RunView {
  return { runId, name, status: 'preparing', step: 0, totalSteps, losses: [], validation: [], stepMs: [], peakBytes: null, lastCheckpoint: null, message: null };
}

function withAt(values: readonly number[], at: number, v: number): number[] {
  const out = values.slice(0, at);
  out[at] = v;
  return out;
}

function relativePath(file: File): string | undefined {
  const dropped = (file as File & { _webkitRelativePath?: string })._webkitRelativePath;
  return dropped || file.webkitRelativePath || undefined;
}

function safeFileName(name: string): string {
  return name.replace(/[^\w.+-]+/g, '_').replace(/_+/g, '_').slice(0, 80) || 'adapter';
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
