/**
 * One Fourier slice's truncated SVD as a self-contained job: the unit of work the t-SVD hands
 * to a worker (svd-pool.ts). The serial path and every worker run this same function, so the
 * pooled factors are bit-identical to the serial ones (same code, same seed per slice).
 */
import { truncatedSvd } from './svd';

export interface SliceJob {
  readonly rows: number;
  readonly cols: number;
  readonly re: Float64Array;
  /** null for a real slice (k = 0, k = n3/2). */
  readonly im: Float64Array | null;
  readonly r: number;
  readonly tol: number;
  /** Start-vector seed (deterministic results). */
  readonly seed: number;
  /** Name for error messages. */
  readonly what: string;
}

/** The top-r triplets of one slice: U (rows×r) and V (cols×r) row-major, s descending. */
export interface SliceResult {
  readonly uRe: Float64Array;
  readonly uIm: Float64Array | null;
  readonly vRe: Float64Array;
  readonly vIm: Float64Array | null;
  readonly s: Float64Array;
  readonly residual: number;
  readonly converged: boolean;
}

export function decomposeSlice(job: SliceJob): SliceResult {
  const svd = truncatedSvd({ rows: job.rows, cols: job.cols, re: job.re, im: job.im }, job.r, { tol: job.tol, what: job.what, seed: job.seed });
  return { uRe: svd.u.re, uIm: svd.u.im, vRe: svd.v.re, vIm: svd.v.im, s: svd.s, residual: svd.residual, converged: svd.converged };
}

/** The buffers a job or result owns, to transfer (not copy) between threads. */
export function buffersOf(x: SliceJob | SliceResult): ArrayBuffer[] {
  const arrays = 're' in x ? [x.re, x.im] : [x.uRe, x.uIm, x.vRe, x.vIm, x.s];
  const out = new Set<ArrayBuffer>();
  for (const a of arrays) if (a && a.buffer instanceof ArrayBuffer) out.add(a.buffer);
  return [...out];
}

/** What a worker posts: that it has started, then one reply per job (its result or what it threw). */
export type WorkerMessage =
  | { readonly kind: 'ready' }
  | { readonly kind: 'result'; readonly result: SliceResult }
  | { readonly kind: 'failed'; readonly message: string };

/** The body of both worker shells: decompose, reply with the result's buffers transferred. */
export function answerSliceJob(job: SliceJob, post: (m: WorkerMessage, transfer: ArrayBuffer[]) => void): void {
  let result: SliceResult;
  try {
    result = decomposeSlice(job);
  } catch (e) {
    post({ kind: 'failed', message: e instanceof Error ? e.message : String(e) }, []);
    return;
  }
  post({ kind: 'result', result }, buffersOf(result));
}
