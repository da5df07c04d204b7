/**
 * The main thread's side of the inference worker: requests as promises, replies routed by id.
 * If the worker itself dies (out of memory, a wasm abort), every pending request fails with a
 * message and the next request starts a fresh worker.
 */
import type { LabelVolume } from '../core/volume';
import type { Progress } from '../infer/progress';
import { DEFAULT_CACHE_SLICES } from '../sam/embedding-cache';
import {
  epochMs,
  type BackendInfo,
  type BackendPreference,
  type ConfigureRequest,
  type DisplayFile,
  type FailureStage,
  type ModelSource,
  type RegistrationSummary,
  type ScanSummary,
  type SegmentSettings,
  type WorkerReply,
  type WorkerRequest,
} from '../workers/protocol';
import type { WorkerTrip } from './wait-stages';

/**
 * A request the worker could not do; `stage` says which part failed. A failed localisation
 * carries what the registration found.
 */
export class WorkerFailure extends Error {
  constructor(
    readonly stage: FailureStage | 'worker',
    message: string,
    readonly registration?: RegistrationSummary,
  ) {
    super(message);
    this.name = 'WorkerFailure';
  }
}

export interface SegmentEvents {
  readonly onLoadingModel?: (modelName: string) => void;
  readonly onBackend?: (backend: BackendInfo) => void;
  readonly onProgress?: (progress: Progress) => void;
}

/** The worker's result, as it sent it, and the round trip as the page saw it. */
export type SegmentResult = Omit<Extract<WorkerReply, { type: 'result' }>, 'type' | 'id'> & { readonly trip: WorkerTrip };

export type SegmentOutcome = ({ readonly kind: 'result' } & SegmentResult) | { readonly kind: 'cancelled' };

/** A scan the worker read: its summary, the file for the viewer, and the round trip. */
export interface OpenedScan {
  readonly scan: ScanSummary;
  readonly display: DisplayFile;
  readonly trip: WorkerTrip;
}

/** An `epochMs()` time from the worker on the page's clock (`performance.now()`). */
function pageTime(epoch: number): number {
  return epoch - performance.timeOrigin;
}

interface Pending {
  /** `arrivedAt`: when the reply reached the page (page clock, ms). */
  readonly reply: (reply: WorkerReply, arrivedAt: number) => void;
  readonly fail: (failure: WorkerFailure) => void;
}

export class InferenceClient {
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  /** Counts workers started; a scan opened in an earlier one is gone. */
  generation = 0;

  /** `settings`: posted first to every worker this client starts. */
  constructor(
    private readonly spawn: () => Worker,
    private readonly onDeviceLost: (message: string) => void,
    private readonly settings: Omit<ConfigureRequest, 'type'> = { wasmThreads: 1, samCacheSlices: DEFAULT_CACHE_SLICES },
  ) {}

  /** Parses a scan in the worker (the bytes move there, and come back inflated for the viewer) and keeps it for `segment`. */
  open(name: string, bytes: ArrayBuffer): Promise<OpenedScan> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const postedAt = performance.now();
      this.pending.set(id, {
        fail: reject,
        reply: (reply, arrivedAt) => {
          if (reply.type === 'opened') this.settle(id, () => resolve({ scan: reply.scan, display: reply.display, trip: { postedAt, arrivedAt, stagesMs: reply.stagesMs, repliedAt: pageTime(reply.repliedAt) } }));
          else if (reply.type === 'failed') this.settle(id, () => reject(new WorkerFailure(reply.stage, reply.message)));
        },
      });
      this.send({ type: 'open', id, name, bytes, sentAt: epochMs() }, [bytes]);
    });
  }

  /** Segments the open scan; `id` cancels it. */
  segment(
    model: ModelSource,
    backend: BackendPreference,
    settings: SegmentSettings,
    events: SegmentEvents = {},
  ): { readonly id: number; readonly outcome: Promise<SegmentOutcome> } {
    const id = this.nextId++;
    const outcome = new Promise<SegmentOutcome>((resolve, reject) => {
      const postedAt = performance.now();
      this.pending.set(id, {
        fail: reject,
        reply: (reply, arrivedAt) => {
          switch (reply.type) {
            case 'loading-model':
              return events.onLoadingModel?.(reply.modelName);
            case 'backend':
              return events.onBackend?.(reply.backend);
            case 'progress':
              return events.onProgress?.(reply.progress);
            case 'result': {
              const { type: _type, id: _id, ...result } = reply;
              return this.settle(id, () => resolve({ kind: 'result', ...result, trip: { postedAt, arrivedAt, stagesMs: result.stagesMs, repliedAt: pageTime(result.repliedAt) } }));
            }
            case 'cancelled':
              return this.settle(id, () => resolve({ kind: 'cancelled' }));
            case 'failed':
              return this.settle(id, () => reject(new WorkerFailure(reply.stage, reply.message, reply.registration)));
          }
        },
      });
      this.send({ type: 'segment', id, model, backend, settings, sentAt: epochMs() });
    });
    return { id, outcome };
  }

  /** Starts the model's session and prepares the template in the worker, ahead of any scan. */
  warm(model: ModelSource, backend: BackendPreference, localiser?: ModelSource): Promise<Readonly<Record<string, number>>> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, {
        fail: reject,
        reply: (reply) => {
          if (reply.type === 'warmed') this.settle(id, () => resolve(reply.timingsMs));
          else if (reply.type === 'failed') this.settle(id, () => reject(new WorkerFailure(reply.stage, reply.message)));
        },
      });
      this.send({ type: 'warm', id, model, backend, ...(localiser ? { localiser } : {}) });
    });
  }

  /** The brain template's outline on the open scan, where its last registration put it. */
  outline(): Promise<LabelVolume> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, {
        fail: reject,
        reply: (reply) => {
          if (reply.type === 'outline') this.settle(id, () => resolve(reply.outline));
          else if (reply.type === 'failed') this.settle(id, () => reject(new WorkerFailure(reply.stage, reply.message)));
        },
      });
      this.send({ type: 'outline', id });
    });
  }

  cancel(id: number): void {
    if (this.pending.has(id)) this.worker?.postMessage({ type: 'cancel', id } satisfies WorkerRequest);
  }

  private send(request: WorkerRequest, transfer: Transferable[] = []): void {
    this.ensureWorker().postMessage(request, transfer);
  }

  private settle(id: number, finish: () => void): void {
    this.pending.delete(id);
    finish();
  }

  /** The worker (started if need be), for the training client that shares it. */
  port(): Worker {
    return this.ensureWorker();
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const worker = this.spawn();
    this.generation++;
    worker.onmessage = (event: MessageEvent<WorkerReply>) => {
      const arrivedAt = performance.now();
      const reply = event.data;
      if (reply.type === 'device-lost') this.onDeviceLost(reply.message);
      else this.pending.get(reply.id)?.reply(reply, arrivedAt);
    };
    worker.onerror = (event) => {
      event.preventDefault();
      this.crash(event.message || 'it stopped unexpectedly');
    };
    worker.postMessage({ type: 'configure', ...this.settings } satisfies ConfigureRequest);
    this.worker = worker;
    return worker;
  }

  private crash(reason: string): void {
    this.worker?.terminate();
    this.worker = undefined;
    const failures = [...this.pending.values()];
    this.pending.clear();
    for (const p of failures) p.fail(new WorkerFailure('worker', `The inference worker stopped (${reason}).`));
  }
}
