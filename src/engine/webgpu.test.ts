/**
 * Every WGSL kernel against the float64 reference on random inputs, forward and backward
 * (the probe loss Σ f(x)·r back-propagated on both engines), on Node's `webgpu` package
 * (Dawn's GL lane by default; SEAHORSE_WEBGPU_BACKEND=vulkan for SwiftShader). Sizes straddle
 * the GEMM tiles (8, 16, 64 and 128 rows) and workgroup sizes (64, 256).
 *
 * Tolerances: inputs are float32-exact on both sides, so differences are float32 rounding of
 * the GPU arithmetic: ~1e-7 per op, growing with the length of sums (≤ a few hundred terms
 * here) and the erf approximation (1.5e-7 absolute). 2e-5 of max|ref| covers that with margin
 * and is still ~1000× below any real indexing or formula error (which shows up at O(1)).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Adam, add, attention, Engine, WebGPUBackend, backward, concat, conv3d, convTranspose3d, createCpuEngine, createWebGPUEngine, crossEntropy, DeviceLostError, diceLoss, div,
  EngineLimitError, exp, gatherRows, gelu, instanceNorm, layerNorm, leakyRelu, linear, logSoftmax, matmul, mean, mul, oneHot, pad, patchMergeGather,
  permute, randnArray, relu, roll, sigmoid, slice, softmax, sqrt, sub, sum, tanh, tidy, windowPartition, erf, abs, type Tensor, type IndexTensor,
} from './index';
import { requestNodeDevice } from './device-node';
import type { InputSpec } from './testing/check';
import { compareEngines } from './testing/compare';
import { trainStraightAndResumed } from './testing/resume';

const TOL = 2e-5;
const cpu = createCpuEngine();
let gpu: Engine;

beforeAll(async () => {
  gpu = createWebGPUEngine(await requestNodeDevice());
});
afterAll(() => gpu?.dispose());

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
  ['convTranspose3d k2 s2', ([x, w, b]) => convTranspose3d(x, w, b), [{ shape: [1, 6, 3, 2, 3] }, { shape: [6, 4, 2, 2, 2] }, { shape: [4] }]],
];

function check(cases: Case[]): void {
  for (const [name, f, specs] of cases) {
    it(name, async () => {
      const r = await compareEngines(gpu, cpu, f, specs);
      expect(r.out).toBeLessThan(TOL);
      expect(r.grad).toBeLessThan(TOL);
    });
  }
}

describe('webgpu vs cpu: elementwise', () => check(elementwise));
describe('webgpu vs cpu: reductions and normalisation', () => check(reductions));
describe('webgpu vs cpu: matmul and attention', () => check(matmuls));
describe('webgpu vs cpu: layout ops', () => check(layout));
describe('webgpu vs cpu: convolutions', () => check(convs));

describe('webgpu vs cpu: gather, losses, optimiser', () => {
  it('gatherRows and its scatter-add backward', async () => {
    const rows = [4, 0, 4, 2, 1, 4, 3];
    const make = (e: Engine) => e.index(rows, 'rel-pos index');
    const ix = new Map<Engine, IndexTensor>();
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
      for (const e of [gpu, cpu]) {
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
    const { straight, resumed, saved } = await trainStraightAndResumed(gpu, make, 5, 2);
    expect(saved.t).toBe(2);
    expect(saved.slots.map((s) => s && [s.m.constructor.name, s.vmax?.length])).toEqual([['Float32Array', 108], ['Float32Array', 12], ['Float32Array', 3], null]);
    // float32 read back and uploaded is the same float32, and the kernels are deterministic (no
    // float atomics): the resumed run is bit for bit the straight one.
    resumed.forEach((r, i) => expect(r).toEqual(straight[i]));
    const afresh = await trainStraightAndResumed(gpu, make, 5, 2, { load: false });
    expect(afresh.resumed[0]).not.toEqual(straight[0]);
  });
});

describe('webgpu engine behaviour', () => {
  it('a training step leaks nothing: live buffers and pool bytes are equal after N steps', async () => {
    const w1 = gpu.param(randnArray(4 * 27, 1), [4, 1, 3, 3, 3], 'w1');
    const w2 = gpu.param(randnArray(12, 2), [3, 4, 1, 1, 1], 'w2');
    const x = gpu.randn([1, 1, 6, 5, 4], { seed: 3 });
    const t = oneHot(gpu, Array.from({ length: 120 }, (_, i) => i % 3), [1, 6, 5, 4], 3);
    const opt = new Adam([w1, w2], { lr: 0.01, amsgrad: true });
    const step = async () => {
      const l = tidy(() => diceLoss(conv3d(leakyRelu(instanceNorm(conv3d(x, w1, null, { padding: 1 }))), w2, null), t));
      backward(l);
      opt.step();
      opt.zeroGrad();
      const v = await l.item();
      l.dispose();
      return v;
    };
    // Two warm-up steps: the first allocates the optimiser state from the pool, the second refills it.
    const first = await step();
    await step();
    await gpu.sync();
    const before = gpu.memory();
    let last = first;
    for (let i = 0; i < 4; i++) last = await step();
    await gpu.sync();
    const after = gpu.memory();
    expect(after.liveStorages).toBe(before.liveStorages);
    expect(after.liveBytes).toBe(before.liveBytes);
    expect(after.pooledBytes).toBe(before.pooledBytes);
    expect(last).toBeLessThan(first);
    opt.dispose();
    for (const v of [w1, w2, x, t]) v.dispose();
  });

  it('rejects a tensor beyond the binding limit before allocating', () => {
    const n = gpu.backend.maxElements + 1;
    expect(() => gpu.zeros([n])).toThrow(EngineLimitError);
    const a = gpu.zeros([2, Math.ceil(n / 4)]);
    expect(() => permute(a, [1, 0]) && concat([a, a, a], 0)).toThrow(/maxStorageBufferBindingSize/);
    a.dispose();
  });

  it('respects maxComputeWorkgroupsPerDimension: 2-D grids for long 1-D work, a clear error for a GEMM grid', async () => {
    // The same device, with the engine told it may launch only 3 workgroups per dimension.
    const dev = await requestNodeDevice();
    const small = new Engine(new WebGPUBackend({ ...dev, limits: { ...dev.limits, maxComputeWorkgroupsPerDimension: 3 } }));
    const data = randnArray(2000, 4);
    const y = await exp(small.tensor(data, [10, 200])).data(); // 8 workgroups of 256 → a 3×3 grid
    y.forEach((v, i) => expect(Math.abs(v - Math.exp(data[i]))).toBeLessThan(1e-6 * Math.exp(Math.abs(data[i]))));
    const rows = await sum(small.tensor(data, [8, 250]), [1]).data(); // 8 rows → workgroup-per-row on a 3×3 grid
    rows.forEach((v, r) => expect(Math.abs(v - data.slice(r * 250, r * 250 + 250).reduce((a, b) => a + b, 0))).toBeLessThan(1e-4));
    const a = small.zeros([600, 2]);
    expect(() => matmul(a, small.zeros([2, 600]))).toThrow(/matmul: needs \[5,5,1\] workgroups; this device allows 3/);
    small.dispose();
    dev.device.destroy();
  });

  it('device loss surfaces as DeviceLostError and a new device works', async () => {
    const dev = await requestNodeDevice();
    const e = createWebGPUEngine(dev);
    const x = e.ones([8]);
    dev.device.destroy();
    await dev.lost; // the loss is reported asynchronously; from then on every call fails clearly
    await expect(e.sync()).rejects.toThrow(DeviceLostError);
    expect(() => exp(x)).toThrow(DeviceLostError);
    const again = createWebGPUEngine(await requestNodeDevice());
    const y = again.ones([3]);
    expect(Array.from(await y.data())).toEqual([1, 1, 1]);
    y.dispose();
    again.dispose();
  });
});
