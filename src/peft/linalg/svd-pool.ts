/**
 * Where the t-SVD's Fourier slices are decomposed: one small interface, a serial
 * implementation (this thread), and a pool of workers behind a `spawn` function that the two
 * backends supply (Web Workers here, worker_threads in svd-pool-node.ts). The slices are
 * independent, so a pool of p threads decomposes them up to p times faster; every thread runs
 * `decomposeSlice`, so the results are bit-identical to the serial path.
 *
 * A pool spawns workers lazily, at most min(size, jobs in hand). A worker gets a job only after
 * it has said it is ready, because a job's buffers are transferred (moved, not copied): if no
 * worker can start (blocked, no module-worker support), the pool falls back to running the jobs
 * on this thread instead of losing them.
 */
import { buffersOf, decomposeSlice, type SliceJob, type SliceResult, type WorkerMessage } from './slice-svd';

export interface SvdPool {
  /** Threads it decomposes on (1 for the serial pool). */
  readonly size: number;
  run(job: SliceJob): Promise<SliceResult>;
  /** Stops its workers; pending jobs are rejected. */
  dispose(): void;
}

/** A started worker as the pool drives it. */
export interface PoolWorker {
  post(job: SliceJob, transfer: ArrayBuffer[]): void;
  terminate(): void;
}

/** Starts a worker that reports its messages and its failure (a load error, a crash). */
export type SpawnWorker = (onMessage: (m: WorkerMessage) => void, onFailure: (reason: string) => void) => PoolWorker;

/**
 * Decomposes on this thread, one job per task of the event loop, in the order given: progress
 * reports go out between slices, as they do from a pool.
 */
export function serialSvdPool(): SvdPool {
  const run = (job: SliceJob) =>
    new Promise<SliceResult>((resolve, reject) =>
      setTimeout(() => {
        try {
          resolve(decomposeSlice(job));
        } catch (e) {
          reject(e instanceof Error ? e : new Error(String(e)));
        }
      }),
    );
  return { size: 1, run, dispose: () => {} };
}

interface Pending {
  readonly job: SliceJob;
  readonly resolve: (r: SliceResult) => void;
  readonly reject: (e: Error) => void;
}

interface Slot {
  readonly worker: PoolWorker;
  ready: boolean;
  current: Pending | null;
}

export function workerSvdPool(spawn: SpawnWorker, size: number): SvdPool {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`workerSvdPool: size must be a positive integer, got ${size}`);
  const slots = new Set<Slot>();
  const queue: Pending[] = [];
  /** Cleared when a worker fails before it starts: no more are tried. */
  let spawning = true;
  let inline = false;
  let disposed = false;

  const drop = (slot: Slot) => {
    slots.delete(slot);
    slot.worker.terminate();
  };

  const start = () => {
    let slot: Slot;
    const onMessage = (m: WorkerMessage) => {
      if (m.kind === 'ready') {
        slot.ready = true;
        return pump();
      }
      const p = slot.current!;
      slot.current = null;
      if (m.kind === 'result') p.resolve(m.result);
      else p.reject(new Error(`t-SVD worker: ${m.message}`));
      pump();
    };
    const onFailure = (reason: string) => {
      if (!slots.has(slot)) return;
      drop(slot);
      // The job's buffers went to the worker with it; it cannot be run again here.
      slot.current?.reject(new Error(`t-SVD worker stopped (${reason})`));
      if (!slot.ready) {
        // Workers cannot start here: keep those that did, run on this thread if none did.
        spawning = false;
        if (slots.size === 0) inline = true;
      }
      pump();
    };
    try {
      slot = { worker: spawn(onMessage, onFailure), ready: false, current: null };
    } catch {
      spawning = false;
      if (slots.size === 0) inline = true;
      return;
    }
    slots.add(slot);
  };

  function pump(): void {
    if (disposed) return;
    if (inline) {
      // Fallback: this thread, as the serial pool does.
      for (const p of queue.splice(0)) {
        try {
          p.resolve(decomposeSlice(p.job));
        } catch (e) {
          p.reject(e instanceof Error ? e : new Error(String(e)));
        }
      }
      return;
    }
    // Workers that can take a job soon: idle ones and those still starting.
    const free = () => [...slots].filter((s) => !s.current).length;
    while (spawning && slots.size < size && free() < queue.length) start();
    for (const slot of slots) {
      if (!queue.length) break;
      if (!slot.ready || slot.current) continue;
      const p = queue.shift()!;
      slot.current = p;
      slot.worker.post(p.job, buffersOf(p.job));
    }
    if (inline) pump();
  }

  return {
    size,
    run: (job) =>
      new Promise<SliceResult>((resolve, reject) => {
        if (disposed) return reject(new Error('t-SVD pool is disposed'));
        queue.push({ job, resolve, reject });
        pump();
      }),
    dispose: () => {
      disposed = true;
      for (const slot of [...slots]) {
        drop(slot);
        slot.current?.reject(new Error('t-SVD pool is disposed'));
      }
      for (const p of queue.splice(0)) p.reject(new Error('t-SVD pool is disposed'));
    },
  };
}

/** A pool of module Web Workers (the browser; also inside the studio's own worker). */
export function webSvdPool(size = navigator.hardwareConcurrency || 1): SvdPool {
  return workerSvdPool((onMessage, onFailure) => {
    const w = new Worker(new URL('./svd.worker.ts', import.meta.url), { type: 'module', name: 'seahorse t-SVD' });
    w.onmessage = (e: MessageEvent<WorkerMessage>) => onMessage(e.data);
    w.onerror = (e) => {
      e.preventDefault();
      onFailure(e.message || 'the worker failed to load');
    };
    w.onmessageerror = () => onFailure('a message could not be read');
    return { post: (job, transfer) => w.postMessage(job, transfer), terminate: () => w.terminate() };
  }, size);
}

/** Web Workers where this JavaScript environment has them, else this thread (Node: see svd-pool-node.ts). */
export function defaultSvdPool(): SvdPool {
  return typeof Worker === 'function' && typeof navigator !== 'undefined' ? webSvdPool() : serialSvdPool();
}
