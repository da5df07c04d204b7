import { describe, expect, it } from 'vitest';
import { identity4, mat4, type LabelVolume, type Volume } from '../core/volume';
import { uniformStream } from '../engine';
import { asLabels, batches, makeSample, randomCrop, SampleError, toTensorOrder, type Preprocessing } from './samples';

const AS_IS: Preprocessing = { orientation: 'as-is', spacingMm: [1, 1, 1], normalisation: { kind: 'zscore', over: 'all' } };

function volume(dims: [number, number, number], f: (i: number, j: number, k: number) => number, affine = identity4()): Volume<Float32Array> {
  const data = new Float32Array(dims[0] * dims[1] * dims[2]);
  for (let k = 0; k < dims[2]; k++) for (let j = 0; j < dims[1]; j++) for (let i = 0; i < dims[0]; i++) data[i + dims[0] * (j + dims[1] * k)] = f(i, j, k);
  return { dims, spacing: [1, 1, 1], affine, data };
}

const labels = (v: Volume, f: (x: number) => number): LabelVolume => ({ ...v, data: Uint8Array.from(v.data, f) });

describe('training samples', () => {
  it('moves NIfTI order (i fastest) to tensor order (k fastest)', () => {
    const dims: [number, number, number] = [2, 3, 4];
    const v = volume(dims, (i, j, k) => 100 * i + 10 * j + k);
    const t = toTensorOrder(v.data, dims, (n) => new Float32Array(n));
    for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) for (let k = 0; k < 4; k++) expect(t[(i * 3 + j) * 4 + k]).toBe(100 * i + 10 * j + k);
  });

  it('prepares a scan as inference does and checks its labels', () => {
    const img = volume([6, 5, 4], (i, j, k) => i + 2 * j + 3 * k);
    const s = makeSample('case', img, labels(img, (x) => (x > 10 ? 2 : x > 5 ? 1 : 0)), 3, AS_IS);
    let mean = 0;
    for (const x of s.image) mean += x / s.image.length;
    expect(Math.abs(mean)).toBeLessThan(1e-6);
    expect(() => makeSample('c1', img, labels(img, (x) => (x > 10 ? 3 : 0)), 3, AS_IS)).toThrow(/c1: label value 3 is outside 0..2/);
    const moved = { ...labels(img, () => 0), affine: mat4([1, 0, 0, 5, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]) };
    expect(() => makeSample('c2', img, moved, 3, AS_IS)).toThrow(/labels' grid .* is not the image's/);
    const nan = volume([6, 5, 4], (i) => (i === 3 ? Number.NaN : 1));
    expect(() => makeSample('c3', nan, labels(img, () => 0), 3, AS_IS)).toThrow(SampleError);
    expect(() => asLabels(volume([2, 2, 2], () => 1.5), 'c4')).toThrow(/c4: the labels are not integers/);
  });

  it('reorients to RAS and resamples to the model spacing like the pipeline', () => {
    // i runs right-to-left (L): RAS reorientation flips axis 0.
    const las = mat4([-2, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]);
    const img = volume([4, 3, 2], (i) => i, las);
    const s = makeSample('las', { ...img, spacing: [2, 1, 1] }, labels(img, (x) => (x >= 2 ? 1 : 0)), 2, { ...AS_IS, orientation: 'RAS' });
    // 2 mm along i resampled to 1 mm: about twice as many voxels on that axis.
    expect(s.dims[0]).toBeGreaterThanOrEqual(7);
    expect([s.dims[1], s.dims[2]]).toEqual([3, 2]);
    // After the flip, labels 1 (high i) lie at low tensor D.
    expect(s.label[0]).toBe(1);
    expect(s.label[s.label.length - 1]).toBe(0);
  });

  it('crops, pads and flips image and labels together', () => {
    const img = volume([10, 7, 5], (i, j, k) => i * 49 + j * 7 + k);
    const s = makeSample('c', img, labels(img, (x) => x % 3), 3, AS_IS);
    const rand = uniformStream(3);
    for (let t = 0; t < 20; t++) {
      const c = randomCrop(s, [8, 8, 4], rand, { intensityScale: 0, intensityShift: 0 });
      // Every voxel keeps its label: compare with the label recomputed from the (normalised) value.
      for (let v = 0; v < c.image.length; v++) {
        if (c.image[v] === 0 && c.label[v] === 0) continue; // padding
        const raw = Math.round(c.image[v] * stdOf(img.data) + meanOf(img.data));
        expect(c.label[v]).toBe(raw % 3);
      }
    }
  });

  it('draws reproducible batches', () => {
    const img = volume([12, 12, 12], (i, j, k) => Math.sin(i + 2 * j + 3 * k));
    const s = makeSample('c', img, labels(img, (x) => (x > 0 ? 1 : 0)), 2, AS_IS);
    const a = batches([s], 2, [8, 8, 8], 7)();
    const b = batches([s], 2, [8, 8, 8], 7)();
    expect(a.image).toEqual(b.image);
    expect(a.dims).toEqual([8, 8, 8]);
    expect(a.image.length).toBe(2 * 512);
    expect(() => batches([], 1, [8, 8, 8], 1)).toThrow(/no training samples/);
  });

  it('continues a stream after the batches already drawn: a resumed run sees the batches of an unbroken one', () => {
    const img = volume([12, 12, 12], (i, j, k) => Math.sin(i + 2 * j + 3 * k));
    const small = volume([10, 9, 12], (i, j, k) => Math.cos(i - j + 2 * k));
    // Two samples of different sizes and an odd batch: shuffles straddle batches and draw counts differ per sample.
    const pool = [makeSample('a', img, labels(img, (x) => (x > 0 ? 1 : 0)), 2, AS_IS), makeSample('b', small, labels(small, (x) => (x > 0.5 ? 1 : 0)), 2, AS_IS)];
    const unbroken = batches(pool, 3, [8, 8, 8], 11);
    const all = Array.from({ length: 5 }, () => unbroken());
    const resumed = batches(pool, 3, [8, 8, 8], 11, {}, 3);
    for (const want of all.slice(3)) {
      const got = resumed();
      expect(got.image).toEqual(want.image);
      expect(got.label).toEqual(want.label);
    }
    expect(batches(pool, 3, [8, 8, 8], 11, {}, 2)().image).not.toEqual(all[3].image);
    expect(() => batches(pool, 1, [8, 8, 8], 1, {}, -1)).toThrow(/non-negative integer/);
  });
});

function meanOf(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  return s / a.length;
}
function stdOf(a: ArrayLike<number>): number {
  const m = meanOf(a);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - m) ** 2;
  return Math.sqrt(s / a.length);
}
