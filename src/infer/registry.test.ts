import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeModel } from '../onnx';
import { aboveMeanModel } from '../testing/onnx-models';
import { fixturesDir, hasShared, sharedMissing } from '../testing/shared';
import { fixturesRoot, listInstalledModels, loadModelNode, resolveRef } from './registry-node';
import { externalDataLocation, manifestFromOnnx, modelCaveat, parseManifest } from './registry';

const valid = {
  id: 'm',
  name: 'M',
  status: 'trained',
  architecture: 'UNETR',
  onnx: 'm.onnx',
  inputSize: [32, 32, 32],
  spacingMm: [1, 1, 1],
  axisOrder: 'ijk',
  orientation: 'RAS',
  normalisation: { kind: 'zscore', over: 'nonzero' },
  labels: [
    { value: 0, name: 'background', rgb: [0, 0, 0] },
    { value: 1, name: 'left', rgb: [255, 0, 0] },
  ],
};

describe('parseManifest', () => {
  it('accepts a valid manifest', () => {
    expect(parseManifest(valid, 'm.json')).toMatchObject({ id: 'm', status: 'trained', inputSize: [32, 32, 32] });
  });
  it('names the file and the field that is wrong', () => {
    expect(() => parseManifest({ ...valid, status: 'great' }, 'm.json')).toThrow(/m\.json: "status" must be one of trained, untrained-test, user/);
    expect(() => parseManifest({ ...valid, inputSize: [32, 32] }, 'm.json')).toThrow(/"inputSize" must be three positive integers/);
    expect(() => parseManifest({ ...valid, normalisation: { kind: 'percentile', lo: 99, hi: 1 } }, 'm.json')).toThrow(/normalisation/);
    expect(() => parseManifest({ ...valid, labels: [valid.labels[1], valid.labels[1]] }, 'm.json')).toThrow(/distinct/);
    expect(() => parseManifest({ ...valid, labels: [{ value: 1, name: 'x', rgb: [0, 0, 0] }, { value: 2, name: 'y', rgb: [0, 0, 0] }] }, 'm.json')).toThrow(/background/);
    expect(() => parseManifest([], 'm.json')).toThrow(/not a JSON object/);
    expect(() => parseManifest({ ...valid, trainingPose: { pitchDeg: -10 } }, 'm.json')).toThrow(/"trainingPose" must be/);
    expect(() => parseManifest({ ...valid, trainingPose: { pitchDeg: 120, allowanceDeg: 0 } }, 'm.json')).toThrow(/"trainingPose" must be/);
  });
  it('reads a training pose when there is one', () => {
    expect(parseManifest({ ...valid, trainingPose: { pitchDeg: -10.7, allowanceDeg: 0 } }, 'm.json').trainingPose).toEqual({ pitchDeg: -10.7, allowanceDeg: 0 });
    expect(parseManifest(valid, 'm.json').trainingPose).toBeUndefined();
  });
});

describe('manifestFromOnnx', () => {
  it('reads the input size and class count from the graph; status "user"', () => {
    const m = manifestFromOnnx(decodeModel(aboveMeanModel([16, 24, 8])), { id: 'mine', name: 'mine', onnx: '/x/mine.onnx' });
    expect(m.inputSize).toEqual([16, 24, 8]);
    expect(m.labels.map((l) => l.name)).toEqual(['background', 'label 1']);
    expect(m.status).toBe('user');
    expect(modelCaveat(m)).toMatch(/User-supplied/);
  });
});

describe('file references', () => {
  it('external data is named relative to the ONNX folder; fixtures: points into the shared fixtures', () => {
    expect(externalDataLocation('fixtures:unetr_tiny/weights.bin', 'fixtures:unetr_tiny/model.onnx')).toBe('weights.bin');
    expect(externalDataLocation('big/weights/a.bin', 'big/model.onnx')).toBe('weights/a.bin');
    expect(resolveRef('fixtures:unetr_tiny/model.onnx', '/anywhere')).toBe(join(fixturesRoot(), 'unetr_tiny/model.onnx'));
    expect(resolveRef('m.onnx', '/models')).toBe('/models/m.onnx');
  });
});

describe('installed models', () => {
  it('every manifest in models/ is valid; the test models say they are untrained', () => {
    const installed = listInstalledModels();
    expect(installed.map((m) => m.manifest.id).sort()).toEqual(expect.arrayContaining(['swinunetr-tiny-test', 'unetr-tiny-test']));
    for (const { manifest } of installed.filter((m) => m.manifest.id.endsWith('-test'))) {
      expect(manifest.status).toBe('untrained-test');
      expect(modelCaveat(manifest)).toMatch(/UNTRAINED/);
    }
  });

  it('an unknown id lists what is installed', async () => {
    await expect(loadModelNode('no-such-model')).rejects.toThrow(/no model "no-such-model".*unetr-tiny-test \(untrained-test\)/);
  });

  it('a manifest whose input size disagrees with its graph is refused', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'seahorse-models-'));
    writeFileSync(join(dir, 'm.onnx'), aboveMeanModel([8, 8, 8]));
    writeFileSync(join(dir, 'm.json'), JSON.stringify({ ...valid, onnx: 'm.onnx' }));
    await expect(loadModelNode('m', { modelsDir: dir })).rejects.toThrow(/manifest says input 32×32×32, the ONNX graph 8×8×8/);
  });
});

describe.skipIf(!hasShared)(`loading the fixture models ${hasShared ? '' : sharedMissing}`, () => {
  it('by id and by path (external weights found beside the .onnx)', async () => {
    const byId = await loadModelNode('swinunetr-tiny-test', { threads: 1 });
    expect(byId.manifest.inputSize).toEqual([64, 64, 64]);
    expect(byId.backend.name).toBe('cpu');
    await byId.backend.dispose();
    const byPath = await loadModelNode(join(fixturesDir, 'unetr_tiny/model.onnx'), { threads: 1 });
    expect(byPath.manifest).toMatchObject({ id: 'model', status: 'user', inputSize: [32, 32, 32], externalData: ['weights.bin'] });
    expect(byPath.manifest.labels).toHaveLength(3);
    await byPath.backend.dispose();
  });
});
