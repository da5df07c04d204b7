/** The decoder fine-tuning's pieces (src/sam/finetune.ts) on small known inputs; no model. */
import { describe, expect, it } from 'vitest';
import { createCpuEngine } from '../engine';
import { mat4, type Dims3 } from '../core/volume';
import {
  candidateTokens, finetuneSamDecoder, jitteredBox, lowResTarget, promptKind, rng, samMaskLoss, samplePoints, trainingPairs, volumeBoxPairs, volumeBoxPrompt, warmupLr,
  type SamTrainSlice,
} from './finetune';
import { planeExtents } from './label-boxes';
import { maskBox } from './prompts';
import { resizeGeometry } from './preprocess';
import { extractSlice, slicePlane } from './slice-geometry';
import { SAM_FINETUNE_DEFAULTS } from './training-data';

/** FreeSurfer's conformed LIA grid: coronal slices are k, columns run along −i, rows along j. */
const LIA = mat4([-1, 0, 0, 128, 0, 0, 1, -128, 0, -1, 0, 128, 0, 0, 0, 1]);

describe('SAM decoder fine-tuning pieces', () => {
  it("a label lands on SAM's low-res grid where the resized image puts it; the padding stays background", () => {
    // 1 mm 256² slice: resized ×4 to 1024², low-res ×1/4: the identity.
    const g = resizeGeometry(256, 256);
    const m = new Uint8Array(256 * 256);
    m[10 + 256 * 20] = 1;
    const t = lowResTarget(m, g);
    expect(t[10 + 256 * 20]).toBe(1);
    expect(t.reduce((a, b) => a + b, 0)).toBe(1);
    // 128 wide × 64 high: resized to 1024 × 512, so low-res 256 × 128 then 128 rows of padding.
    const g2 = resizeGeometry(128, 64);
    const m2 = new Uint8Array(128 * 64).fill(1);
    const t2 = lowResTarget(m2, g2);
    expect(t2.slice(0, 256 * 128).every((v) => v === 1)).toBe(true);
    expect(t2.slice(256 * 128).every((v) => v === 0)).toBe(true);
    // Pixel (x, y) covers low-res columns 2x, 2x+1.
    const m3 = new Uint8Array(128 * 64);
    m3[5 + 128 * 7] = 1;
    const t3 = lowResTarget(m3, g2);
    expect([t3[10 + 256 * 14], t3[11 + 256 * 15], t3[12 + 256 * 14], t3[10 + 256 * 16]]).toEqual([1, 1, 0, 0]);
  });

  it('box prompts frame the structure within −1…+jitter pixels per side; points fall inside and outside', () => {
    const w = 40;
    const h = 30;
    const m = new Uint8Array(w * h);
    for (let y = 10; y <= 15; y++) for (let x = 8; x <= 20; x++) m[x + w * y] = 1;
    const r = rng(3);
    for (let i = 0; i < 50; i++) {
      const b = jitteredBox(m, w, h, 4, r)!.box!;
      expect(b.x0).toBeGreaterThanOrEqual(4);
      expect(b.x0).toBeLessThanOrEqual(9);
      expect(b.x1).toBeGreaterThanOrEqual(19);
      expect(b.x1).toBeLessThanOrEqual(24);
      const p = samplePoints(m, w, h, r)!.points!;
      expect(p).toHaveLength(2);
      expect(m[p[0].x + w * p[0].y]).toBe(1);
      expect(p[0].positive).toBe(true);
      expect(m[p[1].x + w * p[1].y]).toBe(0);
      expect(p[1].positive).toBe(false);
    }
    expect(jitteredBox(new Uint8Array(4), 2, 2, 4, r)).toBeNull();
  });

  it("the loss scores the masks the ONNX model would choose; warm-up then decay; pairs need minPixels", () => {
    expect(candidateTokens(2)).toEqual([1, 4]); // a box, or one click + padding: best of tokens 1–3
    expect(candidateTokens(3)).toEqual([0, 1]); // box + click, or two clicks + padding: token 0
    expect(warmupLr(1e-3, 0, 100, 10)).toBeCloseTo(1e-4);
    expect(warmupLr(1e-3, 9, 100, 10)).toBeCloseTo(1e-3);
    expect(warmupLr(1e-3, 10, 100, 10)).toBeCloseTo(1e-3);
    expect(warmupLr(1e-3, 99, 100, 10)).toBeLessThan(1e-4);
    const g = resizeGeometry(4, 4);
    const labels = Uint8Array.from({ length: 16 }, (_, i) => (i < 3 ? 17 : i < 4 ? 53 : 0));
    expect(trainingPairs([{ id: 'a', embedding: new Float32Array(0), labels, geometry: g }], [17, 53], 2)).toEqual([{ slice: 0, label: 17 }]);
  });

  it('Dice + BCE matches its definition in float64', async () => {
    const e = createCpuEngine();
    const x = [2, -1, 0.5, -3, 1, 1, -2, 0]; // [1, 2, 2, 2]
    const y = [1, 0, 1, 0]; // [1, 1, 2, 2]
    const l = await samMaskLoss(e.tensor(x, [1, 2, 2, 2]), e.tensor(y, [1, 1, 2, 2])).item();
    const sig = (v: number) => 1 / (1 + Math.exp(-v));
    let dice = 0;
    let bce = 0;
    for (let k = 0; k < 2; k++) {
      let inter = 0;
      let sp = 0;
      for (let i = 0; i < 4; i++) {
        const v = x[4 * k + i];
        inter += sig(v) * y[i];
        sp += sig(v);
        bce += -(y[i] * Math.log(sig(v)) + (1 - y[i]) * Math.log(1 - sig(v)));
      }
      dice += 1 - (2 * inter + 1e-5) / (sp + 2 + 1e-5);
    }
    expect(l).toBeCloseTo(dice / 2 + bce / 8, 12);
  });

  it("a 3-D box's rectangle is the structure's 3-D bounding box seen along the plane, grown by −1…+jitter per side, on every slice of its range", () => {
    // A 12 × 10 × 9 LIA volume; structure 17 a slanted bar, thicker on some coronal slices than others.
    const dims: Dims3 = [12, 10, 9];
    const labels = new Uint8Array(dims[0] * dims[1] * dims[2]);
    const put = (i: number, j: number, k: number, v: number) => (labels[i + dims[0] * (j + dims[1] * k)] = v);
    for (let k = 2; k <= 6; k++) for (let j = 3; j <= 4 + (k === 4 ? 3 : 0); j++) put(2 + k, j, k, 17);
    put(9, 1, 5, 53);
    const plane = slicePlane(dims, LIA, [1, 1, 1], 'coronal');
    const extents = planeExtents(plane, labels, dims, [17, 53, 99]);
    expect([...extents.keys()]).toEqual([17, 53]);
    // The union of the structure's outlines on every slice, and the slices it lies on.
    let union = { x0: Infinity, y0: Infinity, x1: -1, y1: -1 };
    const on: number[] = [];
    for (let s = 0; s < plane.sliceCount; s++) {
      const m = extractSlice(plane, dims, labels, s).map((v) => +(v === 17));
      const b = maskBox(m, plane.width, plane.height);
      if (!b) continue;
      on.push(s);
      union = { x0: Math.min(union.x0, b.x0), y0: Math.min(union.y0, b.y0), x1: Math.max(union.x1, b.x1), y1: Math.max(union.y1, b.y1) };
    }
    expect(extents.get(17)).toEqual({ ...union, s0: on[0], s1: on.at(-1) });
    expect(extents.get(17)).toEqual({ x0: 12 - 1 - 8, x1: 12 - 1 - 4, y0: 3, y1: 7, s0: 2, s1: 6 });
    // Sides move out by `jitter` at the top of the draw, in by 1 at the bottom, within them otherwise.
    const e = extents.get(17)!;
    expect(volumeBoxPrompt(e, plane.width, plane.height, 2, () => 0.999).box).toEqual({ x0: e.x0 - 2, y0: e.y0 - 2, x1: e.x1 + 2, y1: e.y1 + 2 });
    expect(volumeBoxPrompt(e, plane.width, plane.height, 2, () => 0).box).toEqual({ x0: e.x0 + 1, y0: e.y0 + 1, x1: e.x1 - 1, y1: e.y1 - 1 });
    expect(volumeBoxPrompt(e, plane.width, plane.height, 9, () => 0.999).box).toEqual({ x0: 0, y0: 0, x1: plane.width - 1, y1: plane.height - 1 }); // clamped
    const r = rng(5);
    for (let i = 0; i < 50; i++) {
      const b = volumeBoxPrompt(e, plane.width, plane.height, 2, r).box!;
      for (const [lo, v] of [[e.x0, b.x0], [e.y0, b.y0]]) expect(v >= lo - 2 && v <= lo + 1).toBe(true);
      for (const [hi, v] of [[e.x1, b.x1], [e.y1, b.y1]]) expect(v >= hi - 1 && v <= hi + 2).toBe(true);
    }

    // Pairs: every slice within reach of the range, the structure there or not; none beyond, none without a place in a scan.
    const g = resizeGeometry(plane.width, plane.height);
    const at = (s: number): SamTrainSlice => ({ id: `s${s}`, embedding: new Float32Array(0), labels: extractSlice(plane, dims, labels, s), geometry: g, volume: { slice: s, extents } });
    const slices = [0, 1, 2, 4, 8].map(at);
    expect(volumeBoxPairs(slices, [17], 1)).toEqual([1, 2, 3].map((slice) => ({ slice, label: 17 }))); // slices 1, 2, 4 (slice 1: absent, within reach)
    expect(volumeBoxPairs(slices, [17], 2)).toEqual([0, 1, 2, 3, 4].map((slice) => ({ slice, label: 17 }))); // slices 0 and 8: 2 beyond
    expect(volumeBoxPairs(slices, [17, 53], 0)).toEqual([{ slice: 2, label: 17 }, { slice: 3, label: 17 }]);
    expect(Array.from(slices[1].labels).some((v) => v === 17)).toBe(false); // its target is empty
    expect(volumeBoxPairs([{ ...at(4), volume: undefined }], [17], 4)).toEqual([]);
    expect(volumeBoxPairs(slices, [99], 4)).toEqual([]);
  });

  it('a step prompts with a 3-D box, a per-slice box or points in the asked shares; without 3-D boxes as before', () => {
    const count = (f3: number, fb: number) => {
      const n = { box3d: 0, box: 0, points: 0 };
      for (let i = 0; i < 1000; i++) n[promptKind((i + 0.5) / 1000, f3, fb)]++;
      return n;
    };
    expect(count(0, 0.75)).toEqual({ box3d: 0, box: 750, points: 250 });
    expect(count(0.3, 0.75)).toEqual({ box3d: 300, box: 525, points: 175 });
    expect(count(1, 0.75)).toEqual({ box3d: 1000, box: 0, points: 0 });
  });

  it('3-D box prompts without the slices\' places in their scans are refused before training', async () => {
    const g = resizeGeometry(4, 4);
    const labels = Uint8Array.from({ length: 16 }, (_, i) => (i < 12 ? 17 : 0));
    const slices: SamTrainSlice[] = [{ id: 'a', embedding: new Float32Array(0), labels, geometry: g }];
    await expect(finetuneSamDecoder(createCpuEngine(), new Map(), slices, [17], { ...SAM_FINETUNE_DEFAULTS, box3dFraction: 0.3 })).rejects.toThrow(/3-D box prompts need/);
  });
});
