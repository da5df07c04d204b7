/**
 * Parallel participant level: N worker processes (`seahorse _bids-worker`, forked), each
 * with the model and template loaded once, take scans from one queue. A process is the
 * unit of isolation: a scan that crashes its worker (out of memory, a native abort) is
 * recorded as failed, a fresh worker takes its place, and the rest carry on.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ModelIdentity } from '../bids/derivatives';
import { recordFailure, type ModelChoice, type ScanJob, type ScanOutcome } from './bids-scan';

const entry = join(resolve(dirname(fileURLToPath(import.meta.url)), '../..'), 'bin/seahorse.mjs');

/** Parent → worker. */
export type ToWorker = { readonly type: 'job'; readonly id: number; readonly job: ScanJob };
/** Worker → parent. */
export type FromWorker =
  | { readonly type: 'ready' }
  | { readonly type: 'fatal'; readonly error: string }
  | { readonly type: 'done'; readonly id: number; readonly outcome: ScanOutcome };

/** The worker's start-up arguments (JSON on its command line). */
export interface WorkerConfig {
  readonly choice: ModelChoice;
  readonly threads?: number;
}

export async function runPool(
  jobs: readonly ScanJob[],
  nProcs: number,
  config: WorkerConfig,
  identity: ModelIdentity,
  onDone: (job: ScanJob, outcome: ScanOutcome) => void,
): Promise<void> {
  let next = 0;
  let finished = 0;
  let fatal: string | null = null;
  const live = new Set<ChildProcess>();
  await new Promise<void>((done, fail) => {
    const settle = () => {
      if (fatal !== null) {
        for (const c of live) c.kill();
        fail(new Error(fatal));
      } else if (finished === jobs.length) done();
    };
    const start = () => {
      const child = fork(entry, ['_bids-worker', JSON.stringify(config)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced' });
      live.add(child);
      let current: { id: number; started: number } | null = null;
      let retired = false;
      const give = () => {
        if (fatal !== null || next >= jobs.length) {
          current = null;
          retired = true;
          child.disconnect();
          return;
        }
        current = { id: next, started: performance.now() };
        child.send({ type: 'job', id: next, job: jobs[next] } satisfies ToWorker);
        next++;
      };
      child.on('message', (msg: FromWorker) => {
        if (msg.type === 'ready') give();
        else if (msg.type === 'fatal') {
          fatal = msg.error;
          settle();
        } else if (msg.type === 'done') {
          finished++;
          onDone(jobs[msg.id], msg.outcome);
          give();
          settle();
        }
      });
      child.on('exit', (code, signal) => {
        live.delete(child);
        if (current === null) {
          if (!retired && fatal === null) {
            fatal = `a worker process stopped before it was ready (${signal ? `signal ${signal}` : `exit code ${code}`})`;
            settle();
          }
          return;
        }
        // It died holding a scan: record it, and replace the worker if scans remain.
        const job = jobs[current.id];
        const error = `the worker process stopped while segmenting this scan (${signal ? `signal ${signal}` : `exit code ${code}`})`;
        recordFailure(job, error, identity);
        finished++;
        onDone(job, { status: 'failed', error, seconds: (performance.now() - current.started) / 1000 });
        current = null;
        if (next < jobs.length && fatal === null) start();
        settle();
      });
    };
    if (jobs.length === 0) return done();
    for (let i = 0; i < Math.min(nProcs, jobs.length); i++) start();
  });
}
