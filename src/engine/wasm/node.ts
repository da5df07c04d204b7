/**
 * The wasm engine in Node: kernel threads on worker_threads (the same WORKER_BODY as the
 * browser's Web Workers), and relaxed SIMD switched on where this Node has it behind a flag.
 */
import { availableParallelism } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { Worker } from 'node:worker_threads';
import type { Engine } from '../engine';
import { createWasmEngine, type WasmEngineOptions } from './backend';
import { WORKER_BODY, type SpawnKernelWorker } from './threads';

/**
 * Node 20's V8 implements relaxed SIMD behind --experimental-wasm-relaxed-simd (on by default
 * from Node 22). The flag only admits more modules at validation, so it is safe to set before
 * the first kernel is compiled; module.ts still validates before choosing the relaxed kernels.
 */
function enableRelaxedSimd(): void {
  const major = Number(process.versions.node.split('.')[0]);
  if (major < 22) setFlagsFromString('--experimental-wasm-relaxed-simd');
}

export const spawnNodeKernelWorker: SpawnKernelWorker = (init) =>
  new Promise((resolve, reject) => {
    const src = `const { parentPort } = require('node:worker_threads');\nconst post = (m) => parentPort.postMessage(m);\n${WORKER_BODY}\nparentPort.once('message', start);`;
    const w = new Worker(src, { eval: true, name: `seahorse wasm kernels ${init.tid}` });
    w.unref();
    w.once('message', () => resolve({ terminate: () => void w.terminate() }));
    w.once('error', (e) => reject(e));
    w.postMessage(init);
  });

/** Threads by default: the machine's available parallelism. */
export function defaultThreads(): number {
  return availableParallelism();
}

/** A wasm engine on `threads` threads (default: all cores), relaxed SIMD where possible. */
export async function createNodeWasmEngine(opts: WasmEngineOptions = {}): Promise<Engine> {
  if (opts.relaxed !== false) enableRelaxedSimd();
  return createWasmEngine({ spawn: spawnNodeKernelWorker, threads: defaultThreads(), ...opts });
}
