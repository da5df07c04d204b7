/** Starts the model parity check in a module worker; Playwright calls `window.seahorseModelsCheck()`. */
import type { ModelsCheck } from './models-worker';
import { bindRunButton, runWorkerCheck } from './worker-check';

const check = () => runWorkerCheck<ModelsCheck>(() => new Worker(new URL('./models-worker.ts', import.meta.url), { type: 'module' }), 'models check');

declare global {
  interface Window {
    seahorseModelsCheck: () => Promise<ModelsCheck>;
  }
}
window.seahorseModelsCheck = check;
bindRunButton(check);
