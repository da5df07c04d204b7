/** Starts the model parity check in a module worker; Playwright calls `window.seahorseModelsCheck()`. */
import type { ModelsCheck } from './models-worker';

function check(): Promise<ModelsCheck> {
  const worker = new Worker(new URL('./models-worker.ts', import.meta.url), { type: 'module' });
  return new Promise((resolve, reject) => {
    worker.onmessage = (ev: MessageEvent<{ ok: boolean; result?: ModelsCheck; error?: string }>) => {
      worker.terminate();
      if (ev.data.ok && ev.data.result) resolve(ev.data.result);
      else reject(new Error(ev.data.error ?? 'models check failed'));
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
    seahorseModelsCheck: () => Promise<ModelsCheck>;
  }
}
window.seahorseModelsCheck = check;

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
