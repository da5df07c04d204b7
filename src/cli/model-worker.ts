/**
 * Worker-thread body of model-thread.ts: opens one installed model on onnxruntime-node and
 * runs it on the windows the main thread sends, one request at a time, in order.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { loadModelNode } from '../infer/registry-node';
import type { ModelThreadData, ModelWorkerReply, ModelWorkerRequest } from './model-thread';

const port = parentPort!;
const { id, threads } = workerData as ModelThreadData;
const send = (reply: ModelWorkerReply, transfer: ArrayBuffer[] = []) => port.postMessage(reply, transfer);

const started = performance.now();
try {
  const { backend } = await loadModelNode(id, threads ? { threads } : {});
  send({ type: 'ready', reason: backend.reason, loadMs: performance.now() - started });
  const handle = async (request: ModelWorkerRequest) => {
    if (request.type === 'dispose') {
      await backend.dispose();
      port.close();
      return;
    }
    try {
      const logits = await backend.run(request.input, request.dims);
      // onnxruntime-node's output may view a larger buffer: send exactly the logits.
      const own = logits.byteOffset === 0 && logits.byteLength === logits.buffer.byteLength ? logits : logits.slice();
      send({ type: 'logits', id: request.id, logits: own }, [own.buffer as ArrayBuffer]);
    } catch (err) {
      send({ type: 'run failed', id: request.id, message: err instanceof Error ? err.message : String(err) });
    }
  };
  // A dispose waits for the run before it.
  let queue = Promise.resolve();
  port.on('message', (request: ModelWorkerRequest) => {
    queue = queue.then(() => handle(request));
  });
} catch (err) {
  send({ type: 'failed', message: err instanceof Error ? err.message : String(err) });
}
