/**
 * The wasm engine in the browser: kernel threads on Web Workers started from a Blob URL (the
 * same WORKER_BODY as Node's worker_threads; nothing is fetched). Threads need a shared
 * WebAssembly memory, which browsers allow only on cross-origin-isolated pages (COOP
 * same-origin + COEP require-corp, set by vite.config.ts for dev and preview; see README's
 * "Serving the studio"), and a thread that may block (Atomics.wait): a worker, not the page.
 * Elsewhere the engine runs on one thread.
 */
import type { Engine } from '../engine';
import { createWasmEngine, type WasmEngineOptions } from './backend';
import { WORKER_BODY, type SpawnKernelWorker } from './threads';

export const spawnWebKernelWorker: SpawnKernelWorker = (init) =>
  new Promise((resolve, reject) => {
    const src = `const post = (m) => postMessage(m);\n${WORKER_BODY}\nonmessage = (e) => start(e.data);`;
    const url = URL.createObjectURL(new Blob([src], { type: 'text/javascript' }));
    const w = new Worker(url, { name: `seahorse wasm kernels ${init.tid}` });
    w.onmessage = () => {
      URL.revokeObjectURL(url);
      resolve({ terminate: () => w.terminate() });
    };
    w.onerror = (e) => {
      URL.revokeObjectURL(url);
      reject(new Error(e.message || 'worker failed to start'));
    };
    w.postMessage(init);
  });

/** Whether this context can run kernel threads, and why not. */
export function browserThreadSupport(): { ok: true } | { ok: false; reason: string } {
  if (!globalThis.crossOriginIsolated) return { ok: false, reason: 'the page is not cross-origin isolated (COOP/COEP headers), so it has no shared memory' };
  // A page has a `document`; a worker has none (and may block).
  if ('document' in globalThis) return { ok: false, reason: 'the engine runs on the page, which may not block' };
  if (typeof Worker === 'undefined') return { ok: false, reason: 'this worker cannot start workers' };
  return { ok: true };
}

/** A wasm engine on all cores where the page allows threads, else on this thread. */
export async function createBrowserWasmEngine(opts: WasmEngineOptions = {}): Promise<Engine> {
  const support = browserThreadSupport();
  const threads = support.ok ? Math.max(1, navigator.hardwareConcurrency || 1) : 1;
  return createWasmEngine({ spawn: support.ok ? spawnWebKernelWorker : null, threads, ...opts });
}
