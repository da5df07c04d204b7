/**
 * Worker-thread body of template-thread.ts: reads and prepares the registration template
 * and hands it to the main thread (its buffers moved, not copied).
 */
import { parentPort } from 'node:worker_threads';
import { prepareTemplate } from '../core/fullhead';
import { readTemplate } from '../core/fullhead/template-node';

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
const prepared = prepareTemplate(readTemplate());
parentPort!.postMessage({ prepared, ms: performance.now() - started }, buffersOf(prepared));
