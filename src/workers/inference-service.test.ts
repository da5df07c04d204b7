/**
 * The inference worker's logic in Node, with the real parts: the core reader, the pipeline,
 * ORT-web (wasm: Node has no WebGPU), the fixture model and a real MSD crop. Only the
 * transport differs from the browser: replies land in an array, and model URLs are read
 * from the fixtures folder.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { OUTLINE_BRAIN, OUTLINE_HIPPOCAMPUS, prepareTemplate } from '../core/fullhead';
import { readTemplate } from '../core/fullhead/template-node';
import { readVolume, writeNifti } from '../core/io';
import { mat4 } from '../core/volume';
import { SIDE_LABELS, SUBLABEL_INFO } from '../infer/fullhead';
import { createOrtNodeBackend } from '../infer/ort-node';
import { configureOrtWeb, createOrtWebBackend, type OrtWebBackend } from '../infer/ort-web';
import { manifestFromOnnx, parseManifest } from '../infer/registry';
import { segmentScan } from '../infer/segment-scan';
import { decodeModel } from '../onnx';
import { directionalModel } from '../testing/onnx-models';
import { dataDir, fixturesDir, hasShared, msdDir, sharedMissing } from '../testing/shared';
import { modelSource } from '../app/models';
import { InferenceService } from './inference-service';
import type { ModelSource, SegmentSettings, WorkerReply } from './protocol';

const repo = join(import.meta.dirname, '../..');
const auto: SegmentSettings = { path: 'auto', sublabels: false };
const manifest = () => parseManifest(JSON.parse(readFileSync(join(repo, 'models/unetr-tiny-test.json'), 'utf8')), 'unetr-tiny-test');
const scanName = 'hippocampus_001-crop.nii.gz';
/** Size of the crop: two 32³ windows along j, one along i and k, so runs stay short. */
const crop = [32, 40, 32] as const;
let scanFile: Uint8Array;
const scanBytes = () => scanFile.slice().buffer as ArrayBuffer;

/** A corner of a real MSD crop (hippocampus_001, 35 × 51 × 35), as a NIfTI file. */
function croppedScan(): Uint8Array {
  const name = join(msdDir, 'images', 'hippocampus_001.nii.gz');
  const full = readVolume(new Uint8Array(readFileSync(name)), name);
  const [nx, ny] = full.dims;
  const data = new Float32Array(crop[0] * crop[1] * crop[2]);
  for (let k = 0; k < crop[2]; k++)
    for (let j = 0; j < crop[1]; j++)
      for (let i = 0; i < crop[0]; i++) data[i + crop[0] * (j + crop[1] * k)] = full.data[i + nx * (j + ny * k)];
  return writeNifti({ dims: crop, spacing: full.spacing, affine: full.affine, data });
}

/**
 * The service with Node stand-ins for the page's origin: `/fixtures/…` from the shared
 * fixtures, `/models/templates/…` from the repository's shipped template, `memory:…` from
 * `files`. Every fetched URL is recorded.
 */
function harness(files: ReadonlyMap<string, Uint8Array> = new Map(), templateUrl = '/models/templates/') {
  const replies: WorkerReply[] = [];
  const built: OrtWebBackend[] = [];
  const fetched: string[] = [];
  const service = new InferenceService({
    post: (reply) => replies.push(reply),
    fetchBytes: async (url) => {
      fetched.push(url);
      const file = files.get(url);
      if (file) return file;
      if (url.startsWith('/fixtures/')) return new Uint8Array(readFileSync(join(fixturesDir, url.slice('/fixtures/'.length))));
      if (url.startsWith('/models/templates/')) return new Uint8Array(readFileSync(join(repo, url)));
      throw new Error(`${url} answered HTTP 404`);
    },
    createBackend: async (bytes, options) => {
      const backend = await createOrtWebBackend(bytes, options);
      built.push(backend);
      return backend;
    },
    templateUrl,
  });
  const of = (id: number) => replies.filter((r) => 'id' in r && r.id === id);
  return { service, replies, built, fetched, of };
}

// Each case builds ORT sessions and runs real windows on one wasm thread: seconds on an idle
// machine, minutes on a busy 2-core one, hence the generous limit.
describe.skipIf(!hasShared)(`InferenceService ${hasShared ? '' : sharedMissing}`, { timeout: 600_000 }, () => {
  beforeAll(() => {
    configureOrtWeb();
    scanFile = croppedScan();
  });

  it('opens a scan, segments it with progress, and keeps working after bad input', async () => {
    const { service, of, built } = harness();
    const model = modelSource(manifest(), '/');

    await service.handle({ type: 'open', id: 1, name: scanName, bytes: scanBytes() });
    expect(of(1)).toEqual([
      {
        type: 'opened',
        id: 1,
        scan: { name: scanName, dims: crop, spacing: [1, 1, 1], range: expect.any(Array), classification: expect.objectContaining({ kind: 'crop' }) },
        display: { bytes: expect.any(ArrayBuffer), name: 'scan.nii' },
        stagesMs: { queued: 0, decode: expect.any(Number) },
        repliedAt: expect.any(Number),
      },
    ]);
    // The viewer's copy is the file inflated once: it reads back to the same scan.
    const opened = of(1)[0];
    if (opened.type !== 'opened') throw new Error('expected opened');
    expect(readVolume(new Uint8Array(opened.display.bytes), opened.display.name)).toEqual(readVolume(scanFile, scanName));

    await service.handle({ type: 'segment', id: 2, model, backend: 'auto', settings: auto });
    const run = of(2);
    expect(run[0]).toEqual({ type: 'loading-model', id: 2, modelName: model.manifest.name });
    expect(run[1]).toMatchObject({ type: 'backend', backend: { name: 'wasm', reason: expect.stringContaining('WebGPU not used') } });
    const windows = run.filter((r) => r.type === 'progress' && r.progress.stage === 'window');
    expect(windows.map((w) => w.type === 'progress' && w.progress)).toEqual([
      { stage: 'window', index: 0, total: 2 },
      { stage: 'window', index: 1, total: 2 },
    ]);
    const result = run.at(-1);
    if (result?.type !== 'result') throw new Error(`expected a result, got ${JSON.stringify(result)}`);
    expect(result.labels.dims).toEqual(crop);
    expect(result.labels.data.length).toBe(crop[0] * crop[1] * crop[2]);
    expect(result.volumes.map((v) => v.name)).toEqual(['hippocampus head', 'hippocampus body + tail']);
    // The worker's whole time by stage: the waits, the pipeline's stages (not its total), the rest.
    expect(Object.keys(result.stagesMs)).toEqual(['queued', 'model wait', 'template wait', 'localiser wait', 'preprocess', 'inference', 'postprocess', 'other']);
    expect(result.stagesMs.inference).toBe(result.timingsMs.inference);
    expect(result.stagesMs['model wait']).toBeGreaterThan(0); // the session was built for this run
    expect(result.stagesMs.other).toBeGreaterThanOrEqual(0);

    // A truncated file is refused; the scan opened before stays open.
    const truncated = scanBytes().slice(0, scanFile.length / 2);
    await service.handle({ type: 'open', id: 3, name: 'cut.nii.gz', bytes: truncated });
    expect(of(3)).toEqual([{ type: 'failed', id: 3, stage: 'open', message: expect.stringContaining('cut short') }]);

    // The next run reuses the session (no reload) and gives the same labels.
    await service.handle({ type: 'segment', id: 4, model, backend: 'auto', settings: auto });
    const again = of(4).at(-1);
    if (again?.type !== 'result') throw new Error(`expected a result, got ${JSON.stringify(again)}`);
    expect(of(4).some((r) => r.type === 'loading-model')).toBe(false);
    expect(again.labels.data).toEqual(result.labels.data);
    expect(built).toHaveLength(1);
    await built[0].dispose();
  });

  it('builds one session for concurrent runs, cancels the superseded one, and reports model failures', async () => {
    const { service, of, built } = harness();
    const model = modelSource(manifest(), '/');
    await service.handle({ type: 'open', id: 1, name: scanName, bytes: scanBytes() });

    // Two runs at once (a double click, or StrictMode): one session; the first run is cancelled.
    await Promise.all([
      service.handle({ type: 'segment', id: 2, model, backend: 'wasm', settings: auto }),
      service.handle({ type: 'segment', id: 3, model, backend: 'wasm', settings: auto }),
    ]);
    expect(built).toHaveLength(1);
    expect(of(2).at(-1)).toEqual({ type: 'cancelled', id: 2 });
    expect(of(3).at(-1)?.type).toBe('result');
    expect(of(3).find((r) => r.type === 'backend')).toMatchObject({ backend: { name: 'wasm', reason: expect.stringContaining('wasm was selected') } });

    // A model whose file is missing fails with a message; the next run with a good model works.
    const missing = { ...model, onnxUrl: '/models/missing.onnx' };
    await service.handle({ type: 'segment', id: 4, model: { ...missing, manifest: { ...model.manifest, id: 'missing' } }, backend: 'wasm', settings: auto });
    expect(of(4).at(-1)).toEqual({
      type: 'failed',
      id: 4,
      stage: 'model',
      message: `Could not load the model “${model.manifest.name}”: /models/missing.onnx answered HTTP 404`,
    });
    await service.handle({ type: 'segment', id: 5, model, backend: 'wasm', settings: auto });
    expect(of(5).at(-1)?.type).toBe('result');
    for (const b of built) await b.dispose().catch(() => undefined);
  });

  it('cancels a run on request', async () => {
    const { service, of, built } = harness();
    await service.handle({ type: 'open', id: 1, name: scanName, bytes: scanBytes() });
    const run = service.handle({ type: 'segment', id: 2, model: modelSource(manifest(), '/'), backend: 'wasm', settings: auto });
    await service.handle({ type: 'cancel', id: 2 });
    await run;
    expect(of(2).at(-1)).toEqual({ type: 'cancelled', id: 2 });
    for (const b of built) await b.dispose();
  });

  it('says so when asked to segment before any scan is open', async () => {
    const { service, of } = harness();
    await service.handle({ type: 'segment', id: 1, model: modelSource(manifest(), '/'), backend: 'wasm', settings: auto });
    expect(of(1)).toEqual([{ type: 'failed', id: 1, stage: 'segment', message: 'Open a scan before segmenting.' }]);
  });
});

/**
 * Full heads through the worker: the directional test model (src/testing/onnx-models.ts)
 * on a window larger than a hippocampus box, so each side is one window. Its answer is
 * exact arithmetic (differences of two voxels), so the worker's onnxruntime-web must give
 * the very labels onnxruntime-node gives the CLI's `segmentScan`.
 */
const WINDOW = [64, 80, 64] as const;
const directionalUrl = 'memory:directional.onnx';

function directionalSource(): { source: ModelSource; bytes: Uint8Array } {
  const bytes = directionalModel(WINDOW);
  const plain = manifestFromOnnx(decodeModel(bytes), { id: 'directional', name: 'directional', onnx: directionalUrl });
  // Named like the MSD models' labels, so that head/body sub-labels apply.
  const labels = [plain.labels[0], { ...plain.labels[1], name: 'hippocampus head' }, { ...plain.labels[2], name: 'hippocampus body + tail' }];
  return { source: { manifest: { ...plain, labels }, onnxUrl: directionalUrl, externalData: [] }, bytes };
}

const samplePath = join(dataDir, 'samples', 'brainchop_t1_crop.nii.gz');
const sampleBytes = () => new Uint8Array(readFileSync(samplePath)).buffer as ArrayBuffer;

describe.skipIf(!hasShared)(`InferenceService on full heads ${hasShared ? '' : sharedMissing}`, { timeout: 600_000 }, () => {
  beforeAll(() => configureOrtWeb());

  it('segments a full head like the CLI, loads the template once, and draws the outline', async () => {
    const { source, bytes } = directionalSource();
    const { service, of, built, fetched } = harness(new Map([[directionalUrl, bytes]]));
    await service.handle({ type: 'open', id: 1, name: 'sample.nii.gz', bytes: sampleBytes() });
    const opened = of(1)[0];
    expect(opened.type === 'opened' && opened.scan.classification.kind).toBe('full-head');

    await service.handle({ type: 'segment', id: 2, model: source, backend: 'wasm', settings: auto });
    const stages = of(2).flatMap((r) => (r.type === 'progress' ? [r.progress.stage] : []));
    expect(stages.slice(0, 3)).toEqual(['template', 'preprocess', 'localise']);
    expect(stages.filter((s) => s === 'window').length).toBeGreaterThanOrEqual(2);
    const result = of(2).at(-1);
    if (result?.type !== 'result') throw new Error(`expected a result, got ${JSON.stringify(result)}`);
    expect(result.path).toBe('full-head');
    expect(result.labelInfo).toEqual(SIDE_LABELS);
    expect(result.registration).toMatchObject({ quality: 'good' });
    expect(result.hippocampi?.map((h) => h.side)).toEqual(['left', 'right']);
    expect(result.volumes.map((v) => [v.name, v.icvFraction! > 0])).toEqual([
      ['left hippocampus', true],
      ['right hippocampus', true],
    ]);

    // The CLI's path in Node (onnxruntime-node, the template read from disk): the same labels.
    const scan = readVolume(new Uint8Array(sampleBytes()), samplePath);
    const node = await createOrtNodeBackend(bytes, { threads: 1 });
    try {
      const cli = await segmentScan(scan, { manifest: source.manifest, backend: node }, { template: () => prepareTemplate(readTemplate()) });
      expect(result.labels.dims).toEqual(cli.labels.dims);
      expect(Array.from(result.labels.affine)).toEqual(Array.from(cli.labels.affine));
      let differing = 0;
      for (let n = 0; n < cli.labels.data.length; n++) if (cli.labels.data[n] !== result.labels.data[n]) differing++;
      expect(differing).toBe(0);
      expect(new Set(cli.labels.data)).toEqual(new Set([0, 1, 2]));
    } finally {
      await node.dispose();
    }

    // The outline of that registration, on the scan's grid: the brain's and the hippocampi's.
    await service.handle({ type: 'outline', id: 3 });
    const outline = of(3)[0];
    if (outline?.type !== 'outline') throw new Error(`expected an outline, got ${JSON.stringify(outline)}`);
    expect(outline.outline.dims).toEqual(scan.dims);
    expect(new Set(outline.outline.data)).toEqual(new Set([0, OUTLINE_BRAIN, OUTLINE_HIPPOCAMPUS]));

    // Sub-labels on the next run: no template reload, four labels.
    await service.handle({ type: 'segment', id: 4, model: source, backend: 'wasm', settings: { path: 'auto', sublabels: true } });
    const sub = of(4).at(-1);
    if (sub?.type !== 'result') throw new Error(`expected a result, got ${JSON.stringify(sub)}`);
    expect(sub.labelInfo).toEqual(SUBLABEL_INFO);
    expect(of(4).some((r) => r.type === 'progress' && r.progress.stage === 'template')).toBe(false);
    expect(fetched.filter((url) => url.startsWith('/models/templates/'))).toHaveLength(3);
    for (const b of built) await b.dispose();
  });

  it('says why a noise volume is not segmented, keeps its outline, and goes on to the next scan', async () => {
    const { source, bytes } = directionalSource();
    const { service, of, built } = harness(new Map([[directionalUrl, bytes]]));
    // Noise over a head-sized field of view (160 × 160 × 150 mm): the full-head path by size.
    const dims = [80, 80, 75] as const;
    let state = 7;
    const data = Float32Array.from({ length: dims[0] * dims[1] * dims[2] }, () => {
      state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
      return state / 2 ** 24;
    });
    const noise = writeNifti({ dims, spacing: [2, 2, 2], affine: mat4([2, 0, 0, -80, 0, 2, 0, -80, 0, 0, 2, -70, 0, 0, 0, 1]), data });
    await service.handle({ type: 'open', id: 1, name: 'noise.nii.gz', bytes: noise.slice().buffer as ArrayBuffer });
    await service.handle({ type: 'segment', id: 2, model: source, backend: 'wasm', settings: auto });
    const failed = of(2).at(-1);
    expect(failed).toMatchObject({
      type: 'failed',
      stage: 'localise',
      message: expect.stringContaining('could not be matched to the brain template'),
      registration: { quality: 'failed' },
    });
    await service.handle({ type: 'outline', id: 3 });
    expect(of(3)[0]?.type).toBe('outline');

    // The next scan opens without the old registration, and segments.
    await service.handle({ type: 'open', id: 5, name: 'sample.nii.gz', bytes: sampleBytes() });
    await service.handle({ type: 'outline', id: 6 });
    expect(of(6)[0]).toMatchObject({ type: 'failed', stage: 'outline', message: 'No registration to draw: segment a whole-head scan first.' });
    await service.handle({ type: 'segment', id: 7, model: source, backend: 'wasm', settings: auto });
    expect(of(7).at(-1)).toMatchObject({ type: 'result', path: 'full-head', registration: { quality: 'good' } });
    for (const b of built) await b.dispose();
  });

  it('refuses a slab on auto with the way out, and reports a template it cannot fetch, then retries', async () => {
    const { source, bytes } = directionalSource();
    const { service, of, built, fetched } = harness(new Map([[directionalUrl, bytes]]), '/missing/');
    // 200 × 60 × 200 mm: more than a crop, less than a head.
    const dims = [100, 30, 100] as const;
    const slab = writeNifti({ dims, spacing: [2, 2, 2], affine: mat4([2, 0, 0, -100, 0, 2, 0, -30, 0, 0, 2, -100, 0, 0, 0, 1]), data: new Float32Array(dims[0] * dims[1] * dims[2]).fill(1) });
    await service.handle({ type: 'open', id: 1, name: 'slab.nii', bytes: slab.slice().buffer as ArrayBuffer });
    await service.handle({ type: 'segment', id: 2, model: source, backend: 'wasm', settings: auto });
    expect(of(2).at(-1)).toMatchObject({ type: 'failed', stage: 'segment', message: expect.stringMatching(/covers only part of the head.*Scan: Full head or Crop/) });

    await service.handle({ type: 'open', id: 3, name: 'sample.nii.gz', bytes: sampleBytes() });
    for (const id of [4, 5]) {
      await service.handle({ type: 'segment', id, model: source, backend: 'wasm', settings: auto });
      expect(of(id).at(-1)).toMatchObject({ type: 'failed', stage: 'segment', message: expect.stringContaining('Could not load the brain template (/missing/): /missing/') });
    }
    // A failed load is not kept: the second run asked again.
    expect(fetched.filter((url) => url.startsWith('/missing/')).length).toBe(6);
    for (const b of built) await b.dispose();
  });
});
