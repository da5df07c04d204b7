import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ModelManifest } from '../infer/manifest';
import { fileUrl, initialModelId, modelSource, registryModels } from './models';

const repo = join(import.meta.dirname, '../..');
const shipped = (id: string) => JSON.parse(readFileSync(join(repo, 'models', `${id}.json`), 'utf8')) as ModelManifest;

describe('model files', () => {
  it('serves fixtures: references under /fixtures/ and others under /models/', () => {
    expect(fileUrl('fixtures:unetr_tiny/model.onnx', '/')).toBe('/fixtures/unetr_tiny/model.onnx');
    expect(fileUrl('hippo.onnx', '/app/')).toBe('/app/models/hippo.onnx');
    expect(fileUrl('/elsewhere/x.onnx', '/app/')).toBe('/elsewhere/x.onnx');
  });

  it('resolves a shipped manifest into fetchable URLs and the names the ONNX uses', () => {
    const m = shipped('unetr-tiny-test');
    expect(modelSource(m, '/')).toEqual({
      manifest: m,
      onnxUrl: '/fixtures/unetr_tiny/model.onnx',
      externalData: [{ path: 'weights.bin', url: '/fixtures/unetr_tiny/weights.bin' }],
    });
  });
});

describe('registryModels', () => {
  const trained = { ...shipped('unetr-tiny-test'), id: 'z-trained', name: 'Z trained', status: 'trained' };

  it('validates the manifests and lists trained models before test models', () => {
    const models = registryModels({
      'models/swinunetr-tiny-test.json': shipped('swinunetr-tiny-test'),
      'models/z.json': trained,
      'models/unetr-tiny-test.json': shipped('unetr-tiny-test'),
    });
    expect(models.map((m) => m.id)).toEqual(['z-trained', 'swinunetr-tiny-test', 'unetr-tiny-test']);
    expect(initialModelId(models, 'unetr-tiny-test')).toBe('unetr-tiny-test');
    expect(initialModelId(models, 'missing')).toBe('z-trained');
    expect(initialModelId([], null)).toBe('');
  });

  it('refuses a broken manifest, naming the file', () => {
    expect(() => registryModels({ 'models/bad.json': { id: 'x' } })).toThrow(/models\/bad\.json/);
  });
});
