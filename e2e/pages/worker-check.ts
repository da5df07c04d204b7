/**
 * A test page's check that runs in a module worker: post 'run', resolve with its result.
 * The page creates the worker itself (`new Worker(new URL(...), ...)` must be literal there for
 * Vite to bundle it).
 */
export function runWorkerCheck<T>(makeWorker: () => Worker, what: string): Promise<T> {
  const worker = makeWorker();
  return new Promise((resolve, reject) => {
    worker.onmessage = (ev: MessageEvent<{ ok: boolean; result?: T; error?: string }>) => {
      worker.terminate();
      if (ev.data.ok && ev.data.result) resolve(ev.data.result);
      else reject(new Error(ev.data.error ?? `${what} failed`));
    };
    worker.onerror = (ev) => {
      worker.terminate();
      reject(new Error(ev.message));
    };
    worker.postMessage('run');
  });
}

/** The page's Run button (for a person checking a GPU by hand) prints the check's result. */
export function bindRunButton(check: () => Promise<unknown>): void {
  document.getElementById('run')?.addEventListener('click', async () => {
    const out = document.getElementById('out');
    if (!out) return;
    out.textContent = 'running…';
    try {
      out.textContent = JSON.stringify(await check(), null, 2);
    } catch (e) {
      out.textContent = String(e);
    }
  });
}
