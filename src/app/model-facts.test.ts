import { describe, expect, it } from 'vitest';
import type { ModelManifest } from '../infer/manifest';
import { listInstalledModels } from '../infer/registry-node';
import { describedModel, interimCheckpoint, realAsegDice, validationDice } from './model-facts';

const base: ModelManifest = {
  id: 'm',
  name: 'm',
  status: 'trained',
  architecture: 'SwinUNETR',
  onnx: 'm.onnx',
  inputSize: [32, 64, 32],
  spacingMm: [1, 1, 1],
  axisOrder: 'ijk',
  orientation: 'as-is',
  normalisation: { kind: 'zscore', over: 'all' },
  labels: [
    { value: 0, name: 'background', rgb: [0, 0, 0] },
    { value: 1, name: 'head', rgb: [230, 159, 0] },
    { value: 2, name: 'body', rgb: [86, 180, 233] },
  ],
};

describe('validationDice', () => {
  it('reads the mean Dice per structure that seahorse eval recorded', () => {
    const metrics = { val: { cases: 40, mean: { head: { dice: 0.82, hd95: 2.4 }, body: { dice: 0.81 }, 'whole (label > 0)': { dice: 0.85 } } } };
    expect(validationDice({ ...base, metrics })).toEqual({
      cases: 40,
      scores: [
        { name: 'head', dice: 0.82 },
        { name: 'body', dice: 0.81 },
        { name: 'whole (label > 0)', dice: 0.85 },
      ],
    });
  });

  it('reads the shipped manifests: every structure seahorse eval scored', () => {
    // seahorse eval scores MSD-protocol models on MSD val; swinunetr-fs is scored on real aseg (metrics.real).
    const models = listInstalledModels().filter((m) => m.manifest.status === 'trained' && m.manifest.protocol === 'msd');
    expect(models.length).toBeGreaterThan(0);
    for (const { manifest } of models) {
      const mean = (manifest.metrics?.val as { mean: Record<string, { dice: number }> }).mean;
      expect(validationDice(manifest)?.scores).toEqual(
        ['hippocampus head', 'hippocampus body + tail', 'whole (label > 0)'].map((name) => ({ name, dice: mean[name].dice })),
      );
    }
  });

  it('gives null when nothing was measured', () => {
    expect(validationDice(base)).toBeNull();
    expect(validationDice({ ...base, metrics: { val: { mean: { head: { hd95: 2 } } } } })).toBeNull();
    expect(validationDice({ ...base, metrics: { val: 'n/a' } })).toBeNull();
  });
});

describe('realAsegDice', () => {
  it("reads the full-head path's Dice against aseg that npm run bench -- fs-real recorded, on the shipped FreeSurfer-protocol models", () => {
    const models = listInstalledModels().filter((m) => m.manifest.status === 'trained' && m.manifest.protocol === 'freesurfer');
    expect(models.length).toBeGreaterThan(0);
    for (const { manifest } of models) {
      const pipeline = (manifest.metrics?.real as { summary: { pipeline: { meanDice: number; sides: number } } }).summary.pipeline;
      expect(realAsegDice(manifest)).toEqual({ dice: pipeline.meanDice, sides: pipeline.sides, scans: pipeline.sides / 2, subjects: 2 });
    }
  });

  it('gives null for a model scored otherwise, or not at all', () => {
    expect(realAsegDice(base)).toBeNull();
    expect(realAsegDice({ ...base, metrics: { val: { cases: 40, mean: {} } } })).toBeNull();
    expect(realAsegDice({ ...base, metrics: { real: { summary: { reference: { meanDice: 0.8, sides: 2 } } } } })).toBeNull();
  });
});

describe('describedModel', () => {
  const msd = { ...base, id: 'msd' };
  const fs = { ...base, id: 'fs' };
  it("describes the model that made the masks, saying when Protocol: Auto chose it over the header's", () => {
    expect(describedModel([msd, fs], 'msd', 'fs')).toEqual({ model: fs, chosenByProtocol: true });
    expect(describedModel([msd, fs], 'msd', 'msd')).toEqual({ model: msd, chosenByProtocol: false });
  });
  it("describes the header's model before any masks, or when the result's model is gone", () => {
    expect(describedModel([msd, fs], 'msd', undefined)).toEqual({ model: msd, chosenByProtocol: false });
    expect(describedModel([msd], 'msd', 'fs')).toEqual({ model: msd, chosenByProtocol: false });
    expect(describedModel([], 'msd', undefined).model).toBeUndefined();
  });
});

describe('interimCheckpoint', () => {
  it('says which epoch of how many an unfinished run was exported at, and nothing for a finished one', () => {
    const provenance = { trainingFinished: false, selectedEpoch: 12, epochsDone: 15, recipe: { epochs: 30 } };
    expect(interimCheckpoint({ ...base, provenance })).toEqual({ selectedEpoch: 12, epochs: 30 });
    expect(interimCheckpoint({ ...base, provenance: { ...provenance, trainingFinished: true } })).toBeNull();
    expect(interimCheckpoint(base)).toBeNull();
  });
});
