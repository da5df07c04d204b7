/**
 * What the training side of the worker does, apart from message passing: checks labelled pairs,
 * estimates a run, trains with a PEFT method on the engine, saves the adapter to browser
 * storage at every checkpoint, pauses, resumes (from storage: after a pause, a reload or a lost
 * GPU alike), cancels, merges an adapter into its base ONNX for inference, and compares base
 * and adapted masks. One run at a time. Every failure becomes a message; the service stays
 * usable.
 */
import { readVolume } from '../core/io';
import type { LabelVolume, Volume } from '../core/volume';
import type { Engine } from '../engine';
import { DeviceLostError } from '../engine';
import type { ModelManifest } from '../infer/manifest';
import { segmentVolume } from '../infer/pipeline';
import type { OrtWebBackend, OrtWebOptions } from '../infer/ort-web';
import { largestBufferBytes } from '../infer/ort-web';
import { readOnnxModel } from '../models/load';
import { inlineModel, prepareForWeb } from '../onnx';
import { decodeAdapter, encodeAdapter } from '../peft/adapter-file';
import { applyAdapterToOnnx, makeAdapter } from '../peft/apply';
import type { AdapterStore, AdapterRecord, RunSettings, RunStatus, StoredPair, ValidationPoint } from '../train/adapter-store';
import { summarise } from '../train/adapter-store';
import { estimateRun } from '../train/estimate';
import { applyLabelMap, parseLabelMap, targetClasses } from '../train/label-map';
import { train } from '../train/loop';
import { batches, makeSample, SampleError, type TrainingSample } from '../train/samples';
import { openAdapter, openForFineTuning, type FineTuneSetup } from '../train/setup';
import { validate } from '../train/validate';
import { dice, maskOf } from '../core/metrics';
import type { Dims3 } from '../core/volume';
import type { ModelSource } from './protocol';
import type { PairCheck, PairFiles, TrainingReply, TrainingRequest } from './training-protocol';

export interface TrainingDeps {
  readonly post: (reply: TrainingReply, transfer?: Transferable[]) => void;
  readonly fetchBytes: (url: string) => Promise<Uint8Array>;
  /** The engine on the worker's GPU device (the one ORT uses); a new one after a device loss. */
  readonly engine: () => Promise<Engine>;
  readonly store: () => Promise<AdapterStore>;
  /** For the comparison: an ORT session on the worker's device, as inference builds it. */
  readonly createBackend: (modelBytes: Uint8Array, options: OrtWebOptions) => Promise<OrtWebBackend>;
}

interface ActiveRun {
  readonly runId: string;
  readonly controller: AbortController;
  /** What the abort means. */
  intent: 'pause' | 'cancel' | null;
  readonly finished: Promise<void>;
}

/** A resumed run draws its crops from seed + stride·step, so it does not replay the crops of the steps before. */
const RESUME_SEED_STRIDE = 7919;

export class TrainingService {
  private active: ActiveRun | undefined;
  /** Base ONNX bytes (external data inlined) by URL: fetched once per worker. */
  private readonly bases = new Map<string, Promise<Uint8Array>>();
  /** Merged ONNX by adapter id and checkpoint step. */
  private readonly merged = new Map<string, Promise<Uint8Array>>();

  constructor(private readonly deps: TrainingDeps) {}

  async handle(request: TrainingRequest): Promise<void> {
    switch (request.type) {
      case 'train-check':
        return this.check(request.request, request.base, request.pairs, request.labelMap);
      case 'train-estimate':
        return this.estimate(request.request, request.base, request.settings);
      case 'train-start':
        return this.start(request);
      case 'train-resume':
        return this.resume(request.runId);
      case 'train-pause':
      case 'train-cancel':
        if (this.active?.runId === request.runId) {
          this.active.intent = request.type === 'train-pause' ? 'pause' : 'cancel';
          this.active.controller.abort();
          await this.active.finished;
        } else if (request.type === 'train-cancel') {
          // A stored run that is not running (paused, interrupted): cancelling just marks it.
          await this.setStatus(request.runId, 'cancelled', 'cancelled by the user');
        }
        return;
      case 'train-compare':
        return this.compare(request.request, request.runId, request.backend);
    }
  }

  /** The merged model of a stored adapter (self-contained ONNX), for the inference service. */
  mergedModel(runId: string): Promise<Uint8Array> {
    return (async () => {
      const store = await this.deps.store();
      const record = await store.require(runId);
      const key = `${runId}@${record.step}`;
      let merged = this.merged.get(key);
      if (!merged) {
        merged = (async () => {
          const adapter = await decodeAdapter(record.adapter, `adapter “${record.name}”`);
          return (await applyAdapterToOnnx(await this.baseBytes(record.base), adapter, record.base.manifest.name)).bytes;
        })();
        this.merged.set(key, merged);
        merged.catch(() => this.merged.delete(key));
      }
      return merged;
    })();
  }

  private baseBytes(base: ModelSource): Promise<Uint8Array> {
    let bytes = this.bases.get(base.onnxUrl);
    if (!bytes) {
      bytes = (async () => {
        const [onnx, ...external] = await Promise.all([this.deps.fetchBytes(base.onnxUrl), ...base.externalData.map((f) => this.deps.fetchBytes(f.url))]);
        const files = new Map(base.externalData.map((f, i) => [f.path, external[i]]));
        return inlineModel(onnx, files.size ? files : undefined);
      })();
      this.bases.set(base.onnxUrl, bytes);
      bytes.catch(() => this.bases.delete(base.onnxUrl));
    }
    return bytes;
  }

  private async check(request: number, base: ModelSource, pairs: readonly PairFiles[], labelMap: string): Promise<void> {
    const checks: PairCheck[] = pairs.map((p) => {
      try {
        const sample = prepareSample(toStored(p), base.manifest, labelMap);
        const labelCounts: Record<number, number> = {};
        for (const v of sample.label) labelCounts[v] = (labelCounts[v] ?? 0) + 1;
        return { name: p.name, ok: true, dims: sample.dims, labelCounts };
      } catch (error) {
        return { name: p.name, ok: false, message: messageOf(error) };
      }
    });
    this.deps.post({ type: 'train-checked', request, checks });
  }

  private async estimate(request: number, base: ModelSource, settings: RunSettings): Promise<void> {
    try {
      const { spec } = readOnnxModel(await this.baseBytes(base), { label: base.manifest.name });
      const estimate = estimateRun(spec, settings.method, settings.batch, base.manifest.inputSize as Dims3);
      this.deps.post({ type: 'train-estimated', request, estimate });
    } catch (error) {
      this.deps.post({ type: 'train-estimated', request, message: messageOf(error) });
    }
  }

  private async start(request: Extract<TrainingRequest, { type: 'train-start' }>): Promise<void> {
    if (this.active) {
      this.deps.post({ type: 'train-state', runId: request.runId, status: 'failed', step: 0, totalSteps: request.settings.steps, message: 'Another run is training; pause or cancel it first.' });
      return;
    }
    const pairs = request.pairs.map(toStored);
    try {
      const store = await this.deps.store();
      await store.putDataset({ id: request.runId, pairs, labelMap: request.labelMap });
    } catch (error) {
      this.deps.post({ type: 'train-state', runId: request.runId, status: 'failed', step: 0, totalSteps: request.settings.steps, message: messageOf(error) });
      return;
    }
    await this.run(request.runId, { name: request.name, base: request.base, settings: request.settings });
  }

  private async resume(runId: string): Promise<void> {
    if (this.active) {
      if (this.active.runId !== runId) this.deps.post({ type: 'train-state', runId, status: 'failed', step: 0, totalSteps: 0, message: 'Another run is training; pause or cancel it first.' });
      return;
    }
    await this.run(runId, null);
  }

  /** Trains a new run (`fresh`) or continues the stored one from its checkpoint. */
  private async run(runId: string, fresh: { name: string; base: ModelSource; settings: RunSettings } | null): Promise<void> {
    let finish!: () => void;
    const active: ActiveRun = { runId, controller: new AbortController(), intent: null, finished: new Promise((r) => (finish = r)) };
    this.active = active;
    let setup: FineTuneSetup | undefined;
    let totalSteps = fresh?.settings.steps ?? 0;
    let step = 0;
    const state = (status: RunStatus | 'preparing', message?: string, record?: AdapterRecord) =>
      this.deps.post({ type: 'train-state', runId, status, step, totalSteps, message, summary: record ? summarise(record) : undefined });
    try {
      const store = await this.deps.store();
      const existing = fresh ? undefined : await store.require(runId);
      const settings = fresh?.settings ?? existing?.settings;
      const base = fresh?.base ?? existing!.base;
      if (!settings) throw new Error('this adapter was imported: it holds no training settings to resume');
      totalSteps = settings.steps;
      step = existing?.step ?? 0;
      state('preparing', fresh ? 'Reading the scans and opening the model' : `Resuming from the checkpoint at step ${step}`);
      const dataset = await store.dataset(runId);
      if (!dataset) throw new Error('the scans of this run are no longer in browser storage');
      const manifest = base.manifest;
      const samples = dataset.pairs.map((p) => ({ role: p.role, sample: prepareSample(p, manifest, dataset.labelMap) }));
      const trainSet = samples.filter((s) => s.role === 'train').map((s) => s.sample);
      const valSet = samples.filter((s) => s.role === 'val').map((s) => s.sample);
      const engine = await this.deps.engine();
      const bytes = await this.baseBytes(base);
      setup = existing
        ? await openAdapter(engine, bytes, await decodeAdapter(existing.adapter, `adapter “${existing.name}”`), { label: manifest.id })
        : await openForFineTuning(engine, bytes, settings.method, { label: manifest.id });
      const { adapted, method, fingerprint } = setup;
      const crop = [...manifest.inputSize] as [number, number, number];
      const losses = [...(existing?.losses ?? [])].slice(0, step);
      const validation = (existing?.validation ?? []).filter((v) => v.step <= step);
      const trainable = adapted.trainableCount();
      const encode = async (at: number, tensors?: Awaited<ReturnType<typeof adapted.trainedState>>) =>
        encodeAdapter(
          await makeAdapter(adapted, method, {
            fingerprint,
            label: manifest.id,
            training: { steps: at, requestedSteps: settings.steps, batch: settings.batch, lr: settings.lr, seed: settings.seed, augment: settings.augment, cases: trainSet.map((s) => s.id), crop, engine: engine.description, losses: losses.slice(0, at), trainableParameters: trainable, validation },
          }, tensors),
        );
      if (!existing) {
        const now = Date.now();
        const record: AdapterRecord = { id: runId, name: fresh!.name, base, status: 'training', step: 0, settings, adapter: await encode(0), losses: [], validation: [], trainable, created: now, updated: now };
        await store.put(record);
      }
      const validateAt = async (at: number) => {
        if (valSet.length === 0) return;
        state('training', `Validating at step ${at}`);
        const score = await validate(adapted, valSet, crop);
        const point: ValidationPoint = { step: at, epoch: Math.round(at / settings.stepsPerEpoch), loss: score.loss, dice: score.dice };
        validation.push(point);
        this.deps.post({ type: 'train-validation', runId, point });
      };
      state('training', undefined, await store.patch(runId, { status: 'training', message: undefined }));
      if (step === 0 && validation.length === 0) await validateAt(0);
      engine.resetPeak();
      const aug = settings.augment ? {} : { flips: false, intensityScale: 0, intensityShift: 0 };
      const result = await train(adapted, batches(trainSet, settings.batch, crop, settings.seed + RESUME_SEED_STRIDE * step, aug), {
        steps: settings.steps,
        startStep: step,
        lr: settings.lr,
        seed: settings.seed,
        checkpointEvery: settings.checkpointEvery,
        signal: active.controller.signal,
        onStep: async (r) => {
          step = r.step;
          losses[r.step - 1] = r.loss;
          this.deps.post({ type: 'train-step', runId, step: r.step, totalSteps, loss: r.loss, ms: r.ms, peakBytes: engine.memory().peakBytes });
          if (r.step % settings.stepsPerEpoch === 0 || r.step === settings.steps) await validateAt(r.step);
        },
        onCheckpoint: async (c) => {
          if (c.step === 0) return; // the record already holds step 0
          await store.patch(runId, { step: c.step, adapter: await encode(c.step, c.state), losses: losses.slice(0, c.step), validation: validation.filter((v) => v.step <= c.step) });
          this.deps.post({ type: 'train-checkpoint', runId, step: c.step });
        },
      });
      step = result.checkpoint.step;
      const saved = { step, adapter: await encode(step, result.checkpoint.state), losses: losses.slice(0, step), validation: validation.filter((v) => v.step <= step) };
      if (result.status === 'done') state('done', `Finished ${step} steps`, await store.patch(runId, { ...saved, status: 'done', message: undefined }));
      else if (result.status === 'non-finite') state('failed', result.message, await store.patch(runId, { ...saved, status: 'failed', message: result.message }));
      else {
        const status = active.intent === 'cancel' ? 'cancelled' : 'paused';
        const message = status === 'cancelled' ? `Cancelled at step ${step}; the adapter holds that state` : `Paused at step ${step}`;
        state(status, message, await store.patch(runId, { ...saved, status, message }));
      }
    } catch (error) {
      // The GPU went away (driver reset, OOM kill): the last checkpoint is safe; resuming opens a new device.
      const lost = error instanceof DeviceLostError || /device (was )?lost/i.test(messageOf(error));
      const status = lost ? 'interrupted' : 'failed';
      const message = lost ? `${messageOf(error)}. Resume continues from the last checkpoint.` : messageOf(error);
      const record = await this.setStatus(runId, status, message);
      if (record) step = record.step;
      state(status, message, record);
    } finally {
      setup?.adapted.dispose();
      setup?.adapted.model.dispose();
      this.active = undefined;
      finish();
    }
  }

  private async setStatus(runId: string, status: AdapterRecord['status'], message: string): Promise<AdapterRecord | undefined> {
    try {
      const store = await this.deps.store();
      const record = await store.patch(runId, { status, message });
      if (this.active?.runId !== runId) this.deps.post({ type: 'train-state', runId, status, step: record.step, totalSteps: record.settings?.steps ?? record.step, message, summary: summarise(record) });
      return record;
    } catch {
      return undefined; // nothing stored yet (the run failed before its first checkpoint)
    }
  }

  /** Segments a validation scan with the base and the adapted model and scores both. */
  private async compare(request: number, runId: string, preference: 'auto' | 'wasm'): Promise<void> {
    const built: OrtWebBackend[] = [];
    try {
      const store = await this.deps.store();
      const record = await store.require(runId);
      const dataset = await store.dataset(runId);
      const pair = dataset?.pairs.find((p) => p.role === 'val') ?? dataset?.pairs[0];
      if (!dataset || !pair) throw new Error('this adapter has no labelled scans in browser storage to compare on');
      const manifest = record.base.manifest;
      const image = readVolume(pair.image.bytes, pair.image.name);
      const truth = mappedLabels(pair, dataset.labelMap, manifest);
      const options: OrtWebOptions = { preference, inputSize: manifest.inputSize as Dims3, bufferBytes: largestBufferBytes(manifest) };
      const side = async (onnx: Uint8Array) => {
        const backend = await this.deps.createBackend(prepareForWeb(onnx), options);
        built.push(backend);
        const { labels } = await segmentVolume(image, { manifest, backend });
        return { labels, ...scoreAgainst(labels, truth, manifest) };
      };
      const baseSide = await side(await this.baseBytes(record.base));
      const adaptedSide = await side(await this.mergedModel(runId));
      const data = Float32Array.from(image.data);
      this.deps.post(
        { type: 'train-compared', request, result: { scan: pair.image.name, image: { dims: image.dims, data }, base: baseSide, adapted: adaptedSide } },
        [data.buffer, baseSide.labels.data.buffer as ArrayBuffer, adaptedSide.labels.data.buffer as ArrayBuffer],
      );
    } catch (error) {
      this.deps.post({ type: 'train-compared', request, message: messageOf(error) });
    } finally {
      for (const b of built) await b.dispose().catch(() => undefined);
    }
  }
}

function toStored(p: PairFiles): StoredPair {
  return { name: p.name, role: p.role, image: { name: p.image.name, bytes: new Uint8Array(p.image.bytes) }, label: { name: p.label.name, bytes: new Uint8Array(p.label.bytes) } };
}

/** The pair's labels in the model's classes, through the label map; refuses whole-structure maps (not trainable here yet). */
function mappedLabels(pair: StoredPair, labelMapText: string, manifest: ModelManifest): LabelVolume {
  const map = parseLabelMap(labelMapText);
  const classes = manifest.labels.length;
  if (targetClasses(map) !== classes) {
    throw new SampleError(`${pair.name}: the label map “${map.text}” gives ${targetClasses(map)} classes (whole hippocampus); the studio trains the model's ${classes} classes (head, body) only, so use a head/body labelling`);
  }
  const labels: Volume = readVolume(pair.label.bytes, pair.label.name);
  return applyLabelMap(labels, map, pair.label.name);
}

/** A pair as the run trains on it: labels mapped, geometry checked, prepared as inference prepares a scan. */
export function prepareSample(pair: StoredPair, manifest: ModelManifest, labelMapText: string): TrainingSample {
  const image = readVolume(pair.image.bytes, pair.image.name);
  if (image.dims.length !== 3) throw new SampleError(`${pair.name}: the scan is not a 3-D volume`);
  return makeSample(pair.name, image, mappedLabels(pair, labelMapText, manifest), manifest.labels.length, manifest);
}

function scoreAgainst(pred: LabelVolume, truth: LabelVolume, manifest: ModelManifest) {
  const scores = manifest.labels.filter((l) => l.value !== 0).map((l) => ({ name: l.name, dice: dice(maskOf(pred.data, l.value), maskOf(truth.data, l.value)) }));
  const valid = scores.filter((s) => !Number.isNaN(s.dice));
  return { dice: scores, meanDice: valid.length ? valid.reduce((a, s) => a + s.dice, 0) / valid.length : NaN };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
