/**
 * The wasm backend: the shared op suite against the float64 reference (testing/op-suite.ts)
 * on two threads, then what is particular to it: the committed binaries are the assembly of
 * kernels.wat, the GEMM across its cache blocks, both SIMD paths (relaxed FMA and plain),
 * identical results for any thread count, and no leaks over training steps.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConvSpec } from './backend';
import { conv3dBackwardFilter, positions } from './cpu/conv';
import { depthwiseConvBackwardDataInto, depthwiseConvBackwardFilterInto, depthwiseConvInto } from './cpu/depthwise';
import { binaryInto, unaryInto } from './cpu/elementwise';
import { reduceSumInto } from './cpu/reduce';
import { erf as erf64, gelu as gelu64, geluGrad as geluGrad64, normalCdf } from './cpu/math';
import { adamStepInPlace, copyView, normalizeBackwardInto, normalizeInto, softmaxBackwardInto, softmaxInto, writeView } from './cpu/host';
import { Adam, backward, conv3d, createCpuEngine, diceLoss, gelu, instanceNorm, layerNorm, leakyRelu, matmul, oneHot, randnArray, softmax, tidy, type Engine, type Tensor } from './index';
import { gradCheck } from './testing/check';
import { compareEngines } from './testing/compare';
import { defineOpSuite } from './testing/op-suite';
import { assembleEngineKernels, engineBinarySource } from './wasm/assemble';
import { WasmBackend } from './wasm/backend';
import { hasRelaxedSimd } from './wasm/module';
import { createNodeWasmEngine } from './wasm/node';

let e2: Engine;
beforeAll(async () => {
  e2 = await createNodeWasmEngine({ threads: 2 });
});
afterAll(() => e2?.dispose());

defineOpSuite('wasm', () => e2);

const cpu = createCpuEngine();
const TOL = 2e-5;

describe('wasm kernels', () => {
  it('the committed binaries are the assembly of kernels.wat (npm run build:kernels)', async () => {
    const committed = readFileSync(new URL('./wasm/kernels-binary.ts', import.meta.url), 'utf8');
    const bins = await assembleEngineKernels();
    expect(committed).toBe(engineBinarySource(bins));
    for (const b of bins.slice(0, 2)) expect(WebAssembly.validate(Uint8Array.from(b))).toBe(true);
  });

  it('runs relaxed SIMD here when Node has it (behind a flag before Node 22), and says so', () => {
    expect(hasRelaxedSimd()).toBe(true); // createNodeWasmEngine set the flag
    expect(e2.description).toMatch(/relaxed FMA, 2 threads/);
  });

  it('GEMM across its cache blocks (K > 256, M > 128, N > 512), both transposes, and the direct convolution, on both SIMD paths', async () => {
    const plain = await createNodeWasmEngine({ threads: 2, relaxed: false });
    expect(plain.description).not.toMatch(/relaxed/);
    for (const e of [e2, plain]) {
      const r = await compareEngines(e, cpu, ([a, b]) => matmul(a, b), [{ shape: [130, 300] }, { shape: [300, 521] }]);
      expect(r.out).toBeLessThan(TOL);
      expect(r.grad).toBeLessThan(TOL);
      const t = await compareEngines(e, cpu, ([a, b]) => matmul(a, b, { transA: true, transB: true }), [{ shape: [263, 9] }, { shape: [21, 263] }]);
      expect(t.out).toBeLessThan(TOL);
      expect(t.grad).toBeLessThan(TOL);
      // The direct stride-1 convolution (its 4×8 tile has its own MADDs), K = 270 > one slice.
      const c = await compareEngines(e, cpu, ([x, w]) => conv3d(x, w, null, { padding: 1 }), [{ shape: [1, 10, 4, 5, 11] }, { shape: [7, 10, 3, 3, 3] }]);
      expect(c.out).toBeLessThan(TOL);
      expect(c.grad).toBeLessThan(TOL);
    }
    plain.dispose();
  });
});

describe('wasm convolution filter gradients, summed in float64 (kernels.wat gemmAcc64)', () => {
  /** The wasm filter gradient and the float64 one of the same float32 inputs. */
  async function filterGrad(s: ConvSpec, g: Float32Array, x: Float32Array): Promise<[Float32Array, Float64Array]> {
    const b = e2.backend as WasmBackend;
    const [gs, xs] = [b.upload(g), b.upload(x)];
    const dw = b.conv3dBackwardFilter(gs, xs, s);
    const got = await b.read(dw);
    for (const t of [gs, xs, dw]) b.release(t);
    return [got, conv3dBackwardFilter(Float64Array.from(g), Float64Array.from(x), s)];
  }
  const spec = (N: number, Ci: number, Co: number, side: number, k: number): ConvSpec => {
    const pad = (k - 1) / 2;
    return { N, Ci, Co, inShape: [side, side, side], outShape: [side, side, side], kernel: [k, k, k], stride: [1, 1, 1], padding: [pad, pad, pad], dilation: [1, 1, 1] };
  };

  it('is the float64 sum rounded once under 10⁶-fold cancellation (a 1×1×1 conv of the image before InstanceNorm)', async () => {
    // 32³ positions; each g row is made nearly orthogonal to x, as InstanceNorm's backward makes
    // it for UnetResBlock's conv3 on a one-channel image: Σ|g·x| ≈ 10⁶·|Σ g·x|. A float32 sum
    // is off by ~1e-3 of the result in any order (KC blocks 5e-3, pairwise 7e-4).
    const s = spec(1, 1, 4, 32, 1);
    const P = 32 ** 3;
    const x = Float32Array.from(randnArray(P, 11));
    const u = randnArray(4 * P, 12);
    const g = new Float32Array(4 * P);
    let xx = 0;
    for (let p = 0; p < P; p++) xx += x[p] * x[p];
    for (let co = 0; co < 4; co++) {
      let ux = 0;
      for (let p = 0; p < P; p++) ux += u[co * P + p] * x[p];
      for (let p = 0; p < P; p++) g[co * P + p] = u[co * P + p] - (ux / xx - 1e-6 * (co + 1)) * x[p];
    }
    const [got, ref] = await filterGrad(s, g, x);
    for (let co = 0; co < 4; co++) {
      let abs = 0;
      for (let p = 0; p < P; p++) abs += Math.abs(g[co * P + p] * x[p]);
      expect(abs / Math.abs(ref[co])).toBeGreaterThan(1e5);
      expect(Math.abs(got[co] - ref[co])).toBeLessThanOrEqual(1.01 * 2 ** -24 * Math.abs(ref[co]));
    }
  });

  it('across its blocks (Co > 64 rows, T > 256 taps, K > 256 positions, two batch items): the float64 sum rounded once', async () => {
    const s = spec(2, 12, 66, 9, 3);
    const g = Float32Array.from(randnArray(2 * 66 * 729, 13));
    const x = Float32Array.from(randnArray(2 * 12 * 729, 14));
    const [got, ref] = await filterGrad(s, g, x);
    // Rounded once: within half an ulp (2⁻²⁴ relative), plus 1 % for the two float64 sums' own
    // rounding. The float32 GEMM was off by 2.8e-3 here (an element with heavy cancellation).
    let worst = 0;
    for (let i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs(got[i] - ref[i]) / Math.abs(ref[i]));
    expect(worst).toBeLessThanOrEqual(1.01 * 2 ** -24);
  });
});

describe('wasm direct convolutions (stride 1) split over threads', () => {
  it('match the float64 reference where padding, the conv and its data gradient all run on both threads', async () => {
    // 16 channels of 23×25×27 padded to 25×27×29: above PARALLEL_MIN_COPIES and _MACS (backend.ts).
    const r = await compareEngines(e2, cpu, ([x, w]) => conv3d(x, w, null, { padding: 1 }), [{ shape: [1, 16, 23, 25, 27] }, { shape: [6, 16, 3, 3, 3] }]);
    expect(r.out).toBeLessThan(TOL);
    expect(r.grad).toBeLessThan(TOL);
  });
});

describe('wasm memory-bound kernels (kernels.wat) against the host loops they replace, on both threads', () => {
  // 70,001 elements: above PARALLEL_MIN_ELEMENTS (both threads), not a multiple of 4 (scalar tails).
  const N = 70001;
  const b = () => e2.backend as WasmBackend;
  const f32 = (n: number, seed: number) => Float32Array.from(randnArray(n, seed));
  /** The first index where a and b differ in bits, −1 if none (toEqual on 70k elements takes seconds). */
  const firstDiff = (a: Float32Array, b: Float32Array) => {
    const [x, y] = [new Uint32Array(a.buffer, a.byteOffset, a.length), new Uint32Array(b.buffer, b.byteOffset, b.length)];
    if (x.length !== y.length) return 0;
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return i;
    return -1;
  };
  async function run(inputs: Float32Array[], fn: (s: ReturnType<WasmBackend['upload']>[]) => ReturnType<WasmBackend['upload']>[]): Promise<Float32Array[]> {
    const st = inputs.map((x) => b().upload(x));
    const out = fn(st);
    const got = await Promise.all(out.map((o) => b().read(o)));
    for (const t of new Set([...st, ...out])) b().release(t);
    return got;
  }

  it('elementwise ops are bit for bit the float64 host loop rounded once (leaky slopes and affine in float64)', async () => {
    const x = f32(N, 31);
    for (const [op, p0, p1] of [['relu', 0, 0], ['leakyRelu', 0.01, 0], ['neg', 0, 0], ['abs', 0, 0], ['square', 0, 0], ['affine', 0.3, -1.7]] as const) {
      const [got] = await run([x], ([s]) => [b().unary(op, s, p0, p1)]);
      const want = new Float32Array(N);
      unaryInto(op, x, want, p0, p1);
      expect(firstDiff(got, want), op).toBe(-1);
    }
    // [2, 3, L] with b broadcast as [1, 3, 1] (one row per (n, c)) and as [2, 3, L] itself.
    const L = 11667;
    const shape = [2, 3, L];
    const a = f32(6 * L, 32);
    const full = f32(6 * L, 33);
    const ch = f32(3, 34);
    for (const op of ['add', 'sub', 'mul', 'div', 'reluGrad', 'leakyReluGrad'] as const) {
      for (const [bb, sb] of [[full, [3 * L, L, 1]], [ch, [0, 1, 0]]] as const) {
        const [got] = await run([a, bb], ([sa, sbb]) => [b().binary(op, sa, sbb, shape, [3 * L, L, 1], sb, 0.01)]);
        const want = new Float32Array(6 * L);
        binaryInto(op, a, bb, want, shape, [3 * L, L, 1], sb, 0.01);
        expect(firstDiff(got, want), `${op} ${bb.length}`).toBe(-1);
      }
    }
  });

  it('Adam and AdamW (amsgrad) steps are bit for bit the host loop', async () => {
    const [p, g, m, v, vm] = [f32(N, 41), f32(N, 42), f32(N, 43).map(Math.abs), f32(N, 44).map(Math.abs), f32(N, 45).map(Math.abs)];
    for (const h of [
      { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, l2: 1e-5, decoupled: 0, bias1: 1 - 0.9 ** 3, bias2: 1 - 0.999 ** 3, amsgrad: true },
      { lr: 3e-4, beta1: 0.8, beta2: 0.99, eps: 1e-6, l2: 0, decoupled: 0.01, bias1: 1 - 0.8 ** 7, bias2: 1 - 0.99 ** 7, amsgrad: false },
    ]) {
      const got = await run([p, g, m, v, vm], ([sp, sg, sm, sv, svm]) => {
        b().adamStep(sp, sg, sm, sv, h.amsgrad ? svm : null, h);
        return [sp, sm, sv, svm];
      });
      const want = [p, m, v, vm].map((t) => t.slice());
      adamStepInPlace(want[0], g, want[1], want[2], h.amsgrad ? want[3] : null, h);
      got.forEach((t, i) => expect(firstDiff(t, want[i]), `${h.amsgrad ? 'Adam' : 'AdamW'} output ${i}`).toBe(-1));
    }
  });

  it('normalisation forward and backward match the host loop to float32 rounding (float64 sums in another order)', async () => {
    for (const [rows, len] of [[6, 11667], [37, 193]]) {
      const x = f32(rows * len, 51).map((v, i) => v * 3 + (i % 7));
      const g = f32(rows * len, 52);
      const [xhat, rstd, dx] = await run([x, g], ([sx, sg]) => {
        const n = b().normalize(sx, rows, len, 1e-5);
        return [n.xhat, n.rstd, b().normalizeBackward(n.xhat, n.rstd, sg, rows, len)];
      });
      const [wy, wr, wd] = [new Float32Array(rows * len), new Float32Array(rows), new Float32Array(rows * len)];
      normalizeInto(x, wy, wr, rows, len, 1e-5);
      normalizeBackwardInto(wy, wr, g, wd, rows, len);
      for (const [got, want] of [[xhat, wy], [rstd, wr], [dx, wd]]) {
        let worst = 0;
        for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]) / (Math.abs(want[i]) + 1e-3));
        expect(worst).toBeLessThan(1e-6);
      }
    }
  });

  it('strided copies (transpose, permute, slice with steps) and their scatters are exact', async () => {
    // [37, 1021] transposed (rows of 37 read 1021 apart), a 4-D permute keeping the last axis
    // (contiguous rows: four at a time), a stepped slice with an offset, and a copy too small
    // for the kernel's rows (host loop); both threads where above PARALLEL_MIN_ELEMENTS.
    const x = f32(N, 55);
    const views = [
      { shape: [1021, 37], offset: 0, strides: [1, 1021] },
      { shape: [5, 7, 3, 571], offset: 0, strides: [3 * 571, 15 * 571, 571, 1] },
      { shape: [33, 1000], offset: 17, strides: [2111, 2] },
      { shape: [2, 9, 5], offset: 3, strides: [700, 70, 7] },
    ];
    for (const v of views) {
      const n = v.shape.reduce((a, c) => a * c, 1);
      const [y] = await run([x], ([sx]) => [b().copy(sx, v)]);
      const want = new Float32Array(n);
      copyView(x, v, want);
      expect(firstDiff(y, want), `copy ${v.shape}`).toBe(-1);
      const src = f32(n, 56);
      const [d] = await run([x, src], ([sd, ss]) => {
        b().writeInto(sd, ss, v);
        return [sd];
      });
      const wd = x.slice();
      writeView(wd, src, v);
      expect(firstDiff(d, wd), `writeInto ${v.shape}`).toBe(-1);
    }
  });

  it('sums along contiguous last axes match the host loop to float32 rounding (float64 sums in another order)', async () => {
    // [67, 1021] over its last axis (both threads), [3, 5, 7, 11] over its last two (one row of
    // 77 per output), [70001] to a scalar; the float64 sums differ by ≤ n·2⁻⁵³·Σ|x| before rounding.
    const U = 2 ** -24;
    const x = f32(N, 57);
    const specs = [
      { outShape: [67], outStrides: [1021], redShape: [1021], redStrides: [1] },
      { outShape: [3, 5], outStrides: [385, 77], redShape: [7, 11], redStrides: [11, 1] },
      { outShape: [], outStrides: [], redShape: [N], redStrides: [1] },
    ];
    for (const spec of specs) {
      const n = spec.redShape.reduce((a, c) => a * c, 1);
      const outs = spec.outShape.reduce((a, c) => a * c, 1);
      const [y] = await run([x], ([sx]) => [b().reduceSum(sx, spec)]);
      const want = new Float32Array(outs);
      reduceSumInto(x, want, spec);
      let worst = 0;
      for (let o = 0; o < outs; o++) {
        let abs = 0;
        for (let j = 0; j < n; j++) abs += Math.abs(x[o * n + j]);
        worst = Math.max(worst, y[o] === want[o] ? 0 : Math.abs(y[o] - want[o]) / (U * Math.abs(want[o]) + n * 2 ** -53 * abs));
      }
      expect(worst, `${spec.outShape} ← ${spec.redShape}`).toBeLessThanOrEqual(1);
    }
  });

  it('softmax along the last axis: within 6u·y + 2⁻¹⁴⁸ of the float64 host loop; its backward the host loop but for the order of the float64 dot product', async () => {
    // float32 exp (kernels.wat $expDiff, 2–3u) over rows of odd lengths, both threads and one;
    // inputs spread wide enough for subnormal and zero outputs (a subnormal exp and its quotient
    // round twice on the 2⁻¹⁴⁹ grid), and a −∞ (gives 0, as the host).
    const U = 2 ** -24;
    for (const [rows, len, spread] of [[67, 1021, 30], [5, 7, 3], [1, 70001, 10]]) {
      const x = f32(rows * len, 53).map((v) => v * spread);
      x[3] = -Infinity;
      const g = f32(rows * len, 54);
      const spec = { outer: rows, len, inner: 1, log: false };
      const [y, d] = await run([x, g], ([sx, sg]) => {
        const sy = b().softmax(sx, spec);
        return [sy, b().softmaxBackward(sy, sg, spec)];
      });
      const [wy, wd] = [new Float32Array(rows * len), new Float32Array(rows * len)];
      softmaxInto(x, wy, spec);
      softmaxBackwardInto(y, g, wd, spec);
      let [worstY, worstD] = [0, 0];
      for (let r = 0; r < rows; r++) {
        let absDot = 0;
        for (let i = r * len; i < (r + 1) * len; i++) absDot += Math.abs(g[i] * y[i]);
        for (let i = r * len; i < (r + 1) * len; i++) {
          worstY = Math.max(worstY, y[i] === wy[i] ? 0 : Math.abs(y[i] - wy[i]) / (6 * U * wy[i] + 2 ** -148));
          // Another order of a float64 dot: ~2⁻⁵² of Σ|g·y| apart, then rounded to float32.
          worstD = Math.max(worstD, d[i] === wd[i] ? 0 : Math.abs(d[i] - wd[i]) / (U * Math.abs(wd[i]) + 2 ** -40 * absDot * y[i]));
        }
      }
      expect(y[3]).toBe(0);
      expect(worstY, `${rows}×${len}`).toBeLessThanOrEqual(1);
      expect(worstD, `${rows}×${len}`).toBeLessThanOrEqual(1);
    }
  });
});

describe('wasm erf and GELU kernels (float32 polynomials, kernels.wat) against the float64 reference', () => {
  // A dense grid over [−20, 20] (2⁻¹¹ apart: 81,921 points, both threads, scalar tails) and the
  // edge cases: powers of two down to the subnormals, the kernels' region and clamp boundaries,
  // huge values and infinities. Bounds, in units of u = 2⁻²⁴ (float32's unit roundoff), measured
  // on both SIMD paths with room for an FMA that fuses differently (SEAHORSE_PRINT_ERRORS=1 prints
  // them; measured: erf 2.8u, GELU 0.66 of its bound (7.2u for |GELU| ≥ 2⁻¹⁰⁰; x < −13, where Φ
  // is subnormal, needs the absolute term), GELU′ 3.9u):
  //   erf        |got − ref| ≤ 4u·|ref| + 2⁻¹⁴⁹ (a subnormal result's rounding)
  //   GELU       |got − ref| ≤ 10u·|ref| + 2⁻¹²⁰
  //   GELU′·g    |got − ref| ≤ 6u·(Φ(x) + |x·φ(x)|)·|g| + 2⁻¹²⁰   (Φ + xφ cancels near x = −0.75)
  const U = 2 ** -24;
  const grid: number[] = [];
  for (let i = -20 * 2048; i <= 20 * 2048; i++) grid.push(i / 2048);
  for (let k = -149; k <= 127; k += 3) for (const v of [2 ** k, -(2 ** k), 1.3 * 2 ** k, -1.7 * 2 ** k]) grid.push(v);
  grid.push(-0, 0.99999994, -0.99999994, 1.0000001, -1.0000001, 10.5, -10.5, 14.849242, -14.849243, 3.4e38, -3.4e38, Infinity);
  const x = Float32Array.from(grid);
  const g = Float32Array.from(randnArray(x.length, 61));
  const N = x.length;

  /** The kernels' erf(x), GELU(x), g·GELU′(x) and 1·GELU′(x), and (for the thread test) softmax and its backward over rows of 1021 of x. */
  async function kernels(e: Engine): Promise<Record<'erf' | 'gelu' | 'grad' | 'dgelu' | 'softmax' | 'softmaxGrad', Float32Array>> {
    const b = e.backend as WasmBackend;
    const [sx, sg, s1] = [b.upload(x), b.upload(g), b.upload(new Float32Array(N).fill(1))];
    const sm = { outer: Math.floor(N / 1021), len: 1021, inner: 1, log: false };
    const [xr, gr] = [b.upload(x.subarray(0, sm.outer * sm.len)), b.upload(g.subarray(0, sm.outer * sm.len))];
    const y = b.softmax(xr, sm);
    const out = [b.unary('erf', sx, 0, 0), b.unary('gelu', sx, 0, 0), b.binary('geluGrad', sx, sg, [N], [1], [1], 0), b.binary('geluGrad', sx, s1, [N], [1], [1], 0), y, b.softmaxBackward(y, gr, sm)];
    const [erf, gelu, grad, dgelu, softmax, softmaxGrad] = await Promise.all(out.map((o) => b.read(o)));
    for (const t of [sx, sg, s1, xr, gr, ...out]) b.release(t);
    return { erf, gelu, grad, dgelu, softmax, softmaxGrad };
  }
  /** |got − ref| / scale, 0 when equal (0 = 0, ±0), NaN (failing the bound) when got is NaN and ref is not. */
  const err = (got: number, ref: number, scale: number) => (got === ref ? 0 : Math.abs(got - ref) / scale);

  it('stay within their stated bounds on both SIMD paths', async () => {
    const plain = await createNodeWasmEngine({ threads: 2, relaxed: false });
    // The float64 references (erf, GELU, g·GELU′, and GELU′'s scale (Φ(x) + |x·φ(x)|)·|g|).
    const ref = [0, 1, 2, 3].map(() => new Float64Array(N));
    for (let i = 0; i < N; i++) {
      const xi = x[i];
      [ref[0][i], ref[1][i], ref[2][i]] = [erf64(xi), gelu64(xi), geluGrad64(xi) * g[i]];
      ref[3][i] = (normalCdf(xi) + Math.abs((xi * Math.exp(-0.5 * xi * xi)) / Math.sqrt(2 * Math.PI))) * Math.abs(g[i]);
    }
    for (const e of [e2, plain]) {
      const got = await kernels(e);
      const worst = { erf: 0, gelu: 0, grad: 0 };
      let notProduct = 0;
      for (let i = 0; i < N; i++) {
        const xi = x[i];
        const [refErf, refGelu, refGrad, scale] = [ref[0][i], ref[1][i], ref[2][i], ref[3][i]];
        if (!Number.isFinite(xi)) {
          // As the reference: erf 1, GELU ∞, GELU′ = Φ + ∞·φ = 1 + ∞·0 = NaN.
          expect([got.erf[i], got.gelu[i], got.grad[i], refErf, refGelu, refGrad], `x = ${xi}`).toEqual([1, Infinity, NaN, 1, Infinity, NaN]);
          continue;
        }
        // The product by g is one float32 multiplication of GELU′(x).
        if (got.grad[i] !== Math.fround(g[i] * got.dgelu[i])) notProduct++;
        worst.erf = Math.max(worst.erf, err(got.erf[i], refErf, U * Math.abs(refErf) + 2 ** -149 / 4));
        worst.gelu = Math.max(worst.gelu, err(got.gelu[i], refGelu, 10 * U * Math.abs(refGelu) + 2 ** -120));
        worst.grad = Math.max(worst.grad, err(got.grad[i], refGrad, U * scale + 2 ** -120 / 6));
      }
      if (process.env.SEAHORSE_PRINT_ERRORS) console.log(e.description, worst);
      expect(notProduct).toBe(0);
      expect(worst.erf, e.description).toBeLessThanOrEqual(4);
      expect(worst.gelu, e.description).toBeLessThanOrEqual(1);
      expect(worst.grad, e.description).toBeLessThanOrEqual(6);
    }
    plain.dispose();
  });

  it('give bit-identical results on 1 and 3 threads (softmax too), and GELU′ with a broadcast gradient row', async () => {
    const one = await createNodeWasmEngine({ threads: 1 });
    const three = await createNodeWasmEngine({ threads: 3 });
    const [a, c] = [await kernels(one), await kernels(three)];
    for (const k of ['erf', 'gelu', 'grad', 'dgelu', 'softmax', 'softmaxGrad'] as const) expect(Buffer.from(c[k].buffer).equals(Buffer.from(a[k].buffer)), k).toBe(true);
    // x as [3, N/3] rows against one g row broadcast down them: the row kernel with db = 1 per row.
    const rows = 3;
    const L = Math.floor(N / rows);
    const b = three.backend as WasmBackend;
    const [sx, sg] = [b.upload(x.subarray(0, rows * L)), b.upload(g.subarray(0, L))];
    const d = b.binary('geluGrad', sx, sg, [rows, L], [L, 1], [0, 1], 0);
    const got = await b.read(d);
    for (const t of [sx, sg, d]) b.release(t);
    let bad = -1;
    for (let j = 0; j < rows * L && bad < 0; j++) if (!Object.is(got[j], Math.fround(g[j % L] * a.dgelu[j]))) bad = j;
    expect(bad).toBe(-1);
    one.dispose();
    three.dispose();
  });
});

describe('wasm depthwise convolutions (kernels.wat depthwise*) against the float64 reference', () => {
  // TinyViT (src/sam/README.md) has 3×3 depthwise convs with padding 1 at stride 1 (MBConv,
  // local convs) and 2 (patch merging); here also 7×7 kernels, channels not a multiple of 4,
  // odd sizes (scalar tails, the stride-2 path's last four outputs), a stride of 3 (the scalar
  // path), dilation, and sizes above PARALLEL_MIN_ELEMENTS (backend.ts) so the threads split
  // the planes. Bounds, u = 2⁻²⁴:
  //   forward, data gradient: float32 sums of ≤ kk products (kk taps per filter), so
  //     |got − ref| ≤ γ_kk·Σ|w·v| (Higham's dot-product bound, γ_k = k·u/(1 − k·u), fused or not),
  //     Σ|w·v| by the same float64 host loop on |w| and |v|; 1.01·kk·u covers γ_kk and the
  //     reference's own float64 rounding.
  //   filter gradient: two float64 sums of n = N·P products in different orders, each within
  //     n·2⁻⁵³·Σ|g·x|, then one rounding: |got − ref| ≤ u·|ref| + 2n·2⁻⁵³·Σ|g·x|.
  const U = 2 ** -24;
  const spec = (N: number, C: number, [H, W]: [number, number], k: number, stride: [number, number], pad: [number, number], dil: [number, number] = [1, 1]): ConvSpec => {
    const out = [H, W].map((n, i) => Math.floor((n + 2 * pad[i] - dil[i] * (k - 1) - 1) / stride[i]) + 1);
    return { N, Ci: C, Co: C, inShape: [1, H, W], outShape: [1, out[0], out[1]], kernel: [1, k, k], stride: [1, ...stride], padding: [0, ...pad], dilation: [1, ...dil] };
  };
  const cases: [string, ConvSpec][] = [
    ['k3 s1 p1, 7 channels, batch 2', spec(2, 7, [23, 21], 3, [1, 1], [1, 1])],
    ['k3 s2 p1, 13 channels, odd sizes', spec(1, 13, [19, 17], 3, [2, 2], [1, 1])],
    ['k7 s1 p3, 5 channels, batch 2', spec(2, 5, [15, 18], 7, [1, 1], [3, 3])],
    ['k7 s2 p3, 6 channels', spec(1, 6, [16, 21], 7, [2, 2], [3, 3])],
    ['k3 s3 (scalar path), no padding, dilation 2 along H', spec(1, 3, [20, 22], 3, [1, 3], [0, 0], [2, 1])],
    ['k3 s1 p1 on the threads: 2 × 13 × 57 × 53', spec(2, 13, [57, 53], 3, [1, 1], [1, 1])],
    ['k3 s2 p1 on the threads: 2 × 13 × 113 × 107', spec(2, 13, [113, 107], 3, [2, 2], [1, 1])],
  ];
  const kk = (s: ConvSpec) => s.kernel[0] * s.kernel[1] * s.kernel[2];
  const inputs = (s: ConvSpec) => {
    const nx = s.N * s.Ci * s.inShape[0] * s.inShape[1] * s.inShape[2];
    return { x: Float32Array.from(randnArray(nx, 71)), w: Float32Array.from(randnArray(s.Co * kk(s), 72)), g: Float32Array.from(randnArray(s.N * s.Co * positions(s), 73)) };
  };
  /** The backend's forward, data gradient and filter gradient of one case. */
  async function depthwise(e: Engine, s: ConvSpec): Promise<Float32Array[]> {
    const b = e.backend as WasmBackend;
    const { x, w, g } = inputs(s);
    const [sx, sw, sg] = [b.upload(x), b.upload(w), b.upload(g)];
    const out = [b.depthwiseConv(sx, sw, s), b.depthwiseConvBackwardData(sg, sw, s), b.depthwiseConvBackwardFilter(sg, sx, s)];
    const got = await Promise.all(out.map((o) => b.read(o)));
    for (const t of [sx, sw, sg, ...out]) b.release(t);
    return got;
  }
  /** |got − ref| / scale, 0 when equal. */
  const err = (got: number, ref: number, scale: number) => (got === ref ? 0 : Math.abs(got - ref) / scale);

  it('stay within float32 dot-product bounds on both SIMD paths (filter gradient: the float64 sum rounded once)', async () => {
    const plain = await createNodeWasmEngine({ threads: 2, relaxed: false });
    for (const [name, s] of cases) {
      const { x, w, g } = inputs(s);
      const [x64, w64, g64] = [x, w, g].map((v) => Float64Array.from(v));
      const abs = (v: Float64Array) => v.map(Math.abs);
      const ref = [new Float64Array(g.length), new Float64Array(x.length), new Float64Array(w.length)];
      const mag = [new Float64Array(g.length), new Float64Array(x.length), new Float64Array(w.length)];
      depthwiseConvInto(x64, w64, ref[0], s);
      depthwiseConvInto(abs(x64), abs(w64), mag[0], s);
      depthwiseConvBackwardDataInto(g64, w64, ref[1], s);
      depthwiseConvBackwardDataInto(abs(g64), abs(w64), mag[1], s);
      depthwiseConvBackwardFilterInto(g64, x64, ref[2], s);
      depthwiseConvBackwardFilterInto(abs(g64), abs(x64), mag[2], s);
      const n = s.N * positions(s);
      for (const e of [e2, plain]) {
        const got = await depthwise(e, s);
        const worst = [0, 0, 0];
        for (let i = 0; i < ref[0].length; i++) worst[0] = Math.max(worst[0], err(got[0][i], ref[0][i], 1.01 * kk(s) * U * mag[0][i]));
        for (let i = 0; i < ref[1].length; i++) worst[1] = Math.max(worst[1], err(got[1][i], ref[1][i], 1.01 * kk(s) * U * mag[1][i]));
        for (let i = 0; i < ref[2].length; i++) worst[2] = Math.max(worst[2], err(got[2][i], ref[2][i], U * Math.abs(ref[2][i]) + 2 * n * 2 ** -53 * mag[2][i]));
        if (process.env.SEAHORSE_PRINT_ERRORS) console.log(e.description, name, worst);
        expect(worst, `${name}, ${e.description}`).toEqual(worst.map((v) => Math.min(v, 1)));
      }
    }
    plain.dispose();
  });

  it('give bit-identical results on 1 and 3 threads', async () => {
    const one = await createNodeWasmEngine({ threads: 1 });
    const three = await createNodeWasmEngine({ threads: 3 });
    for (const [name, s] of cases) {
      const [a, c] = [await depthwise(one, s), await depthwise(three, s)];
      a.forEach((v, i) => expect(Buffer.from(c[i].buffer).equals(Buffer.from(v.buffer)), `${name}, output ${i}`).toBe(true));
    }
    one.dispose();
    three.dispose();
  });
});

describe('wasm gradients against finite differences on the wasm engine itself', () => {
  // Central differences in float32: h = 1e-2 keeps the loss's float32 rounding (~1e-6 of it,
  // divided by 2h) and the O(h²) truncation of these smooth functions both under ~1e-4 of
  // max|gradient|; 2e-3 leaves margin and still catches any wrong formula (O(1)).
  const H = 1e-2;
  const FD = 2e-3;
  const cases: [string, (xs: Tensor[]) => Tensor, { shape: number[] }[]][] = [
    ['conv3d k3 p1 with bias, stride 2', ([x, w, b]) => conv3d(x, w, b, { padding: 1, stride: 2 }), [{ shape: [1, 2, 5, 4, 4] }, { shape: [3, 2, 3, 3, 3] }, { shape: [3] }]],
    ['matmul transB, batched', ([a, b]) => matmul(a, b, { transB: true }), [{ shape: [2, 5, 7] }, { shape: [2, 6, 7] }]],
    ['layerNorm then gelu', ([x, w, b]) => gelu(layerNorm(x, w, b)), [{ shape: [4, 9] }, { shape: [9] }, { shape: [9] }]],
    ['softmax', ([x]) => softmax(x, -1), [{ shape: [3, 11] }]],
  ];
  for (const [name, f, specs] of cases) it(name, async () => expect(await gradCheck(e2, f, specs, 1, H)).toBeLessThan(FD));
});

describe('wasm engine behaviour', () => {
  /** A small conv net's loss, weight gradients and Adam update, all read back. */
  async function step(e: Engine): Promise<Float32Array[]> {
    const w1 = e.param(randnArray(16 * 8 * 27, 1).map((v) => v * 0.1), [16, 8, 3, 3, 3], 'w1');
    const w2 = e.param(randnArray(48, 2), [3, 16, 1, 1, 1], 'w2');
    // Large enough for every kernel to run on all threads (backend.ts PARALLEL_MIN_*).
    const x = e.randn([2, 8, 16, 16, 12], { seed: 3 });
    const t = oneHot(e, Array.from({ length: 2 * 3072 }, (_, i) => (i * 7) % 3), [2, 16, 16, 12], 3);
    const opt = new Adam([w1, w2], { lr: 0.01 });
    const l = tidy(() => diceLoss(conv3d(leakyRelu(instanceNorm(conv3d(x, w1, null, { padding: 1 }))), w2, null), t));
    backward(l);
    const out = [await l.data(), await w1.grad!.data(), await w2.grad!.data()] as Float32Array[];
    opt.step();
    out.push((await w1.data()) as Float32Array);
    for (const v of [l, w1, w2, x, t]) v.dispose();
    opt.dispose();
    return out;
  }

  it('gives bit-identical results on 1, 2 and 3 threads', async () => {
    const ref = await step(await createNodeWasmEngine({ threads: 1 }));
    for (const n of [2, 3]) {
      const e = await createNodeWasmEngine({ threads: n });
      expect((e.backend as WasmBackend).threadCount).toBe(n);
      const got = await step(e);
      got.forEach((g, i) => expect(g).toEqual(ref[i]));
      e.dispose();
    }
  });

  it('a training step leaks nothing: live and pooled bytes are equal after N steps', async () => {
    const before = e2.memory();
    await step(e2);
    const mid = e2.memory();
    await step(e2);
    await step(e2);
    const after = e2.memory();
    expect(after.liveStorages).toBe(before.liveStorages);
    expect(after.liveBytes).toBe(before.liveBytes);
    expect(after.pooledBytes).toBe(mid.pooledBytes);
    expect(after.peakBytes).toBeGreaterThan(0);
  });
});
