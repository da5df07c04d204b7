import { describe, expect, it } from 'vitest';
import { jacobiSvd } from './jacobi';
import { lanczosSvd } from './lanczos';
import { adjoint, matrix, maxAbs, maxAbsDiff, reconstruct, type Matrix } from './matrix';
import { truncatedSvd } from './svd';
import { centredStream, randomMatrix } from './testing';
import { PeftConfigError } from '../errors';

/** (I − 2wwᴴ/‖w‖²)·A: a unitary map, applied in place on the left. */
function reflectRows(a: Matrix, seed: number): void {
  const next = centredStream(seed);
  const wr = Float64Array.from({ length: a.rows }, next);
  const wi = a.im ? Float64Array.from({ length: a.rows }, next) : null;
  let nn = 0;
  for (let i = 0; i < a.rows; i++) nn += wr[i] ** 2 + (wi ? wi[i] ** 2 : 0);
  for (let j = 0; j < a.cols; j++) {
    // d = wᴴ a_j
    let dr = 0;
    let di = 0;
    for (let i = 0; i < a.rows; i++) {
      const xr = a.re[i * a.cols + j];
      const xi = a.im ? a.im[i * a.cols + j] : 0;
      const w2 = wi ? wi[i] : 0;
      dr += wr[i] * xr + w2 * xi;
      di += wr[i] * xi - w2 * xr;
    }
    for (let i = 0; i < a.rows; i++) {
      const w2 = wi ? wi[i] : 0;
      a.re[i * a.cols + j] -= (2 / nn) * (wr[i] * dr - w2 * di);
      if (a.im) a.im[i * a.cols + j] -= (2 / nn) * (wr[i] * di + w2 * dr);
    }
  }
}

/** Q₁·diag(s)·Q₂ with Q's products of Householder reflections: singular values exactly s. */
function withSpectrum(rows: number, cols: number, s: readonly number[], complex: boolean, seed: number): Matrix {
  let a = matrix(rows, cols, complex);
  s.forEach((v, i) => (a.re[i * cols + i] = v));
  for (let t = 0; t < 3; t++) reflectRows(a, seed + t);
  a = adjoint(a);
  for (let t = 0; t < 3; t++) reflectRows(a, seed + 10 + t);
  return adjoint(a);
}

/** max |XᴴX − I| for the columns of X. */
function orthoError(x: Matrix): number {
  let e = 0;
  for (let p = 0; p < x.cols; p++) {
    for (let q = 0; q < x.cols; q++) {
      let dr = 0;
      let di = 0;
      for (let i = 0; i < x.rows; i++) {
        const pr = x.re[i * x.cols + p];
        const pi = x.im ? x.im[i * x.cols + p] : 0;
        const qr = x.re[i * x.cols + q];
        const qi = x.im ? x.im[i * x.cols + q] : 0;
        dr += pr * qr + pi * qi;
        di += pr * qi - pi * qr;
      }
      e = Math.max(e, Math.hypot(dr - (p === q ? 1 : 0), di));
    }
  }
  return e;
}

/** |u_c ᴴ u'_c| for matched columns: 1 when they span the same line (phase-free comparison). */
function alignment(a: Matrix, b: Matrix, c: number): number {
  let dr = 0;
  let di = 0;
  for (let i = 0; i < a.rows; i++) {
    const ar = a.re[i * a.cols + c];
    const ai = a.im ? a.im[i * a.cols + c] : 0;
    const br = b.re[i * b.cols + c];
    const bi = b.im ? b.im[i * b.cols + c] : 0;
    dr += ar * br + ai * bi;
    di += ar * bi - ai * br;
  }
  return Math.hypot(dr, di);
}

// Float64 throughout: reconstruction and orthogonality hold to ~n·eps ≈ 1e-13; 1e-11 leaves margin.
const EXACT = 1e-11;

describe('jacobiSvd', () => {
  for (const [rows, cols, complex] of [
    [9, 6, false],
    [6, 9, false],
    [17, 17, true],
    [12, 30, true],
  ] as const) {
    it(`factors a random ${complex ? 'complex' : 'real'} ${rows}×${cols} matrix`, () => {
      const a = randomMatrix(rows, cols, complex, rows * 100 + cols);
      const svd = jacobiSvd(a);
      expect(maxAbsDiff(reconstruct(svd), a) / maxAbs(a)).toBeLessThan(EXACT);
      expect(orthoError(svd.u)).toBeLessThan(EXACT);
      expect(orthoError(svd.v)).toBeLessThan(EXACT);
      for (let i = 1; i < svd.s.length; i++) expect(svd.s[i]).toBeLessThanOrEqual(svd.s[i - 1]);
      expect(svd.u.im === null).toBe(!complex);
    });
  }

  it('recovers a known spectrum', () => {
    const s = [5, 3, 2.5, 1, 0.5, 0.25, 0.125];
    const svd = jacobiSvd(withSpectrum(11, 7, s, true, 3));
    s.forEach((v, i) => expect(Math.abs(svd.s[i] - v)).toBeLessThan(1e-13 * 5));
  });

  it('keeps U orthonormal for a rank-deficient matrix', () => {
    const svd = jacobiSvd(withSpectrum(8, 5, [2, 1, 0, 0, 0], false, 9));
    expect(orthoError(svd.u)).toBeLessThan(1e-8);
  });
});

describe('lanczosSvd', () => {
  it('matches Jacobi on a real matrix with a decaying spectrum', () => {
    const s = Array.from({ length: 150 }, (_, i) => 10 / (1 + i) ** 0.7);
    const a = withSpectrum(200, 150, s, false, 21);
    const l = lanczosSvd(a, 3, { tol: 1e-12 });
    expect(l.converged).toBe(true);
    for (let i = 0; i < 3; i++) expect(Math.abs(l.s[i] - s[i]) / s[0]).toBeLessThan(1e-12);
    const j = jacobiSvd(a);
    for (let c = 0; c < 3; c++) {
      expect(1 - alignment(l.u, j.u, c)).toBeLessThan(1e-10);
      expect(1 - alignment(l.v, j.v, c)).toBeLessThan(1e-10);
    }
    expect(orthoError(l.u)).toBeLessThan(EXACT);
    expect(orthoError(l.v)).toBeLessThan(EXACT);
  });

  it('converges on a random complex matrix (clustered top of the spectrum)', () => {
    const a = randomMatrix(160, 120, true, 5);
    const l = lanczosSvd(a, 2, { tol: 1e-11 });
    expect(l.converged).toBe(true);
    const j = jacobiSvd(a);
    for (let i = 0; i < 2; i++) expect(Math.abs(l.s[i] - j.s[i]) / j.s[0]).toBeLessThan(1e-12);
    for (let c = 0; c < 2; c++) expect(1 - alignment(l.u, j.u, c)).toBeLessThan(1e-8);
  });

  it('finds the top triplets of a complex matrix with a clear spectrum, tall and wide', () => {
    const s = Array.from({ length: 110 }, (_, i) => (i < 3 ? 8 - 2 * i : 1 / (1 + i)));
    for (const [rows, cols] of [
      [130, 110],
      [110, 170],
    ] as const) {
      const a = withSpectrum(rows, cols, s, true, rows + cols);
      const l = lanczosSvd(a, 3, { tol: 1e-12 });
      expect(l.converged).toBe(true);
      for (let i = 0; i < 3; i++) expect(Math.abs(l.s[i] - s[i]) / s[0]).toBeLessThan(1e-13);
      const j = jacobiSvd(a);
      // Gaps of 2 against σ₁ = 8: vectors as accurate as the residual.
      for (let c = 0; c < 3; c++) {
        expect(1 - alignment(l.u, j.u, c)).toBeLessThan(1e-12);
        expect(1 - alignment(l.v, j.v, c)).toBeLessThan(1e-12);
      }
      expect(orthoError(l.u)).toBeLessThan(EXACT);
      expect(orthoError(l.v)).toBeLessThan(EXACT);
    }
  });

  it('measures its residual honestly on a flat spectrum (random complex matrix)', () => {
    // A random matrix's top singular values are close (relative gaps ~1e-2): the slow case.
    const a = randomMatrix(200, 150, true, 12);
    const j = jacobiSvd(a);
    for (const tol of [1e-6, 1e-10]) {
      const l = lanczosSvd(a, 2, { tol });
      expect(l.converged).toBe(true);
      // The reported residual is ‖Aᴴu − σv‖/σ₁ recomputed here from the returned triplets.
      let worst = 0;
      for (let c = 0; c < 2; c++) {
        const u = matrix(200, 1, true);
        for (let i = 0; i < 200; i++) [u.re[i], u.im![i]] = [l.u.re[i * 2 + c], l.u.im![i * 2 + c]];
        let sq = 0;
        for (let col = 0; col < 150; col++) {
          let re = 0;
          let im = 0;
          for (let i = 0; i < 200; i++) {
            // conj(a[i, col])·u[i]
            const ar = a.re[i * 150 + col];
            const ai = a.im![i * 150 + col];
            re += ar * u.re[i] + ai * u.im![i];
            im += ar * u.im![i] - ai * u.re[i];
          }
          re -= l.s[c] * l.v.re[col * 2 + c];
          im -= l.s[c] * l.v.im![col * 2 + c];
          sq += re * re + im * im;
        }
        worst = Math.max(worst, Math.sqrt(sq) / l.s[0]);
      }
      expect(Math.abs(worst - l.residual)).toBeLessThan(1e-12);
      expect(worst).toBeLessThanOrEqual(tol);
      // σ is second order in the residual: exact to rounding even at tol 1e-6.
      for (let i = 0; i < 2; i++) expect(Math.abs(l.s[i] - j.s[i]) / j.s[0]).toBeLessThan(1e-11);
    }
  });

  it('handles wide matrices', () => {
    const a = randomMatrix(40, 130, true, 8);
    const l = lanczosSvd(a, 1, { tol: 1e-12 });
    const j = jacobiSvd(a);
    expect(Math.abs(l.s[0] - j.s[0]) / j.s[0]).toBeLessThan(1e-12);
    expect(1 - alignment(l.v, j.v, 0)).toBeLessThan(1e-10);
  });
});

describe('truncatedSvd', () => {
  it('applies the phase convention: the largest-modulus entry of each U column is real and positive', () => {
    for (const size of [40, 140]) {
      const a = randomMatrix(size, size, true, size);
      const t = truncatedSvd(a, 2, { tol: 1e-12 });
      expect(t.method).toBe(size <= 96 ? 'jacobi' : 'lanczos');
      for (let c = 0; c < 2; c++) {
        let best = 0;
        let at = 0;
        for (let i = 0; i < size; i++) {
          const m = Math.hypot(t.u.re[i * 2 + c], t.u.im![i * 2 + c]);
          if (m > best) [best, at] = [m, i];
        }
        expect(t.u.re[at * 2 + c]).toBeGreaterThan(0);
        expect(t.u.im![at * 2 + c]).toBe(0);
      }
      // The convention does not change the product.
      const j = jacobiSvd(a);
      const top = reconstruct({ u: t.u, s: t.s, v: t.v });
      const ref = reconstruct({ u: j.u, s: j.s.map((v, i) => (i < 2 ? v : 0)), v: j.v });
      expect(maxAbsDiff(top, ref) / maxAbs(ref)).toBeLessThan(1e-9);
    }
  });

  it('refuses a rank larger than the matrix allows', () => {
    expect(() => truncatedSvd(randomMatrix(5, 3, false, 1), 4, { what: 'W_sa' })).toThrow(PeftConfigError);
    expect(() => truncatedSvd(randomMatrix(5, 3, false, 1), 4, { what: 'W_sa' })).toThrow(/rank 4 is larger than this 5×3 weight allows \(at most 3\)/);
    expect(() => truncatedSvd(randomMatrix(5, 3, false, 1), 0)).toThrow(/positive integer/);
  });
});
