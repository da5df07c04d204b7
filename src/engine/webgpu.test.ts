/**
 * The WGSL kernels on Node's `webgpu` package (Dawn's GL lane by default;
 * SEAHORSE_WEBGPU_BACKEND=vulkan for SwiftShader): the shared op suite against the float64
 * reference (testing/op-suite.ts), then what is particular to a GPU device: buffer-pool leaks,
 * binding and workgroup limits, device loss.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Adam, Engine, WebGPUBackend, backward, concat, conv3d, createWebGPUEngine, DeviceLostError, diceLoss, EngineLimitError, exp, instanceNorm, leakyRelu, matmul,
  oneHot, permute, randnArray, sum, tidy,
} from './index';
import { requestNodeDevice } from './device-node';
import { defineOpSuite } from './testing/op-suite';

let gpu: Engine;

beforeAll(async () => {
  gpu = createWebGPUEngine(await requestNodeDevice());
});
afterAll(() => gpu?.dispose());

defineOpSuite('webgpu', () => gpu);

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
