/**
 * conv3d and its two gradients (im2col tiles + GEMM) against the definition written as one
 * naive loop over every (output, tap) pair. The two sum in different orders, so they may differ
 * by float64 rounding only: each result s of n products t_i is within γ_n·Σ|t_i| of the exact
 * sum (γ_n = n·u/(1 − n·u), u = 2⁻⁵³; Higham, Accuracy and Stability, §3.1), whatever the order,
 * so the two may differ by 2·γ_n·Σ|t_i| per element. A wrong tap or a missed chunk is off by a
 * whole product, far beyond that; outputs no tap reaches must be exactly 0.
 */
import { describe, expect, it } from 'vitest';
import type { ConvSpec } from '../backend';
import { conv3d, conv3dBackwardData, conv3dBackwardFilter, TILE_ELEMENTS } from './conv';
import { uniformArray } from './testing';

const U = 2 ** -53;
const gamma = (n: number) => (n * U) / (1 - n * U);

/** A value per element with the Σ|products| and the count of products behind it. */
interface Reference {
  value: Float64Array;
  absSum: Float64Array;
  terms: number;
}

const reference = (n: number): Reference => ({ value: new Float64Array(n), absSum: new Float64Array(n), terms: 0 });

/** y = conv(x, w), dx and dw for upstream g, straight from y[n,co,o] = Σ_{ci,k} w[co,ci,k]·x[n,ci,o·s − p + k·d]. */
function naive(s: ConvSpec, x: Float64Array, w: Float64Array, g: Float64Array): { y: Reference; dx: Reference; dw: Reference } {
  const [ID, IH, IW] = s.inShape;
  const [OD, OH, OW] = s.outShape;
  const [KD, KH, KW] = s.kernel;
  const y = reference(s.N * s.Co * OD * OH * OW);
  const dx = reference(x.length);
  const dw = reference(w.length);
  const yTerms = new Uint32Array(y.value.length);
  const dxTerms = new Uint32Array(dx.value.length);
  const dwTerms = new Uint32Array(dw.value.length);
  const add = (r: Reference, counts: Uint32Array, i: number, a: number, b: number) => {
    r.value[i] += a * b;
    r.absSum[i] += Math.abs(a * b);
    counts[i]++;
  };
  for (let n = 0; n < s.N; n++) for (let co = 0; co < s.Co; co++) for (let od = 0; od < OD; od++) for (let oh = 0; oh < OH; oh++) for (let ow = 0; ow < OW; ow++) {
    const yi = (((n * s.Co + co) * OD + od) * OH + oh) * OW + ow;
    for (let ci = 0; ci < s.Ci; ci++) for (let kd = 0; kd < KD; kd++) for (let kh = 0; kh < KH; kh++) for (let kw = 0; kw < KW; kw++) {
      const id = od * s.stride[0] - s.padding[0] + kd * s.dilation[0];
      const ih = oh * s.stride[1] - s.padding[1] + kh * s.dilation[1];
      const iw = ow * s.stride[2] - s.padding[2] + kw * s.dilation[2];
      if (id < 0 || ih < 0 || iw < 0 || id >= ID || ih >= IH || iw >= IW) continue;
      const xi = (((n * s.Ci + ci) * ID + id) * IH + ih) * IW + iw;
      const wi = (((co * s.Ci + ci) * KD + kd) * KH + kh) * KW + kw;
      add(y, yTerms, yi, w[wi], x[xi]);
      add(dx, dxTerms, xi, w[wi], g[yi]);
      add(dw, dwTerms, wi, g[yi], x[xi]);
    }
  }
  y.terms = Math.max(...yTerms);
  dx.terms = Math.max(...dxTerms);
  dw.terms = Math.max(...dwTerms);
  return { y, dx, dw };
}

function expectWithinRounding(got: Float64Array, want: Reference): void {
  expect(got.length).toBe(want.value.length);
  const bound = 2 * gamma(want.terms + 1);
  let worst = 0;
  for (let i = 0; i < got.length; i++) {
    const err = Math.abs(got[i] - want.value[i]);
    if (want.absSum[i] === 0) expect(got[i], `element ${i} no tap reaches`).toBe(0);
    else worst = Math.max(worst, err / (bound * want.absSum[i]));
  }
  expect(worst).toBeLessThanOrEqual(1);
}

function spec(N: number, Ci: number, Co: number, inShape: number[], kernel: number[], stride: number[], padding: number[], dilation: number[]): ConvSpec {
  const outShape = inShape.map((n, i) => Math.floor((n + 2 * padding[i] - dilation[i] * (kernel[i] - 1) - 1) / stride[i]) + 1);
  const t = (a: number[]) => a as unknown as [number, number, number];
  return { N, Ci, Co, inShape: t(inShape), outShape: t(outShape), kernel: t(kernel), stride: t(stride), padding: t(padding), dilation: t(dilation) };
}

const cases: { name: string; s: ConvSpec }[] = [
  { name: 'k3 s1 p1, N 2', s: spec(2, 3, 5, [4, 5, 6], [3, 3, 3], [1, 1, 1], [1, 1, 1], [1, 1, 1]) },
  { name: 'k3 s2 p0, anisotropic, odd sizes', s: spec(1, 2, 3, [7, 5, 9], [3, 3, 3], [2, 2, 2], [0, 0, 0], [1, 1, 1]) },
  { name: 'k3 s2 p1, N 2', s: spec(2, 2, 3, [5, 6, 7], [3, 3, 3], [2, 2, 2], [1, 1, 1], [1, 1, 1]) },
  { name: 'k3 dilation 2 p1', s: spec(1, 2, 3, [6, 7, 5], [3, 3, 3], [1, 1, 1], [1, 1, 1], [2, 2, 2]) },
  { name: 'k3 dilation 2 p2 stride 2, N 2', s: spec(2, 1, 2, [7, 6, 8], [3, 3, 3], [2, 2, 2], [2, 2, 2], [2, 2, 2]) },
  { name: 'k1, N 2', s: spec(2, 5, 3, [3, 4, 5], [1, 1, 1], [1, 1, 1], [0, 0, 0], [1, 1, 1]) },
  { name: 'k1 stride 2 p1 (outputs in the padding)', s: spec(1, 3, 2, [4, 5, 3], [1, 1, 1], [2, 2, 2], [1, 1, 1], [1, 1, 1]) },
  { name: 'anisotropic kernel 3×1×2, stride 1×2×1, padding 0×1×1', s: spec(1, 2, 4, [5, 4, 6], [3, 1, 2], [1, 2, 1], [0, 1, 1], [1, 1, 1]) },
  { name: 'k2 s2 (patch embed), N 2', s: spec(2, 1, 3, [4, 6, 4], [2, 2, 2], [2, 2, 2], [0, 0, 0], [1, 1, 1]) },
  // 40·27 = 1080 taps: chunks of ⌊2¹⁷/1080⌋ = 121 positions, so the 8·7·10 outputs span several
  // chunks whose edges cut output rows.
  { name: 'many taps: several chunks cutting output rows, N 2', s: spec(2, 40, 3, [8, 7, 10], [3, 3, 3], [1, 1, 1], [1, 1, 1], [1, 1, 1]) },
];

describe('cpu conv3d (im2col + GEMM)', () => {
  for (const { name, s } of cases) {
    it(`${name}: forward, data and filter gradients`, () => {
      const x = uniformArray(s.N * s.Ci * s.inShape.reduce((a, b) => a * b), 1);
      const w = uniformArray(s.Co * s.Ci * s.kernel.reduce((a, b) => a * b), 2);
      const g = uniformArray(s.N * s.Co * s.outShape.reduce((a, b) => a * b), 3);
      const want = naive(s, x, w, g);
      expectWithinRounding(conv3d(x, w, s), want.y);
      expectWithinRounding(conv3dBackwardData(g, w, s), want.dx);
      expectWithinRounding(conv3dBackwardFilter(g, x, s), want.dw);
    });
  }

  it('the many-taps case really spans several chunks', () => {
    const { s } = cases[cases.length - 1];
    const taps = s.Ci * 27;
    expect(s.outShape.reduce((a, b) => a * b)).toBeGreaterThan(3 * Math.floor(TILE_ELEMENTS / taps));
    expect(Math.floor(TILE_ELEMENTS / taps) % s.outShape[2]).not.toBe(0);
  });
});
