import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { principalTSVD, type PrincipalFactors } from '../tsvd';
import type { SliceJob } from './slice-svd';
import { serialSvdPool, workerSvdPool, type SpawnWorker } from './svd-pool';
import { nodeSvdPool, spawnNodeSvdWorker } from './svd-pool-node';
import { randomSlices } from './testing';

/** Every output of the t-SVD, bit for bit. */
function expectIdentical(a: PrincipalFactors, b: PrincipalFactors): void {
  for (const k of ['ur', 'sr', 'vr'] as const) expect(new Uint8Array(a[k].data.buffer)).toEqual(new Uint8Array(b[k].data.buffer));
  a.sigma.forEach((s, k) => expect(s).toEqual(b.sigma[k]));
  expect(a.maxResidual).toBe(b.maxResidual);
  expect(a.converged).toBe(b.converged);
}

/** A real worker thread from JavaScript source (for the failure cases). */
const spawnSource =
  (source: string): SpawnWorker =>
  (onMessage, onFailure) => {
    const w = new Worker(source, { eval: true });
    w.on('message', onMessage);
    w.on('error', (e) => onFailure(e.message));
    w.on('exit', (code) => onFailure(`exit code ${code}`));
    return { post: (job, transfer) => w.postMessage(job, transfer), terminate: () => void w.terminate() };
  };

describe('t-SVD slice pool (worker_threads)', () => {
  // 6 slices → 4 half-spectrum jobs: two real (k = 0, 3), two complex; 100×120 takes the
  // Lanczos path (above DENSE_SVD_LIMIT), 30×20 the Jacobi one.
  for (const [n1, n2, r] of [
    [100, 120, 2],
    [30, 20, 3],
  ] as const) {
    it(`gives bit-identical factors to the serial path (${n1}×${n2}, rank ${r})`, async () => {
      const slices = randomSlices(6, n1 * n2, n1 + n2);
      const serial = await principalTSVD(slices, n1, n2, r, { pool: serialSvdPool() });
      for (const size of [2, 3]) {
        const pool = nodeSvdPool(size);
        try {
          expectIdentical(await principalTSVD(slices, n1, n2, r, { pool }), serial);
        } finally {
          pool.dispose();
        }
      }
    });
  }

  it('starts at most min(jobs, size) workers, transfers the slices and reports progress per slice', async () => {
    let spawned = 0;
    const pool = workerSvdPool((m, f) => (spawned++, spawnNodeSvdWorker(m, f)), 8);
    const progress: number[] = [];
    try {
      const f = await principalTSVD(randomSlices(4, 40 * 30, 9), 40, 30, 1, { pool, onProgress: (done, total) => progress.push(done / total) });
      expect(f.converged).toBe(true);
      const job: SliceJob = { rows: 2, cols: 2, re: Float64Array.of(3, 0, 0, 1), im: null, r: 1, tol: 1e-12, seed: 1, what: 'job' };
      const res = await pool.run(job);
      expect(job.re.byteLength).toBe(0); // moved to the worker, not copied
      expect(res.s[0]).toBe(3);
    } finally {
      pool.dispose();
    }
    expect(spawned).toBe(3); // 4 slices → 3 half-spectrum jobs
    expect(progress).toEqual([1 / 3, 2 / 3, 1]);
  });

  it('falls back to this thread when no worker can start', async () => {
    const slices = randomSlices(6, 30 * 20, 4);
    const serial = await principalTSVD(slices, 30, 20, 2, { pool: serialSvdPool() });
    const pool = workerSvdPool(spawnSource('throw new Error("workers are blocked here")'), 2);
    try {
      expectIdentical(await principalTSVD(slices, 30, 20, 2, { pool }), serial);
    } finally {
      pool.dispose();
    }
  });

  it('rejects with a clear message when a worker dies on a job', async () => {
    const crash = `const { parentPort } = require('node:worker_threads');
      parentPort.postMessage({ kind: 'ready' });
      parentPort.on('message', () => process.exit(3));`;
    const pool = workerSvdPool(spawnSource(crash), 1);
    try {
      await expect(principalTSVD(randomSlices(2, 12, 1), 3, 4, 1, { pool, what: 'W_up' })).rejects.toThrow(/t-SVD worker stopped \(exit code 3\)/);
    } finally {
      pool.dispose();
    }
  });

  it('passes on what a worker threw', async () => {
    const pool = nodeSvdPool(1);
    try {
      // A rank the slice cannot give: truncatedSvd refuses it inside the worker.
      const job: SliceJob = { rows: 2, cols: 2, re: new Float64Array(4), im: null, r: 3, tol: 1e-12, seed: 1, what: 'W_sa slice 0' };
      await expect(pool.run(job)).rejects.toThrow(/t-SVD worker: W_sa slice 0: rank 3 is larger than this 2×2 weight allows/);
    } finally {
      pool.dispose();
    }
  });
});
