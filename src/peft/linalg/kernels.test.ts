import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { assembleKernels, binaryModuleSource } from './assemble-kernels';
import { GramOperator, vec, type Vec } from './gram';
import type { Matrix } from './matrix';
import { randomMatrix, randomVec } from './testing';

/** A·x by the definition. */
function plainMul(a: Matrix, x: Vec): Vec {
  const y = vec(a.rows, a.im !== null);
  for (let i = 0; i < a.rows; i++) {
    for (let j = 0; j < a.cols; j++) {
      const ar = a.re[i * a.cols + j];
      const ai = a.im ? a.im[i * a.cols + j] : 0;
      const xi = x.im ? x.im[j] : 0;
      y.re[i] += ar * x.re[j] - ai * xi;
      if (y.im) y.im[i] += ar * xi + ai * x.re[j];
    }
  }
  return y;
}

/** Aᴴ·y by the definition. */
function plainMulAdjoint(a: Matrix, y: Vec): Vec {
  const x = vec(a.cols, a.im !== null);
  for (let i = 0; i < a.rows; i++) {
    for (let j = 0; j < a.cols; j++) {
      const ar = a.re[i * a.cols + j];
      const ai = a.im ? a.im[i * a.cols + j] : 0;
      const yi = y.im ? y.im[i] : 0;
      x.re[j] += ar * y.re[i] + ai * yi;
      if (x.im) x.im[j] += ar * yi - ai * y.re[i];
    }
  }
  return x;
}

/** max |a − b| / max |b| over real and imaginary parts. */
function relErr(a: Vec, b: Vec): number {
  let d = 0;
  let m = 0;
  for (const [p, q] of [[a.re, b.re], [a.im, b.im]] as const) {
    if (!p || !q) continue;
    for (let i = 0; i < q.length; i++) {
      d = Math.max(d, Math.abs(p[i] - q[i]));
      m = Math.max(m, Math.abs(q[i]));
    }
  }
  return d / m;
}

describe('SIMD kernels', () => {
  it('are the assembly of kernels.wat (kernels-binary.ts is up to date: npm run build:kernels)', async () => {
    const committed = readFileSync(new URL('./kernels-binary.ts', import.meta.url), 'utf8');
    expect(committed).toBe(binaryModuleSource(await assembleKernels()));
  });

  // Float64 sums of ≤ 40 products of values ≤ 0.5 in a different order: agreement to ~1e-15
  // relative; 1e-13 leaves margin and still catches any wrong index or sign.
  const TOL = 1e-13;
  for (const [rows, cols] of [
    [2, 2],
    [7, 5],
    [6, 9],
    [33, 18],
    [1, 40],
  ] as const) {
    for (const complex of [false, true]) {
      it(`multiply a ${complex ? 'complex' : 'real'} ${rows}×${cols} matrix: A·x and Aᴴ·A·x`, () => {
        const a = randomMatrix(rows, cols, complex, rows * 100 + cols);
        const op = new GramOperator(a);
        const x = randomVec(cols, complex, 7);
        const y = vec(rows, complex);
        op.mul(x, y);
        expect(relErr(y, plainMul(a, x))).toBeLessThan(TOL);
        const g = vec(cols, complex);
        op.gram(x, g);
        expect(relErr(g, plainMulAdjoint(a, plainMul(a, x)))).toBeLessThan(TOL);
        // A second product starts from zero, not from the first one's output.
        op.gram(x, g);
        expect(relErr(g, plainMulAdjoint(a, plainMul(a, x)))).toBeLessThan(TOL);
      });
    }
  }
});
