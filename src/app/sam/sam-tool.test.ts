/**
 * The prompt tool's 3-D box flow, with the worker's side answered here (the service itself is
 * tested on the real model in src/workers/sam-service-box3d.test.ts, the page in e2e/sam.spec.ts):
 * which requests two or three drags make, where the crosshair goes, what the panel is told, and Stop.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createStore } from 'zustand/vanilla';
import { writeNifti } from '../../core/io';
import { identity4 } from '../../core/volume';
import { samBox3dCaveat } from '../../sam/caveat';
import type { PlaneName } from '../../sam/slice-geometry';
import type { Mm3, SamReply, SamRequest } from '../../workers/sam-protocol';
import type { StudioState } from '../store';
import type { PromptInput } from '../viewer';
import { PREPARE_AFTER_REST_MS, SamTool } from './sam-tool';
import { initialSamState, type SamToolState } from './store';

type Final = Exclude<SamReply, { type: 'sam-progress' }>;
const a: Mm3 = [0, 1, 1];
const b: Mm3 = [2, 1, 3];
const dims = [4, 4, 4] as const;
const grid = { dims, spacing: [1, 1, 1] as const, affine: identity4() };

function harness() {
  const asked: { message: Omit<SamRequest, 'request'>; request: number; settle: { resolve: (r: Final) => void; reject: (e: Error) => void } }[] = [];
  const cancelled: number[] = [];
  const centres: (Mm3 | undefined)[] = [];
  /** Where the viewer's crosshair is (undefined: no scan shown, so nothing is encoded ahead). */
  const view: { crosshair: Mm3 | undefined; input: PromptInput | null } = { crosshair: undefined, input: null };
  let next = 1;
  // One state object, as the studio's store holds it until something changes.
  const studio = { scan: { name: 'a.nii.gz', dims }, segmentation: undefined, backendPreference: 'wasm', overlayOpacity: 0.5 } as unknown as StudioState;
  const store = createStore<SamToolState>()(() => initialSamState);
  const tool = new SamTool({
    client: {
      ask: (message) => {
        const request = next++;
        let settle!: (typeof asked)[number]['settle'];
        const reply = new Promise<Final>((resolve, reject) => (settle = { resolve, reject }));
        asked.push({ message, request, settle });
        return { request, reply };
      },
      cancel: (request) => cancelled.push(request),
    },
    viewer: {
      setPromptInput: (input) => void (view.input = input),
      crosshairMm: () => view.crosshair as [number, number, number] | undefined,
      showLabels: async (_nifti, _colours, _opacity, centre) => {
        centres.push(centre);
      },
    },
    studio: { getState: () => studio },
    store,
    writeNifti,
    download: () => {},
  });
  const sliceMask = (slice: number, plane: PlaneName = 'coronal'): Final => ({ type: 'sam-mask', request: 0, plane, slice, voxels: Uint32Array.of(5, 6), iou: 0.9, grid, backend: 'wasm', timingsMs: { encode: 1, decode: 1 } });
  const settled = () => new Promise((r) => setTimeout(r, 0));
  /** A drag on a slice that the worker answers with a mask on `slice`. */
  const answeredDrag = async (plane: PlaneName, start: Mm3, end: Mm3, slice = 1) => {
    void tool.drag(plane, start, end);
    asked[asked.length - 1].settle.resolve(sliceMask(slice));
    await settled();
  };
  /** Opens the tool in box3d mode with a first coronal drag answered. */
  const firstCoronalDrag = async () => {
    tool.setMode('box3d');
    tool.setBox3dViews(2);
    tool.open();
    await answeredDrag('coronal', a, b);
  };
  return { tool, store, asked, cancelled, centres, view, sliceMask, settled, answeredDrag, firstCoronalDrag };
}

describe('SamTool, 3-D box mode, two views', () => {
  it('answers the first drag on its slice, moves the crosshair to its centre, and sends both drags after a drag on another plane', async () => {
    const h = harness();
    h.tool.setMode('box3d');
    h.tool.setBox3dViews(2);
    h.tool.open();
    void h.tool.drag('coronal', a, b);
    expect(h.asked[0].message).toMatchObject({ type: 'sam-segment', plane: 'coronal', box: { start: a, end: b } });
    expect(h.store.getState().dragged).toEqual(['coronal']);
    h.asked[0].settle.resolve(h.sliceMask(1));
    await h.settled();
    expect(h.centres.at(-1)).toEqual([1, 1, 2]);
    expect(h.store.getState().preview).toMatchObject({ voxels: 2, source: 'slice' });

    // Another coronal drag replaces the first; a sagittal one completes the box.
    const c: Mm3 = [0, 1, 0];
    void h.tool.drag('coronal', c, b);
    h.asked[1].settle.resolve(h.sliceMask(1));
    await h.settled();
    const s0: Mm3 = [1, 0, 1];
    const s1: Mm3 = [1, 3, 2];
    void h.tool.drag('sagittal', s0, s1);
    expect(h.asked[2].message).toEqual({
      type: 'sam-box3d',
      drags: [
        { plane: 'coronal', start: c, end: b },
        { plane: 'sagittal', start: s0, end: s1 },
      ],
      label: 17,
      backend: 'wasm',
      adapter: undefined,
      decoder: 'default',
    });
    h.asked[2].settle.resolve({ type: 'sam-box3d-mask', request: 3, voxels: Uint32Array.of(5, 6, 21), lo: [0, 0, 0], hi: [2, 3, 3], slices: 10, anatomy: true, grid, backend: 'wasm' });
    await h.settled();
    const state = h.store.getState();
    expect(state.preview).toEqual({ voxels: 3, what: "3-D box of 3 × 4 × 4 voxels, 10 slices; SAM's three planes, the structure's shape prior and an intensity model; default decoder", source: 'box3d' });
    expect(state.notice).toBe(samBox3dCaveat(2));
    expect(state.dragged).toEqual([]);
    expect(state.warning).toBeNull();
    // The next drag starts a new box.
    void h.tool.drag('axial', a, b);
    expect(h.asked[3].message).toMatchObject({ type: 'sam-segment', plane: 'axial' });
    expect(h.store.getState().dragged).toEqual(['axial']);
  });

  it('keeps the first drag after a refusal, says why, and shows a warning from the worker in words', async () => {
    const h = harness();
    await h.firstCoronalDrag();
    void h.tool.drag('axial', a, b);
    h.asked[1].settle.reject(new Error('the two boxes do not meet'));
    await h.settled();
    expect(h.store.getState()).toMatchObject({ error: 'The 3-D box failed: the two boxes do not meet', dragged: ['coronal'], busy: null });
    void h.tool.drag('sagittal', a, b);
    expect(h.asked[2].message).toMatchObject({ type: 'sam-box3d', drags: [{ plane: 'coronal' }, { plane: 'sagittal' }] });
    h.asked[2].settle.resolve({ type: 'sam-box3d-mask', request: 3, voxels: Uint32Array.of(5), lo: [0, 0, 0], hi: [2, 2, 2], slices: 9, anatomy: false, warning: 'box 17 is 3 × 3 × 3 mm', grid, backend: 'wasm' });
    await h.settled();
    expect(h.store.getState()).toMatchObject({ warning: 'Check this mask: box 17 is 3 × 3 × 3 mm.', error: null });
    expect(h.store.getState().preview?.what).toContain("SAM's three planes alone");
    // Another structure picked for this mask: the warning was about label 17's prior, so it goes, and the panel says what to do.
    h.tool.setLabel(53);
    expect(h.store.getState()).toMatchObject({ warning: null, notice: "This mask was made for label 17, with that structure's shape prior; drag the box again to make it for Right-Hippocampus." });
  });

  it('Stop cancels the 3-D box in the worker, drops its answer, and keeps the first drag', async () => {
    const h = harness();
    await h.firstCoronalDrag();
    void h.tool.drag('sagittal', a, b);
    expect(h.store.getState().busy).toBe('3-D box…');
    h.tool.stop();
    expect(h.cancelled).toEqual([h.asked[1].request]);
    expect(h.store.getState()).toMatchObject({ busy: null, notice: 'Stopped.', dragged: ['coronal'] });
    h.asked[1].settle.reject(new Error('Stopped.'));
    await h.settled();
    expect(h.store.getState().error).toBeNull();
    expect(h.store.getState().preview).toMatchObject({ source: 'slice' });
  });

  it('ignores clicks, and a mode change drops the first drag', async () => {
    const h = harness();
    h.tool.setMode('box3d');
    h.tool.setBox3dViews(2);
    h.tool.open();
    await h.tool.click('coronal', a);
    expect(h.asked).toHaveLength(0);
    void h.tool.drag('coronal', a, b);
    h.tool.setMode('box');
    expect(h.store.getState().dragged).toEqual([]);
  });
});

describe('SamTool, 3-D box mode, three views', () => {
  it('is the default; answers the first two drags on their slices, each moving the crosshair, and sends all three after the third', async () => {
    const h = harness();
    expect(h.store.getState().box3dViews).toBe(3);
    h.tool.setMode('box3d');
    h.tool.open();
    await h.answeredDrag('coronal', a, b);
    const s0: Mm3 = [1, 0, 1];
    const s1: Mm3 = [1, 4, 3];
    void h.tool.drag('sagittal', s0, s1);
    expect(h.asked[1].message).toMatchObject({ type: 'sam-segment', plane: 'sagittal', box: { start: s0, end: s1 } });
    expect(h.store.getState().dragged).toEqual(['coronal', 'sagittal']);
    h.asked[1].settle.resolve(h.sliceMask(2));
    await h.settled();
    expect(h.centres.at(-1)).toEqual([1, 2, 2]);
    // A second sagittal drag replaces the sagittal one; the axial drag completes the box.
    await h.answeredDrag('sagittal', s0, b, 2);
    expect(h.store.getState().dragged).toEqual(['coronal', 'sagittal']);
    void h.tool.drag('axial', a, s1);
    expect(h.asked[3].message).toMatchObject({
      type: 'sam-box3d',
      drags: [
        { plane: 'coronal', start: a, end: b },
        { plane: 'sagittal', start: s0, end: b },
        { plane: 'axial', start: a, end: s1 },
      ],
    });
    h.asked[3].settle.resolve({ type: 'sam-box3d-mask', request: 4, voxels: Uint32Array.of(5, 6), lo: [0, 0, 0], hi: [2, 3, 3], slices: 10, anatomy: true, grid, backend: 'wasm' });
    await h.settled();
    expect(h.store.getState()).toMatchObject({ dragged: [], preview: { voxels: 2, source: 'box3d' }, notice: samBox3dCaveat(3) });
  });

  it('a drag on the first plane starts the box again; choosing two views with two drags made drops them', async () => {
    const h = harness();
    h.tool.setMode('box3d');
    h.tool.open();
    await h.answeredDrag('coronal', a, b);
    await h.answeredDrag('axial', a, b);
    void h.tool.drag('coronal', a, b);
    expect(h.asked[2].message).toMatchObject({ type: 'sam-segment', plane: 'coronal' });
    expect(h.store.getState().dragged).toEqual(['coronal']);
    h.asked[2].settle.resolve(h.sliceMask(1));
    await h.settled();
    await h.answeredDrag('axial', a, b);
    h.tool.setBox3dViews(2);
    expect(h.store.getState()).toMatchObject({ box3dViews: 2, dragged: [] });
  });
});

describe('SamTool, box mode', () => {
  it("shows the worker's warning on a slice's mask in words, and drops it with the next prompt", async () => {
    const h = harness();
    h.tool.open();
    void h.tool.drag('coronal', a, b);
    h.asked[0].settle.resolve({ ...h.sliceMask(1), warning: '75 % of it lies where the scan is as dark as the air around the head, so it is not a structure' } as Final);
    await h.settled();
    expect(h.store.getState().warning).toBe('Check this mask: 75 % of it lies where the scan is as dark as the air around the head, so it is not a structure.');
    void h.tool.drag('coronal', a, b);
    expect(h.store.getState().warning).toBeNull();
    h.asked[1].settle.resolve(h.sliceMask(1));
    await h.settled();
    expect(h.store.getState().warning).toBeNull();
  });
});

describe('SamTool, slices encoded ahead where the crosshair rests', () => {
  afterEach(() => {
    vi.useRealTimers();
  });
  const prepared = (request: number, plane: PlaneName, slice: number | null): Final => ({ type: 'sam-prepared', request, plane, slice, encodeMs: slice === null ? 0 : 4600 });

  it("asks the worker for the crosshair's coronal slice when the tool opens, and says once it is ready", async () => {
    const h = harness();
    h.view.crosshair = [1, 2, 3];
    h.tool.open();
    expect(h.asked.map((q) => q.message)).toEqual([{ type: 'sam-prepare', plane: 'coronal', mm: [1, 2, 3], backend: 'wasm', adapter: undefined, decoder: 'default' }]);
    expect(h.store.getState().ready).toBeNull();
    h.asked[0].settle.resolve(prepared(h.asked[0].request, 'coronal', 2));
    await h.settled();
    expect(h.store.getState().ready).toEqual({ plane: 'coronal', slice: 2 });
    h.tool.close();
    expect(h.store.getState().ready).toBeNull();
  });

  it('asks again once the crosshair has rested, on the plane prompted last; not while a prompt runs, nor when closed', async () => {
    vi.useFakeTimers();
    const h = harness();
    h.tool.open(); // no scan in the viewer yet: nothing to encode
    expect(h.asked).toEqual([]);
    h.view.input!.rest!([0, 0, 1]);
    await vi.advanceTimersByTimeAsync(PREPARE_AFTER_REST_MS - 1);
    h.view.input!.rest!([0, 0, 2]); // scrolling on: the first slice is never asked for
    await vi.advanceTimersByTimeAsync(PREPARE_AFTER_REST_MS);
    expect(h.asked.map((q) => q.message)).toEqual([expect.objectContaining({ type: 'sam-prepare', plane: 'coronal', mm: [0, 0, 2] })]);

    void h.tool.drag('sagittal', a, b);
    h.asked[1].settle.resolve(h.sliceMask(1, 'sagittal'));
    await vi.advanceTimersByTimeAsync(1);
    h.view.input!.rest!([1, 1, 1]);
    await vi.advanceTimersByTimeAsync(PREPARE_AFTER_REST_MS);
    expect(h.asked[2].message).toMatchObject({ type: 'sam-prepare', plane: 'sagittal', mm: [1, 1, 1] });

    void h.tool.drag('sagittal', a, b); // not answered yet: the tool is busy
    h.view.input!.rest!([1, 1, 2]);
    await vi.advanceTimersByTimeAsync(PREPARE_AFTER_REST_MS);
    expect(h.asked).toHaveLength(4);
    h.asked[3].settle.resolve(h.sliceMask(1, 'sagittal'));
    await vi.advanceTimersByTimeAsync(1);

    h.view.input!.rest!([1, 1, 3]);
    h.tool.close();
    await vi.advanceTimersByTimeAsync(PREPARE_AFTER_REST_MS);
    expect(h.asked).toHaveLength(4);
  });

  it('only the newest request says a slice is ready; one the worker replaced says nothing', async () => {
    const h = harness();
    h.view.crosshair = [1, 2, 3];
    h.tool.open();
    h.tool.useDecoder('zero-shot'); // another decoder: asked again, with it
    expect(h.asked[1].message).toMatchObject({ type: 'sam-prepare', decoder: 'zero-shot' });
    h.asked[0].settle.resolve(prepared(h.asked[0].request, 'coronal', 2));
    await h.settled();
    expect(h.store.getState().ready).toBeNull();
    h.asked[1].settle.resolve(prepared(h.asked[1].request, 'coronal', null));
    await h.settled();
    expect(h.store.getState().ready).toBeNull();
    h.tool.useDecoder('default');
    h.asked[2].settle.reject(new Error('Could not load Segment Anything')); // the next prompt meets it and says so
    await h.settled();
    expect(h.store.getState()).toMatchObject({ ready: null, error: null });
  });
});
