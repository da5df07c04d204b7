import { describe, expect, it } from 'vitest';
import type { ConfigureRequest, WorkerRequest } from '../workers/protocol';
import { InferenceClient, WorkerFailure } from './inference-client';

/** A stand-in for the browser's Worker: records what the page posts, and can die. */
class RecordingWorker {
  readonly posted: (ConfigureRequest | WorkerRequest)[] = [];
  terminated = false;
  onmessage: ((event: MessageEvent) => void) | null = null;
  onerror: ((event: ErrorEvent) => void) | null = null;
  postMessage(message: ConfigureRequest | WorkerRequest): void {
    this.posted.push(message);
  }
  terminate(): void {
    this.terminated = true;
  }
  die(message: string): void {
    this.onerror?.({ message, preventDefault: () => undefined } as ErrorEvent);
  }
}

describe('InferenceClient', () => {
  it("posts the page's runtime settings first to every worker it starts", async () => {
    const workers: RecordingWorker[] = [];
    const client = new InferenceClient(
      () => {
        const worker = new RecordingWorker();
        workers.push(worker);
        return worker as unknown as Worker;
      },
      () => undefined,
      { wasmThreads: 2, samCacheSlices: 128 },
    );
    const outline = client.outline();
    expect(workers).toHaveLength(1);
    expect(workers[0].posted.map((m) => m.type)).toEqual(['configure', 'outline']);
    expect(workers[0].posted[0]).toEqual({ type: 'configure', wasmThreads: 2, samCacheSlices: 128 });

    // A worker that dies fails what was pending; the next request starts a fresh one, configured again.
    workers[0].die('out of memory');
    await expect(outline).rejects.toBeInstanceOf(WorkerFailure);
    expect(workers[0].terminated).toBe(true);
    void client.outline().catch(() => undefined);
    expect(workers).toHaveLength(2);
    expect(workers[1].posted.map((m) => m.type)).toEqual(['configure', 'outline']);
    expect(client.generation).toBe(2);
  });
});
