import { describe, expect, it } from 'vitest';
import { identity4, type Volume } from '../core/volume';
import { caseSeed, NO_SHIFT, piecewise, simulateScanner, TARGET_SCANNER, type ScannerShift } from './domain-shift';

const DIMS = [12, 16, 10] as const;

/** A smooth "anatomy" with a range like MSD's float images. */
function phantom(): Volume<Float32Array> {
  const [ni, nj, nk] = DIMS;
  const data = new Float32Array(ni * nj * nk);
  for (let k = 0; k < nk; k++) for (let j = 0; j < nj; j++) for (let i = 0; i < ni; i++) data[i + ni * (j + nj * k)] = 1000 + 400 * Math.sin(i / 2) + 300 * Math.cos(j / 3) + 50 * k;
  return { dims: DIMS, spacing: [1, 1, 1], affine: identity4(), data };
}

const only = (s: Partial<ScannerShift>): ScannerShift => ({ ...NO_SHIFT, ...s });

describe('simulated scanner', () => {
  it('changes nothing with every effect off', () => {
    const img = phantom();
    const out = simulateScanner(img, NO_SHIFT, 1);
    // Only the clamp to the robust range (1st–99.5th percentiles) acts: out = clamp(in, lo, hi).
    const lo = Math.min(...out.data);
    const hi = Math.max(...out.data);
    let inside = 0;
    for (let p = 0; p < img.data.length; p++) {
      const want = Math.min(hi, Math.max(lo, img.data[p]));
      // float32 storage of lo + span·u: relative error ≤ a few ulp.
      expect(Math.abs(out.data[p] - want) / want).toBeLessThan(1e-6);
      if (img.data[p] >= lo && img.data[p] <= hi) inside++;
    }
    expect(inside / img.data.length).toBeGreaterThan(0.98);
    expect(out.dims).toBe(img.dims);
    expect(out.affine).toBe(img.affine);
  });

  it('is reproducible per seed, differs between seeds, and leaves the input alone', () => {
    const img = phantom();
    const copy = Float32Array.from(img.data);
    const a = simulateScanner(img, TARGET_SCANNER, 7);
    const b = simulateScanner(img, TARGET_SCANNER, 7);
    const c = simulateScanner(img, TARGET_SCANNER, 8);
    expect(a.data).toEqual(b.data);
    expect(a.data).not.toEqual(c.data);
    expect(img.data).toEqual(copy);
    expect(caseSeed(1, 'hippocampus_001.nii.gz')).toBe(caseSeed(1, 'hippocampus_001.nii.gz'));
    expect(caseSeed(1, 'hippocampus_001.nii.gz')).not.toBe(caseSeed(2, 'hippocampus_001.nii.gz'));
  });

  it('applies a monotone contrast curve (gamma, then the knots)', () => {
    expect(piecewise([[0, 0], [0.5, 0.6], [1, 0.8]], 0.25)).toBeCloseTo(0.3, 12);
    expect(piecewise([[0, 0], [0.5, 0.6], [1, 0.8]], 0.75)).toBeCloseTo(0.7, 12);
    const img = phantom();
    const out = simulateScanner(img, only({ gamma: 2 }), 1);
    // Order of intensities is kept (monotone) and the middle of the range darkens (gamma > 1).
    const idx = [...img.data.keys()].sort((p, q) => img.data[p] - img.data[q]);
    for (let n = 1; n < idx.length; n++) expect(out.data[idx[n]]).toBeGreaterThanOrEqual(out.data[idx[n - 1]]);
    const mid = idx[idx.length >> 1];
    expect(out.data[mid]).toBeLessThan(img.data[mid]);
    expect(() => simulateScanner(img, only({ knots: [[0, 0], [0.5, 0.9], [1, 0.5]] }), 1)).toThrow(/monotone/);
  });

  it('multiplies by a smooth bias field bounded by its strength', () => {
    const img = { ...phantom(), data: new Float32Array(DIMS[0] * DIMS[1] * DIMS[2]).fill(100) };
    const out = simulateScanner(img, only({ biasLog: 0.3 }), 3);
    let maxLog = 0;
    for (let p = 0; p < out.data.length; p++) maxLog = Math.max(maxLog, Math.abs(Math.log(out.data[p] / 100)));
    expect(maxLog).toBeCloseTo(0.3, 5); // scaled so the largest |log| is exactly biasLog
    // Smooth: neighbours along i differ by far less than the field's range.
    const [ni] = DIMS;
    for (let p = 0; p + 1 < out.data.length; p++) if ((p + 1) % ni !== 0) expect(Math.abs(Math.log(out.data[p + 1] / out.data[p]))).toBeLessThan(0.15);
  });

  it('thick slices: slab means along one axis, other axes untouched', () => {
    const [ni, nj, nk] = DIMS;
    const data = new Float32Array(ni * nj * nk);
    for (let k = 0; k < nk; k++) for (let j = 0; j < nj; j++) for (let i = 0; i < ni; i++) data[i + ni * (j + nj * k)] = 1000 + (j % 2 ? 100 : -100) + i;
    const img = { ...phantom(), data };
    const out = simulateScanner(img, only({ slabAxis: 1, slabVoxels: 4 }), 1);
    // Alternating ±100 along j averages out within 4-voxel slabs; the gradient along i survives.
    for (let k = 0; k < nk; k++) {
      for (let j = 0; j < nj; j++) {
        for (let i = 0; i < ni; i++) expect(out.data[i + ni * (j + nj * k)]).toBeCloseTo(1000 + i, 3);
      }
    }
  });

  it('adds Rician noise of the asked strength', () => {
    const img = { ...phantom(), data: new Float32Array(DIMS[0] * DIMS[1] * DIMS[2]).fill(1000) };
    const out = simulateScanner(img, only({ noise: 0.05 }), 5);
    let m = 0;
    let s = 0;
    for (const v of out.data) m += v / out.data.length;
    for (const v of out.data) s += (v - m) ** 2 / (out.data.length - 1);
    // At SNR 20 the Rician is close to Gaussian: sd ≈ σ = 50 (1920 samples: ±10 % covers > 4 standard errors).
    expect(Math.sqrt(s)).toBeGreaterThan(45);
    expect(Math.sqrt(s)).toBeLessThan(55);
    expect(Math.abs(m - 1000)).toBeLessThan(5);
    expect(() => simulateScanner({ ...img, data: Float32Array.from(img.data, (v, p) => (p === 3 ? NaN : v)) }, TARGET_SCANNER, 1)).toThrow(/non-finite value at voxel 3/);
  });
});
