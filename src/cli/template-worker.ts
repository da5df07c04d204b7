/**
 * Worker-thread body of template-thread.ts: reads the prepared registration template from the
 * cache in `workerData.cacheDir` (template-cache.ts), or prepares it and writes it there, and
 * hands it to the main thread (its buffers moved, not copied).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { preparedTemplateCached } from './template-cache';

/** Every distinct ArrayBuffer under a value (typed arrays in nested objects and arrays). */
function buffersOf(value: unknown, found = new Set<ArrayBuffer>()): ArrayBuffer[] {
  if (ArrayBuffer.isView(value)) {
    if (value.buffer instanceof ArrayBuffer) found.add(value.buffer);
  } else if (value && typeof value === 'object') {
    for (const v of Object.values(value)) buffersOf(v, found);
  }
  return [...found];
}

const started = performance.now();
const { prepared } = await preparedTemplateCached((workerData as { cacheDir: string }).cacheDir);
parentPort!.postMessage({ prepared, ms: performance.now() - started }, buffersOf(prepared));
