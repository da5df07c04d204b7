/**
 * The registration template prepared on a worker thread while the main thread reads the
 * scan and opens the model (onnxruntime's session creation holds the main thread): on two
 * cores the ~0.5–1 s of preparation then costs little wall time. Only when the CLI runs
 * from its prebuilt bundle (bin/seahorse.mjs): from source the worker would first have to
 * start tsx, which costs more than it saves, so the template is prepared on first use.
 * The worker keeps the prepared template in the bundle's folder for the next run
 * (template-cache.ts): a new build replaces the folder, and the cache with it.
 */
import { Worker } from 'node:worker_threads';
import type { PreparedTemplate } from '../core/fullhead';
import { bundleEntry, bundleFolder } from './bundle';

export interface TemplateThread {
  /** The prepared template and the worker's own time for it (ms); asking for it keeps the process alive until it comes. */
  readonly result: Promise<{ prepared: PreparedTemplate; ms: number }>;
  /** Stops the worker if it is still running (a crop needs no template). */
  readonly close: () => void;
}

/** Starts preparing the template on a worker thread; null when not running from the bundle. */
export function startTemplateThread(): TemplateThread | null {
  const entry = bundleEntry('template-worker.mjs');
  if (!entry) return null;
  const worker = new Worker(entry, { workerData: { cacheDir: bundleFolder() } });
  // Unasked for (a crop, or a run that fails first), it never holds the process open.
  worker.unref();
  const result = new Promise<{ prepared: PreparedTemplate; ms: number }>((done, fail) => {
    worker.once('message', (msg: { prepared: PreparedTemplate; ms: number }) => done(msg));
    worker.once('error', fail);
    worker.once('exit', (code) => fail(new Error(`the template worker stopped (exit code ${code})`)));
  });
  result.catch(() => {}).finally(() => void worker.terminate());
  return {
    get result() {
      worker.ref();
      return result;
    },
    close: () => void worker.terminate(),
  };
}
