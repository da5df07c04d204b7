/**
 * Browser side of the engine benchmark: the same op on the WGSL engine and on onnxruntime-web's
 * WebGPU EP, on the same adapter (ORT keeps its own GPUDevice: it ignores one handed to it in
 * this build, so its inputs are created on ORT's device), inputs resident on the GPU, median
 * of `reps` runs after a warm-up, each run awaited to completion (queue.onSubmittedWorkDone).
 */
import * as ort from 'onnxruntime-web/webgpu';
import wasmUrl from 'onnxruntime-web/ort-wasm-simd-threaded.asyncify.wasm?url';
import { conv3d, createWebGPUEngine, matmul, requestEngineDevice, type EngineDevice, type Tensor } from '../../src/engine';
import { type BenchCase } from '../lib/cases';
import { convModel, matmulModel } from '../lib/onnx-models';

export interface BrowserTiming {
  engineMs: number;
  ortMs: number | null;
  ortError?: string;
}

let dev: EngineDevice | null = null;

async function device(): Promise<EngineDevice> {
  if (!dev) {
    dev = await requestEngineDevice(navigator.gpu);
    ort.env.wasm.numThreads = 1;
    ort.env.wasm.wasmPaths = { wasm: wasmUrl };
    ort.env.logLevel = 'error';
  }
  return dev;
}

async function median(run: () => Promise<void>, reps: number): Promise<number> {
  await run();
  const t: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await run();
    t.push(performance.now() - t0);
  }
  t.sort((a, b) => a - b);
  return t[Math.floor(t.length / 2)];
}

function gpuInput(d: GPUDevice, shape: readonly number[]): { tensor: ort.Tensor; buffer: GPUBuffer } {
  const n = shape.reduce((a, b) => a * b, 1);
  const buffer = d.createBuffer({ size: n * 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
  d.queue.writeBuffer(buffer, 0, Float32Array.from({ length: n }, (_, i) => Math.sin(i)));
  return { buffer, tensor: ort.Tensor.fromGpuBuffer(buffer, { dataType: 'float32', dims: [...shape] }) };
}

async function benchCase(c: BenchCase, reps: number): Promise<BrowserTiming> {
  const d = await device();
  const engine = createWebGPUEngine(d);
  const [sa, sb] = c.kind === 'matmul' ? [[c.M, c.K], [c.K, c.N]] : [c.x, c.w];
  const a = engine.rand(sa, { seed: 1 });
  const b = engine.rand(sb, { seed: 2 });
  const op = (): Tensor => (c.kind === 'matmul' ? matmul(a, b) : conv3d(a, b, null, { padding: c.pad }));
  const engineMs = await median(async () => {
    op().dispose();
    await engine.sync();
  }, reps);
  a.dispose();
  b.dispose();
  engine.dispose();

  let ortMs: number | null = null;
  let ortError: string | undefined;
  try {
    const bytes = c.kind === 'matmul' ? matmulModel(c.M, c.N, c.K) : convModel(c.x, c.w, c.pad);
    const session = await ort.InferenceSession.create(bytes, { executionProviders: ['webgpu'], preferredOutputLocation: 'gpu-buffer' });
    const ortDevice = await (ort.env.webgpu as unknown as { device: Promise<GPUDevice> }).device;
    const ia = gpuInput(ortDevice, sa);
    const ib = gpuInput(ortDevice, sb);
    const names = session.inputNames;
    ortMs = await median(async () => {
      const out = await session.run({ [names[0]]: ia.tensor, [names[1]]: ib.tensor });
      await ortDevice.queue.onSubmittedWorkDone();
      for (const v of Object.values(out)) v.dispose();
    }, reps);
    await session.release();
    ia.buffer.destroy();
    ib.buffer.destroy();
  } catch (e) {
    ortError = e instanceof Error ? e.message : String(e);
  }
  return { engineMs, ortMs, ortError };
}

async function adapter(): Promise<string> {
  return (await device()).description;
}

declare global {
  interface Window {
    engineBench: { benchCase: typeof benchCase; adapter: typeof adapter };
  }
}
window.engineBench = { benchCase, adapter };
