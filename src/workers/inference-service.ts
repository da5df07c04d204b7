/**
 * What the inference worker does, apart from message passing: it keeps the open scan, one
 * ORT session (built once, shared by concurrent callers), the brain template (fetched and
 * prepared on the first full-head scan), the last registration of the open scan (for its
 * outline), and the runs in flight. Every failure becomes a `failed` reply; the service
 * itself always stays usable.
 */
import { classifyScan, LocalisationError, MaskRefusedError, ScanKindError, templateOutline, type IcvSource, type Localisation, type PreparedTemplate } from '../core/fullhead';
import { rotationAngleDeg } from '../core/fullhead/head-pose';
import { readVolume } from '../core/io';
import { gunzipPrefix } from '../core/io/gzip';
import { niftiVersion } from '../core/io/nifti-header';
import type { Dims3, Mat4, Volume } from '../core/volume';
import type { OrtWebBackend, OrtWebOptions } from '../infer/ort-web';
import { largestBufferBytes } from '../infer/ort-web';
import type { LoadedModel } from '../infer/pipeline';
import { fetchTemplate, segmentScan, templateOnce } from '../infer/segment-scan';
import { prepareForWeb } from '../onnx';
import {
  epochMs,
  type BackendInfo,
  type BackendPreference,
  type DisplayFile,
  type ModelSource,
  type RegistrationSummary,
  type ScanSummary,
  type SegmentSettings,
  type WorkerReply,
  type WorkerRequest,
} from './protocol';

export interface ServiceDeps {
  readonly post: (reply: WorkerReply, transfer?: Transferable[]) => void;
  readonly fetchBytes: (url: string) => Promise<Uint8Array>;
  readonly createBackend: (modelBytes: Uint8Array, options: OrtWebOptions) => Promise<OrtWebBackend>;
  /** Where the brain template's files are served (the page's own origin), e.g. `/models/templates/`. */
  readonly templateUrl: string;
  /** The prepared template, when the worker shares one with training; otherwise loaded from `templateUrl`. */
  readonly template?: () => Promise<PreparedTemplate>;
}

interface CachedBackend {
  readonly key: string;
  readonly backend: Promise<OrtWebBackend>;
}

/** The brain template from `templateUrl`, read and prepared once; a failed load says which URL. */
export function loadTemplateOnce(fetchBytes: (url: string) => Promise<Uint8Array>, templateUrl: string): () => Promise<PreparedTemplate> {
  return templateOnce(() =>
    fetchTemplate(fetchBytes, templateUrl).catch((error: unknown) => {
      throw new Error(`Could not load the brain template (${templateUrl}): ${messageOf(error)}`);
    }),
  );
}

export class InferenceService {
  private scan: Volume | undefined;
  private cached: CachedBackend | undefined;
  private localiserCached: { readonly key: string; readonly backend: Promise<LoadedModel> } | undefined;
  private readonly runs = new Map<number, AbortController>();
  private readonly template: () => Promise<PreparedTemplate>;
  private templateReady = false;
  /** How the last session build went, ms: fetching and preparing the model, creating the session. */
  private lastBuild: { readonly 'model fetch + prepare': number; readonly session: number } | undefined;
  /**
   * The open scan's last registration (template → scan world), failed ones included; cleared
   * when a scan is opened or a run starts.
   */
  private registered: { readonly scan: Volume; readonly transform: Mat4 } | undefined;

  constructor(private readonly deps: ServiceDeps) {
    this.template = deps.template ?? loadTemplateOnce(deps.fetchBytes, deps.templateUrl);
  }

  /** The scan the last `open` read (the SAM service prompts on it). */
  openScan(): Volume | undefined {
    return this.scan;
  }

  async handle(request: WorkerRequest): Promise<void> {
    switch (request.type) {
      case 'open':
        return this.open(request.id, request.name, request.bytes, queuedMs(request.sentAt));
      case 'segment':
        return this.segment(request.id, request.model, request.backend, request.settings, queuedMs(request.sentAt));
      case 'outline':
        return this.outline(request.id);
      case 'warm':
        return this.warm(request.id, request.model, request.backend, request.localiser);
      case 'cancel':
        this.runs.get(request.id)?.abort();
        return;
    }
  }

  private async open(id: number, name: string, bytes: ArrayBuffer, queued: number): Promise<void> {
    for (const run of this.runs.values()) run.abort();
    const t0 = performance.now();
    try {
      // A file that fails to parse leaves the previous scan open. The inflated file is kept for
      // the viewer: the page then neither copies the file nor inflates it a second time.
      let inflated: Uint8Array | undefined;
      const volume = readVolume(new Uint8Array(bytes), name, { gunzip: (gz, size) => (inflated = gunzipPrefix(gz, size, name)) });
      this.scan = volume;
      this.registered = undefined;
      const scan = summarise(name, volume);
      // The reader copied the voxels out: the file's buffer is free to move to the page.
      const display = displayFile(inflated ?? new Uint8Array(bytes));
      this.deps.post({ type: 'opened', id, scan, display, stagesMs: { queued, decode: performance.now() - t0 }, repliedAt: epochMs() }, [display.bytes]);
    } catch (error) {
      this.deps.post({ type: 'failed', id, stage: 'open', message: messageOf(error) });
    }
  }

  private async segment(id: number, model: ModelSource, preference: BackendPreference, settings: SegmentSettings, queued = 0): Promise<void> {
    const start = performance.now();
    // The worker's whole time on this request, by stage (protocol.ts `result.stagesMs`).
    const waits = { queued, 'model wait': 0, 'template wait': 0, 'localiser wait': 0 };
    const timed = async <T>(stage: keyof typeof waits, work: Promise<T>): Promise<T> => {
      const t0 = performance.now();
      try {
        return await work;
      } finally {
        waits[stage] += performance.now() - t0;
      }
    };
    const scan = this.scan;
    if (!scan) {
      this.deps.post({ type: 'failed', id, stage: 'segment', message: 'Open a scan before segmenting.' });
      return;
    }
    for (const run of this.runs.values()) run.abort(); // one run at a time: the newest wins
    const controller = new AbortController();
    this.runs.set(id, controller);
    this.registered = undefined;
    try {
      let backend: OrtWebBackend;
      try {
        backend = await timed('model wait', this.backendFor(id, model, preference));
      } catch (error) {
        this.deps.post({
          type: 'failed',
          id,
          stage: 'model',
          message: `Could not load the model “${model.manifest.name}”: ${messageOf(error)}`,
        });
        return;
      }
      if (controller.signal.aborted) {
        this.deps.post({ type: 'cancelled', id });
        return;
      }
      const info = backendInfo(backend);
      this.deps.post({ type: 'backend', id, backend: info });
      const result = await segmentScan(
        scan,
        { manifest: model.manifest, backend },
        {
          path: settings.path === 'auto' ? undefined : settings.path,
          sublabels: settings.sublabels,
          template: () => timed('template wait', this.preparedTemplate(id)),
          localiserModel: settings.localiser ? () => timed('localiser wait', this.localiserFor(settings.localiser!, preference)) : undefined,
          onProgress: (progress) => this.deps.post({ type: 'progress', id, progress }),
          signal: controller.signal,
        },
      );
      const { labels, labelInfo, volumes, timingsMs, path, warnings } = result;
      const fullHead = result.path === 'full-head' ? result.fullHead : undefined;
      if (fullHead) this.registered = { scan, transform: fullHead.localisation.transform };
      const { total: _total, ...pipelineMs } = timingsMs;
      const counted = [...Object.values(waits), ...Object.values(pipelineMs)].reduce((a, b) => a + b, 0) - queued;
      const stagesMs = { ...waits, ...pipelineMs, other: Math.max(0, performance.now() - start - counted) };
      this.deps.post(
        {
          type: 'result',
          id,
          labels,
          labelInfo,
          volumes,
          timingsMs,
          stagesMs,
          repliedAt: epochMs(),
          backend: info,
          path,
          warnings,
          ...(fullHead ? { registration: registrationSummary(fullHead.localisation, { mm3: fullHead.icvMm3, from: fullHead.icvFrom }), hippocampi: fullHead.hippocampi } : {}),
        },
        [labels.data.buffer as ArrayBuffer],
      );
    } catch (error) {
      if (controller.signal.aborted) this.deps.post({ type: 'cancelled', id });
      else if (error instanceof LocalisationError) {
        const loc = error.localisation;
        if (loc) this.registered = { scan, transform: loc.transform };
        this.deps.post({ type: 'failed', id, stage: 'localise', message: error.message, ...(loc ? { registration: registrationSummary(loc) } : {}) });
      } else if (error instanceof MaskRefusedError) {
        const loc = error.localisation;
        if (loc) this.registered = { scan, transform: loc.transform };
        this.deps.post({ type: 'failed', id, stage: 'checks', message: error.message, ...(loc ? { registration: registrationSummary(loc) } : {}) });
      } else if (error instanceof ScanKindError) {
        this.deps.post({ type: 'failed', id, stage: 'segment', message: `${error.message} (Scan: Full head or Crop.)` });
      } else this.deps.post({ type: 'failed', id, stage: 'segment', message: messageOf(error) });
    } finally {
      this.runs.delete(id);
    }
  }

  /**
   * Starts the session and prepares the template while the page is idle (issue 13: a drop
   * should wait for neither). A later `segment` with the same model and preference shares the
   * session (`backendFor`), and the template is prepared once (`templateOnce`).
   */
  private async warm(id: number, model: ModelSource, preference: BackendPreference, localiser?: ModelSource): Promise<void> {
    const t0 = performance.now();
    // All three at once: their downloads overlap each other and the others' CPU work (one
    // thread does the CPU work either way). Each part's time is when it ended, from the start.
    const endedAt = async (work: Promise<unknown>) => (await work, performance.now() - t0);
    try {
      const [modelMs, localiserMs, templateMs] = await Promise.all([
        endedAt(this.backendFor(id, model, preference)),
        endedAt(localiser ? this.localiserFor(localiser, preference) : Promise.resolve()),
        endedAt(this.template()),
      ]);
      this.templateReady = true;
      this.deps.post({
        type: 'warmed',
        id,
        timingsMs: { 'model ready at': modelMs, ...this.lastBuild, 'localiser ready at': localiserMs, 'template ready at': templateMs },
      });
    } catch (error) {
      this.deps.post({ type: 'failed', id, stage: 'model', message: messageOf(error) });
    }
  }

  /** The localiser's session the page last asked for (warmed or used), if any: fine-tuning localises full heads with it. */
  localiserSession(): Promise<LoadedModel> | undefined {
    return this.localiserCached?.backend;
  }

  /** The localiser's session, built once per model and preference (it is small: no GPU-memory juggling). */
  private localiserFor(source: ModelSource, preference: BackendPreference): Promise<LoadedModel> {
    const key = `${source.manifest.id}|${source.onnxUrl}|${preference}`;
    if (this.localiserCached?.key !== key) {
      const backend = (async () => {
        const created = await this.deps.createBackend(await this.loadModel(source), {
          preference,
          inputSize: source.manifest.inputSize as Dims3,
          // 72³ voxels × a few dozen channels of float32: far below any adapter's buffer limit.
          bufferBytes: 0,
          forcedReason: preference === 'wasm' ? 'wasm was selected (settings or ?backend=wasm)' : undefined,
        });
        return { manifest: source.manifest, backend: created };
      })();
      this.localiserCached = { key, backend };
      backend.catch(() => {
        if (this.localiserCached?.backend === backend) this.localiserCached = undefined;
      });
    }
    return this.localiserCached!.backend;
  }

  /** The template, loaded on the first full-head scan: the page hears about the wait. */
  private async preparedTemplate(id: number): Promise<PreparedTemplate> {
    if (!this.templateReady) this.deps.post({ type: 'progress', id, progress: { stage: 'template' } });
    const prepared = await this.template();
    this.templateReady = true;
    return prepared;
  }

  /** The template outline on the open scan, where its last registration put it. */
  private async outline(id: number): Promise<void> {
    const registered = this.registered;
    if (!registered) {
      this.deps.post({ type: 'failed', id, stage: 'outline', message: 'No registration to draw: segment a whole-head scan first.' });
      return;
    }
    try {
      const { template } = await this.template();
      const outline = templateOutline(template, registered.transform, registered.scan);
      this.deps.post({ type: 'outline', id, outline }, [outline.data.buffer as ArrayBuffer]);
    } catch (error) {
      this.deps.post({ type: 'failed', id, stage: 'outline', message: messageOf(error) });
    }
  }

  /**
   * The session for this model and preference, built at most once: concurrent callers share
   * the same promise (React StrictMode and quick double clicks both ask twice). A different
   * model or preference releases the previous session first, to keep GPU memory to one model.
   */
  private backendFor(id: number, model: ModelSource, preference: BackendPreference): Promise<OrtWebBackend> {
    const key = `${model.manifest.id}|${model.onnxUrl}|${preference}`;
    if (this.cached?.key === key) return this.cached.backend;
    const previous = this.cached;
    this.deps.post({ type: 'loading-model', id, modelName: model.manifest.name });
    const backend = (async () => {
      if (previous) await (await previous.backend.catch(() => undefined))?.dispose();
      const t0 = performance.now();
      const bytes = await this.loadModel(model);
      const t1 = performance.now();
      const created = await this.deps.createBackend(bytes, {
        preference,
        inputSize: model.manifest.inputSize as Dims3,
        bufferBytes: largestBufferBytes(model.manifest),
        forcedReason: preference === 'wasm' ? 'wasm was selected (settings or ?backend=wasm)' : undefined,
      });
      void created.lost.then((message) => this.forget(created, message));
      this.lastBuild = { 'model fetch + prepare': t1 - t0, session: performance.now() - t1 };
      return created;
    })();
    this.cached = { key, backend };
    // A failed build must not stay cached: the next run tries again.
    backend.catch(() => {
      if (this.cached?.backend === backend) this.cached = undefined;
    });
    return backend;
  }

  private async loadModel(model: ModelSource): Promise<Uint8Array> {
    const [onnx, ...external] = await Promise.all([
      this.deps.fetchBytes(model.onnxUrl),
      ...model.externalData.map((file) => this.deps.fetchBytes(file.url)),
    ]);
    const externalData = new Map(model.externalData.map((file, i) => [file.path, external[i]]));
    return prepareForWeb(onnx, externalData.size > 0 ? externalData : undefined);
  }

  /** The GPU under the current session went away: drop the session and tell the page. */
  private async forget(backend: OrtWebBackend, message: string): Promise<void> {
    const current = this.cached;
    if (!current || (await current.backend.catch(() => undefined)) !== backend) return; // an old session
    if (this.cached === current) this.cached = undefined;
    void backend.dispose().catch(() => undefined);
    this.deps.post({ type: 'device-lost', message });
  }
}

/** How long a request waited for the worker: from the page's `sentAt` (absent in tests) to now. */
function queuedMs(sentAt: number | undefined): number {
  return sentAt === undefined ? 0 : Math.max(0, epochMs() - sentAt);
}

/** The uncompressed file under the name NiiVue parses it by. */
function displayFile(file: Uint8Array): DisplayFile {
  const bytes = file.byteOffset === 0 && file.byteLength === file.buffer.byteLength ? (file.buffer as ArrayBuffer) : file.slice().buffer;
  return { bytes, name: niftiVersion(file) !== 0 ? 'scan.nii' : 'scan.mgh' };
}

function backendInfo(backend: OrtWebBackend): BackendInfo {
  return { name: backend.name, reason: backend.reason, adapter: backend.adapter };
}

/** The registration as the page shows it; `icv` is the estimate the volumes used, when masks were made. */
function registrationSummary(loc: Localisation, icv?: { readonly mm3: number; readonly from: IcvSource }): RegistrationSummary {
  return {
    quality: loc.quality,
    ncc: loc.ncc,
    brainNcc: loc.brainNcc,
    brainCoverage: loc.brainCoverage,
    icvMm3: icv?.mm3 ?? loc.icvMm3,
    icvFrom: icv?.from ?? 'registration',
    startedFrom: loc.startedFrom,
    cropsTurnedDeg: rotationAngleDeg(loc.cropRotation),
  };
}

function summarise(name: string, volume: Volume): ScanSummary {
  let min = Infinity;
  let max = -Infinity;
  for (const v of volume.data) {
    if (!Number.isFinite(v)) continue;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return { name, dims: volume.dims, spacing: volume.spacing, range: [min, max], classification: classifyScan(volume) };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
