/**
 * The trained base models shipped in models/ (issue #5): each ONNX is the file its manifest
 * hashes, is ready for ORT's WebGPU provider as shipped (no ConvTranspose, which it cannot
 * run in 3-D), and still segments real MSD validation crops through the real pipeline on
 * onnxruntime-node. The Dice floor is a regression guard on a fixed subset of `val`, not
 * the headline figure (that is in each manifest's `metrics`, over all of `val`).
 * WebGPU-vs-onnxruntime-node equality in headless Chromium is checked by the e2e suite.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readVolume } from '../core/io';
import { WHOLE_STRUCTURE } from '../core/labels';
import { dice, maskOf } from '../core/metrics';
import { decodeModel } from '../onnx';
import { graphOf, nodesOf } from '../onnx/proto';
import { hasShared, msdDir, sharedMissing } from '../testing/shared';
import { segmentVolume } from './pipeline';
import { listInstalledModels, loadModelNode, resolveRef, type LoadedNodeModel } from './registry-node';

const SHIPPED = ['unetr', 'swinunetr'] as const;
/** The first five `val` cases of split.json: fixed, so the guard compares like with like. */
const GUARD_CASES = ['hippocampus_023.nii.gz', 'hippocampus_034.nii.gz', 'hippocampus_039.nii.gz', 'hippocampus_045.nii.gz', 'hippocampus_051.nii.gz'];
/** Issue #5: a shipped model must keep mean whole-hippocampus Dice ≥ 0.85 on this subset. */
const MIN_WHOLE_DICE = 0.85;
/** Issue #5: each ONNX < 50 MB. */
const MAX_ONNX_BYTES = 50e6;
/** The size of split.json's `val`, over which the manifests' metrics are measured. */
const VAL_CASES = 40;

function read(dir: string, name: string) {
  return readVolume(new Uint8Array(readFileSync(join(msdDir, dir, name))), name);
}

describe.each(SHIPPED)('shipped model %s', (id) => {
  const installed = listInstalledModels().find((m) => m.manifest.id === id);

  it('is installed as a trained model whose ONNX matches the manifest hash', () => {
    expect(installed, `models/${id}.json is missing`).toBeDefined();
    const { manifest, dir } = installed!;
    expect(manifest.status).toBe('trained');
    const bytes = readFileSync(resolveRef(manifest.onnx, dir));
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(manifest.sha256);
    expect(bytes.length, 'issue #5: each ONNX under 50 MB').toBeLessThan(MAX_ONNX_BYTES);
    const ops = new Set(nodesOf(graphOf(decodeModel(new Uint8Array(bytes)))).map((n) => n.opType));
    expect(ops.has('ConvTranspose')).toBe(false);
  });

  it('has a manifest that says what the model is, how it was trained and how well it does', () => {
    expect(installed, `models/${id}.json is missing`).toBeDefined();
    const { manifest } = installed!;
    expect(['UNETR', 'SwinUNETR']).toContain(manifest.architecture);
    expect(manifest.config).toMatchObject({ in_channels: 1, out_channels: 3 });
    expect(manifest.inputSize.every((n) => Number.isInteger(n) && n > 0)).toBe(true);
    expect(manifest.spacingMm.every((n) => n > 0)).toBe(true);
    expect(manifest.orientation).toBeTruthy();
    expect(manifest.normalisation.kind).toBeTruthy();
    expect(manifest.labels.map((l) => [l.value, l.name])).toEqual([
      [0, 'background'],
      [1, 'hippocampus head'],
      [2, 'hippocampus body + tail'],
    ]);
    const provenance = manifest.provenance as Record<string, unknown>;
    expect(provenance.trainingData).toMatch(/Medical Segmentation Decathlon/);
    expect(provenance.dataLicence).toMatch(/CC BY-SA 4\.0/);
    expect(provenance.command).toMatch(/training\/train\.py --model \w+ --seed \d+/);
    expect(Number.isInteger(provenance.seed)).toBe(true);
    // The headline figures: `seahorse eval` over all of val.
    const val = manifest.metrics?.val as { cases: number; mean: Record<string, { dice: number; hd95: number }> };
    expect(val.cases).toBe(VAL_CASES);
    for (const name of [...manifest.labels.slice(1).map((l) => l.name), WHOLE_STRUCTURE]) {
      expect(val.mean[name].dice).toBeGreaterThan(0);
      expect(val.mean[name].hd95).toBeGreaterThan(0);
    }
  });

  describe.skipIf(!hasShared)(`on MSD val crops (${hasShared ? 'shared data found' : sharedMissing})`, () => {
    let model: LoadedNodeModel;
    beforeAll(async () => {
      model = await loadModelNode(id, { threads: 1 });
    });
    afterAll(() => model?.backend.dispose());

    it(`keeps mean whole-hippocampus Dice ≥ ${MIN_WHOLE_DICE} on ${GUARD_CASES.length} fixed cases`, { timeout: 600_000 }, async () => {
      const scores: number[] = [];
      for (const name of GUARD_CASES) {
        const image = read('images', name);
        const reference = read('labels', name);
        const result = await segmentVolume(image, model);
        const truth = maskOf(Uint8Array.from(reference.data as ArrayLike<number>), 'foreground');
        scores.push(dice(maskOf(result.labels.data, 'foreground'), truth));
      }
      const mean = scores.reduce((a, b) => a + b, 0) / scores.length;
      expect(mean, `per case: ${scores.map((s) => s.toFixed(3)).join(', ')}`).toBeGreaterThanOrEqual(MIN_WHOLE_DICE);
    });
  });
});

describe('shipped localiser', () => {
  const installed = listInstalledModels(undefined, 'localisation').find((m) => m.manifest.id === 'localiser');

  it('is the ONNX its manifest hashes, small, web-ready, and a cross-check with its data, licence, command, seeds and metrics', () => {
    expect(installed, 'models/localiser.json is missing').toBeDefined();
    const { manifest, dir } = installed!;
    expect(manifest.status).toBe('trained');
    expect(manifest.localiserRole).toBe('cross-check');
    const bytes = readFileSync(resolveRef(manifest.onnx, dir));
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(manifest.sha256);
    // It runs beside every full-head segmentation: a few MB at most (1.5 MB as shipped).
    expect(bytes.length).toBeLessThan(5e6);
    expect(nodesOf(graphOf(decodeModel(new Uint8Array(bytes)))).some((n) => n.opType === 'ConvTranspose')).toBe(false);
    const provenance = manifest.provenance as Record<string, unknown>;
    expect(provenance.data).toMatch(/SynthSeg.*Apache-2\.0/);
    expect(provenance.command).toMatch(/training\/train_localiser\.py --seed \d+.*training\/export_localiser\.py/);
    expect((provenance.seed as unknown[]).every((s) => Number.isInteger(s))).toBe(true);
    const metrics = manifest.metrics as Record<string, Record<string, unknown>>;
    expect(metrics.synthetic_held_out.sides).toBe(48);
    expect(metrics.synthetic_held_out.sides_missed).toBe(0);
    expect((metrics.real_subjects.cases as unknown[]).length).toBeGreaterThan(0);
    expect(metrics.ort_node_vs_pytorch.argmax_agreement).toBeGreaterThan(0.9999);
  });
});
