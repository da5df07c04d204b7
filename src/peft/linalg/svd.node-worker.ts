/** A t-SVD worker thread (svd-pool-node.ts): decomposes the Fourier slices it is sent. */
import { parentPort } from 'node:worker_threads';
import { answerSliceJob, type SliceJob, type WorkerMessage } from './slice-svd';

const port = parentPort!;
const post = (m: WorkerMessage, transfer: ArrayBuffer[]) => port.postMessage(m, transfer);
port.on('message', (job: SliceJob) => answerSliceJob(job, post));
post({ kind: 'ready' }, []);
