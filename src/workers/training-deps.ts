/**
 * The browser side of the training service's dependencies: the engine on the worker's shared
 * GPUDevice (the one ORT's WebGPU sessions get, `webGpuDevice` in ort-web.ts), rebuilt after a
 * device loss, and the adapter store in IndexedDB.
 */
import { createWebGPUEngine, engineDeviceOf, type Engine } from '../engine';
import { webGpuDevice } from '../infer/ort-web';
import { AdapterStore } from '../train/adapter-store';

let engine: { readonly device: GPUDevice; readonly engine: Engine } | undefined;

export async function workerEngine(): Promise<Engine> {
  const probe = await webGpuDevice();
  if (!probe.ok) throw new Error(`training needs WebGPU: ${probe.reason}`);
  if (engine?.device !== probe.device) {
    try {
      engine?.engine.dispose();
    } catch {
      // The old device is gone; its buffers went with it.
    }
    engine = { device: probe.device, engine: createWebGPUEngine(engineDeviceOf(probe.gpuAdapter, probe.device, 'the studio worker')) };
  }
  return engine.engine;
}

let store: Promise<AdapterStore> | undefined;

export function workerStore(): Promise<AdapterStore> {
  store ??= AdapterStore.open();
  store.catch(() => (store = undefined));
  return store;
}
