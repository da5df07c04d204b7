/**
 * `seahorse _bids-worker <config>`: a worker process of the participant pool (bids-pool.ts),
 * not a user command. Loads the model and the template once, then segments the scans the
 * parent sends until the parent disconnects.
 */
import type { FromWorker, ToWorker, WorkerConfig } from './bids-pool';
import { openModel, processScan, runContext } from './bids-scan';

export async function runBidsWorker(args: readonly string[]): Promise<void> {
  if (!process.send) throw new Error('_bids-worker is started by "seahorse bids … participant --n-procs N", not by hand');
  const send = (msg: FromWorker): void => {
    process.send!(msg);
  };
  const config = JSON.parse(args[0]) as WorkerConfig;
  let opened;
  try {
    opened = await openModel(config.choice, { open: true, threads: config.threads });
  } catch (err) {
    send({ type: 'fatal', error: err instanceof Error ? err.message : String(err) });
    return;
  }
  const ctx = runContext(opened.model, opened.identity);
  let queue = Promise.resolve();
  process.on('message', (msg: ToWorker) => {
    queue = queue.then(async () => send({ type: 'done', id: msg.id, outcome: await processScan(msg.job, ctx) }));
  });
  send({ type: 'ready' });
  await new Promise<void>((done) => process.once('disconnect', () => done()));
  await queue;
  await opened.model.backend.dispose();
}
