import { describe, expect, it } from 'vitest';
import type { ModelManifest } from './manifest';
import { listInstalledModels } from './registry-node';
import { readShrinkage, sizeResponse, sizeResponseNote, understatesSize } from './size-response';

const base = { id: 'm', name: 'm', status: 'trained', architecture: 'SwinUNETR', labels: [] } as unknown as ModelManifest;

describe('sizeResponse', () => {
  it('reads the exponent npm run bench -- size-response recorded, and says the example it implies', () => {
    const r = sizeResponse({ ...base, metrics: { sizeResponse: { exponent: 0.63, perSubject: { bert: 0.64, vxm: 0.62 } } } });
    expect(r).toEqual({ exponent: 0.63, subjects: 2 });
    expect(understatesSize(r!)).toBe(true);
    // 0.65^0.63 = 0.762: a hippocampus 35 % smaller reads 24 % smaller.
    expect(readShrinkage(r!)).toBeCloseTo(0.238, 3);
    expect(readShrinkage({ exponent: 1, subjects: 2 })).toBeCloseTo(0.35, 12);
    expect(understatesSize({ exponent: 0.95, subjects: 2 })).toBe(false);
  });

  it('gives the sentence only below the exponent that is worth saying', () => {
    expect(sizeResponseNote({ ...base, metrics: { sizeResponse: { exponent: 0.63, perSubject: { bert: 0.64, vxm: 0.62 } } } })).toBe(
      "Differences in size are under-stated: a hippocampus 35 % smaller than the same person's reads about 24 % smaller " +
        "(the masks' volume grows as the true volume to the power 0.63, measured on 2 real people's scans with their hippocampi shrunk and grown in place).",
    );
    expect(sizeResponseNote({ ...base, metrics: { sizeResponse: { exponent: 0.97, perSubject: { a: 1 } } } })).toBeNull();
    expect(sizeResponseNote(base)).toBeNull();
  });

  it('is on every shipped trained model (npm run bench -- size-response --write-manifest), and null where nothing was measured', () => {
    const trained = listInstalledModels().filter((m) => m.manifest.status === 'trained');
    expect(trained.map((m) => m.manifest.id).sort()).toEqual(['swinunetr', 'swinunetr-fs', 'unetr', 'unetr-fs']);
    for (const { manifest } of trained) expect(sizeResponse(manifest)?.subjects, manifest.id).toBe(2);
    expect(sizeResponse(base)).toBeNull();
    expect(sizeResponse({ ...base, metrics: { sizeResponse: { exponent: 'x' } } })).toBeNull();
  });
});

