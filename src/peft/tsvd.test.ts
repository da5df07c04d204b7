import { describe, expect, it } from 'vitest';
import { createCpuEngine, type Tensor } from '../engine';
import { gradCheck } from '../engine/testing/check';
import { UNETR } from '../models/unetr';
import { entryValues, fixtureWeights, readIndexed, readJson, relToMax } from '../models/testing/fixtures';
import { hasShared, sharedMissing } from '../testing/shared';
import { halfLength, irfftStack, isRealFrequency, rfftStack } from './linalg/dft';
import { jacobiSvd } from './linalg/jacobi';
import { centredStream, randomSlices } from './linalg/testing';
import { circulantIndex, tensor3, tproduct, tproductOp, tproductTransposedSlices, ttranspose, unfoldLeft } from './tproduct';
import { FLOAT32_TOLERANCE, principalPart, principalTSVD, residual } from './tsvd';
import { loraptTensorSpecs } from './targets';

const maxAbs = (a: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
};

/** Naive complex DFT along the stacked axis, all n3 frequencies (the definition, for checking). */
function naiveDft(slices: Float64Array[], k: number): { re: Float64Array; im: Float64Array } {
  const n3 = slices.length;
  const len = slices[0].length;
  const re = new Float64Array(len);
  const im = new Float64Array(len);
  slices.forEach((s, j) => {
    const th = (-2 * Math.PI * j * k) / n3;
    for (let e = 0; e < len; e++) {
      re[e] += s[e] * Math.cos(th);
      im[e] += s[e] * Math.sin(th);
    }
  });
  return { re, im };
}

/**
 * The released code's construction (peft-methods.md §2.4): independent SVD of every Fourier
 * slice, keep the top r, real part of the inverse DFT. An independent path to P.
 */
function truncatedFourier(slices: Float64Array[], n1: number, n2: number, r: number): Float64Array[] {
  const n3 = slices.length;
  const spec = Array.from({ length: n3 }, (_, k) => {
    const d = naiveDft(slices, k);
    const svd = jacobiSvd({ rows: n1, cols: n2, re: d.re, im: d.im });
    const s = svd.s.map((v, i) => (i < r ? v : 0));
    const out = { re: new Float64Array(n1 * n2), im: new Float64Array(n1 * n2) };
    const kk = svd.s.length;
    for (let c = 0; c < r; c++) {
      for (let i = 0; i < n1; i++) {
        const ur = svd.u.re[i * kk + c] * s[c];
        const ui = svd.u.im![i * kk + c] * s[c];
        for (let j = 0; j < n2; j++) {
          const vr = svd.v.re[j * kk + c];
          const vi = svd.v.im![j * kk + c];
          out.re[i * n2 + j] += ur * vr + ui * vi;
          out.im[i * n2 + j] += ui * vr - ur * vi;
        }
      }
    }
    return out;
  });
  return Array.from({ length: n3 }, (_, j) => {
    const x = new Float64Array(n1 * n2);
    spec.forEach((d, k) => {
      const th = (2 * Math.PI * j * k) / n3;
      for (let e = 0; e < x.length; e++) x[e] += (d.re[e] * Math.cos(th) - d.im[e] * Math.sin(th)) / n3;
    });
    return x;
  });
}

describe('stacked-axis DFT', () => {
  // len 1031 spans three kernel blocks of 512 with a short, odd last one.
  for (const [n3, len] of [
    [1, 50],
    [2, 50],
    [7, 50],
    [12, 1031],
    [48, 1031],
  ] as const) {
    it(`matches the naive DFT and inverts exactly (n3 = ${n3}, ${len} elements)`, () => {
      const slices = randomSlices(n3, len, n3);
      const half = rfftStack(slices, len);
      expect(half.length).toBe(halfLength(n3));
      half.forEach((d, k) => {
        const ref = naiveDft(slices, k);
        expect(relToMax(d.re, ref.re)).toBeLessThan(1e-13);
        if (isRealFrequency(k, n3)) {
          expect(d.im).toBeNull();
          expect(maxAbs(ref.im)).toBeLessThan(1e-12);
        } else expect(relToMax(d.im!, ref.im)).toBeLessThan(1e-13);
      });
      const back = irfftStack(half, n3);
      back.forEach((b, j) => expect(relToMax(b, slices[j])).toBeLessThan(1e-13));
    });
  }

  it('reads float32 slices (the weights) exactly', () => {
    const slices = randomSlices(12, 600, 3).map((s) => Float32Array.from(s));
    const half = rfftStack(slices, 600);
    const wide = rfftStack(slices.map((s) => Float64Array.from(s)), 600);
    half.forEach((d, k) => expect(relToMax(d.re, wide[k].re)).toBe(0));
  });
});

describe('principal t-SVD (host)', () => {
  for (const [n3, n1, n2, r] of [
    [6, 9, 7, 1],
    [5, 8, 11, 2],
    [12, 20, 16, 3],
  ] as const) {
    it(`P = Ur*Sr*Vrᵀ is the tubal rank-${r} truncation, W_res + P = T (n3=${n3}, ${n1}×${n2})`, async () => {
      const slices = randomSlices(n3, n1 * n2, 100 + n3);
      const f = await principalTSVD(slices, n1, n2, r);
      // Sr is f-diagonal at initialisation: off-diagonal entries are zero in every slice.
      for (let j = 0; j < n3; j++) for (let a = 0; a < r; a++) for (let b = 0; b < r; b++) if (a !== b) expect(f.sr.data[(j * r + a) * r + b]).toBe(0);
      const p = principalPart(f.ur, f.sr, f.vr);
      const ref = truncatedFourier(slices, n1, n2, r);
      ref.forEach((x, j) => expect(relToMax(p.data.subarray(j * n1 * n2, (j + 1) * n1 * n2), x)).toBeLessThan(1e-12));
      const res = residual(slices, p);
      slices.forEach((s, j) => {
        for (let e = 0; e < s.length; e++) expect(Math.abs(res.data[j * s.length + e] + p.data[j * s.length + e] - s[e])).toBeLessThan(1e-14);
      });
    });
  }

  it('takes the Lanczos path for large slices and agrees with the dense truncation', async () => {
    // 100×120 slices exceed DENSE_SVD_LIMIT. tol 1e-12: the factors' error is ~tol/gap (the
    // random slices' relative gaps are ≥ 1e-2), far inside 1e-8.
    const [n3, n1, n2, r] = [4, 100, 120, 2];
    const slices = randomSlices(n3, n1 * n2, 77);
    const f = await principalTSVD(slices, n1, n2, r, { tol: 1e-12 });
    expect(f.converged).toBe(true);
    expect(f.maxResidual).toBeGreaterThan(0); // Lanczos ran (Jacobi reports 0)
    expect(f.maxResidual).toBeLessThan(1e-12);
    const p = principalPart(f.ur, f.sr, f.vr);
    const ref = truncatedFourier(slices, n1, n2, r);
    ref.forEach((x, j) => expect(relToMax(p.data.subarray(j * n1 * n2, (j + 1) * n1 * n2), x)).toBeLessThan(1e-8));
  });

  it('converges to the float32 tolerance by default', async () => {
    const f = await principalTSVD(randomSlices(3, 120 * 110, 5), 120, 110, 1);
    expect(f.converged).toBe(true);
    expect(f.maxResidual).toBeLessThanOrEqual(FLOAT32_TOLERANCE);
  });

  it('refuses a rank larger than the slices allow', async () => {
    await expect(principalTSVD(randomSlices(4, 12, 1), 3, 4, 4, { what: 'W_sa' })).rejects.toThrow(/W_sa.*rank 4 is larger than this 3×4 weight allows \(at most 3\)/);
  });

  it('t-transpose reverses the t-product: (A*B)ᵀ = Bᵀ*Aᵀ', () => {
    const next = centredStream(3);
    const a = tensor3(5, 3, 4, Float64Array.from({ length: 60 }, next));
    const b = tensor3(5, 4, 2, Float64Array.from({ length: 40 }, next));
    const lhs = ttranspose(tproduct(a, b));
    const rhs = tproduct(ttranspose(b), ttranspose(a));
    expect(relToMax(lhs.data, rhs.data)).toBeLessThan(1e-14);
  });
});

describe('t-product on the engine (float64 backend)', () => {
  const engine = createCpuEngine();
  const next = centredStream(11);
  const n3 = 5;
  const a = tensor3(n3, 4, 3, Float64Array.from({ length: 60 }, next));
  const b = tensor3(n3, 3, 3, Float64Array.from({ length: 45 }, next));
  const v = tensor3(n3, 6, 3, Float64Array.from({ length: 90 }, next));
  const all = engine.index(circulantIndex(n3, false));
  const sel = [1, 2, 3];
  const some = engine.index(circulantIndex(n3, true, sel));

  it('equals the host t-product', async () => {
    const ta = engine.tensor(a.data, [n3, 4, 3]);
    const tb = engine.tensor(b.data, [n3, 3, 3]);
    const tv = engine.tensor(v.data, [n3, 6, 3]);
    const ab = tproductOp(ta, tb, all);
    expect(relToMax(await ab.data(), tproduct(a, b).data)).toBeLessThan(1e-14);
    const p = tproductTransposedSlices(unfoldLeft(ab), tv, some);
    const ref = tproduct(tproduct(a, b), ttranspose(v));
    expect(p.shape).toEqual([3, 4, 6]);
    expect(relToMax(await p.data(), ref.data.subarray(1 * 24, 4 * 24))).toBeLessThan(1e-14);
  });

  it('has gradients that match finite differences in every factor', async () => {
    // h = 1e-6 central differences on a polynomial of degree 3: truncation error ~1e-12, rounding ~1e-10.
    const err = await gradCheck(
      engine,
      ([x, y, z]: Tensor[]) => tproductTransposedSlices(unfoldLeft(tproductOp(x, y, all)), z, some),
      [{ shape: [n3, 4, 3] }, { shape: [n3, 3, 3] }, { shape: [n3, 6, 3] }],
    );
    expect(err).toBeLessThan(1e-7);
  });
});

describe.skipIf(!hasShared)('LoRA-PT factors vs ../shared/fixtures/lorapt_unetr_tiny', () => {
  if (!hasShared) it.skip(sharedMissing, () => {});
  const dir = 'lorapt_unetr_tiny';
  const meta = hasShared ? readJson<{ tensors: Record<string, { shape: number[]; slices: { param: string; rows?: number[]; role?: string }[] }> }>(dir, 'lorapt.json') : null;
  const tiny = new UNETR(createCpuEngine(), { inChannels: 1, outChannels: 3, imgSize: 32, featureSize: 8, hiddenSize: 64, mlpDim: 128, numHeads: 4 });

  it('builds the three tensors in the reference slice order ([O, Q, K, V] per block)', () => {
    const specs = loraptTensorSpecs(tiny);
    for (const spec of specs) {
      const ref = meta!.tensors[spec.name];
      expect([spec.slices.length, spec.n1, spec.n2]).toEqual(ref.shape);
      spec.slices.forEach((s, j) => {
        expect(s.param).toBe(ref.slices[j].param);
        expect([...s.rows]).toEqual(ref.slices[j].rows ?? [0, spec.n1]);
        expect(s.role).toBe(ref.slices[j].role);
      });
    }
  });

  for (const r of [1, 2]) {
    it(`reproduces Ur, Sr, Vr and W_res at rank ${r}`, async () => {
      const weights = fixtureWeights('unetr_tiny');
      const factors = readIndexed(dir, `r${r}_factors`);
      const residuals = readIndexed(dir, `r${r}_residual`);
      for (const spec of loraptTensorSpecs(tiny)) {
        const cache = new Map<string, Float32Array>();
        const slices = spec.slices.map((s) => {
          if (!cache.has(s.param)) cache.set(s.param, weights.read(s.param));
          return cache.get(s.param)!.subarray(s.rows[0] * spec.n2, s.rows[1] * spec.n2);
        });
        const f = await principalTSVD(slices, spec.n1, spec.n2, r);
        // Reference: float64 computation stored as float32 (relative rounding ≤ 6e-8); the SVDs
        // agree to ~1e-13 and the smallest gap s_r − s_{r+1} (0.03) keeps vectors well defined.
        expect(relToMax(f.ur.data, entryValues(factors, `${spec.name}.Ur`))).toBeLessThan(1e-6);
        expect(relToMax(f.sr.data, entryValues(factors, `${spec.name}.Sr`))).toBeLessThan(1e-6);
        expect(relToMax(f.vr.data, entryValues(factors, `${spec.name}.Vr`))).toBeLessThan(1e-6);
        const res = residual(slices, principalPart(f.ur, f.sr, f.vr));
        expect(relToMax(res.data, entryValues(residuals, `${spec.name}.W_res`))).toBeLessThan(1e-6);
      }
    });
  }
});
