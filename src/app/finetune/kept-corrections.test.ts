/**
 * A pen correction is kept while it is drawn: in the work database (fake-indexeddb here; Chromium's
 * in e2e/finetune-adapters.spec.ts) a second after the last stroke, at once when the drawing is
 * closed, and a new page on the same scan file can continue it or discard it.
 */
import { IDBFactory } from 'fake-indexeddb';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createStore } from 'zustand/vanilla';
import { sha256Hex } from '../work-db';
import { Finetune, type FinetuneDeps } from './finetune';
import { KeptCorrectionStore } from './kept-corrections';
import { initialFinetuneState, type FinetuneState } from './store';

/** A page: the studio with `scanBytes` open, a viewer whose drawing is `drawing`, the dock. */
function page(scanBytes: Uint8Array, storage: FinetuneDeps['kept']) {
  const file = new File([scanBytes as BlobPart], 'scan.nii.gz');
  const store = createStore<FinetuneState>()(() => initialFinetuneState());
  const viewer = {
    drawing: Uint8Array.of(1, 2, 3),
    changed: null as (() => void) | null,
    resumed: [] as Uint8Array[],
    closed: 0,
    startCorrection: () => true,
    resumeCorrection: async (nifti: Uint8Array) => (viewer.resumed.push(nifti), true),
    watchCorrection: (changed: (() => void) | null) => void (viewer.changed = changed),
    setPen: () => {},
    undoDrawing: () => {},
    correctedMask: async () => viewer.drawing.slice(),
    endCorrection: async () => void viewer.closed++,
  };
  const studio = { openFile: () => file, openFileKey: () => file.arrayBuffer().then(sha256Hex) };
  const finetune = new Finetune({ viewer, studio, store, kept: storage } as unknown as FinetuneDeps);
  return { finetune, store, viewer };
}

const scanA = Uint8Array.from({ length: 64 }, (_, n) => n);
const scanB = Uint8Array.from({ length: 64 }, (_, n) => 255 - n);

describe('a pen correction kept in the browser', () => {
  beforeEach(() => vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] }));
  afterEach(() => vi.useRealTimers());

  it('is saved a second after the last stroke, and a new page on the same scan file continues it', async () => {
    const factory = new IDBFactory();
    const storage = () => KeptCorrectionStore.open(factory);
    const first = page(scanA, storage);
    first.finetune.startCorrection();
    expect(first.store.getState().correcting).toBe(true);
    first.viewer.drawing = Uint8Array.of(4, 5, 6);
    first.viewer.changed!();
    await vi.advanceTimersByTimeAsync(500);
    first.viewer.drawing = Uint8Array.of(7, 8, 9);
    first.viewer.changed!(); // a second stroke restarts the wait
    await vi.advanceTimersByTimeAsync(999);
    expect(first.store.getState().keptCorrection).toBeNull();
    await vi.advanceTimersByTimeAsync(1);
    await vi.waitFor(() => expect(first.store.getState().keptCorrection).not.toBeNull());

    const reloaded = page(scanA, storage);
    await reloaded.finetune.lookForKept();
    expect(reloaded.store.getState().keptCorrection).toEqual(first.store.getState().keptCorrection);
    await reloaded.finetune.resumeKept();
    expect(reloaded.viewer.resumed).toEqual([Uint8Array.of(7, 8, 9)]);
    expect(reloaded.store.getState().correcting).toBe(true);
    expect(reloaded.store.getState().notice).toBe('Your kept correction is back in the viewer: go on with the pen.');

    const other = page(scanB, storage);
    await other.finetune.lookForKept();
    expect(other.store.getState().keptCorrection).toBeNull();
  });

  it('saves a stroke still waiting when the drawing is closed; "Discard it" deletes it', async () => {
    const factory = new IDBFactory();
    const storage = () => KeptCorrectionStore.open(factory);
    const first = page(scanA, storage);
    first.finetune.startCorrection();
    first.viewer.drawing = Uint8Array.of(1, 1);
    first.viewer.changed!();
    await first.finetune.endCorrection();
    expect(first.viewer.closed).toBe(1);
    expect((await (await storage()).get(await sha256Hex(scanA.slice().buffer)))?.nifti).toEqual(Uint8Array.of(1, 1));

    const later = page(scanA, storage);
    await later.finetune.lookForKept();
    expect(later.store.getState().keptCorrection).not.toBeNull();
    await later.finetune.discardKept();
    expect(later.store.getState().keptCorrection).toBeNull();
    const after = page(scanA, storage);
    await after.finetune.lookForKept();
    expect(after.store.getState().keptCorrection).toBeNull();
  });

  it('says so in words when the browser cannot keep it', async () => {
    const p = page(scanA, async () => {
      throw new Error('browser storage is full');
    });
    p.finetune.startCorrection();
    p.viewer.changed!();
    await p.finetune.endCorrection();
    expect(p.store.getState().error).toBe('Your correction could not be kept in this browser (browser storage is full): it lasts only as long as this page.');
  });
});
