/**
 * The worker's 3-D box from two or three drags, in Node on the real model (onnxruntime-node standing in
 * for onnxruntime-web) and bert: a coronal and a sagittal drag in world mm around the left
 * hippocampus's centroid make a 3 × 3 × 3 box, prompted on all three planes. Its voxels must be
 * those `segmentVoxelPrompts` gives the same box (the CLI's path), with the shape prior and
 * intensity model where the prior applies and SAM alone where it does not, and the reply must
 * say which; the same box again takes every slice from the cache. Then refusals, and a stop between slices.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyToPoint } from '../core/affine';
import { readVolume } from '../core/io';
import type { Volume } from '../core/volume';
import { anatomyScorer } from '../sam/anatomy-scores';
import type { BoxPrior } from '../sam/box-prior';
import { readBoxPrior, readSamModel } from '../sam/model-files-node';
import { createSamNodeRuntime } from '../sam/ort-node';
import { segmentVoxelPrompts, type Voxel } from '../sam/prompt-volume';
import type { SamRuntime } from '../sam/runtime';
import { SamVolume } from '../sam/sam-volume';
import { dataDir, hasShared, sharedMissing } from '../testing/shared';
import type { Mm3, SamReply, SamRequest } from './sam-protocol';
import { SamService } from './sam-service';

describe.skipIf(!hasShared)(`SAM service: a 3-D box from two or three drags, on bert ${hasShared ? '' : sharedMissing}`, () => {
  let scan: Volume;
  let runtime: SamRuntime;
  let prior: BoxPrior;
  /** What the service's `boxPrior` hands out: the shipped prior, or one that knows a 3 mm box. */
  let served: BoxPrior;
  const replies: SamReply[] = [];
  let onReply: (r: SamReply) => void = () => {};
  let service: SamService;
  /** The left hippocampus's centroid (voxel), and a drag pair around it ± 1 voxel (LIA: coronal slices fix k, sagittal i). */
  let c: Voxel;
  let drags: Extract<SamRequest, { type: 'sam-box3d' }>['drags'];
  /** The CLI path's own volume for the references, apart from the service's cache (its encodings are shared between the tests). */
  let reference: SamVolume;
  const mm = (v: Voxel): Mm3 => applyToPoint(scan.affine, v);

  beforeAll(async () => {
    const dir = join(dataDir, 'fullhead_labelled/bert');
    scan = readVolume(new Uint8Array(readFileSync(join(dir, 'norm.mgz'))), 'norm.mgz');
    const aseg = readVolume(new Uint8Array(readFileSync(join(dir, 'aseg.mgz'))), 'aseg.mgz');
    const sum = [0, 0, 0];
    let n = 0;
    for (let v = 0; v < aseg.data.length; v++) {
      if (aseg.data[v] !== 17) continue;
      sum[0] += v % 256;
      sum[1] += Math.floor(v / 256) % 256;
      sum[2] += Math.floor(v / 65536);
      n++;
    }
    c = sum.map((x) => Math.round(x / n)) as unknown as Voxel;
    drags = [
      { plane: 'coronal', start: mm([c[0] - 1, c[1] - 1, c[2]]), end: mm([c[0] + 1, c[1] + 1, c[2]]) },
      { plane: 'sagittal', start: mm([c[0], c[1] + 1, c[2] - 1]), end: mm([c[0], c[1] - 1, c[2] + 1]) },
    ];
    prior = readBoxPrior();
    served = prior;
    runtime = await createSamNodeRuntime(readSamModel('encoder'), readSamModel('decoder'), { threads: 2 });
    reference = new SamVolume(scan, runtime);
    service = new SamService({
      post: (r) => {
        replies.push(r);
        onReply(r);
      },
      scan: () => scan,
      createRuntime: async () => runtime,
      boxPrior: async () => served,
    });
  }, 120_000);
  afterAll(async () => {
    await runtime?.dispose();
  });

  const box3d = async (request: number, d = drags, label = 17): Promise<SamReply> => {
    replies.length = 0;
    await service.handle({ type: 'sam-box3d', request, drags: d, label, backend: 'wasm' });
    return replies[replies.length - 1];
  };

  it('gives the CLI path’s labels for the box; a box the prior has not seen is SAM’s alone, with the reason', async () => {
    const reply = await box3d(1);
    const progress = () => replies.filter((r) => r.type === 'sam-progress').map((r) => (r.type === 'sam-progress' ? r.message : ''));
    const left = (i: number) => (i < 8 ? String.raw`, about \d+ (s|min) left` : '');
    expect(progress()).toEqual(Array.from({ length: 9 }, (_, i) => expect.stringMatching(new RegExp(`^3-D box: slice ${i + 1} of 9 \\(three planes\\)${left(i)}$`))));
    expect(reply).toMatchObject({ type: 'sam-box3d-mask', request: 1, lo: [c[0] - 1, c[1] - 1, c[2] - 1], hi: [c[0] + 1, c[1] + 1, c[2] + 1], slices: 9, anatomy: false });
    if (reply.type !== 'sam-box3d-mask') return;
    expect(reply.warning).toMatch(/^box 17 is 3 × 3 × 3 mm .* so SAM answers alone$/);
    const cli = await segmentVoxelPrompts(reference, 'coronal', [{ label: 17, lo: reply.lo, hi: reply.hi }], [], { threePlanes: true });
    const expected = [...cli.labels.data.keys()].filter((v) => cli.labels.data[v] === 17);
    expect(expected.length).toBeGreaterThan(0);
    expect(Array.from(reply.voxels)).toEqual(expected);
    // A label the prior does not know: SAM alone, and nothing suspicious about it. The same box again: every slice from the cache.
    const other = await box3d(2, drags, 200);
    expect(other).toMatchObject({ type: 'sam-box3d-mask', anatomy: false });
    expect(other).not.toHaveProperty('warning');
    expect(progress()).toEqual(Array.from({ length: 9 }, (_, i) => expect.stringMatching(new RegExp(`^3-D box: slice ${i + 1} of 9 \\(three planes, ${i + 1} from the cache\\)${left(i)}$`))));
  });

  it('scores the box with the shape prior and intensity model where the prior applies, as the CLI', async () => {
    // The shipped prior, but knowing 3 mm boxes of label 17, so that a cheap box takes the anatomy path.
    const range = prior.sizes.get(17)!;
    served = { ...prior, sizes: new Map([...prior.sizes, [17, { ...range, minMm: [3, 3, 3] }]]) };
    try {
      const reply = await box3d(3);
      expect(reply).toMatchObject({ type: 'sam-box3d-mask', anatomy: true });
      expect(reply).not.toHaveProperty('warning');
      if (reply.type !== 'sam-box3d-mask') return;
      const box = { label: 17, lo: reply.lo, hi: reply.hi };
      const cli = await segmentVoxelPrompts(reference, 'coronal', [box], [], { threePlanes: true, scoreBox: anatomyScorer(served, scan) });
      expect(Array.from(reply.voxels)).toEqual([...cli.labels.data.keys()].filter((v) => cli.labels.data[v] === 17));
      const alone = await segmentVoxelPrompts(reference, 'coronal', [box], [], { threePlanes: true });
      expect(cli.voxels.get(17)).not.toBe(alone.voxels.get(17)); // the prior and intensity model changed the mask
    } finally {
      served = prior;
    }
  });

  it('refuses two drags on one plane, a box thinner than 3 voxels, and rectangles that do not meet', async () => {
    expect(await box3d(4, [drags[0], { ...drags[0], plane: 'coronal' }])).toMatchObject({ type: 'sam-failed', message: /two boxes are on coronal slices/ });
    const thin: typeof drags = [drags[0], { plane: 'sagittal', start: mm([c[0], c[1] + 1, c[2]]), end: mm([c[0], c[1] - 1, c[2]]) }];
    expect(await box3d(5, thin)).toMatchObject({ type: 'sam-failed', message: /the box is 3 × 3 × 1 voxels: drag at least 3 voxels along every axis/ });
    const apart: typeof drags = [drags[0], { plane: 'sagittal', start: mm([c[0] + 5, c[1] + 1, c[2] - 1]), end: mm([c[0] + 5, c[1] - 1, c[2] + 1]) }];
    expect(await box3d(6, apart)).toMatchObject({ type: 'sam-failed', message: /do not meet: the sagittal box is on slice/ });
  });

  it('takes a third drag on the axial view: the box is the union of the two drags across each axis', async () => {
    // LIA: axial slices fix j. This drag reaches one voxel further left and one further along k than the pair.
    const axial = { plane: 'axial' as const, start: mm([c[0] - 2, c[1], c[2] - 1]), end: mm([c[0] + 1, c[1], c[2] + 2]) };
    const reply = await box3d(8, [...drags, axial], 200);
    expect(reply).toMatchObject({ type: 'sam-box3d-mask', request: 8, lo: [c[0] - 2, c[1] - 1, c[2] - 1], hi: [c[0] + 1, c[1] + 1, c[2] + 2], slices: 4 + 3 + 4 });
  });

  it('stops between slices when cancelled, and says so', async () => {
    onReply = (r) => {
      if (r.type === 'sam-progress' && r.request === 7) void service.handle({ type: 'sam-cancel', request: 7 });
    };
    try {
      const reply = await box3d(7);
      expect(reply).toEqual({ type: 'sam-failed', request: 7, message: 'Stopped.' });
      expect(replies.filter((r) => r.type === 'sam-progress')).toHaveLength(1);
    } finally {
      onReply = () => {};
    }
  });
});
