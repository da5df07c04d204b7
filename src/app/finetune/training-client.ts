/**
 * The page's side of the training service: sends `train-*` requests to the studio's worker
 * (the inference worker, shared: one GPUDevice) and hands replies to a listener. Requests with
 * an answer (check, estimate, compare) return promises. If the worker dies, the listener hears
 * it and pending answers fail; the next request starts a fresh worker.
 */
import type { RunBase, RunSettings } from '../../train/adapter-store';
import type { RunEstimate } from '../../train/estimate';
import { isTrainingReply, type PairCheck, type PairFiles, type TrainingReply, type TrainingRequest } from '../../workers/training-protocol';

type Compared = Extract<TrainingReply, { type: 'train-compared' }>;

export class TrainingClient {
  private readonly bound = new WeakSet<Worker>();
  private nextRequest = 1;
  private readonly waiting = new Map<number, { resolve: (r: TrainingReply) => void; reject: (e: Error) => void }>();

  constructor(
    /** The studio worker (InferenceClient.port). */
    private readonly port: () => Worker,
    private readonly onReply: (reply: TrainingReply) => void,
    private readonly onWorkerLost: (message: string) => void,
  ) {}

  send(request: TrainingRequest, transfer: Transferable[] = []): void {
    const worker = this.port();
    if (!this.bound.has(worker)) {
      this.bound.add(worker);
      worker.addEventListener('message', (event: MessageEvent<{ type: string }>) => {
        if (!isTrainingReply(event.data)) return;
        const reply = event.data;
        if ('request' in reply) {
          this.waiting.get(reply.request)?.resolve(reply);
          this.waiting.delete(reply.request);
        } else this.onReply(reply);
      });
      worker.addEventListener('error', (event) => {
        const message = `the studio worker stopped (${event.message || 'unexpectedly'})`;
        for (const w of this.waiting.values()) w.reject(new Error(message));
        this.waiting.clear();
        this.onWorkerLost(message);
      });
    }
    worker.postMessage(request, transfer);
  }

  private ask(make: (request: number) => TrainingRequest, transfer: Transferable[] = []): Promise<TrainingReply> {
    const request = this.nextRequest++;
    return new Promise((resolve, reject) => {
      this.waiting.set(request, { resolve, reject });
      this.send(make(request), transfer);
    });
  }

  /** Each pair's check, and how the label map turns codes into targets (absent when the map is invalid). */
  async check(base: RunBase, pairs: readonly PairFiles[], labelMap: string, structures?: readonly number[]): Promise<{ checks: readonly PairCheck[]; mapping?: string }> {
    const reply = await this.ask((request) => ({ type: 'train-check', request, base, pairs, labelMap, structures }), transfers(pairs));
    if (reply.type !== 'train-checked') throw new Error(`unexpected reply ${reply.type}`);
    return { checks: reply.checks, mapping: reply.mapping };
  }

  async estimate(base: RunBase, settings: RunSettings): Promise<RunEstimate> {
    const reply = await this.ask((request) => ({ type: 'train-estimate', request, base, settings }));
    if (reply.type !== 'train-estimated') throw new Error(`unexpected reply ${reply.type}`);
    if (!reply.estimate) throw new Error(reply.message ?? 'no estimate');
    return reply.estimate;
  }

  async compare(runId: string, backend: 'auto' | 'wasm' | 'webgpu'): Promise<NonNullable<Compared['result']>> {
    const reply = await this.ask((request) => ({ type: 'train-compare', request, runId, backend }));
    if (reply.type !== 'train-compared') throw new Error(`unexpected reply ${reply.type}`);
    if (!reply.result) throw new Error(reply.message ?? 'the comparison failed');
    return reply.result;
  }

  start(request: Omit<Extract<TrainingRequest, { type: 'train-start' }>, 'type'>): void {
    this.send({ type: 'train-start', ...request }, transfers(request.pairs));
  }
}

function transfers(pairs: readonly PairFiles[]): Transferable[] {
  return pairs.flatMap((p) => [p.image.bytes, p.label.bytes]);
}
