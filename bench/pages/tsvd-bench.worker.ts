/**
 * Runs the t-SVD timings in a dedicated worker (the studio's training worker's situation):
 * serially on this worker's thread, then on a pool of nested Web Workers.
 */
import { serialSvdPool, webSvdPool } from '../../src/peft/linalg/svd-pool';
import type { LoraptTensorSpec } from '../../src/peft/targets';
import { randomLinearWeight, timeTsvds, type TsvdTiming } from '../lib/tsvd-tensors';

export interface TsvdJob {
  specs: LoraptTensorSpec[];
  /** [out, in] of every parameter the specs name. */
  shapes: Record<string, [number, number]>;
  rank: number;
  tol: number | undefined;
}

export interface TsvdReply {
  timings: TsvdTiming[];
  userAgent: string;
  cores: number;
}

self.onmessage = async (e: MessageEvent<TsvdJob>) => {
  const { specs, shapes, rank, tol } = e.data;
  const read = (p: string) => randomLinearWeight(p, shapes[p][0], shapes[p][1]);
  const serial = await timeTsvds(specs, read, rank, tol, null, 'serial', serialSvdPool());
  const pool = webSvdPool();
  try {
    const pooled = await timeTsvds(specs, read, rank, tol, null, `${pool.size} Web Workers`, pool, serial.factors);
    self.postMessage({ timings: [...serial.timings, ...pooled.timings], userAgent: navigator.userAgent, cores: navigator.hardwareConcurrency } satisfies TsvdReply);
  } finally {
    pool.dispose();
  }
};
