/**
 * The t-SVD pool on Node worker_threads (CLI, tests, benchmarks). Workers start from the
 * TypeScript source through tsx, as bin/seahorse.mjs does (Node 20 does not hand a parent's
 * --import loader to worker threads). Workers are unref'd: a pool nobody disposed does not keep
 * the process alive.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { workerSvdPool, type SpawnWorker, type SvdPool } from './svd-pool';

const entry = new URL('./svd.node-worker.ts', import.meta.url);

function workerSource(): string {
  const load = `import(${JSON.stringify(entry.href)})`;
  if (!entry.pathname.endsWith('.ts')) return load;
  return `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((tsx) => { tsx.register(); return ${load}; })`;
}

/** Starts one t-SVD worker thread. */
export const spawnNodeSvdWorker: SpawnWorker = (onMessage, onFailure) => {
  const w = new Worker(workerSource(), { eval: true, name: 'seahorse t-SVD' });
  w.unref();
  w.on('message', onMessage);
  w.on('error', (e) => onFailure(e.message));
  w.on('exit', (code) => onFailure(`exit code ${code}`));
  return { post: (job, transfer) => w.postMessage(job, transfer), terminate: () => void w.terminate() };
};

/** A pool of `size` worker threads (default: the machine's available parallelism). */
export function nodeSvdPool(size = availableParallelism()): SvdPool {
  return workerSvdPool(spawnNodeSvdWorker, size);
}
