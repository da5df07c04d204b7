/**
 * The page's side of the SAM service: `sam-*` requests to the studio worker (shared with
 * inference and training), replies routed by request number; progress to a listener.
 */
import type { SamReply, SamRequest } from '../../workers/sam-protocol';
import { isSamReply } from '../../workers/sam-protocol';

type Final = Exclude<SamReply, { type: 'sam-progress' }>;
type Ask = SamRequest extends infer R ? (R extends { request: number } ? Omit<R, 'request'> : never) : never;

export class SamClient {
  private readonly bound = new WeakSet<Worker>();
  private next = 1;
  private readonly waiting = new Map<number, { resolve: (r: Final) => void; reject: (e: Error) => void; progress?: (message: string) => void }>();

  constructor(private readonly port: () => Worker) {}

  /** Sends a request; resolves with its final reply (a `sam-failed` one rejects). */
  ask(message: Ask, onProgress?: (message: string) => void): { readonly request: number; readonly reply: Promise<Final> } {
    const request = this.next++;
    const reply = new Promise<Final>((resolve, reject) => {
      this.waiting.set(request, { resolve, reject, progress: onProgress });
    });
    this.send({ ...message, request } as SamRequest);
    return { request, reply };
  }

  cancel(request: number): void {
    if (this.waiting.has(request)) this.send({ type: 'sam-cancel', request });
  }

  private send(request: SamRequest): void {
    const worker = this.port();
    if (!this.bound.has(worker)) {
      this.bound.add(worker);
      worker.addEventListener('message', (event: MessageEvent<{ type: string }>) => {
        if (!isSamReply(event.data)) return;
        const reply = event.data;
        const w = this.waiting.get(reply.request);
        if (!w) return;
        if (reply.type === 'sam-progress') return w.progress?.(reply.message);
        this.waiting.delete(reply.request);
        if (reply.type === 'sam-failed') w.reject(new Error(reply.message));
        else w.resolve(reply);
      });
      worker.addEventListener('error', (event) => {
        const message = `the studio worker stopped (${event.message || 'unexpectedly'})`;
        for (const w of this.waiting.values()) w.reject(new Error(message));
        this.waiting.clear();
      });
    }
    worker.postMessage(request);
  }
}
