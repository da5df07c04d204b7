/**
 * The kept label volumes on an in-memory IndexedDB (fake-indexeddb implements the W3C API; the
 * studio's e2e test runs the same code on Chromium's): the labels come back voxel for voxel to
 * another connection, a save replaces the scan's earlier one, and only the newest scans are kept.
 */
import { IDBFactory } from 'fake-indexeddb';
import { describe, expect, it } from 'vitest';
import { identity4 } from '../../core/volume';
import { sha256Hex } from '../work-db';
import { KeptLabelStore, MAX_KEPT_SCANS, type KeptLabels } from './kept-labels';

const grid = { dims: [64, 64, 64] as const, spacing: [1, 1, 1] as const, affine: identity4() };

function kept(key: string, savedAt: number, fill = 0): KeptLabels {
  const labels = new Uint8Array(64 * 64 * 64);
  for (let n = 0; n < labels.length; n += 97) labels[n] = 1 + ((n + fill) % 17);
  return { scanKey: key, grid, labels, names: [{ value: 18, name: 'Left-Amygdala', rgb: [103, 255, 255] }], savedAt };
}

describe('KeptLabelStore', () => {
  it('returns the labels voxel for voxel to another connection (a new page)', async () => {
    const factory = new IDBFactory();
    const first = await KeptLabelStore.open(factory);
    const saved = kept('a', 1000);
    await first.put(saved);
    const again = await KeptLabelStore.open(factory);
    const back = await again.get('a');
    expect(back).toBeDefined();
    expect(back!.labels).toEqual(saved.labels);
    expect({ ...back!, labels: null }).toEqual({ ...saved, labels: null });
    expect(await again.get('b')).toBeUndefined();
  });

  it("replaces a scan's earlier labels, and deletes them on request", async () => {
    const store = await KeptLabelStore.open(new IDBFactory());
    await store.put(kept('a', 1000, 0));
    const newer = kept('a', 2000, 5);
    await store.put(newer);
    expect((await store.get('a'))!.labels).toEqual(newer.labels);
    expect(await store.keys()).toEqual(['a']);
    await store.delete('a');
    expect(await store.get('a')).toBeUndefined();
  });

  it(`keeps the ${MAX_KEPT_SCANS} scans saved last`, async () => {
    const store = await KeptLabelStore.open(new IDBFactory());
    for (let s = 0; s < MAX_KEPT_SCANS + 2; s++) await store.put(kept(`scan${s}`, 1000 + s));
    const keys = await store.keys();
    expect(keys).toHaveLength(MAX_KEPT_SCANS);
    expect(keys[0]).toBe(`scan${MAX_KEPT_SCANS + 1}`);
    expect(keys).not.toContain('scan0');
    expect(keys).not.toContain('scan1');
  });
});

describe('sha256Hex', () => {
  it("is the bytes' SHA-256", async () => {
    // FIPS 180-2's example: SHA-256("abc").
    expect(await sha256Hex(new TextEncoder().encode('abc').buffer as ArrayBuffer)).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});
