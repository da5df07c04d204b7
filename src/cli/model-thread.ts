/**
 * An installed model opened on a worker thread. onnxruntime-node creates and runs a session
 * synchronously on the thread that calls it, so on the main thread every model's load and run
 * add to the wait. On its own thread a model opens while the main thread reads the scan and
 * registers the template, and a cross-check localiser runs beside the registration and the
 * segmentation (segment-scan.ts). The model is usable at once: its manifest comes from its
 * manifest file, and its backend's runs wait until the session is open. Like
 * template-thread.ts, only from the CLI's prebuilt bundle.
 */
import { Worker } from 'node:worker_threads';
import type { InferenceBackend } from '../infer/backend';
import type { ModelTask } from '../infer/manifest';
import { listInstalledModels, resolveRef, type LoadedNodeModel } from '../infer/registry-node';
import { bundleEntry } from './bundle';

/** What model-worker.ts is asked to open (its `workerData`). */
export interface ModelThreadData {
  readonly id: string;
  /** onnxruntime's intra-op threads; its default (every core) when absent. */
  readonly threads?: number;
}

/** Messages from model-worker.ts. */
export type ModelWorkerReply =
  | { readonly type: 'ready'; readonly reason: string; readonly loadMs: number }
  | { readonly type: 'failed'; readonly message: string }
  | { readonly type: 'logits'; readonly id: number; readonly logits: Float32Array }
  | { readonly type: 'run failed'; readonly id: number; readonly message: string };

/** Messages to model-worker.ts. */
export type ModelWorkerRequest = { readonly type: 'run'; readonly id: number; readonly input: Float32Array; readonly dims: readonly [number, number, number] } | { readonly type: 'dispose' };

export interface ModelThread {
  /** The model: its manifest now, its backend's runs once the session is open on the thread. */
  readonly model: LoadedNodeModel;
  /** Resolves with the thread's time to open the session (ms); rejects with why it could not. */
  readonly opened: Promise<number>;
  /**
   * Closes the session and resolves when the thread has ended. The thread finishes what it is
   * running first: one stopped inside onnxruntime can bring the process down as it exits.
   */
  readonly close: () => Promise<void>;
}

/**
 * Starts opening the installed model `id` (of `task`) on a worker thread; null when not running
 * from the bundle or when no such model is installed (the caller then opens it as before).
 */
export function startModelThread(id: string, task: ModelTask, opts: Omit<ModelThreadData, 'id'> = {}): ModelThread | null {
  const entry = bundleEntry('model-worker.mjs');
  if (!entry) return null;
  const installed = listInstalledModels(undefined, task).find((m) => m.manifest.id === id);
  if (!installed) return null;
  const data: ModelThreadData = { id, ...opts };
  const worker = new Worker(entry, { workerData: data });

  const pending = new Map<number, { done: (logits: Float32Array) => void; fail: (err: Error) => void }>();
  let nextId = 0;
  let stopped: Error | null = null;
  const stop = (err: Error) => {
    stopped ??= err;
    for (const p of pending.values()) p.fail(err);
    pending.clear();
  };
  const exited = new Promise<void>((done) => worker.once('exit', () => done()));
  worker.on('error', stop);
  worker.on('exit', (code) => stop(new Error(`the thread of model ${id} stopped (exit code ${code})`)));

  let reason = 'onnxruntime-node on the CPU, opening on a worker thread';
  const opened = new Promise<number>((done, fail) => {
    worker.on('message', (reply: ModelWorkerReply) => {
      if (reply.type === 'ready') {
        reason = `${reply.reason}, on a worker thread`;
        done(reply.loadMs);
      } else if (reply.type === 'failed') fail(new Error(reply.message));
      else if (reply.type === 'logits') {
        pending.get(reply.id)?.done(reply.logits);
        pending.delete(reply.id);
      } else {
        pending.get(reply.id)?.fail(new Error(reply.message));
        pending.delete(reply.id);
      }
    });
    worker.once('error', fail);
    worker.once('exit', (code) => fail(new Error(`the thread of model ${id} stopped before its session opened (exit code ${code})`)));
  });
  opened.catch(() => {});
  // Idle, it never holds the process open (a pending run refs it, below). After the listeners:
  // adding a 'message' listener refs the worker's port again.
  worker.unref();

  let closing: Promise<void> | undefined;
  /** Runs called and not yet answered (some may still wait for the session). */
  let waiting = 0;
  const close = () =>
    (closing ??= (async () => {
      worker.ref();
      worker.postMessage({ type: 'dispose' } satisfies ModelWorkerRequest);
      await exited;
    })());

  const backend: InferenceBackend = {
    name: 'cpu',
    get reason() {
      return reason;
    },
    async run(input, dims) {
      // A caller waiting on the thread, for its session to open or for a run, holds the process
      // open: with the thread unreferenced, a main thread with nothing else to do would end the
      // process (exit code 13) while it waits.
      waiting++;
      worker.ref();
      try {
        await opened;
        if (stopped) throw stopped;
        const runId = nextId++;
        return await new Promise<Float32Array>((done, fail) => {
          pending.set(runId, { done, fail });
          worker.postMessage({ type: 'run', id: runId, input, dims } satisfies ModelWorkerRequest);
        });
      } finally {
        if (--waiting === 0 && !closing) worker.unref();
      }
    },
    dispose: close,
  };
  return { model: { manifest: installed.manifest, backend, onnxPath: resolveRef(installed.manifest.onnx, installed.dir) }, opened, close };
}
