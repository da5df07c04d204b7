/**
 * The browser side of the training service's dependencies: the engine on the worker's shared
 * GPUDevice (the one ORT's WebGPU sessions get, `webGpuDevice` in ort-web.ts), rebuilt after a
 * device loss; the wasm engine (float32 WebAssembly SIMD, on all cores when the page is
 * cross-origin isolated) when there is no hardware GPU (no WebGPU, or only a software adapter
 * such as SwiftShader); and the adapter store in IndexedDB.
 */
import { createWebGPUEngine, engineDeviceOf, isSoftwareAdapter, type Engine } from '../engine';
import { createBrowserWasmEngine } from '../engine/wasm/browser';
import { webGpuDevice } from '../infer/ort-web';
import { AdapterStore } from '../train/adapter-store';

let engine: { readonly device: GPUDevice; readonly engine: Engine } | undefined;
let wasm: Promise<Engine> | undefined;

/** `auto`: WebGPU on a hardware GPU, else wasm; the others force one. */
export type EngineChoice = 'wasm' | 'webgpu' | 'auto';

export async function workerEngine(choice: EngineChoice = 'auto'): Promise<Engine> {
  if (choice === 'wasm') return (wasm ??= createBrowserWasmEngine());
  const probe = await webGpuDevice();
  if (!probe.ok) {
    if (choice === 'webgpu') throw new Error(`training on WebGPU was asked for, but ${probe.reason}`);
    return (wasm ??= createBrowserWasmEngine());
  }
  const dev = engineDeviceOf(probe.gpuAdapter, probe.device, 'the studio worker');
  if (choice === 'auto' && isSoftwareAdapter(dev)) return (wasm ??= createBrowserWasmEngine());
  if (engine?.device !== probe.device) {
    try {
      engine?.engine.dispose();
    } catch {
      // The old device is gone; its buffers went with it.
    }
    engine = { device: probe.device, engine: createWebGPUEngine(dev) };
  }
  return engine.engine;
}

let store: Promise<AdapterStore> | undefined;

export function workerStore(): Promise<AdapterStore> {
  store ??= AdapterStore.open();
  store.catch(() => (store = undefined));
  return store;
}
