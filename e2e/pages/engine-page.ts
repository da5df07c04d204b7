/** Starts the engine check in a module worker; Playwright calls `window.seahorseEngineCheck()`. */
import type { EngineCheck } from './engine-worker';
import { bindRunButton, runWorkerCheck } from './worker-check';

const check = () => runWorkerCheck<EngineCheck>(() => new Worker(new URL('./engine-worker.ts', import.meta.url), { type: 'module' }), 'engine check');

declare global {
  interface Window {
    seahorseEngineCheck: () => Promise<EngineCheck>;
  }
}
window.seahorseEngineCheck = check;
bindRunButton(check);
