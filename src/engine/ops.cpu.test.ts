/**
 * The float64 reference backend: forward against independent naive formulas written here,
 * backward against central finite differences (h = 1e-6; truncation ~h², rounding ~1e-16/h,
 * so analytic and numeric gradients agree to ~1e-8 relative; we allow 1e-6).
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  add, attention, concat, conv3d, convTranspose3d, createCpuEngine, crossEntropy, diceLoss, diceLossTerms, div, exp, gatherRows, gelu,
  layerNorm, instanceNorm, leakyRelu, linear, log, logSoftmax, matmul, mean, mul, oneHot, pad, permute, randnArray, relu, reshape, roll, rsqrt,
  scale, sigmoid, slice, softmax, split, sqrt, square, sub, sum, tanh, erf, abs, reciprocal, broadcastTo, windowPartition, windowReverse,
  patchMergeGather, relativePositionIndex, shiftedWindowMask, MERGE_ORDER, ShapeError, type Tensor,
} from './index';
import { erf as erf64, erfc as erfc64, normalCdf } from './cpu/math';
import { gradCheck, relErr, type InputSpec } from './testing/check';
import { fixturesDir, hasShared } from '../testing/shared';

const e = createCpuEngine();
const FD_TOL = 1e-6;
/** Forward results are float64 on both sides of the comparison: only summation order differs. */
const FWD_TOL = 1e-12;

async function values(t: Tensor): Promise<Float64Array> {
  const v = Float64Array.from(await t.data());
  t.dispose();
  return v;
}

async function checkGrad(f: (xs: Tensor[]) => Tensor, specs: InputSpec[], seed = 1): Promise<void> {
  expect(await gradCheck(e, f, specs, seed)).toBeLessThan(FD_TOL);
}

/** Random values kept at least 0.05 away from 0 so finite differences never straddle a kink. */
function awayFromZero(n: number, seed: number): Float64Array {
  return randnArray(n, seed).map((v) => (Math.abs(v) < 0.05 ? v + 0.1 * Math.sign(v || 1) : v));
}

describe('cpu math', () => {
  it('erf matches Python math.erf across both branches', () => {
    // Values printed by /usr/bin/python3 `math.erf` (correctly rounded libm).
    const ref: [number, number][] = [
      [1e-5, 1.1283791670579e-5], [0.3, 0.3286267594591274], [0.5, 0.5204998778130465], [1, 0.8427007929497149],
      [2, 0.9953222650189527], [2.9, 0.9999589021219005], [3, 0.9999779095030014], [3.5, 0.9999992569016276],
      [4.5, 0.9999999998033839], [6, 1], [-1.3, -0.9340079449406524],
    ];
    for (const [x, y] of ref) expect(Math.abs(erf64(x) - y)).toBeLessThan(2e-16 * Math.max(1, Math.abs(y)) * 4);
  });

  it('erfc and the normal CDF keep their relative accuracy in the tails (GELU on x < 0)', () => {
    // scipy.special.erfc and ndtr (/usr/bin/python3): ½(1 + erf) would lose them entirely past x ≈ −8.
    const erfcRef: [number, number][] = [[0.5, 0.4795001221869535], [2, 0.004677734981047266], [3, 2.2090496998585445e-5], [5, 1.5374597944280347e-12], [10, 2.0884875837625446e-45], [26, 5.663192408856145e-296]];
    for (const [x, y] of erfcRef) expect(Math.abs(erfc64(x) - y) / y, `erfc ${x}`).toBeLessThan(1e-11);
    const cdfRef: [number, number][] = [[-3, 0.0013498980316300933], [-5, 2.866515718791933e-7], [-10, 7.61985302416047e-24], [-20, 2.7536241186061556e-89], [-37, 5.7255712225239266e-300]];
    for (const [x, y] of cdfRef) expect(Math.abs(normalCdf(x) - y) / y, `Φ(${x})`).toBeLessThan(1e-11);
  });
});

describe('elementwise', () => {
  const n = 24;
  const cases: [string, (x: Tensor) => Tensor, (x: number) => number][] = [
    ['exp', exp, Math.exp],
    ['sigmoid', sigmoid, (x) => 1 / (1 + Math.exp(-x))],
    ['tanh', tanh, Math.tanh],
    ['relu', relu, (x) => Math.max(x, 0)],
    ['leakyRelu', (x) => leakyRelu(x, 0.01), (x) => (x > 0 ? x : 0.01 * x)],
    ['gelu', gelu, (x) => 0.5 * x * (1 + erf64(x / Math.SQRT2))],
    ['erf', erf, erf64],
    ['square', square, (x) => x * x],
    ['abs', abs, Math.abs],
    ['scale', (x) => scale(x, -2.5), (x) => -2.5 * x],
  ];
  for (const [name, f, ref] of cases) {
    it(`${name}: forward and gradient`, async () => {
      const data = awayFromZero(n, 3);
      const y = await values(f(e.tensor(data, [n])));
      expect(relErr(y, data.map(ref))).toBeLessThan(FWD_TOL);
      await checkGrad(([x]) => f(x), [{ shape: [n], data }]);
    });
  }
  it('log, sqrt, rsqrt, reciprocal on positive inputs', async () => {
    const data = randnArray(10, 5).map((v) => 0.5 + Math.abs(v));
    for (const [f, ref] of [[log, Math.log], [sqrt, Math.sqrt], [rsqrt, (x: number) => 1 / Math.sqrt(x)], [reciprocal, (x: number) => 1 / x]] as const) {
      expect(relErr(await values(f(e.tensor(data, [10]))), data.map(ref))).toBeLessThan(FWD_TOL);
      await checkGrad(([x]) => f(x), [{ shape: [10], data }]);
    }
  });
  it('binary ops broadcast like NumPy and reduce gradients back', async () => {
    const a = randnArray(2 * 3 * 4, 1);
    const b = randnArray(3 * 1, 2).map((v) => v + 3);
    const y = await values(div(e.tensor(a, [2, 3, 4]), e.tensor(b, [3, 1])));
    const ref = a.map((v, i) => v / b[Math.floor(i / 4) % 3]);
    expect(relErr(y, ref)).toBeLessThan(FWD_TOL);
    for (const f of [add, sub, mul, div]) {
      await checkGrad(([x, z]) => f(x, z), [{ shape: [2, 3, 4] }, { shape: [3, 1], data: b }]);
      await checkGrad(([x, z]) => f(x, z), [{ shape: [1, 4], data: [2.5, 3, 3.5, 4] }, { shape: [2, 3, 1], data: randnArray(6, 9).map((v) => v + 4) }]);
    }
  });
});

describe('reductions', () => {
  it('sum and mean over axes, keepDims', async () => {
    const a = randnArray(2 * 3 * 5, 4);
    const s = await values(sum(e.tensor(a, [2, 3, 5]), [0, 2]));
    const ref = [0, 1, 2].map((j) => {
      let t = 0;
      for (let i = 0; i < 2; i++) for (let k = 0; k < 5; k++) t += a[(i * 3 + j) * 5 + k];
      return t;
    });
    expect(relErr(s, ref)).toBeLessThan(FWD_TOL);
    const m = e.tensor(a, [2, 3, 5]);
    const mm = mean(m, 1, true);
    expect(mm.shape).toEqual([2, 1, 5]);
    mm.dispose();
    m.dispose();
    await checkGrad(([x]) => sum(x, [1]), [{ shape: [2, 3, 5] }]);
    await checkGrad(([x]) => mean(x), [{ shape: [4, 3] }]);
    await checkGrad(([x]) => broadcastTo(x, [2, 3, 4]), [{ shape: [3, 1] }]);
  });
});

describe('matmul', () => {
  function naive(a: Float64Array, b: Float64Array, M: number, N: number, K: number, ta: boolean, tb: boolean): Float64Array {
    const c = new Float64Array(M * N);
    for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) for (let k = 0; k < K; k++) c[i * N + j] += (ta ? a[k * M + i] : a[i * K + k]) * (tb ? b[j * K + k] : b[k * N + j]);
    return c;
  }
  for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]]) {
    it(`transA=${ta} transB=${tb}, odd sizes, batch broadcast`, async () => {
      const [M, N, K] = [5, 7, 3];
      const a = randnArray(2 * M * K, 1);
      const b = randnArray(K * N, 2);
      const y = await values(matmul(e.tensor(a, [2, ...(ta ? [K, M] : [M, K])]), e.tensor(b, tb ? [N, K] : [K, N]), { transA: ta, transB: tb }));
      const ref = new Float64Array([...naive(a.subarray(0, M * K), b, M, N, K, ta, tb), ...naive(a.subarray(M * K), b, M, N, K, ta, tb)]);
      expect(relErr(y, ref)).toBeLessThan(FWD_TOL);
      await checkGrad(([x, z]) => matmul(x, z, { transA: ta, transB: tb }), [{ shape: [2, ...(ta ? [K, M] : [M, K])] }, { shape: tb ? [N, K] : [K, N] }]);
      await checkGrad(([x, z]) => matmul(x, z, { transA: ta, transB: tb }), [{ shape: ta ? [K, M] : [M, K] }, { shape: [3, 1, ...(tb ? [N, K] : [K, N])] }]);
    });
  }
  it('linear matches x·wᵀ + b and rejects mismatched weights by name', async () => {
    await checkGrad(([x, w, b]) => linear(x, w, b), [{ shape: [2, 3, 4] }, { shape: [5, 4] }, { shape: [5] }]);
    const x = e.tensor(randnArray(8, 1), [2, 4]);
    const w = e.param(randnArray(15, 2), [5, 3], 'vit.blocks.0.mlp.linear1.weight');
    expect(() => linear(x, w)).toThrow(/vit\.blocks\.0\.mlp\.linear1\.weight/);
    expect(() => matmul(x, w)).toThrow(ShapeError);
    x.dispose();
    w.dispose();
  });
});

describe('shape ops', () => {
  it('permute, slice with steps, pad, concat, split, roll: forward by index and gradients', async () => {
    const a = randnArray(2 * 3 * 4, 1);
    const t = e.tensor(a, [2, 3, 4]);
    const p = await values(permute(t, [2, 0, 1]));
    expect(p[((3 * 2 + 1) * 3) + 2]).toBe(a[(1 * 3 + 2) * 4 + 3]);
    const s = await values(slice(t, [null, [1, undefined, 2], [-3, 4]]));
    expect(Array.from(s)).toEqual([a[4 + 1], a[4 + 2], a[4 + 3], a[12 + 4 + 1], a[12 + 4 + 2], a[12 + 4 + 3]]);
    const r = await values(roll(t, [1, -1], [1, 2]));
    expect(r[(0 * 3 + 1) * 4 + 0]).toBe(a[(0 * 3 + 0) * 4 + 1]);
    const pd = await values(pad(t, [[0, 0], [1, 0], [0, 2]]));
    expect(pd.length).toBe(2 * 4 * 6);
    expect(pd[(0 * 4 + 1) * 6 + 0]).toBe(a[0]);
    expect(pd[(0 * 4 + 0) * 6 + 0]).toBe(0);
    t.dispose();
    await checkGrad(([x]) => permute(x, [2, 0, 1]), [{ shape: [2, 3, 4] }]);
    await checkGrad(([x]) => slice(x, [null, [1, undefined, 2], [-3, 4]]), [{ shape: [2, 3, 4] }]);
    await checkGrad(([x]) => pad(x, [[0, 1], [2, 0]]), [{ shape: [2, 3] }]);
    await checkGrad(([x, y]) => concat([x, y, x], 1), [{ shape: [2, 3] }, { shape: [2, 1] }]);
    await checkGrad(([x]) => mul(split(x, [1, 2], 0)[1], split(x, [2, 1], 0)[0]), [{ shape: [3, 2] }]);
    await checkGrad(([x]) => roll(x, [2, -3], [0, 2]), [{ shape: [3, 2, 4] }]);
    await checkGrad(([x]) => reshape(x, [-1, 2]), [{ shape: [3, 2, 2] }]);
  });
});

describe('normalisation and softmax', () => {
  it('softmax / logSoftmax along a middle axis match the direct formula', async () => {
    const a = randnArray(2 * 3 * 4, 2).map((v) => 5 * v);
    const y = await values(softmax(e.tensor(a, [2, 3, 4]), 1));
    const ly = await values(logSoftmax(e.tensor(a, [2, 3, 4]), 1));
    for (let n = 0; n < 2; n++) {
      for (let k = 0; k < 4; k++) {
        const z = [0, 1, 2].map((c) => Math.exp(a[(n * 3 + c) * 4 + k]));
        const s = z[0] + z[1] + z[2];
        for (let c = 0; c < 3; c++) {
          expect(Math.abs(y[(n * 3 + c) * 4 + k] - z[c] / s)).toBeLessThan(1e-15);
          expect(Math.abs(ly[(n * 3 + c) * 4 + k] - Math.log(z[c] / s))).toBeLessThan(1e-13);
        }
      }
    }
    await checkGrad(([x]) => softmax(x, 1), [{ shape: [2, 3, 4] }]);
    await checkGrad(([x]) => logSoftmax(x, -1), [{ shape: [3, 5] }]);
  });
  it('layerNorm and instanceNorm match two-pass mean/variance (biased, eps 1e-5)', async () => {
    const a = randnArray(3 * 7, 5).map((v) => 3 + 2 * v);
    const y = await values(layerNorm(e.tensor(a, [3, 7]), null, null));
    for (let r = 0; r < 3; r++) {
      const row = Array.from(a.subarray(r * 7, r * 7 + 7));
      const m = row.reduce((s, v) => s + v, 0) / 7;
      const v = row.reduce((s, x) => s + (x - m) ** 2, 0) / 7;
      row.forEach((x, i) => expect(Math.abs(y[r * 7 + i] - (x - m) / Math.sqrt(v + 1e-5))).toBeLessThan(1e-13));
    }
    await checkGrad(([x, w, b]) => layerNorm(x, w, b), [{ shape: [2, 3, 5] }, { shape: [5] }, { shape: [5] }]);
    await checkGrad(([x]) => instanceNorm(x), [{ shape: [2, 2, 3, 2, 3] }]);
  });
});

describe('conv3d', () => {
  function naiveConv(x: Float64Array, w: Float64Array, xs: number[], ws: number[], st: number[], pd: number[], dl: number[]): { y: Float64Array; os: number[] } {
    const [N, Ci, D, H, W] = xs;
    const [Co, , KD, KH, KW] = ws;
    const os = [D, H, W].map((n, i) => Math.floor((n + 2 * pd[i] - dl[i] * ([KD, KH, KW][i] - 1) - 1) / st[i]) + 1);
    const y = new Float64Array(N * Co * os[0] * os[1] * os[2]);
    for (let n = 0; n < N; n++) for (let co = 0; co < Co; co++) for (let od = 0; od < os[0]; od++) for (let oh = 0; oh < os[1]; oh++) for (let ow = 0; ow < os[2]; ow++) {
      let acc = 0;
      for (let ci = 0; ci < Ci; ci++) for (let a = 0; a < KD; a++) for (let b = 0; b < KH; b++) for (let c = 0; c < KW; c++) {
        const i = od * st[0] - pd[0] + a * dl[0];
        const j = oh * st[1] - pd[1] + b * dl[1];
        const k = ow * st[2] - pd[2] + c * dl[2];
        if (i < 0 || j < 0 || k < 0 || i >= D || j >= H || k >= W) continue;
        acc += w[((((co * Ci + ci) * KD + a) * KH + b) * KW) + c] * x[(((n * Ci + ci) * D + i) * H + j) * W + k];
      }
      y[(((n * Co + co) * os[0] + od) * os[1] + oh) * os[2] + ow] = acc;
    }
    return { y, os };
  }
  const configs: { name: string; x: number[]; w: number[]; stride: number[]; padding: number[]; dilation: number[] }[] = [
    { name: 'k3 s1 p1 (UnetResBlock)', x: [1, 2, 4, 3, 5], w: [3, 2, 3, 3, 3], stride: [1, 1, 1], padding: [1, 1, 1], dilation: [1, 1, 1] },
    { name: 'k2 s2 (Swin patch embed), batch 2', x: [2, 1, 4, 4, 6], w: [2, 1, 2, 2, 2], stride: [2, 2, 2], padding: [0, 0, 0], dilation: [1, 1, 1] },
    { name: 'k4 s4 (UNETR patch embed, scaled down)', x: [1, 1, 8, 4, 8], w: [3, 1, 4, 4, 4], stride: [4, 4, 4], padding: [0, 0, 0], dilation: [1, 1, 1] },
    { name: 'k3 s2 p1 odd sizes, anisotropic', x: [1, 2, 5, 3, 4], w: [2, 2, 3, 1, 3], stride: [2, 1, 2], padding: [1, 0, 1], dilation: [1, 1, 1] },
    { name: 'k3 dilation 2', x: [1, 1, 5, 5, 5], w: [2, 1, 3, 3, 3], stride: [1, 1, 1], padding: [2, 2, 2], dilation: [2, 2, 2] },
    { name: 'k1 (1×1×1 projection)', x: [1, 3, 2, 3, 2], w: [4, 3, 1, 1, 1], stride: [1, 1, 1], padding: [0, 0, 0], dilation: [1, 1, 1] },
  ];
  for (const c of configs) {
    it(`${c.name}: forward vs naive, gradients of x, w, bias`, async () => {
      const xd = randnArray(c.x.reduce((a, b) => a * b), 1);
      const wd = randnArray(c.w.reduce((a, b) => a * b), 2);
      const opts = { stride: c.stride as [number, number, number], padding: c.padding as [number, number, number], dilation: c.dilation as [number, number, number] };
      const y = await values(conv3d(e.tensor(xd, c.x), e.tensor(wd, c.w), null, opts));
      expect(relErr(y, naiveConv(xd, wd, c.x, c.w, c.stride, c.padding, c.dilation).y)).toBeLessThan(FWD_TOL);
      await checkGrad(([x, w, b]) => conv3d(x, w, b, opts), [{ shape: c.x }, { shape: c.w }, { shape: [c.w[0]] }]);
    });
  }
  it('convTranspose3d k2 s2 matches the scatter definition', async () => {
    const xs = [1, 3, 2, 1, 3];
    const ws = [3, 2, 2, 2, 2];
    const xd = randnArray(18, 3);
    const wd = randnArray(48, 4);
    const y = await values(convTranspose3d(e.tensor(xd, xs), e.tensor(wd, ws), null));
    const ref = new Float64Array(2 * 4 * 2 * 6);
    for (let ci = 0; ci < 3; ci++) for (let co = 0; co < 2; co++) for (let d = 0; d < 2; d++) for (let h = 0; h < 1; h++) for (let w = 0; w < 3; w++) for (let a = 0; a < 2; a++) for (let b = 0; b < 2; b++) for (let c = 0; c < 2; c++) {
      ref[((co * 4 + 2 * d + a) * 2 + 2 * h + b) * 6 + 2 * w + c] += xd[((ci * 2 + d) * 1 + h) * 3 + w] * wd[(((ci * 2 + co) * 2 + a) * 2 + b) * 2 + c];
    }
    expect(relErr(y, ref)).toBeLessThan(FWD_TOL);
    await checkGrad(([x, w, b]) => convTranspose3d(x, w, b), [{ shape: [2, 3, 2, 1, 3] }, { shape: ws }, { shape: [2] }]);
  });
  it('names the mismatched tensor', () => {
    const x = e.tensor(new Float64Array(2 * 8), [1, 2, 2, 2, 2]);
    const w = e.param(new Float64Array(27 * 3), [1, 3, 3, 3, 3], 'encoder1.layer.conv1.conv.weight');
    expect(() => conv3d(x, w, null)).toThrow(/encoder1\.layer\.conv1\.conv\.weight.*3 input channels/);
    x.dispose();
    w.dispose();
  });
});

describe('attention and Swin blocks', () => {
  it('gatherRows forward and scatter-add backward', async () => {
    const idx = e.index([2, 0, 2, 1, 2]);
    const t = await values(gatherRows(e.tensor([1, 2, 3, 4, 5, 6], [3, 2]), idx));
    expect(Array.from(t)).toEqual([5, 6, 1, 2, 5, 6, 3, 4, 5, 6]);
    await checkGrad(([x]) => gatherRows(x, idx), [{ shape: [3, 2] }]);
    expect(() => gatherRows(e.tensor([1, 2], [1, 2]), idx)).toThrow(/out of range/);
    idx.dispose();
  });
  it('attention with a broadcast bias: gradients of q, k, v, bias', async () => {
    await checkGrad(([q, k, v, b]) => attention(q, k, v, { bias: b }), [{ shape: [2, 3, 5, 4] }, { shape: [2, 3, 6, 4] }, { shape: [2, 3, 6, 2] }, { shape: [3, 5, 6] }]);
  });
  it('window partition / reverse round-trip and follow MONAI order', async () => {
    const a = randnArray(1 * 4 * 2 * 4 * 3, 7);
    const x = e.tensor(a, [1, 4, 2, 4, 3]);
    const w = windowPartition(x, [2, 2, 2]);
    expect(w.shape).toEqual([4, 8, 3]);
    const wv = await w.data();
    // window 1 is (d-block 0, h-block 0, w-block 1); its token 3 is (d 0, h 1, w 1) → voxel (0, 1, 3).
    expect(wv[(1 * 8 + 3) * 3 + 2]).toBe(a[((0 * 2 + 1) * 4 + 3) * 3 + 2]);
    const back = await values(windowReverse(w, [2, 2, 2], [1, 4, 2, 4]));
    expect(Array.from(back)).toEqual(Array.from(a));
    w.dispose();
    x.dispose();
    await checkGrad(([x]) => windowPartition(roll(x, [-1, -1, -1], [1, 2, 3]), [2, 2, 2]), [{ shape: [1, 2, 4, 2, 2] }]);
  });
  it('patchMergeGather concatenates strided slices in the selected order (monai and legacy differ)', async () => {
    const D = 4;
    const a = Float64Array.from({ length: D * D * D }, (_, i) => i);
    const x = e.tensor(a, [1, D, D, D, 1]);
    for (const order of ['monai', 'legacy'] as const) {
      const m = await values(patchMergeGather(x, order));
      MERGE_ORDER[order].forEach(([i, j, k], s) => {
        // output voxel (1, 0, 1), slot s = input voxel (2+i, 0+j, 2+k)
        expect(m[((1 * 2 + 0) * 2 + 1) * 8 + s]).toBe(((2 + i) * D + j) * D + 2 + k);
      });
    }
    const odd = patchMergeGather(e.tensor(new Float64Array(3 * 3 * 1 * 2), [1, 3, 3, 1, 2]), 'monai');
    expect(odd.shape).toEqual([1, 2, 2, 1, 16]);
    odd.dispose();
    x.dispose();
    await checkGrad(([v]) => patchMergeGather(v, 'legacy'), [{ shape: [1, 2, 2, 4, 2] }]);
  });
  it('shiftedWindowMask: 0 within a shifted region, −100 across', () => {
    const m = shiftedWindowMask([4, 4, 4], [2, 2, 2], [1, 1, 1]);
    expect(m.length).toBe(8 * 64);
    // First window lies wholly in region 0: no masking.
    expect(m.subarray(0, 64).every((v) => v === 0)).toBe(true);
    // Last window straddles regions on every axis: token 0 (region 1,1,1) vs token 7 (region 2,2,2).
    expect(m[(7 * 8 + 0) * 8 + 7]).toBe(-100);
    expect(m[(7 * 8 + 7) * 8 + 7]).toBe(0);
  });
  it.skipIf(!hasShared)('relativePositionIndex equals MONAI\'s buffer in the Swin fixture', () => {
    const idx = JSON.parse(readFileSync(join(fixturesDir, 'swinunetr_tiny/weights.json'), 'utf8'));
    const ent = idx.tensors['swinViT.layers1.0.blocks.0.attn.relative_position_index'];
    const buf = readFileSync(join(fixturesDir, 'swinunetr_tiny/weights.bin'));
    const ref = new BigInt64Array(buf.buffer.slice(buf.byteOffset + ent.offset, buf.byteOffset + ent.offset + ent.nbytes));
    const mine = relativePositionIndex([7, 7, 7]);
    expect(mine.length).toBe(ref.length);
    let bad = 0;
    for (let i = 0; i < mine.length; i++) if (BigInt(mine[i]) !== ref[i]) bad++;
    expect(bad).toBe(0);
  });
});

describe('losses', () => {
  it('dice terms follow 1 − 2Σpt/(Σp + Σt + eps) with batch sums', async () => {
    const logits = randnArray(2 * 3 * 4, 3);
    const labels = [0, 1, 2, 1, 2, 2, 0, 0];
    const t = oneHot(e, labels, [2, 4], 3);
    const terms = await values(diceLossTerms(e.tensor(logits, [2, 3, 4]), t));
    for (let c = 0; c < 3; c++) {
      let inter = 0;
      let ps = 0;
      let ts = 0;
      for (let n = 0; n < 2; n++) for (let k = 0; k < 4; k++) {
        const z = [0, 1, 2].map((j) => Math.exp(logits[(n * 3 + j) * 4 + k]));
        const p = z[c] / (z[0] + z[1] + z[2]);
        const tt = labels[n * 4 + k] === c ? 1 : 0;
        inter += p * tt;
        ps += p;
        ts += tt;
      }
      expect(Math.abs(terms[c] - (1 - (2 * inter) / (ps + ts + 1e-5)))).toBeLessThan(1e-14);
    }
    await checkGrad(([x, tg]) => diceLoss(x, tg), [{ shape: [2, 3, 4] }, { shape: [2, 3, 4], data: await t.data(), constant: true }]);
    await checkGrad(([x, tg]) => crossEntropy(x, tg), [{ shape: [2, 3, 4] }, { shape: [2, 3, 4], data: await t.data(), constant: true }]);
    t.dispose();
    expect(() => oneHot(e, [0, 3], [1, 2], 3)).toThrow(/label 3/);
  });
  it('cross-entropy equals the mean negative log-likelihood', async () => {
    const logits = [2, 0.5, -1, 0.1, 0.2, 0.3];
    const t = oneHot(e, [0, 2], [1, 2], 3);
    const l = await crossEntropy(e.tensor(logits, [1, 3, 2]), t).item();
    const nll = (v: number[], c: number) => -(v[c] - Math.log(v.reduce((s, x) => s + Math.exp(x), 0)));
    expect(Math.abs(l - 0.5 * (nll([2, -1, 0.2], 0) + nll([0.5, 0.1, 0.3], 2)))).toBeLessThan(1e-14);
    t.dispose();
  });
  it.skipIf(!hasShared)('reproduces the UNETR fixture loss from its logits and label', async () => {
    const logits = new Float32Array(readFileSync(join(fixturesDir, 'unetr_tiny/logits.bin')).buffer.slice(0));
    const label = readFileSync(join(fixturesDir, 'unetr_tiny/label.bin'));
    const ref = JSON.parse(readFileSync(join(fixturesDir, 'unetr_tiny/loss.json'), 'utf8'));
    const t = oneHot(e, label, [1, 32, 32, 32], 3);
    const terms = await values(diceLossTerms(e.tensor(logits, [1, 3, 32, 32, 32]), t));
    t.dispose();
    // logits.bin is the float64 reference rounded to float32 (relative 6e-8), which moves the loss by ~1e-8.
    terms.forEach((v, c) => expect(Math.abs(v - ref.per_class_terms_float64[c])).toBeLessThan(1e-6));
  });
});
