/**
 * The adapter store's logic on an in-memory IndexedDB (fake-indexeddb implements the W3C API;
 * the studio's e2e test runs the same code on Chromium's real IndexedDB). Checkpoints must come
 * back byte for byte, decode to the same adapter, and survive a reopened database; so must the
 * optimiser state stored beside them (float32 from WebGPU, float64 from the cpu engine).
 */
import { IDBFactory } from 'fake-indexeddb';
import { describe, expect, it } from 'vitest';
import { decodeAdapter, encodeAdapter, type Adapter } from '../peft/adapter-file';
import type { AdamState } from '../engine';
import type { ModelSource } from '../workers/protocol';
import { AdapterStore, AdapterStoreError, type AdapterRecord } from './adapter-store';

const base = { manifest: { id: 'unetr-tiny-test' }, onnxUrl: '/fixtures/unetr_tiny/model.onnx', externalData: [] } as unknown as ModelSource;

async function someAdapter(step: number): Promise<Uint8Array> {
  const adapter: Adapter = {
    method: { method: 'lora', rank: 2, alpha: 2, trainDecoder: false, seed: 1 },
    base: { kind: 'unetr', config: { hidden_size: 64 }, fingerprint: 'ab'.repeat(32), label: 'unetr-tiny-test' },
    training: { steps: step },
    trained: new Map([['blocks.0.attn.qkv.lora_A', { shape: [2, 3], data: new Float32Array([1, 2, 3, 4, 5, step]) }]]),
    init: new Map(),
  };
  return encodeAdapter(adapter);
}

const optimizer: AdamState = {
  t: 2,
  slots: [
    { shape: [2, 3], m: new Float32Array([0.1, -0.2, 0.3, 1e-30, -0, 7]), v: new Float32Array([1e-8, 2, 3, 4, 5, 6]), vmax: new Float32Array([1e-8, 2, 3, 4, 5, 6.5]) },
    null,
    { shape: [2], m: new Float64Array([Math.PI, -1e-300]), v: new Float64Array([2, 3]), vmax: null },
  ],
};

function record(id: string, adapter: Uint8Array, created: number): AdapterRecord {
  return { id, name: `run ${id}`, base, status: 'training', step: 2, adapter, losses: [0.9, 0.8], validation: [], created, updated: created };
}

describe('AdapterStore', () => {
  it('round-trips a checkpoint byte for byte, across a reopened database', async () => {
    const factory = new IDBFactory();
    const store = await AdapterStore.open(factory);
    const bytes = await someAdapter(2);
    await store.put({ ...record('a', bytes, 1), optimizer });
    store.close();

    const again = await AdapterStore.open(factory);
    const got = await again.require('a');
    expect(got.adapter).toEqual(bytes);
    const decoded = await decodeAdapter(got.adapter);
    expect(decoded.training.steps).toBe(2);
    expect([...decoded.trained.get('blocks.0.attn.qkv.lora_A')!.data]).toEqual([1, 2, 3, 4, 5, 2]);
    expect(got.base).toEqual(base);
    // The optimiser state comes back with its array types and every bit (toEqual tells -0 from 0).
    expect(got.optimizer).toEqual(optimizer);
    expect(got.optimizer!.slots.map((s) => s?.m.constructor.name ?? null)).toEqual(['Float32Array', null, 'Float64Array']);
    // The list view leaves the bulky parts out (it is posted to the page with every state change).
    const [summary] = await again.list();
    expect(summary).not.toHaveProperty('optimizer');
    expect(summary).not.toHaveProperty('adapter');
    again.close();
  });

  it('lists newest first without the bytes, patches, renames and deletes with its dataset', async () => {
    const store = await AdapterStore.open(new IDBFactory());
    await store.put(record('old', await someAdapter(1), 10));
    await store.put(record('new', await someAdapter(3), 20));
    await store.putDataset({ id: 'old', labelMap: 'msd', pairs: [{ name: 'x', role: 'train', image: { name: 'x.nii', bytes: new Uint8Array([1, 2]) }, label: { name: 'x_seg.nii', bytes: new Uint8Array([0, 1]) } }] });

    const list = await store.list();
    expect(list.map((r) => r.id)).toEqual(['new', 'old']);
    expect(list[0]).not.toHaveProperty('adapter');
    expect(list[0].adapterBytes).toBeGreaterThan(0);

    const later = await someAdapter(4);
    const patched = await store.patch('new', { step: 4, adapter: later, losses: [0.9, 0.8, 0.7, 0.6] });
    expect(patched.name).toBe('run new'); // untouched fields stay
    expect((await store.require('new')).adapter).toEqual(later);

    await store.rename('old', '  hospital A  ');
    expect((await store.require('old')).name).toBe('hospital A');
    await expect(store.rename('old', '   ')).rejects.toThrow(AdapterStoreError);

    expect((await store.dataset('old'))?.pairs[0].image.bytes).toEqual(new Uint8Array([1, 2]));
    await store.delete('old');
    expect(await store.get('old')).toBeUndefined();
    expect(await store.dataset('old')).toBeUndefined();
    await expect(store.patch('old', { step: 1 })).rejects.toThrow(/no adapter "old"/);
    store.close();
  });

  it('marks runs left "training" by a closed page as interrupted, and only those', async () => {
    const store = await AdapterStore.open(new IDBFactory());
    await store.put(record('running', await someAdapter(1), 1));
    await store.put({ ...record('finished', await someAdapter(1), 2), status: 'done' });
    const stale = await store.markInterrupted('the page was closed during training');
    expect(stale.map((r) => r.id)).toEqual(['running']);
    expect(await store.require('running')).toMatchObject({ status: 'interrupted', message: 'the page was closed during training' });
    expect((await store.require('finished')).status).toBe('done');
    store.close();
  });
});
