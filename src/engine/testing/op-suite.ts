/**
 * The op suite every float32 backend passes (webgpu.test.ts, wasm.test.ts): every kernel
 * against the float64 reference on random inputs, forward and backward (the probe loss
 * Σ f(x)·r back-propagated on both engines). Sizes straddle the WebGPU GEMM tiles (8, 16, 64
 * and 128 rows) and workgroup sizes (64, 256), and the wasm GEMM's 4×8 register tiles.
 *
 * Tolerances: inputs are float32-exact on both sides, so differences are float32 rounding of
 * the backend's arithmetic: ~1e-7 per op, growing with the length of sums (≤ a few hundred
 * terms here) and the erf approximation (1.5e-7 absolute). 2e-5 of max|ref| covers that with
 * margin and is still ~1000× below any real indexing or formula error (which shows up at O(1)).
 */
import { describe, expect, it } from 'vitest';
import {
  Adam, add, attention, backward, concat, conv2d, conv3d, convTranspose2d, convTranspose3d, createCpuEngine, crossEntropy, diceLoss, div, exp, gatherRows, gelu, instanceNorm,
  layerNorm, leakyRelu, linear, logSoftmax, matmul, mean, mul, oneHot, pad, patchMergeGather, permute, randnArray, relu, roll, sigmoid, slice, softmax, sqrt,
  sub, sum, tanh, tidy, windowPartition, erf, abs, type Engine, type Tensor, type IndexTensor,
} from '../index';
import type { InputSpec } from './check';
import { compareEngines } from './compare';
import { trainStraightAndResumed } from './resume';

const TOL = 2e-5;

type Case = [name: string, f: (xs: Tensor[]) => Tensor, specs: InputSpec[]];

const positive = (n: number, seed: number) => randnArray(n, seed).map((v) => 0.5 + Math.abs(v));

const elementwise: Case[] = [
  ['add broadcast', ([a, b]) => add(a, b), [{ shape: [3, 1, 5] }, { shape: [4, 1] }]],
  ['sub', ([a, b]) => sub(a, b), [{ shape: [7, 9] }, { shape: [9] }]],
  ['mul', ([a, b]) => mul(a, b), [{ shape: [2, 3, 4] }, { shape: [2, 1, 4] }]],
  ['div', ([a, b]) => div(a, b), [{ shape: [5, 3] }, { shape: [5, 1], data: positive(5, 3) }]],
  ['exp', ([a]) => exp(a), [{ shape: [300] }]],
  ['sqrt', ([a]) => sqrt(a), [{ shape: [37], data: positive(37, 4) }]],
  ['relu', ([a]) => relu(a), [{ shape: [513] }]],
  ['leakyRelu', ([a]) => leakyRelu(a, 0.01), [{ shape: [513] }]],
  ['gelu', ([a]) => gelu(a), [{ shape: [3, 257], data: randnArray(771, 5).map((v) => 3 * v) }]],
  ['erf', ([a]) => erf(a), [{ shape: [300], data: randnArray(300, 6).map((v) => 2 * v) }]],
  ['sigmoid, tanh, abs', ([a]) => add(abs(a), mul(sigmoid(a), tanh(a))), [{ shape: [129] }]],
];

const reductions: Case[] = [
  ['sum small axes', ([a]) => sum(a, [0, 2]), [{ shape: [3, 5, 7] }]],
  ['sum large (workgroup tree)', ([a]) => sum(a, [1]), [{ shape: [3, 5000] }]],
  ['mean all', ([a]) => mean(a), [{ shape: [4100] }]],
  ['softmax short rows (channel axis)', ([a]) => softmax(a, 1), [{ shape: [2, 3, 70] }]],
  ['softmax long rows', ([a]) => softmax(a, -1), [{ shape: [5, 343] }]],
  // exp overflows float32 past 88: only a correct max-subtraction survives logits near 300.
  ['softmax long rows, large logits', ([a]) => softmax(a, -1), [{ shape: [3, 100], data: randnArray(300, 8).map((v) => 300 + 20 * v) }]],
  ['logSoftmax', ([a]) => logSoftmax(a, 1), [{ shape: [2, 4, 33] }]],
  ['layerNorm affine', ([a, w, b]) => layerNorm(a, w, b), [{ shape: [7, 48] }, { shape: [48] }, { shape: [48] }]],
  ['instanceNorm long rows', ([a]) => instanceNorm(a), [{ shape: [1, 2, 17, 13, 11] }]],
];

const matmuls: Case[] = [
  ['matmul 24 rows (two 16-row tiles), 300 columns (three 128-column tiles)', ([a, b]) => matmul(a, b), [{ shape: [24, 19] }, { shape: [19, 300] }]],
  ['matmul odd sizes across 64-tiles', ([a, b]) => matmul(a, b), [{ shape: [70, 33] }, { shape: [33, 67] }]],
  ['matmul 128-tiles, transA', ([a, b]) => matmul(a, b, { transA: true }), [{ shape: [17, 130] }, { shape: [17, 129] }]],
  ['matmul batched broadcast, transB', ([a, b]) => matmul(a, b, { transB: true }), [{ shape: [2, 3, 9, 20] }, { shape: [3, 11, 20] }]],
  ['linear', ([x, w, b]) => linear(x, w, b), [{ shape: [2, 5, 24] }, { shape: [40, 24] }, { shape: [40] }]],
  ['attention with bias', ([q, k, v, b]) => attention(q, k, v, { bias: b }), [{ shape: [2, 3, 10, 8] }, { shape: [2, 3, 10, 8] }, { shape: [2, 3, 10, 8] }, { shape: [3, 10, 10] }]],
];

const layout: Case[] = [
  ['permute 5-D', ([a]) => permute(a, [0, 4, 2, 1, 3]), [{ shape: [2, 3, 4, 5, 6] }]],
  ['slice with steps', ([a]) => slice(a, [null, [1, undefined, 2], [0, -1, 3]]), [{ shape: [2, 7, 10] }]],
  ['pad', ([a]) => pad(a, [[0, 0], [1, 2], [3, 0]]), [{ shape: [2, 3, 4] }]],
  ['concat', ([a, b]) => concat([a, b], 1), [{ shape: [2, 3, 4] }, { shape: [2, 5, 4] }]],
  ['roll', ([a]) => roll(a, [3, -2], [1, 2]), [{ shape: [2, 7, 9] }]],
  ['window partition of a rolled grid', ([a]) => windowPartition(roll(a, [-1, -1, -1], [1, 2, 3]), [2, 2, 2]), [{ shape: [1, 4, 4, 2, 3] }]],
  ['patch merging (legacy order)', ([a]) => patchMergeGather(a, 'legacy'), [{ shape: [1, 4, 2, 4, 3] }]],
];

const convs: Case[] = [
  ['conv3d k3 p1, tiles in N and K', ([x, w, b]) => conv3d(x, w, b, { padding: 1 }), [{ shape: [2, 3, 5, 6, 7] }, { shape: [5, 3, 3, 3, 3] }, { shape: [5] }]],
  ['conv3d k2 s2 (Swin patch embed)', ([x, w, b]) => conv3d(x, w, b, { stride: 2 }), [{ shape: [1, 1, 8, 6, 10] }, { shape: [6, 1, 2, 2, 2] }, { shape: [6] }]],
  ['conv3d k4 s4 (UNETR patch embed)', ([x, w]) => conv3d(x, w, null, { stride: 4 }), [{ shape: [1, 1, 8, 8, 12] }, { shape: [7, 1, 4, 4, 4] }]],
  ['conv3d anisotropic stride/pad, dilation', ([x, w]) => conv3d(x, w, null, { stride: [2, 1, 2], padding: [1, 2, 0], dilation: [1, 2, 1] }), [{ shape: [1, 2, 7, 6, 5] }, { shape: [3, 2, 3, 3, 2] }]],
  // 20 out channels: 16-row tiles forward and for dW; 20 in channels: the same for dx.
  ['conv3d k3 p1, 20 → 20 channels (16-row tiles)', ([x, w]) => conv3d(x, w, null, { padding: 1 }), [{ shape: [1, 20, 4, 5, 6] }, { shape: [20, 20, 3, 3, 3] }]],
  ['conv3d 1×1×1, 130 out channels (128-tile)', ([x, w]) => conv3d(x, w, null), [{ shape: [1, 4, 6, 5, 5] }, { shape: [130, 4, 1, 1, 1] }]],
  // Stride 1 with uneven padding and dilation, a row longer than 8 with a remainder (wasm's direct
  // kernel, forward and data gradient), and padding beyond the kernel's reach (direct forward,
  // im2col data gradient).
  ['conv3d stride 1, anisotropic padding and dilation, 13-wide rows', ([x, w]) => conv3d(x, w, null, { padding: [1, 0, 2], dilation: [2, 1, 1] }), [{ shape: [1, 3, 5, 6, 13] }, { shape: [6, 3, 3, 2, 3] }]],
  ['conv3d 1×1×1 with padding 1', ([x, w]) => conv3d(x, w, null, { padding: 1 }), [{ shape: [2, 2, 3, 4, 5] }, { shape: [3, 2, 1, 1, 1] }]],
  ['convTranspose3d k2 s2', ([x, w, b]) => convTranspose3d(x, w, b), [{ shape: [1, 6, 3, 2, 3] }, { shape: [6, 4, 2, 2, 2] }, { shape: [4] }]],
  ['conv2d k3 s2 p1 (TinyViT patch embed)', ([x, w, b]) => conv2d(x, w, b, { stride: 2, padding: 1 }), [{ shape: [1, 3, 9, 10] }, { shape: [5, 3, 3, 3] }, { shape: [5] }]],
  // 48² positions: the filter gradient's tree sum runs 256 lanes (more than 2048 terms) on WebGPU.
  ['depthwise conv2d k3 p1, 48² (MBConv)', ([x, w, b]) => conv2d(x, w, b, { padding: 1, groups: 3 }), [{ shape: [1, 3, 48, 48] }, { shape: [3, 1, 3, 3] }, { shape: [3] }]],
  ['depthwise conv2d k3 s2 p1, odd sizes, batch 2', ([x, w]) => conv2d(x, w, null, { stride: 2, padding: 1, groups: 5 }), [{ shape: [2, 5, 7, 9] }, { shape: [5, 1, 3, 3] }]],
  ['depthwise conv2d anisotropic stride, padding, dilation', ([x, w]) => conv2d(x, w, null, { stride: [1, 2], padding: [2, 0], dilation: [2, 1], groups: 2 }), [{ shape: [1, 2, 6, 7] }, { shape: [2, 1, 3, 2] }]],
  ['grouped conv2d, 2 groups', ([x, w]) => conv2d(x, w, null, { padding: 1, groups: 2 }), [{ shape: [1, 4, 5, 6] }, { shape: [6, 2, 3, 3] }]],
  ['convTranspose2d k2 s2', ([x, w, b]) => convTranspose2d(x, w, b), [{ shape: [1, 6, 3, 4] }, { shape: [6, 4, 2, 2] }, { shape: [4] }]],
];

/**
 * Defines the suite for the float32 engine `engine()` returns (called inside the tests, so a
 * beforeAll may create it): every case against the float64 reference, forward and backward.
 */
export function defineOpSuite(label: string, engine: () => Engine): void {
  const cpu = createCpuEngine();
  const check = (cases: Case[]) => {
    for (const [name, f, specs] of cases) {
      it(name, async () => {
        const r = await compareEngines(engine(), cpu, f, specs);
        expect(r.out).toBeLessThan(TOL);
        expect(r.grad).toBeLessThan(TOL);
      });
    }
  };

  describe(`${label} vs cpu: elementwise`, () => check(elementwise));
  describe(`${label} vs cpu: reductions and normalisation`, () => check(reductions));
  describe(`${label} vs cpu: matmul and attention`, () => check(matmuls));
  describe(`${label} vs cpu: layout ops`, () => check(layout));
  describe(`${label} vs cpu: convolutions`, () => check(convs));

  describe(`${label} vs cpu: gather, losses, optimiser`, () => {
    it('gatherRows and its scatter-add backward', async () => {
      const rows = [4, 0, 4, 2, 1, 4, 3];
      const make = (e: Engine) => e.index(rows, 'rel-pos index');
      const ix = new Map<Engine, IndexTensor>();
      const gpu = engine();
      const r = await compareEngines(gpu, cpu, ([t]) => {
        const e = t.backend === gpu.backend ? gpu : cpu;
        if (!ix.has(e)) ix.set(e, make(e));
        return gatherRows(t, ix.get(e)!);
      }, [{ shape: [5, 3] }]);
      for (const i of ix.values()) i.dispose();
      expect(r.out).toBeLessThan(TOL);
      expect(r.grad).toBeLessThan(TOL);
    });

    it('dice and cross-entropy losses', async () => {
      const labels = Array.from({ length: 2 * 60 }, (_, i) => (i * 7) % 3);
      const target = (e: Engine) => oneHot(e, labels, [2, 3, 4, 5], 3);
      const gpu = engine();
      for (const loss of [diceLoss, crossEntropy]) {
        const r = await compareEngines(gpu, cpu, ([x]) => {
          const e = x.backend === gpu.backend ? gpu : cpu;
          const t = target(e);
          const l = loss(x, t);
          t.dispose();
          return l;
        }, [{ shape: [2, 3, 3, 4, 5] }]);
        expect(r.out).toBeLessThan(TOL);
        expect(r.grad).toBeLessThan(TOL);
      }
    });

    it('Adam (amsgrad, L2) and AdamW steps match the reference', async () => {
      for (const opts of [{ lr: 0.01, amsgrad: true, weightDecay: 1e-5 }, { lr: 0.02, weightDecay: 0.1, decoupled: true }]) {
        const res: Float64Array[] = [];
        for (const e of [engine(), cpu]) {
          const p = e.param(randnArray(300, 1), [300], 'p');
          const g = randnArray(300, 2);
          const opt = new Adam([p], opts);
          for (let s = 0; s < 3; s++) {
            const c = e.tensor(g.map((v) => v * (s + 1)), [300]);
            const l = tidy(() => sum(mul(p, c)));
            backward(l);
            l.dispose();
            c.dispose();
            opt.step();
            opt.zeroGrad();
          }
          res.push(Float64Array.from(await p.data()));
          opt.dispose();
          p.dispose();
        }
        let err = 0;
        res[0].forEach((v, i) => (err = Math.max(err, Math.abs(v - res[1][i]))));
        // Parameters move by ~lr per step; float32 state keeps them within a few ulps of |p| ≤ 4.
        expect(err).toBeLessThan(2e-6);
      }
    });

    it('Adam state read back and uploaded again resumes exactly: 5 steps straight equal 2 + save + load + 3', async () => {
      const make = (ps: Tensor[]) => new Adam(ps, { lr: 0.01, amsgrad: true, weightDecay: 1e-5 });
      const { straight, resumed, saved } = await trainStraightAndResumed(engine(), make, 5, 2);
      expect(saved.t).toBe(2);
      expect(saved.slots.map((s) => s && [s.m.constructor.name, s.vmax?.length])).toEqual([['Float32Array', 108], ['Float32Array', 12], ['Float32Array', 3], null]);
      // float32 read back and uploaded is the same float32, and the kernels are deterministic (no
      // float atomics): the resumed run is bit for bit the straight one.
      resumed.forEach((r, i) => expect(r).toEqual(straight[i]));
      const afresh = await trainStraightAndResumed(engine(), make, 5, 2, { load: false });
      expect(afresh.resumed[0]).not.toEqual(straight[0]);
    });
  });
}
