/**
 * The prompt tool keeps what the user accepted: across closing and opening the tool, and, through
 * the browser's IndexedDB (fake-indexeddb here, Chromium's in e2e/sam.spec.ts), across a reload:
 * a new page's tool on the same scan file gets the labels back; another file does not.
 */
import { IDBFactory } from 'fake-indexeddb';
import { describe, expect, it } from 'vitest';
import { createStore } from 'zustand/vanilla';
import { writeNifti } from '../../core/io';
import { identity4, type LabelVolume } from '../../core/volume';
import type { Mm3, SamReply } from '../../workers/sam-protocol';
import type { StudioState } from '../store';
import { sha256Hex } from '../work-db';
import { KeptLabelStore } from './kept-labels';
import { SamTool } from './sam-tool';
import { initialSamState, type SamToolState } from './store';

type Final = Exclude<SamReply, { type: 'sam-progress' }>;
const dims = [4, 4, 4] as const;
const grid = { dims, spacing: [1, 1, 1] as const, affine: identity4() };
const a: Mm3 = [0, 1, 1];
const b: Mm3 = [2, 1, 3];
const settled = () => new Promise((r) => setTimeout(r, 20));

/** The studio's masks: voxel 0 left hippocampus. */
function segmentation() {
  const labels: LabelVolume = { ...grid, data: new Uint8Array(64) };
  labels.data[0] = 1;
  return { modelId: 'm', labels, labelInfo: [{ value: 1, name: 'left hippocampus', rgb: [220, 20, 60] as [number, number, number] }] };
}

/** A page: the studio with a scan file open, the tool, and a worker that answers every box with voxels 5 and 6. */
function page(fileBytes: Uint8Array, storage: (() => Promise<KeptLabelStore>) | undefined) {
  const store = createStore<SamToolState>()(() => initialSamState);
  const file = new File([fileBytes as BlobPart], 'scan.nii.gz');
  const studio = { scan: { name: 'scan.nii.gz', dims }, segmentation: segmentation(), backendPreference: 'wasm', overlayOpacity: 0.5 } as unknown as StudioState;
  const shown: Uint8Array[] = [];
  const tool = new SamTool({
    client: {
      ask: () => ({ request: 1, reply: Promise.resolve<Final>({ type: 'sam-mask', request: 1, plane: 'coronal', slice: 1, voxels: Uint32Array.of(5, 6), iou: 0.9, grid, backend: 'wasm', timingsMs: { encode: 1, decode: 1 } }) }),
      cancel: () => {},
    },
    viewer: { setPromptInput: () => {}, showLabels: async (nifti) => void shown.push(nifti), crosshairMm: () => undefined },
    studio: { getState: () => studio, openFileKey: () => file.arrayBuffer().then(sha256Hex) },
    store,
    writeNifti,
    download: () => {},
    kept: storage,
  });
  /** Accepts a box's mask as `value`. */
  const acceptBox = async (value: number, name: string) => {
    tool.setLabel(value, name);
    await tool.drag('coronal', a, b);
    tool.accept();
    await settled();
  };
  const labels = () => store.getState().labels.map((l) => [l.value, l.voxels]);
  return { tool, store, acceptBox, labels };
}

const bytes = (seed: number) => Uint8Array.from({ length: 100 }, (_, n) => (n * seed) & 255);

describe('SamTool keeps the accepted labels', () => {
  it('across closing and opening the tool on the same scan, undo included', async () => {
    const p = page(bytes(3), undefined);
    p.tool.open();
    await p.acceptBox(18, 'Left-Amygdala');
    p.tool.close();
    p.tool.open();
    expect(p.labels()).toEqual([
      [1, 1],
      [18, 2],
    ]);
    expect(p.store.getState().undoable).toBe(1);
    p.tool.undo();
    expect(p.labels()).toEqual([[1, 1]]);
  });

  it('across a reload: the same file opened in a new page gets them back, another file does not', async () => {
    const factory = new IDBFactory();
    const storage = () => KeptLabelStore.open(factory);
    const before = page(bytes(3), storage);
    before.tool.open();
    await before.acceptBox(18, 'Left-Amygdala');
    expect(before.store.getState().kept).toMatchObject({ restored: true });

    const after = page(bytes(3), storage);
    await after.tool.lookForKept();
    // The closed tool's card says so before it is opened.
    expect(after.store.getState().kept).toMatchObject({ restored: false });
    after.tool.open();
    await settled();
    expect(after.labels()).toEqual([
      [1, 1],
      [18, 2],
    ]);
    expect(after.store.getState().labels.find((l) => l.value === 18)?.name).toBe('Left-Amygdala');
    expect(after.store.getState().kept).toMatchObject({ restored: true });
    expect(after.store.getState().notice).toMatch(/accepted on this scan before are back/);

    const other = page(bytes(5), storage);
    await other.tool.lookForKept();
    expect(other.store.getState().kept).toBeNull();
    other.tool.open();
    await settled();
    expect(other.labels()).toEqual([[1, 1]]);
  });

  it('"Start again from the masks" drops them, and the kept copy with them', async () => {
    const factory = new IDBFactory();
    const storage = () => KeptLabelStore.open(factory);
    const first = page(bytes(3), storage);
    first.tool.open();
    await first.acceptBox(18, 'Left-Amygdala');
    await first.tool.startAgain();
    expect(first.labels()).toEqual([[1, 1]]);
    expect(first.store.getState().kept).toBeNull();

    const later = page(bytes(3), storage);
    later.tool.open();
    await settled();
    expect(later.labels()).toEqual([[1, 1]]);
  });

  it('says so in words when the browser cannot keep them, and the labels stay in the page', async () => {
    const p = page(bytes(3), async () => {
      throw new Error('browser storage is full');
    });
    p.tool.open();
    await p.acceptBox(18, 'Left-Amygdala');
    expect(p.store.getState().warning).toBe('Your accepted labels could not be kept in this browser (browser storage is full): export them to keep them.');
    expect(p.labels()).toEqual([
      [1, 1],
      [18, 2],
    ]);
  });
});
