import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyToPoint, fromLinear } from '../core/affine';
import { connectedComponents } from '../core/components';
import { VolumeReadError } from '../core/io';
import { readVolume } from '../core/io';
import { type Dims3, type Volume } from '../core/volume';
import { decodeModel } from '../onnx';
import { aboveMeanModel } from '../testing/onnx-models';
import { fixturesDir, hasShared, msdDir, sharedMissing } from '../testing/shared';
import { createOrtNodeBackend } from './ort-node';
import { segmentVolume, type LoadedModel } from './pipeline';
import type { Progress } from './progress';
import { loadModelNode } from './registry-node';
import { manifestFromOnnx } from './registry';

/** The "above the mean" model (real ONNX on onnxruntime-node) with an 8³ window. */
async function aboveMean(): Promise<LoadedModel> {
  const bytes = aboveMeanModel([8, 8, 8]);
  const manifest = manifestFromOnnx(decodeModel(bytes), { id: 'above-mean', name: 'above mean', onnx: 'memory' });
  return { manifest, backend: await createOrtNodeBackend(bytes, { threads: 1 }) };
}

function volumeFrom(dims: Dims3, lin: number[], origin: [number, number, number], f: (i: number, j: number, k: number) => number): Volume<Float32Array> {
  const affine = fromLinear(lin, origin);
  const data = new Float32Array(dims[0] * dims[1] * dims[2]);
  for (let k = 0, n = 0; k < dims[2]; k++) for (let j = 0; j < dims[1]; j++) for (let i = 0; i < dims[0]; i++) data[n++] = f(i, j, k);
  return { dims, affine, spacing: [Math.hypot(lin[0], lin[3], lin[6]), Math.hypot(lin[1], lin[4], lin[7]), Math.hypot(lin[2], lin[5], lin[8])], data };
}

describe('segmentVolume geometry (a model with a known answer)', () => {
  let model: LoadedModel;
  beforeAll(async () => {
    model = await aboveMean();
  });
  afterAll(() => model.backend.dispose());

  it('LIA input: labels come back on the input grid voxel for voxel; only the largest component survives', async () => {
    const dims: Dims3 = [20, 18, 16];
    const inBig = (i: number, j: number, k: number) => i >= 3 && i < 9 && j >= 4 && j < 9 && k >= 2 && k < 6;
    const inSmall = (i: number, j: number, k: number) => i >= 14 && i < 16 && j >= 12 && j < 14 && k >= 10 && k < 12;
    const image = volumeFrom(dims, [-1, 0, 0, 0, 0, 1, 0, -1, 0], [10, -5, 7], (i, j, k) => (inBig(i, j, k) || inSmall(i, j, k) ? 100 : 0));
    const result = await segmentVolume(image, model);
    expect(result.labels.dims).toEqual(dims);
    expect(result.labels.affine).toBe(image.affine);
    for (let k = 0, n = 0; k < dims[2]; k++)
      for (let j = 0; j < dims[1]; j++) for (let i = 0; i < dims[0]; i++, n++) expect(result.labels.data[n]).toBe(inBig(i, j, k) ? 1 : 0);
    expect(result.volumes).toEqual([{ value: 1, name: 'label 1', voxels: 120, mm3: 120 }]);
    // A model that takes its input as-is sees the LIA voxel order and gives the same labels here.
    const asIs = await segmentVolume(image, { ...model, manifest: { ...model.manifest, orientation: 'as-is' } });
    expect(asIs.labels.data).toEqual(result.labels.data);
  });

  it('anisotropic, flipped input: resampled to 1 mm and back, the boundary lands where it should', async () => {
    // 0.5 × 1 × 2 mm voxels, i running toward the left (LAS); the image is world x, so
    // "above the mean" is the half-space x > centre. Linear interpolation reproduces it
    // exactly, so every native voxel must get the right side.
    const dims: Dims3 = [40, 20, 10];
    const lin = [-0.5, 0, 0, 0, 1, 0, 0, 0, 2];
    const origin: [number, number, number] = [30, -4, 6];
    const affine = fromLinear(lin, origin);
    const image = volumeFrom(dims, lin, origin, (i, j, k) => applyToPoint(affine, [i, j, k])[0]);
    const centreX = applyToPoint(affine, [(dims[0] - 1) / 2, 0, 0])[0];
    const result = await segmentVolume(image, model);
    expect(result.labels.dims).toEqual(dims);
    for (let k = 0, n = 0; k < dims[2]; k++)
      for (let j = 0; j < dims[1]; j++)
        for (let i = 0; i < dims[0]; i++, n++) expect(result.labels.data[n]).toBe(applyToPoint(affine, [i, j, k])[0] > centreX ? 1 : 0);
    // Half of the 20 × 20 × 20 mm field of view.
    expect(result.volumes[0].mm3).toBeCloseTo(4000, 6);
  });

  it('reports progress in order and stops when aborted', async () => {
    const image = volumeFrom([20, 18, 16], [1, 0, 0, 0, 1, 0, 0, 0, 1], [0, 0, 0], (i) => i);
    const events: Progress[] = [];
    await segmentVolume(image, model, { onProgress: (p) => events.push(p) });
    const windows = events.filter((e) => e.stage === 'window');
    // Starts per axis (8³ window, step 4): 4 × 4 × 3.
    expect(windows.length).toBe(48);
    expect(events[0]).toEqual({ stage: 'preprocess' });
    expect(events.slice(-2)).toEqual([{ stage: 'postprocess' }, { stage: 'done' }]);

    const controller = new AbortController();
    const run = segmentVolume(image, model, {
      signal: controller.signal,
      onProgress: (p) => p.stage === 'window' && p.index === 4 && controller.abort(),
    });
    await expect(run).rejects.toThrow(/abort/i);
  });

  it('refuses a scan with NaN voxels with a readable message', async () => {
    const image = volumeFrom([10, 10, 10], [1, 0, 0, 0, 1, 0, 0, 0, 1], [0, 0, 0], (i) => (i === 3 ? NaN : i));
    await expect(segmentVolume(image, model)).rejects.toThrow(VolumeReadError);
    await expect(segmentVolume(image, model)).rejects.toThrow(/100 voxels that are NaN/);
  });
});

describe.skipIf(!hasShared)(`segmentVolume with the fixture models ${hasShared ? '' : sharedMissing}`, () => {
  it('unetr-tiny-test on the fixture input reproduces the PyTorch float64 argmax', async () => {
    const model = await loadModelNode('unetr-tiny-test', { threads: 1 });
    try {
      const input = new Float32Array(new Uint8Array(readFileSync(join(fixturesDir, 'unetr_tiny/input.bin'))).buffer);
      const logits = new Float32Array(new Uint8Array(readFileSync(join(fixturesDir, 'unetr_tiny/logits.bin'))).buffer);
      // Tensor [1, 1, D, H, W] (k fastest) → volume (i fastest), identity affine: RAS, 1 mm.
      const n = 32;
      const data = new Float32Array(n ** 3);
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let k = 0; k < n; k++) data[i + n * (j + n * k)] = input[(i * n + j) * n + k];
      const image: Volume = { dims: [n, n, n], spacing: [1, 1, 1], affine: fromLinear([1, 0, 0, 0, 1, 0, 0, 0, 1], [0, 0, 0]), data };
      const result = await segmentVolume(image, model, { largestComponent: false });
      // One 32³ window covers the image, so the pipeline's output is the model's argmax.
      // The input is re-normalised (already z-scored in float64, so only rounding changes)
      // and ORT runs in float32: voxels may flip only where the reference's top two logits nearly tie.
      let flips = 0;
      for (let i = 0; i < n; i++)
        for (let j = 0; j < n; j++)
          for (let k = 0; k < n; k++) {
            const t = (i * n + j) * n + k;
            const scores = [0, 1, 2].map((c) => logits[c * n ** 3 + t]);
            const best = scores.indexOf(Math.max(...scores));
            const got = result.labels.data[i + n * (j + n * k)];
            if (got !== best) {
              flips++;
              expect(Math.abs(scores[got] - scores[best])).toBeLessThan(1e-3);
            }
          }
      expect(flips).toBeLessThan(10);
    } finally {
      await model.backend.dispose();
    }
  });

  it('an MSD crop through unetr-tiny-test: input grid, three labels, one component each', async () => {
    const model = await loadModelNode('unetr-tiny-test', { threads: 1 });
    try {
      const image = readVolume(new Uint8Array(readFileSync(join(msdDir, 'images/hippocampus_003.nii.gz'))), 'hippocampus_003.nii.gz');
      const events: Progress[] = [];
      const result = await segmentVolume(image, model, { onProgress: (p) => events.push(p) });
      expect(result.labels.dims).toEqual(image.dims);
      expect(result.labels.affine).toBe(image.affine);
      // 34 × 52 × 35 with a 32³ window at overlap 0.5: 2 × 3 × 2 windows.
      expect(events.filter((e) => e.stage === 'window')).toHaveLength(12);
      const counts = [0, 0, 0];
      for (const v of result.labels.data) counts[v]++;
      expect(counts[0] + counts[1] + counts[2]).toBe(image.data.length);
      expect(result.volumes.map((v) => v.voxels)).toEqual([counts[1], counts[2]]);
      expect(result.volumes.map((v) => v.mm3)).toEqual([counts[1], counts[2]]);
      expect(Object.keys(result.timingsMs).sort()).toEqual(['inference', 'postprocess', 'preprocess', 'total']);
      const components = connectedComponents(result.labels.data, result.labels.dims, 26);
      for (const label of [1, 2]) expect(components.value.filter((v) => v === label).length).toBe(counts[label] > 0 ? 1 : 0);
    } finally {
      await model.backend.dispose();
    }
  });
});
