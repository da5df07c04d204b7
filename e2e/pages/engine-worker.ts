/**
 * Runs in a module worker (as the training worker will): one forward/backward of a tiny conv
 * net on WebGPU and on the float64 reference, plus an AdamW step, and reports the differences.
 */
import {
  AdamW, backward, conv3d, createCpuEngine, createWebGPUEngine, diceLoss, instanceNorm, leakyRelu, oneHot, randnArray, requestEngineDevice, tidy, type Tensor,
} from '../../src/engine';
import { compareEngines } from '../../src/engine/testing/compare';

export interface EngineCheck {
  readonly adapter: string;
  /** Forward output and input-gradient errors relative to max|reference|. */
  readonly out: number;
  readonly grad: number;
  /** Largest parameter difference after one AdamW step from identical states. */
  readonly step: number;
}

const labels = Array.from({ length: 5 * 6 * 7 }, (_, i) => (i * 5) % 3);

function net([x, w1, w2, b2]: Tensor[]): Tensor {
  const h = leakyRelu(instanceNorm(conv3d(x, w1, null, { padding: 1 })), 0.01);
  return conv3d(h, w2, b2);
}

async function run(): Promise<EngineCheck> {
  const dev = await requestEngineDevice(navigator.gpu);
  const gpu = createWebGPUEngine(dev);
  const cpu = createCpuEngine();
  const specs = [{ shape: [1, 1, 5, 6, 7] }, { shape: [4, 1, 3, 3, 3] }, { shape: [3, 4, 1, 1, 1] }, { shape: [3] }];
  const r = await compareEngines(gpu, cpu, net, specs);
  const after: Float64Array[] = [];
  for (const e of [gpu, cpu]) {
    const ps = specs.slice(1).map((s, i) => e.param(randnArray(s.shape.reduce((a, b) => a * b, 1), 10 + i), s.shape, `p${i}`));
    const x = e.randn([1, 1, 5, 6, 7], { seed: 3 });
    const t = oneHot(e, labels, [1, 5, 6, 7], 3);
    const opt = new AdamW(ps, { lr: 0.01, weightDecay: 0.01 });
    const l = tidy(() => diceLoss(net([x, ...ps]), t));
    backward(l);
    opt.step();
    after.push(Float64Array.from(await ps[0].data()));
    for (const v of [l, x, t, ...ps]) v.dispose();
    opt.dispose();
  }
  let step = 0;
  after[0].forEach((v, i) => (step = Math.max(step, Math.abs(v - after[1][i]))));
  gpu.dispose();
  dev.device.destroy();
  return { adapter: dev.description, out: r.out, grad: r.grad, step };
}

self.onmessage = async () => {
  try {
    self.postMessage({ ok: true, result: await run() });
  } catch (e) {
    self.postMessage({ ok: false, error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) });
  }
};
