/**
 * The training side of the worker in Node, with the real parts: the fixture UNETR, two real MSD
 * crops, LoRA-PT on the WebGPU engine (Dawn; a software adapter here), the adapter store on an
 * in-memory IndexedDB (fake-indexeddb; the e2e test uses Chromium's), the merge into ONNX and
 * ORT-web (wasm: Node has no WebGPU for ORT). Only the transport differs from the browser.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { IDBFactory } from 'fake-indexeddb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWebGPUEngine, type Engine } from '../engine';
import { requestNodeDevice } from '../engine/device-node';
import { configureOrtWeb, createOrtWebBackend } from '../infer/ort-web';
import { parseManifest } from '../infer/registry';
import { decodeAdapter } from '../peft/adapter-file';
import { AdapterStore, type RunSettings } from '../train/adapter-store';
import { fixturesDir, hasShared, msdDir, sharedMissing } from '../testing/shared';
import { modelSource } from '../app/models';
import { TrainingService } from './training-service';
import type { PairFiles, TrainingReply } from './training-protocol';

const repo = join(import.meta.dirname, '../..');
const manifest = () => parseManifest(JSON.parse(readFileSync(join(repo, 'models/unetr-tiny-test.json'), 'utf8')), 'unetr-tiny-test');
const base = () => modelSource(manifest(), '/');

/** Two small MSD crops (32 × 47 × 32 and 35 × 51 × 35 voxels): one trains, one validates. */
const TRAIN_CASE = 'hippocampus_205.nii.gz';
const VAL_CASE = 'hippocampus_001.nii.gz';
const file = (dir: string, name: string) => ({ name, bytes: new Uint8Array(readFileSync(join(msdDir, dir, name))).buffer });
const pairs = (): PairFiles[] => [
  { name: 'hippocampus_205', role: 'train', image: file('images', TRAIN_CASE), label: file('labels', TRAIN_CASE) },
  { name: 'hippocampus_001', role: 'val', image: file('images', VAL_CASE), label: file('labels', VAL_CASE) },
];

const settings: RunSettings = { method: { method: 'lorapt' }, steps: 2, batch: 1, lr: 1e-2, augment: false, checkpointEvery: 1, stepsPerEpoch: 1, seed: 3 };

describe.skipIf(!hasShared)(`TrainingService ${hasShared ? '' : sharedMissing}`, { timeout: 1_800_000 }, () => {
  let engine: Engine;
  let store: AdapterStore;
  const replies: TrainingReply[] = [];
  let service: TrainingService;
  let pauseAtFirstCheckpoint = true;
  beforeAll(async () => {
    configureOrtWeb();
    engine = createWebGPUEngine(await requestNodeDevice());
    store = await AdapterStore.open(new IDBFactory());
    service = new TrainingService({
      post: (r) => {
        replies.push(r);
        // The user's Pause, the moment the first checkpoint is stored (a click lands between steps).
        if (r.type === 'train-checkpoint' && r.step === 1 && pauseAtFirstCheckpoint) void service.handle({ type: 'train-pause', runId: r.runId });
      },
      fetchBytes: async (url) => {
        if (!url.startsWith('/fixtures/')) throw new Error(`${url} answered HTTP 404`);
        return new Uint8Array(readFileSync(join(fixturesDir, url.slice('/fixtures/'.length))));
      },
      engine: async () => engine,
      store: async () => store,
      createBackend: createOrtWebBackend,
    });
  });
  afterAll(() => {
    store?.close();
    engine?.dispose();
  });

  it('checks pairs: a good pair passes with its label counts, a mismatched grid and foreign codes are refused', async () => {
    const [good, other] = pairs();
    const mismatched: PairFiles = { name: 'mixed', role: 'train', image: good.image, label: other.label };
    await service.handle({ type: 'train-check', request: 1, base: base(), pairs: [good, mismatched], labelMap: 'msd' });
    await service.handle({ type: 'train-check', request: 2, base: base(), pairs: [good], labelMap: '0:bg,1:head' });
    const [checked, mapped] = replies.filter((r) => r.type === 'train-checked');
    if (checked.type !== 'train-checked' || mapped.type !== 'train-checked') throw new Error('no check reply');
    expect(checked.checks[0]).toMatchObject({ ok: true, dims: [32, 47, 32] });
    if (!checked.checks[0].ok) throw new Error('unreachable');
    expect(Object.keys(checked.checks[0].labelCounts).sort()).toEqual(['0', '1', '2']);
    expect(checked.checks[1]).toEqual({ name: 'mixed', ok: false, message: expect.stringMatching(/labels' grid \(35×51×35\) is not the image's \(32×47×32\)/) });
    expect(mapped.checks[0]).toMatchObject({ ok: false, message: expect.stringMatching(/label codes 2 \([0-9,]+ voxels\) are not in the label map "0:bg,1:head"/) });
  });

  it('estimates the run before it starts', async () => {
    await service.handle({ type: 'train-estimate', request: 3, base: base(), settings });
    const reply = replies.find((r) => r.type === 'train-estimated');
    if (reply?.type !== 'train-estimated' || !reply.estimate) throw new Error(`no estimate: ${JSON.stringify(reply)}`);
    // 10,824 LoRA-PT factor scalars (fixtures §C) plus the tiny UNETR's decoder5…decoder2.
    expect(reply.estimate.counts.method).toBe(10_824);
    expect(reply.estimate.counts.total).toBeGreaterThan(reply.estimate.counts.method);
    expect(reply.estimate.memoryBytes).toBeGreaterThan(reply.estimate.counts.modelParams * 4);
  });

  it('trains, pauses at a checkpoint, resumes from storage, finishes; validation loss falls; the merged model segments, differently from its base', async () => {
    const runId = 'run-1';
    await service.handle({ type: 'train-start', runId, name: 'tiny run', base: base(), settings, pairs: pairs(), labelMap: 'msd' });
    pauseAtFirstCheckpoint = false;
    const paused = await store.require(runId);
    expect(paused).toMatchObject({ status: 'paused', step: 1, name: 'tiny run' });
    expect(paused.losses).toHaveLength(1);
    expect((await decodeAdapter(paused.adapter)).training.steps).toBe(1);

    await service.handle({ type: 'train-resume', runId });
    const done = await store.require(runId);
    expect(done).toMatchObject({ status: 'done', step: 2 });
    expect(done.losses).toHaveLength(2);
    expect(done.losses.every(Number.isFinite)).toBe(true);
    const steps = replies.filter((r) => r.type === 'train-step').map((r) => r.type === 'train-step' && r.step);
    expect(steps).toEqual([1, 2]); // the resumed run went on at step 2, not from the start
    // Validation at step 0 (before training) and after each epoch (one step each).
    expect(done.validation.map((v) => v.step)).toEqual([0, 1, 2]);
    const [before, , after] = done.validation;
    expect(after.loss).toBeLessThan(before.loss);
    console.log(`validation loss ${done.validation.map((v) => v.loss.toFixed(4)).join(' → ')}, Dice ${done.validation.map((v) => v.dice.toFixed(3)).join(' → ')}; step losses ${done.losses.map((l) => l.toFixed(4)).join(' ')}`);

    await service.handle({ type: 'train-compare', request: 4, runId, backend: 'wasm' });
    const compared = replies.find((r) => r.type === 'train-compared');
    if (compared?.type !== 'train-compared' || !compared.result) throw new Error(`no comparison: ${JSON.stringify(compared?.type === 'train-compared' && compared.message)}`);
    expect(compared.result.scan).toBe(VAL_CASE);
    expect(compared.result.adapted.labels.dims).toEqual([35, 51, 35]);
    expect(compared.result.base.dice.map((d) => d.name)).toEqual(['hippocampus head', 'hippocampus body + tail']);
    // The merged model is a different model from the base: its masks differ.
    expect(compared.result.adapted.labels.data).not.toEqual(compared.result.base.labels.data);
  });

  it('says so when asked to resume an adapter that is not stored', async () => {
    await service.handle({ type: 'train-resume', runId: 'missing' });
    const state = replies.filter((r) => r.type === 'train-state' && r.runId === 'missing').at(-1);
    expect(state).toMatchObject({ status: 'failed', message: expect.stringMatching(/no adapter "missing"/) });
  });
});
