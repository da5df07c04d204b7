import { describe, expect, it } from 'vitest';
import { mat4, type Volume } from './volume';
import { faceMedian, percentiles, percentileScale, positivePercentileScale, zscore } from './normalise';

describe('zscore', () => {
  it('over all voxels: mean 0, population std 1', () => {
    const out = zscore(Float32Array.of(1, 2, 3, 4), 'all');
    // mean 2.5, std sqrt(1.25)
    const s = Math.sqrt(1.25);
    expect(Array.from(out)).toEqual([-1.5 / s, -0.5 / s, 0.5 / s, 1.5 / s].map(Math.fround));
  });
  it('over nonzero voxels: zeros stay 0 (MONAI NormalizeIntensity(nonzero=True))', () => {
    const out = zscore(Uint8Array.of(0, 2, 4, 0), 'nonzero');
    expect(Array.from(out)).toEqual([0, -1, 1, 0]);
  });
  it('a constant image becomes zeros, not NaN', () => {
    expect(Array.from(zscore(Float32Array.of(5, 5, 5), 'all'))).toEqual([0, 0, 0]);
    expect(Array.from(zscore(new Float32Array(3), 'nonzero'))).toEqual([0, 0, 0]);
  });
});

describe('percentiles', () => {
  it('interpolate linearly like numpy.percentile', () => {
    const data = Float64Array.from({ length: 101 }, (_, n) => (n * 37) % 101); // 0..100 shuffled
    expect(percentiles(data, [0, 1, 50, 99.5, 100])).toEqual([0, 1, 50, 99.5, 100]);
    // numpy.percentile([3, 1, 4, 1, 5, 9, 2, 6], [10, 75]) = [1.0, 5.25]
    expect(percentiles(Float32Array.of(3, 1, 4, 1, 5, 9, 2, 6), [10, 75])).toEqual([1, 5.25]);
    expect(() => percentiles(new Float32Array(0), [50])).toThrow(/empty/);
  });
  it('percentileScale clips and maps to [0, 1]', () => {
    const data = Float32Array.from({ length: 101 }, (_, n) => n);
    const out = percentileScale(data, 10, 90);
    expect(out[0]).toBe(0);
    expect(out[50]).toBe(0.5);
    expect(out[100]).toBe(1);
  });
});

describe('positivePercentileScale (the localiser input)', () => {
  it('divides by the percentile of the voxels > 0 only, clips to [0, clipMax], keeps ≤ 0 at 0', () => {
    // voxels > 0: 1..100 → numpy.percentile(1..100, 99) = 99.01
    const data = Float32Array.from([0, 0, -5, ...Array.from({ length: 100 }, (_, n) => n + 1), 500]);
    const out = positivePercentileScale(data, 99, 2);
    const p99 = percentiles(Float32Array.from([...Array.from({ length: 100 }, (_, n) => n + 1), 500]), [99])[0];
    expect(out[0]).toBe(0);
    expect(out[2]).toBe(0);
    expect(out[3 + 49]).toBeCloseTo(50 / p99, 6);
    expect(out[out.length - 1]).toBe(2);
    expect(Array.from(positivePercentileScale(new Float32Array(4), 99, 2))).toEqual([0, 0, 0, 0]);
  });
});

describe('faceMedian', () => {
  /** A 20 × 16 × 12 grid: a bright block in air at `air`, reaching the faces where `touch` says. */
  function head(air: number, touch = false): Volume {
    const dims = [20, 16, 12] as const;
    const data = new Float32Array(20 * 16 * 12).fill(air);
    for (let k = touch ? 0 : 2; k < (touch ? 12 : 10); k++) for (let j = 3; j < 13; j++) for (let i = 4; i < 16; i++) data[i + 20 * (j + 16 * k)] = 500;
    return { dims: [...dims], spacing: [1, 1, 1], affine: mat4([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]), data };
  }
  it("is the air's level around a head, whatever its sign", () => {
    expect(faceMedian(head(0))).toBe(0);
    expect(faceMedian(head(-1000))).toBe(-1000);
    expect(faceMedian(head(7.5))).toBe(7.5);
  });
  it('stays the air where the field of view cuts through the head (two faces half head)', () => {
    expect(faceMedian(head(-3, true))).toBe(-3);
  });
});
