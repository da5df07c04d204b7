/**
 * The training side of the worker in Node, with the real parts: the fixture UNETR, two real MSD
 * crops, LoRA-PT on the wasm engine (as the worker trains without a hardware GPU; the device-loss
 * case on the WebGPU engine, Dawn's software adapter here), the adapter store on an
 * in-memory IndexedDB (fake-indexeddb; the e2e test uses Chromium's), the merge into ONNX and
 * ORT-web (wasm: Node has no WebGPU for ORT). Only the transport differs from the browser.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { IDBFactory } from 'fake-indexeddb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { multiply } from '../core/affine';
import { extractBoxLabels, localise, prepareTemplate, type PreparedTemplate } from '../core/fullhead';
import { readTemplate } from '../core/fullhead/template-node';
import { readVolume, writeNifti } from '../core/io';
import { resampleNearest } from '../core/resample';
import type { LabelVolume, Volume } from '../core/volume';
import { createWebGPUEngine, type Engine, type EngineDevice } from '../engine';
import { createNodeWasmEngine } from '../engine/wasm/node';
import { requestNodeDevice } from '../engine/device-node';
import { firstModelFrames, placeCrops, segmentFullHead } from '../infer/fullhead';
import { createOrtNodeBackend } from '../infer/ort-node';
import { configureOrtWeb, createOrtWebBackend } from '../infer/ort-web';
import { manifestFromOnnx, parseManifest } from '../infer/registry';
import { paddingFor } from '../core/sliding-window';
import { decodeModel } from '../onnx';
import { directionalModel } from '../testing/onnx-models';
import { decodeAdapter } from '../peft/adapter-file';
import { AdapterStore, type AdapterRecord, type RunSettings } from '../train/adapter-store';
import { dataDir, fixturesDir, hasShared, msdDir, sharedMissing } from '../testing/shared';
import { modelSource } from '../app/models';
import { preparePair, TrainingService } from './training-service';
import type { PairFiles, TrainingReply } from './training-protocol';
import { mapVoxels } from '../testing/voxels';

const repo = join(import.meta.dirname, '../..');
const manifest = () => parseManifest(JSON.parse(readFileSync(join(repo, 'models/unetr-tiny-test.json'), 'utf8')), 'unetr-tiny-test');
const base = () => modelSource(manifest(), '/');
/** The worker's fetch, served from ../shared/fixtures as the dev server serves /fixtures/. */
const fetchFixture = async (url: string): Promise<Uint8Array> => {
  if (!url.startsWith('/fixtures/')) throw new Error(`${url} answered HTTP 404`);
  return new Uint8Array(readFileSync(join(fixturesDir, url.slice('/fixtures/'.length))));
};

/** Two small MSD crops (32 × 47 × 32 and 35 × 51 × 35 voxels): one trains, one validates. */
const TRAIN_CASE = 'hippocampus_205.nii.gz';
const VAL_CASE = 'hippocampus_001.nii.gz';
const file = (dir: string, name: string) => ({ name, bytes: new Uint8Array(readFileSync(join(msdDir, dir, name))).buffer });
const pairs = (): PairFiles[] => [
  { name: 'hippocampus_205', role: 'train', image: file('images', TRAIN_CASE), label: file('labels', TRAIN_CASE) },
  { name: 'hippocampus_001', role: 'val', image: file('images', VAL_CASE), label: file('labels', VAL_CASE) },
];

/**
 * A FreeSurfer-style whole-structure label file made from a real MSD label: every hippocampus
 * voxel (head or body) coded 17 (aseg's left hippocampus), int16 as aseg volumes are stored.
 */
function asegStyle(dir: string, name: string): { name: string; bytes: ArrayBuffer } {
  const labels = readVolume(new Uint8Array(readFileSync(join(msdDir, dir, name))), name);
  const data = mapVoxels(Int16Array, labels.data, (v) => (v > 0 ? ASEG_LEFT : 0));
  return { name: name.replace('.nii.gz', '_aseg.nii'), bytes: new Uint8Array(writeNifti({ ...labels, data })).buffer };
}
const ASEG_LEFT = 17;
const ASEG_RIGHT = 53;
const asegPairs = (): PairFiles[] => [
  { name: 'hippocampus_205', role: 'train', image: file('images', TRAIN_CASE), label: asegStyle('labels', TRAIN_CASE) },
  { name: 'hippocampus_001', role: 'val', image: file('images', VAL_CASE), label: asegStyle('labels', VAL_CASE) },
];

const settings: RunSettings = { method: { method: 'lorapt' }, steps: 2, batch: 1, lr: 1e-2, augment: false, checkpointEvery: 1, stepsPerEpoch: 1, seed: 3 };

describe.skipIf(!hasShared)(`TrainingService ${hasShared ? '' : sharedMissing}`, { timeout: 1_800_000 }, () => {
  let engine: Engine;
  let store: AdapterStore;
  const replies: TrainingReply[] = [];
  let service: TrainingService;
  let pauseAtFirstCheckpoint = true;
  /** A run to pause as soon as it reports training (before its first step). */
  let pauseOnStart: string | null = null;
  /** run-1's record when paused at step 1 and when finished (resumed to step 2). */
  let pausedRecord: AdapterRecord | undefined;
  let resumedRecord: AdapterRecord | undefined;
  let template: PreparedTemplate | undefined;
  /** The registration template, prepared on first use as the worker does (≈1 s). */
  const preparedTemplate = async () => (template ??= prepareTemplate(readTemplate()));
  beforeAll(async () => {
    configureOrtWeb();
    // The engine the studio's worker trains on without a hardware GPU (CI, most laptops without
    // WebGPU): wasm. The WebGPU path through the service is the device-loss block below.
    engine = await createNodeWasmEngine({ threads: 2 });
    store = await AdapterStore.open(new IDBFactory());
    service = new TrainingService({
      post: (r) => {
        replies.push(r);
        // The user's Pause, the moment the first checkpoint is stored (a click lands between steps).
        if (r.type === 'train-checkpoint' && r.step === 1 && pauseAtFirstCheckpoint) void service.handle({ type: 'train-pause', runId: r.runId });
        if (r.type === 'train-state' && r.status === 'training' && r.runId === pauseOnStart) void service.handle({ type: 'train-pause', runId: r.runId });
      },
      fetchBytes: fetchFixture,
      engine: async () => engine,
      store: async () => store,
      createBackend: createOrtWebBackend,
      template: preparedTemplate,
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
    expect(paused.optimizer?.t).toBe(1);
    pausedRecord = paused;

    await service.handle({ type: 'train-resume', runId });
    const done = await store.require(runId);
    resumedRecord = done;
    expect(done.optimizer?.t).toBe(2);
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

  it('the paused and resumed run ends exactly where an unbroken run of the same settings ends; a checkpoint without optimiser state still resumes, and says Adam restarts', async () => {
    if (!resumedRecord || !pausedRecord) throw new Error('needs the paused-and-resumed run above');
    // The unbroken run trains on the same training pair with the same settings and seed; without
    // the validation pair (validation runs without gradients and changes no state), so it is cheaper.
    const [trainPair] = pairs();
    await service.handle({ type: 'train-start', runId: 'unbroken', name: 'unbroken', base: base(), settings, pairs: [trainPair], labelMap: 'msd' });
    const unbroken = await store.require('unbroken');
    expect(unbroken).toMatchObject({ status: 'done', step: 2 });
    const trained = async (r: AdapterRecord) => (await decodeAdapter(r.adapter)).trained;
    const want = await trained(unbroken);
    const got = await trained(resumedRecord);
    expect([...got.keys()]).toEqual([...want.keys()]);
    // Exactly: the checkpoint's float32 tensors and Adam's float32 moments are the GPU's own values
    // (read back and uploaded again without rounding), the batch stream continues, and the engine's
    // kernels are deterministic (no float atomics). So the same arithmetic runs in the same order.
    for (const [name, t] of want) expect(got.get(name)!.data, name).toEqual(t.data);
    expect(resumedRecord.losses).toEqual(unbroken.losses);

    // The same paused checkpoint as a record from before optimiser state was stored: it resumes
    // and says that Adam restarts. (Paused before its step, to keep this file's time down: that a
    // fresh Adam ends elsewhere is shown in src/engine/autograd.test.ts and webgpu.test.ts.)
    const { optimizer: _dropped, ...old } = pausedRecord;
    await store.put({ ...old, id: 'old-record' });
    await store.putDataset({ ...(await store.dataset('unbroken'))!, id: 'old-record' });
    pauseOnStart = 'old-record';
    await service.handle({ type: 'train-resume', runId: 'old-record' });
    const states = replies.filter((r) => r.type === 'train-state' && r.runId === 'old-record');
    const note = "this checkpoint (step 1) holds no optimiser state: Adam's moment estimates restart here";
    expect(states.map((r) => r.type === 'train-state' && [r.status, r.message])).toEqual([
      ['preparing', `Resuming from the checkpoint at step 1; ${note}`],
      ['training', note],
      ['paused', 'Paused at step 1'],
    ]);
    expect(await store.require('old-record')).toMatchObject({ status: 'paused', step: 1, optimizer: { t: 0 } });
  });

  it('says so when asked to resume an adapter that is not stored', async () => {
    await service.handle({ type: 'train-resume', runId: 'missing' });
    const state = replies.filter((r) => r.type === 'train-state' && r.runId === 'missing').at(-1);
    expect(state).toMatchObject({ status: 'failed', message: expect.stringMatching(/no adapter "missing"/) });
  });
});

describe.skipIf(!hasShared)(`TrainingService with whole-structure labels and full heads ${hasShared ? '' : sharedMissing}`, { timeout: 1_800_000 }, () => {
  let engine: Engine;
  let store: AdapterStore;
  const replies: TrainingReply[] = [];
  let service: TrainingService;
  let template: PreparedTemplate;
  beforeAll(async () => {
    configureOrtWeb();
    // The label plumbing is under test here, on the engine the worker uses without a GPU.
    engine = await createNodeWasmEngine({ threads: 2 });
    store = await AdapterStore.open(new IDBFactory(), 'whole-structure');
    template = prepareTemplate(readTemplate());
    service = new TrainingService({
      post: (r) => replies.push(r),
      fetchBytes: fetchFixture,
      engine: async () => engine,
      store: async () => store,
      createBackend: createOrtWebBackend,
      template: async () => template,
    });
    // Preparing the registration template takes seconds on a busy machine: more than the 10 s default.
  }, 120_000);
  afterAll(() => {
    store?.close();
    engine?.dispose();
  });
  const checked = async (request: number, pairList: PairFiles[], labelMap: string) => {
    await service.handle({ type: 'train-check', request, base: base(), pairs: pairList, labelMap });
    const reply = replies.find((r) => r.type === 'train-checked' && r.request === request);
    if (reply?.type !== 'train-checked') throw new Error('no check reply');
    return reply;
  };

  it('checks aseg-coded pairs with the FreeSurfer map: whole-structure targets, and says which mapping applies', async () => {
    const reply = await checked(10, asegPairs(), 'freesurfer');
    expect(reply.mapping).toBe('FreeSurfer aseg: 17 → left hippocampus, 53 → right hippocampus, every other code → background; trained and scored on the whole structure (head + body as one)');
    for (const c of reply.checks) {
      expect(c).toMatchObject({ ok: true, path: 'crop', space: 'whole', notes: [] });
      if (c.ok) expect(Object.keys(c.labelCounts).sort()).toEqual(['0', '1']);
    }
    // The same scans with MSD's own labels are head/body targets.
    const msd = await checked(11, pairs(), 'msd');
    expect(msd.checks[0]).toMatchObject({ ok: true, space: 'classes' });
    expect(msd.mapping).toMatch(/^MSD Task04: 0 → background, 1 → hippocampus head, 2 → hippocampus body \+ tail; trained and scored on head and body \+ tail$/);
  });

  it('refuses a mixed set (head/body beside aseg codes) with the map that trains both, and trains on that map', async () => {
    const [msdPair] = pairs();
    const [, asegPair] = asegPairs();
    const mixed = [msdPair, asegPair];
    const refused = await checked(12, mixed, 'msd');
    expect(refused.checks[0]).toMatchObject({ ok: true });
    const bad = refused.checks[1];
    if (bad.ok) throw new Error('the aseg pair passed under the MSD map');
    expect(bad.message).toMatch(/label codes 17 \([\d,]+ voxels\) are not in the label map "0:bg,1:head,2:body"/);
    expect(bad.message).toContain('choose the “freesurfer” label map');
    expect(bad.message).toContain('use the map “1:whole,2:whole,17:whole,53:whole,*:bg”');
    // Under the FreeSurfer map the MSD pair would be all background: refused, not trained on an empty label.
    const swapped = await checked(13, mixed, 'freesurfer');
    expect(swapped.checks[0]).toMatchObject({ ok: false, message: expect.stringMatching(/no voxel is hippocampus after the label map .* \(codes present: 0, 1, 2\); these codes look like MSD head\/body labels: choose the “msd” label map/) });
    // The advised map takes both, on the whole structure.
    const both = await checked(14, mixed, '1:whole,2:whole,17:whole,53:whole,*:bg');
    expect(both.checks.map((c) => c.ok && c.space)).toEqual(['whole', 'whole']);
  });

  it('trains whole-structure labels with the grouped loss; validation Dice and the comparison are on the whole hippocampus', async () => {
    const runId = 'whole-run';
    const wholeSettings = { ...settings, steps: 1 };
    await service.handle({ type: 'train-start', runId, name: 'aseg run', base: base(), settings: wholeSettings, pairs: asegPairs(), labelMap: 'freesurfer' });
    const done = await store.require(runId);
    expect(done).toMatchObject({ status: 'done', step: 1 });
    expect(done).toMatchObject({ labelSpace: 'whole', labelMapping: expect.stringMatching(/^FreeSurfer aseg: .*whole structure/) });
    expect(done.validation.map((v) => v.step)).toEqual([0, 1]);
    // Grouped soft Dice over 2 groups (background, whole) lies in [0, 2]; Dice is of the whole structure.
    for (const v of done.validation) {
      expect(v.loss).toBeGreaterThanOrEqual(0);
      expect(v.loss).toBeLessThanOrEqual(2);
      expect(v.dice).toBeGreaterThanOrEqual(0);
      expect(v.dice).toBeLessThanOrEqual(1);
    }
    expect((await decodeAdapter(done.adapter)).training.labelMap).toBe('17:whole,53:whole,*:bg');
    await service.handle({ type: 'train-compare', request: 15, runId, backend: 'wasm' });
    const compared = replies.find((r) => r.type === 'train-compared' && r.request === 15);
    if (compared?.type !== 'train-compared' || !compared.result) throw new Error(`no comparison: ${JSON.stringify(compared)}`);
    expect(compared.result.adapted.dice.map((d) => d.name)).toEqual(['whole hippocampus']);
    expect(compared.result.base.dice.map((d) => d.name)).toEqual(['whole hippocampus']);
    console.log(`whole-structure run: validation loss ${done.validation.map((v) => v.loss.toFixed(4)).join(' → ')}, whole Dice ${done.validation.map((v) => v.dice.toFixed(3)).join(' → ')}; compare base ${compared.result.base.meanDice.toFixed(3)}, adapted ${compared.result.adapted.meanDice.toFixed(3)}`);
  });

  describe('a full-head pair', () => {
    const WINDOW = [64, 80, 64] as const;
    let scan: Volume;
    let aseg: Volume<Int16Array>;
    let pair: PairFiles;
    beforeAll(() => {
      const path = join(dataDir, 'samples', 'brainchop_t1_crop.nii.gz');
      const bytes = new Uint8Array(readFileSync(path));
      scan = readVolume(bytes, path);
      // Its test label: AAL's hippocampi (the template's, 1 left, 2 right) carried onto the scan by
      // our own registration (nearest neighbour), coded as FreeSurfer's aseg (17 left, 53 right).
      const { transform } = localise(scan, template);
      const atlas = template.template.hippocampus;
      const warped = resampleNearest({ ...atlas, affine: multiply(transform, atlas.affine) }, scan.dims, scan.affine);
      aseg = { ...warped, data: mapVoxels(Int16Array, warped.data, (v) => (v === 1 ? ASEG_LEFT : v === 2 ? ASEG_RIGHT : 0)) };
      pair = { name: 'brainchop', role: 'train', image: { name: 'brainchop_t1_crop.nii.gz', bytes: bytes.buffer }, label: { name: 'brainchop_aseg.nii', bytes: new Uint8Array(writeNifti(aseg)).buffer } };
    }, 600_000);

    it('is localised as inference localises it: two samples (left, right) whose images are the crops segmentFullHead feeds the model', async () => {
      const onnx = directionalModel(WINDOW);
      const manifest = manifestFromOnnx(decodeModel(onnx), { id: 'directional', name: 'directional', onnx: 'memory' });
      const prepared = await preparePair(
        { name: pair.name, role: 'train', image: { name: pair.image.name, bytes: new Uint8Array(pair.image.bytes) }, label: { name: pair.label.name, bytes: new Uint8Array(pair.label.bytes) } },
        manifest,
        'freesurfer',
        async () => template,
      );
      expect(prepared).toMatchObject({ path: 'full-head', space: 'whole', dims: [256, 256, 256] });
      expect(prepared.samples.map((s) => s.id)).toEqual(['brainchop (left)', 'brainchop (right)']);

      // What inference gives the model: every window segmentFullHead runs, as the backend receives it.
      const inner = await createOrtNodeBackend(onnx, { threads: 1 });
      const fed: Float32Array[] = [];
      const spy = { ...inner, name: inner.name, reason: inner.reason, run: (input: Float32Array, dims: readonly [number, number, number]) => (fed.push(input.slice()), inner.run(input, dims)), dispose: () => inner.dispose() };
      try {
        await segmentFullHead(scan, { manifest, backend: spy }, template);
      } finally {
        await inner.dispose();
      }
      // A crop is one zero-padded window: compare the sample with the window's interior, voxel for voxel.
      const interior = (window: Float32Array, dims: readonly [number, number, number]) => {
        const [[pd], [ph], [pw]] = paddingFor(dims as [number, number, number], WINDOW);
        const out = new Float32Array(dims[0] * dims[1] * dims[2]);
        for (let d = 0; d < dims[0]; d++) for (let h = 0; h < dims[1]; h++) for (let w = 0; w < dims[2]; w++) out[(d * dims[1] + h) * dims[2] + w] = window[((d + pd) * WINDOW[1] + h + ph) * WINDOW[2] + w + pw];
        return out;
      };
      const [left, right] = prepared.samples;
      expect(left.dims).toEqual([35, 50, 36]);
      // The left crop is the first window inference runs; the right crop is the first window of the right side.
      expect(interior(fed[0], left.dims)).toEqual(left.image);
      expect(fed.slice(1).some((w) => interior(w, right.dims).every((v, n) => v === right.image[n]))).toBe(true);

      // The labels are cut on the same frames, nearest neighbour: voxel for voxel the mapped aseg there.
      const frames = firstModelFrames(await placeCrops(scan, template));
      const mapped: LabelVolume = { ...aseg, data: mapVoxels(Uint8Array, aseg.data, (v) => (v === ASEG_LEFT || v === ASEG_RIGHT ? 1 : 0)) };
      frames.forEach((frame, s) => {
        const cut = extractBoxLabels(mapped, frame);
        const sample = prepared.samples[s];
        const [ni, nj, nk] = frame.grid.dims;
        let labelled = 0;
        for (let k = 0; k < nk; k++) {
          for (let j = 0; j < nj; j++) {
            for (let i = 0; i < ni; i++) {
              expect(sample.label[(i * nj + j) * nk + k]).toBe(cut.data[i + ni * (j + nj * k)]);
              labelled += cut.data[i + ni * (j + nj * k)];
            }
          }
        }
        // Each crop holds its side's hippocampus: most of AAL's labelled voxels of that side.
        const side = s === 0 ? ASEG_LEFT : ASEG_RIGHT;
        const total = aseg.data.reduce((n, v) => n + (v === side ? 1 : 0), 0);
        expect(labelled / total).toBeGreaterThan(0.5);
        console.log(`full-head ${frame.side} crop: ${labelled} of ${total} labelled voxels of that side`);
      });
    });

    it('passes the studio check as two whole-structure samples', async () => {
      const reply = await checked(20, [pair], 'freesurfer');
      expect(reply.checks[0]).toMatchObject({ ok: true, path: 'full-head', space: 'whole', samples: ['brainchop (left)', 'brainchop (right)'], dims: [256, 256, 256] });
      console.log(`full-head check notes: ${JSON.stringify(reply.checks[0].ok && reply.checks[0].notes)}`);
    });
  });
});

describe.skipIf(!hasShared)(`TrainingService when the GPU device is lost mid-run ${hasShared ? '' : sharedMissing}`, { timeout: 1_800_000 }, () => {
  let device: EngineDevice | undefined;
  let engine: Engine | undefined;
  let store: AdapterStore;
  const replies: TrainingReply[] = [];
  let service: TrainingService;
  let loseAtCheckpoint: number | null = 1;
  beforeAll(async () => {
    store = await AdapterStore.open(new IDBFactory(), 'device-loss');
    service = new TrainingService({
      post: (r) => {
        replies.push(r);
        // A real loss of the engine's device (Dawn), right after the checkpoint at step 1 is stored.
        if (r.type === 'train-checkpoint' && r.step === loseAtCheckpoint) {
          loseAtCheckpoint = null;
          device!.device.destroy();
        }
      },
      fetchBytes: fetchFixture,
      // As the worker does (training-deps.ts): the engine on the current device, a new device after a loss.
      engine: async () => {
        if (!engine || deviceLost) {
          try {
            engine?.dispose();
          } catch {
            // The old device is gone; its buffers went with it.
          }
          device = await requestNodeDevice();
          engine = createWebGPUEngine(device);
          deviceLost = false;
          void device.lost.then(() => (deviceLost = true));
          devices++;
        }
        return engine;
      },
      store: async () => store,
      createBackend: createOrtWebBackend,
      template: async () => prepareTemplate(readTemplate()),
    });
  });
  let devices = 0;
  let deviceLost = false;
  afterAll(() => {
    store?.close();
    engine?.dispose();
  });

  it('marks the run interrupted with its checkpoint stored, and resume continues from it on a new device', async () => {
    const runId = 'lost-run';
    const [trainPair] = pairs();
    await service.handle({ type: 'train-start', runId, name: 'device loss', base: base(), settings: { ...settings, steps: 2 }, pairs: [trainPair], labelMap: 'msd' });
    const interrupted = await store.require(runId);
    expect(interrupted).toMatchObject({ status: 'interrupted', step: 1, message: expect.stringMatching(/lost.*Resume continues from the last checkpoint/s) });
    expect(interrupted.losses).toHaveLength(1);
    expect((await decodeAdapter(interrupted.adapter)).training.steps).toBe(1);
    expect(replies.filter((r) => r.type === 'train-state').at(-1)).toMatchObject({ status: 'interrupted', step: 1 });

    await service.handle({ type: 'train-resume', runId });
    const done = await store.require(runId);
    expect(done).toMatchObject({ status: 'done', step: 2 });
    expect(devices).toBe(2);
    // Step 1 was not trained again: the run went on at step 2 from the stored checkpoint.
    expect(replies.filter((r) => r.type === 'train-step').map((r) => r.type === 'train-step' && r.step)).toEqual([1, 2]);
    expect(done.losses[0]).toBe(interrupted.losses[0]);
    expect(done.losses.every(Number.isFinite)).toBe(true);
    console.log(`device loss: interrupted with “${interrupted.message}”; resumed to step 2, losses ${done.losses.map((l) => l.toFixed(4)).join(' ')}`);
  });
});
