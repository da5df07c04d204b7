/** Starts the engine check in a module worker; Playwright calls `window.seahorseEngineCheck()`. */
import type { EngineCheck } from './engine-worker';

function check(): Promise<EngineCheck> {
  const worker = new Worker(new URL('./engine-worker.ts', import.meta.url), { type: 'module' });
  return new Promise((resolve, reject) => {
    worker.onmessage = (ev: MessageEvent<{ ok: boolean; result?: EngineCheck; error?: string }>) => {
      worker.terminate();
      if (ev.data.ok && ev.data.result) resolve(ev.data.result);
      else reject(new Error(ev.data.error ?? 'engine check failed'));
    };
    worker.onerror = (ev) => {
      worker.terminate();
      reject(new Error(ev.message));
    };
    worker.postMessage('run');
  });
}

declare global {
  interface Window {
    seahorseEngineCheck: () => Promise<EngineCheck>;
  }
}
window.seahorseEngineCheck = check;

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
