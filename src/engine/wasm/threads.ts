/**
 * Runs the engine's parallel WebAssembly kernels on several threads over one shared memory:
 * every worker instantiates the same kernel module (the one kernel source, in the browser and
 * in Node) and waits on a control block in that memory. `run` writes the kernel and its
 * arguments there, wakes the workers, does thread 0's share itself and waits until all are
 * done, so a call is synchronous like the rest of the backend. Each kernel computes its own fixed
 * share from (tid, nth), and no output element is written by two threads, so results do not
 * depend on the number of threads or on their timing.
 *
 * Waiting blocks the calling thread (Atomics.wait): allowed in Node and in Web Workers, where the
 * studio trains, not on a page's main thread (there the backend runs on one thread).
 */
import { PARALLEL_KERNELS, type KernelExports, type ParallelKernel } from './module';

/** Int32 slots of the control block. */
const GEN = 0;
const PENDING = 1;
const KERNEL = 2;
const STOP = 3;
const NARGS = 4;
const FAILED = 5;
const ARGS = 8;
const MAX_ARGS = 24;
export const CONTROL_BYTES = (ARGS + MAX_ARGS) * 4;

/** What a worker is sent to start. */
export interface WorkerInit {
  readonly module: WebAssembly.Module;
  readonly memory: WebAssembly.Memory;
  readonly control: number;
  readonly tid: number;
  readonly nth: number;
  readonly names: readonly string[];
}

/**
 * The worker's whole program, platform-free: `post` and the init message are wired by the
 * spawner (Web Worker or worker_threads). Kept as source text so it needs no bundling.
 */
export const WORKER_BODY = `
const start = (init) => {
  const ex = new WebAssembly.Instance(init.module, { env: { memory: init.memory } }).exports;
  const fns = init.names.map((n) => ex[n]);
  const c = new Int32Array(init.memory.buffer, init.control, ${ARGS + MAX_ARGS});
  post('ready');
  let seen = 0;
  for (;;) {
    Atomics.wait(c, ${GEN}, seen);
    const g = Atomics.load(c, ${GEN});
    if (g === seen) continue;
    seen = g;
    if (Atomics.load(c, ${STOP})) break;
    const args = Array.from(c.subarray(${ARGS}, ${ARGS} + c[${NARGS}]));
    try {
      fns[c[${KERNEL}]](...args, init.tid, init.nth);
    } catch (e) {
      Atomics.store(c, ${FAILED}, 1);
    }
    if (Atomics.sub(c, ${PENDING}, 1) === 1) Atomics.notify(c, ${PENDING});
  }
};
`;

export interface ThreadHandle {
  terminate(): void;
}

/** Starts one worker running WORKER_BODY with `init`; resolves when it has said 'ready'. */
export type SpawnKernelWorker = (init: WorkerInit) => Promise<ThreadHandle>;

export class KernelThreads {
  private readonly c: Int32Array;

  private constructor(
    private readonly kernels: KernelExports,
    memory: WebAssembly.Memory,
    control: number,
    private readonly workers: ThreadHandle[],
  ) {
    this.c = new Int32Array(memory.buffer, control, ARGS + MAX_ARGS);
  }

  /** Threads in all, this one included. */
  get size(): number {
    return this.workers.length + 1;
  }

  /** `size` threads: this one and size − 1 workers (none when size is 1). */
  static async start(kernels: KernelExports, module: WebAssembly.Module, memory: WebAssembly.Memory, control: number, size: number, spawn: SpawnKernelWorker | null): Promise<KernelThreads> {
    const workers: ThreadHandle[] = [];
    if (size > 1 && spawn) {
      const started = await Promise.allSettled(
        Array.from({ length: size - 1 }, (_, i) => spawn({ module, memory, control, tid: i + 1, nth: size, names: PARALLEL_KERNELS })),
      );
      const failed = started.find((s) => s.status === 'rejected');
      for (const s of started) if (s.status === 'fulfilled') workers.push(s.value);
      if (failed) {
        for (const w of workers) w.terminate();
        throw new Error(`wasm engine: a kernel worker did not start (${String((failed as PromiseRejectedResult).reason)})`);
      }
    }
    return new KernelThreads(kernels, memory, control, workers);
  }

  /** Runs `kernel` on every thread (on this one only when `serial`), returning when all are done. */
  run(kernel: ParallelKernel, args: readonly number[], serial = false): void {
    const fn = this.kernels[kernel] as (...a: number[]) => void;
    const n = this.size;
    if (n === 1 || serial) {
      fn(...args, 0, 1);
      return;
    }
    const c = this.c;
    c[KERNEL] = PARALLEL_KERNELS.indexOf(kernel);
    c[NARGS] = args.length;
    for (let i = 0; i < args.length; i++) c[ARGS + i] = args[i];
    Atomics.store(c, PENDING, n - 1);
    Atomics.add(c, GEN, 1);
    Atomics.notify(c, GEN);
    fn(...args, 0, n);
    for (let v = Atomics.load(c, PENDING); v !== 0; v = Atomics.load(c, PENDING)) Atomics.wait(c, PENDING, v);
    if (Atomics.exchange(c, FAILED, 0)) throw new Error(`wasm engine: kernel ${kernel} failed on a worker thread`);
  }

  dispose(): void {
    if (!this.workers.length) return;
    Atomics.store(this.c, STOP, 1);
    Atomics.add(this.c, GEN, 1);
    Atomics.notify(this.c, GEN);
    for (const w of this.workers) w.terminate();
    this.workers.length = 0;
  }
}
