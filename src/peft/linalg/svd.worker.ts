/** A t-SVD Web Worker (svd-pool.ts `webSvdPool`): decomposes the Fourier slices it is sent. */
import { answerSliceJob, type SliceJob, type WorkerMessage } from './slice-svd';

const post = (m: WorkerMessage, transfer: ArrayBuffer[]) => self.postMessage(m, { transfer });
self.onmessage = (e: MessageEvent<SliceJob>) => answerSliceJob(e.data, post);
post({ kind: 'ready' }, []);
