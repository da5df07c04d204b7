/** Browser side of the t-SVD benchmark: hands the job to a module worker and returns its timings. */
import type { TsvdJob, TsvdReply } from './tsvd-bench.worker';

declare global {
  interface Window {
    tsvdBench: { run(job: TsvdJob): Promise<TsvdReply> };
  }
}

const worker = new Worker(new URL('./tsvd-bench.worker.ts', import.meta.url), { type: 'module' });

window.tsvdBench = {
  run: (job) =>
    new Promise((resolve, reject) => {
      worker.onmessage = (e: MessageEvent<TsvdReply>) => resolve(e.data);
      worker.onerror = (e) => reject(new Error(e.message));
      worker.postMessage(job);
    }),
};
